/**
 * The closed set of Flowgate errors. Each has a stable `code`, one HTTP status and one problem
 * `type` (RFC 9457); the HTTP layer renders any FlowgateError as application/problem+json.
 */

export interface FieldProblem {
  path: string;
  message: string;
}

export const ERRORS = {
  bad_request: { status: 400, title: 'Bad request' },
  malformed_body: { status: 400, title: 'Malformed request body' },
  too_deep: { status: 400, title: 'Nesting too deep' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  signature_invalid: { status: 401, title: 'Invalid signature' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  precondition_failed: { status: 412, title: 'Precondition failed' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  validation_failed: { status: 422, title: 'Validation failed' },
  invalid_definition: { status: 422, title: 'Invalid workflow definition' },
  rate_limited: { status: 429, title: 'Too many requests' },
  run_failed: { status: 500, title: 'Run failed' },
  run_cancelled: { status: 409, title: 'Run cancelled' },
  internal: { status: 500, title: 'Internal server error' },
  unavailable: { status: 503, title: 'Service unavailable' },
  storage_full: { status: 503, title: 'Storage full' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class FlowgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors?: FieldProblem[];
  readonly headers?: Record<string, string>;
  readonly extra?: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    detail: string,
    opts: { errors?: FieldProblem[]; headers?: Record<string, string>; extra?: Record<string, unknown> } = {},
  ) {
    super(detail);
    this.name = 'FlowgateError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.errors = opts.errors;
    this.headers = opts.headers;
    this.extra = opts.extra;
  }
}

/** Problem `type` URI for an error code; the catalogue is documented in docs/api.md. */
export const problemType = (code: string): string => `https://flowgate.dev/problems/${code.replace(/_/g, '-')}`;

/** True for the error a store raises when it has no space left to write (see src/app/storage-guard.ts). */
export const isStorageFull = (e: unknown): boolean => e instanceof FlowgateError && e.code === 'storage_full';
/** A store verb refused because the database cannot be reached (src/app/storage-guard.ts): nothing was written, it may be tried again. */
export const isStoreUnavailable = (e: unknown): boolean => e instanceof FlowgateError && e.code === 'unavailable';

export const notFound = (what: string): FlowgateError => new FlowgateError('not_found', `${what} not found`);
export const validationFailed = (errors: FieldProblem[], detail = 'The input does not match the declared params'): FlowgateError =>
  new FlowgateError('validation_failed', detail, { errors });
