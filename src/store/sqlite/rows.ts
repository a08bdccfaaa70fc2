/**
 * Row <-> domain mapping for the SQLite store: the run and step record rows are defined once for
 * every backend (../run-row.ts), the workflow and key rows and JSON comparison in ../documents.ts.
 */
export {
  RUN_COLUMNS, RUN_MUTABLE_COLUMNS, STEP_COLUMNS, decodeFirstSteps, encodeFirstSteps, encodeReply, mergeSteps, rowToRun,
  rowToStep, runInsertValues, runUpdateValues, stepValues, type RunRow, type SqlValue, type StepRow,
} from '../run-row.js';
export { canonicalJson, rowToKey, rowToWorkflow, sameJson, type KeyRow, type WorkflowRow } from '../documents.js';
