/** An API error as the console shows it: the problem document's title, detail and field problems. */
export interface FieldProblem {
  path: string;
  message: string;
}

export interface ProblemDocument {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldProblem[];
  [extra: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly errors: FieldProblem[];
  readonly problem: ProblemDocument;

  constructor(problem: ProblemDocument) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
    this.name = 'ApiError';
    this.problem = problem;
    this.status = problem.status;
    this.title = problem.title;
    this.detail = problem.detail ?? '';
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
  }
}

/** The problem document of a failed answer; a body that is not one still gives a readable error. */
export function toProblem(status: number, statusText: string, body: string, contentType: string): ProblemDocument {
  if (/json/i.test(contentType)) {
    try {
      const doc = JSON.parse(body) as Partial<ProblemDocument>;
      if (doc && typeof doc === 'object' && typeof doc.title === 'string') {
        return { ...doc, title: doc.title, status: typeof doc.status === 'number' ? doc.status : status } as ProblemDocument;
      }
    } catch {
      // not JSON after all: fall through
    }
  }
  return { title: statusText || `HTTP ${status}`, status, detail: body.slice(0, 300) };
}

/** Any thrown value as a problem to show (network failures included). */
export function describeError(e: unknown): { title: string; detail: string; errors: FieldProblem[] } {
  if (e instanceof ApiError) return { title: e.title, detail: e.detail, errors: e.errors };
  if (e instanceof Error) return { title: 'The server could not be reached', detail: e.message, errors: [] };
  return { title: 'Something went wrong', detail: String(e), errors: [] };
}
