/**
 * A save's validation problems (422 `errors: [{ path, message }]`) placed where the user looks:
 * on their line in the editor and on their step's node in the graph. Pure.
 */
import { nodeForProblemPath } from '../../graph/build.js';
import { locatePath } from '../../graph/locate.js';

export interface Problem {
  path: string;
  message: string;
}

export interface PlacedProblems {
  /** Text ranges for the editor's diagnostics. */
  editor: { from: number; to: number; message: string; line: number }[];
  /** Messages by step id for the graph. */
  nodes: Record<string, string[]>;
}

export function placeProblems(source: string, parsed: unknown, problems: Problem[]): PlacedProblems {
  const editor: PlacedProblems['editor'] = [];
  const nodes: Record<string, string[]> = {};
  for (const p of problems) {
    const text = p.path ? `${p.path}: ${p.message}` : p.message;
    const at = locatePath(source, p.path, p.message) ?? { from: 0, to: 0, line: 1 };
    editor.push({ from: at.from, to: at.to, line: at.line, message: text });
    const node = nodeForProblemPath(parsed, p.path);
    if (node) (nodes[node] ??= []).push(text);
  }
  return { editor, nodes };
}
