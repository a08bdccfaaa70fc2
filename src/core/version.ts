/** Flowgate's version (package.json), and the User-Agent its outgoing requests carry. */
import { readFileSync } from 'node:fs';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Sent by `http` steps unless the step sets its own `User-Agent`. */
export const USER_AGENT = `Flowgate/${VERSION}`;
