/** The workflow graph: pure conversion and layout, and the React Flow component. */
export { buildGraph, nodeForProblemPath, START_NODE, END_NODE, type StepNode, type StepEdge, type WorkflowGraphData } from './build.js';
export { layoutGraph } from './layout.js';
export { locatePath, parseSource } from './locate.js';
export { WorkflowGraph, type StepState, type WorkflowGraphProps } from './WorkflowGraph.js';
