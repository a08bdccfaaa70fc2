/** The registry of step kinds this server runs. Definition validation accepts exactly these types. */
import { callStep, foreachStep } from './calls.js';
import { codeStep } from './code.js';
import { conditionStep, endStep, replyStep, setStep } from './flow.js';
import { httpStep } from './http.js';
import { delayStep, waitStep } from './parking.js';
import type { StepKind } from './types.js';

export const STEP_KINDS: ReadonlyMap<string, StepKind> = new Map(
  [setStep, conditionStep, replyStep, endStep, delayStep, waitStep, httpStep, callStep, foreachStep, codeStep].map((k) => [k.type, k]),
);

export const SUPPORTED_STEP_TYPES: ReadonlySet<string> = new Set(STEP_KINDS.keys());

export type { StepKind, StepContext, Outcome, Resumption, HttpPort, HttpRequest, HttpResponse, ChildPort, ChildSpec, ChildStart } from './types.js';
export { HttpFailure, StepError } from './types.js';
