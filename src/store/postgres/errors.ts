/**
 * Which errors of the PostgreSQL store mean the database cannot be reached right now (the server
 * is down, restarting, refusing connections, or the connection broke), as opposed to an error of
 * the statement itself. Such a verb changed nothing the caller was told of; it may be tried again
 * once the pool has a working connection (the pool opens a new one for the next query).
 */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown, crash, not accepting yet). */
const SQLSTATE = /^(08|57P0[1-3])/;
const MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused|terminating connection|the database system is (starting up|shutting down|in recovery mode)/i;

export function isPostgresUnavailableError(e: unknown): boolean {
  for (let err = e, depth = 0; err && depth < 4; err = (err as { cause?: unknown }).cause, depth++) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || SQLSTATE.test(code))) return true;
    const message = (err as { message?: unknown }).message;
    if (typeof message === 'string' && MESSAGES.test(message)) return true;
    if (err instanceof AggregateError && err.errors.some((x) => isPostgresUnavailableError(x))) return true;
  }
  return false;
}
