/**
 * Request bodies: reading the raw bytes under a size limit, and turning them into a trigger's params.
 *
 * The raw bytes are what signatures are checked against, so reading and parsing are separate steps:
 * `readBody` → verify (elsewhere) → `parseParamsBody` / `parseJsonBody`.
 *
 * Oversized bodies (docs/spec.md §8.14): up to 16× the limit the rest of the body is read and discarded, so the
 * caller answers a complete 413 on a connection that stays usable; beyond that, the response is marked
 * `Connection: close` and the socket is destroyed once the answer has been flushed.
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { exactIntegers } from '../core/exact-integers.js';
import { checkDepth, exceedsDepth, tooDeep } from '../core/depth.js';
import { FlowgateError } from '../core/errors.js';
import { locateTooDeep } from '../core/json-error.js';
import { xmlToObject } from './xml.js';

/** How far past the limit an oversized body is still drained to keep the connection (docs/spec.md §8.14). */
export const DRAIN_FACTOR = 16;
/** How long a closing connection may linger (draining input) after its answer before it is destroyed. */
const CLOSE_LINGER_MS = 2_000;

const EMPTY = Buffer.alloc(0);

// ---------------------------------------------------------------- connection-close marking

const closing = new WeakSet<ServerResponse>();

/**
 * Marks a response so that it is sent with `Connection: close` and its socket is destroyed after the
 * answer has been flushed. Used when a request body is too large to drain.
 */
export function markConnectionClose(res: ServerResponse): void {
  if (closing.has(res)) return;
  closing.add(res);
  if (!res.headersSent) res.setHeader('Connection', 'close');
  const socket = res.socket;
  let done = false;
  const destroy = (): void => {
    if (done || !socket || socket.destroyed) return;
    done = true;
    // Node half-closes the socket after a `Connection: close` answer; give the peer a moment to read
    // it, then let go of the connection whatever the peer does.
    setTimeout(() => socket.destroy(), CLOSE_LINGER_MS).unref();
    socket.end();
  };
  if (res.writableFinished) destroy();
  else {
    res.once('finish', destroy);
    res.once('close', destroy);
  }
}

/** True when the response must go out with `Connection: close` (see {@link markConnectionClose}). */
export function isConnectionClose(res: ServerResponse): boolean {
  return closing.has(res);
}

// ---------------------------------------------------------------- reading

const tooLarge = (limitBytes: number): FlowgateError =>
  new FlowgateError('payload_too_large', `request body exceeds ${limitBytes} bytes`, { extra: { limit_bytes: limitBytes } });

function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers['content-length'];
  if (header === undefined) return undefined;
  const n = Number(header);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Collects the raw request body, at most `limitBytes` of it.
 *
 * Rejects only with FlowgateError: `payload_too_large` (413) for an oversized body (after draining
 * it up to 16× the limit, or at once with the response marked connection-close beyond that), and
 * `bad_request` when the client aborts mid-body.
 */
export function readBody(req: IncomingMessage, res: ServerResponse, limitBytes: number): Promise<Buffer> {
  const declared = declaredLength(req);
  // Node's parser frames requests: without Content-Length or Transfer-Encoding there is no body.
  if (declared === 0 || (declared === undefined && req.headers['transfer-encoding'] === undefined)) {
    return Promise.resolve(EMPTY);
  }
  if (req.readableEnded) {
    return Promise.reject(new FlowgateError('internal', 'request body was already consumed'));
  }
  const drainLimit = limitBytes * DRAIN_FACTOR;
  if (declared !== undefined && declared > drainLimit) {
    markConnectionClose(res);
    req.pause();
    return Promise.reject(tooLarge(limitBytes));
  }

  return new Promise<Buffer>((resolve, reject) => {
    // Stays attached: a late error (client gone after we stopped listening) must never go unhandled.
    if (!req.listeners('error').includes(ignore)) req.on('error', ignore);
    new BodyCollector(req, res, limitBytes, declared, resolve, reject).listen();
  });
}

/**
 * One body being read. A class rather than closures: its handlers are made once per request by
 * `bind`, which costs less than naming fresh arrow functions on every request.
 */
class BodyCollector {
  private received = 0;
  private oversized: boolean;
  private readonly drainLimit: number;
  // With a known length the bytes go into one buffer, allocated once (or not at all when the body
  // arrives in a single chunk, the common case for small bodies).
  private target: Buffer | undefined;
  private single: Buffer | undefined;
  private chunks: Buffer[] | undefined;
  private readonly onData: (chunk: Buffer) => void;
  private readonly onEnd: () => void;
  private readonly onError: () => void;
  private readonly onClose: () => void;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly limitBytes: number,
    private readonly declared: number | undefined,
    private readonly resolve: (body: Buffer) => void,
    private readonly reject: (e: FlowgateError) => void,
  ) {
    this.oversized = declared !== undefined && declared > limitBytes;
    this.drainLimit = limitBytes * DRAIN_FACTOR;
    this.onData = this.data.bind(this);
    this.onEnd = this.end.bind(this);
    this.onError = this.error.bind(this);
    this.onClose = this.close.bind(this);
  }

  listen(): void {
    const req = this.req;
    req.on('data', this.onData);
    req.on('end', this.onEnd);
    req.on('error', this.onError);
    req.on('close', this.onClose);
    if (req.isPaused()) req.resume();
  }

  private finish(): void {
    this.req.off('data', this.onData);
    this.req.off('end', this.onEnd);
    this.req.off('error', this.onError);
    this.req.off('close', this.onClose);
  }

  private data(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const start = this.received;
    this.received += chunk.length;
    if (!this.oversized && this.received > this.limitBytes) {
      this.oversized = true;
      this.target = this.single = this.chunks = undefined;
    }
    if (this.oversized) {
      if (this.received > this.drainLimit) {
        this.finish();
        markConnectionClose(this.res);
        this.req.pause();
        this.reject(tooLarge(this.limitBytes));
      }
      return;
    }
    if (start === 0) {
      this.single = chunk;
    } else if (this.declared !== undefined) {
      if (!this.target) {
        this.target = Buffer.allocUnsafe(this.declared);
        this.single!.copy(this.target, 0);
        this.single = undefined;
      }
      chunk.copy(this.target, start);
    } else {
      if (!this.chunks) {
        this.chunks = [this.single!];
        this.single = undefined;
      }
      this.chunks.push(chunk);
    }
  }

  private end(): void {
    this.finish();
    const { received, single, target, chunks } = this;
    if (this.oversized) this.reject(tooLarge(this.limitBytes));
    else if (single) this.resolve(single);
    else if (target) this.resolve(received === target.length ? target : target.subarray(0, received));
    else if (chunks) this.resolve(Buffer.concat(chunks, received));
    else this.resolve(EMPTY);
  }

  private error(): void {
    this.finish();
    this.reject(new FlowgateError('bad_request', 'request body was aborted before it was complete'));
  }

  private close(): void {
    // 'close' after 'end' is normal; before it, the client went away mid-body.
    if (!this.req.complete) this.error();
  }
}

function ignore(): void {}

// ---------------------------------------------------------------- media types

export interface MediaType {
  /** Lowercased `type/subtype` without parameters; '' when the header is missing or empty. */
  type: string;
  /** Lowercased `charset` parameter, when given. */
  charset?: string;
}

/** Parses a Content-Type header value. */
export function parseMediaType(header: string | undefined): MediaType {
  if (!header) return { type: '' };
  const semi = header.indexOf(';');
  const type = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
  if (semi === -1) return { type };
  let charset: string | undefined;
  for (const param of header.slice(semi + 1).split(';')) {
    const eq = param.indexOf('=');
    if (eq === -1 || param.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    let value = param.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (value) charset = value.toLowerCase();
  }
  return charset ? { type, charset } : { type };
}

/** The request's media type (lowercased, without parameters) and charset. */
export function mediaType(req: IncomingMessage): MediaType {
  return parseMediaType(req.headers['content-type']);
}

export type BodyFormat = 'json' | 'form' | 'xml';

/** Which params format a media type names, or undefined when it names none. */
export function bodyFormat(type: string): BodyFormat | undefined {
  if (type === 'application/json' || type.endsWith('+json')) return 'json';
  if (type === 'application/x-www-form-urlencoded') return 'form';
  if (type === 'application/xml' || type === 'text/xml' || type.endsWith('+xml')) return 'xml';
  return undefined;
}

// ---------------------------------------------------------------- text decoding

const UTF8 = new Set(['utf-8', 'utf8', 'unicode-1-1-utf-8']);
const decoders = new Map<string, TextDecoder>();

/** Decodes body bytes in `charset` (default UTF-8), strictly: invalid bytes are a malformed body. */
export function decodeText(bytes: Buffer, charset?: string): string {
  if (charset === undefined || UTF8.has(charset)) {
    if (!isUtf8(bytes)) {
      throw new FlowgateError('malformed_body', 'request body is not valid UTF-8 (declare its charset in Content-Type)');
    }
    const text = bytes.toString('utf8');
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }
  let decoder = decoders.get(charset);
  if (!decoder) {
    try {
      decoder = new TextDecoder(charset, { fatal: true });
    } catch {
      throw new FlowgateError('unsupported_media_type', `charset "${charset}" is not supported`);
    }
    decoders.set(charset, decoder);
  }
  try {
    return decoder.decode(bytes);
  } catch {
    throw new FlowgateError('malformed_body', `request body is not valid ${charset}`);
  }
}

// ---------------------------------------------------------------- parsing

/** Parses a JSON body (UTF-8, BOM allowed). Throws FlowgateError('malformed_body') on bad JSON, `too_deep` past the nesting limit. */
export function parseJsonBody(bytes: Buffer, charset?: string): unknown {
  const text = decodeText(bytes, charset);
  if (text.trim() === '') throw new FlowgateError('malformed_body', 'request body is empty; expected JSON');
  return parseJsonText(text);
}

function parseJsonText(text: string): unknown {
  let value: unknown;
  try {
    // V8's JSON.parse does not recurse, so it reads any depth; the limit is applied to its result.
    value = JSON.parse(exactIntegers(text));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const at = /at position (\d+)/.exec(message);
    const where = at ? ` (line ${lineColumn(text, Number(at[1]))})` : '';
    throw new FlowgateError('malformed_body', `invalid JSON: ${message}${where}`);
  }
  if (exceedsDepth(value)) {
    const at = locateTooDeep(text);
    throw tooDeep(at ? `the JSON body (at line ${at.line}, column ${at.column})` : 'the JSON body');
  }
  return value;
}

function lineColumn(text: string, index: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `${line}, column ${index - lineStart + 1}`;
}

const FORM_LIKE = /^[^=&\s]+=[^&\r\n]*(?:&(?:[^=&\s]+=[^&\r\n]*)?)*&?$/;

/**
 * The params object of a trigger body: a JSON object, a form (string values, repeated keys → array
 * of strings, `a[b]` keys kept literal) or an XML document (see xml.ts). An empty body is `{}`.
 * Without a Content-Type the format is sniffed (`{`/`[` JSON, `<` XML, `k=v&…` form).
 *
 * Throws only FlowgateError: `malformed_body` (400), `too_deep` (400: nested deeper than the nesting
 * limit, core/depth.ts), `unsupported_media_type` (415).
 */
export function parseParamsBody(bytes: Buffer, contentType: string | undefined): Record<string, unknown> {
  try {
    const params = parseParams(bytes, contentType);
    // Every format is held to the nesting limit (JSON and XML already refuse it while parsing).
    checkDepth(params, 'the body');
    return params;
  } catch (err) {
    if (err instanceof FlowgateError) throw err;
    throw new FlowgateError('malformed_body', `request body could not be parsed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function parseParams(bytes: Buffer, contentType: string | undefined): Record<string, unknown> {
  const media = parseMediaType(contentType);
  let format: BodyFormat | undefined;
  if (media.type !== '') {
    format = bodyFormat(media.type);
    if (!format) {
      throw new FlowgateError(
        'unsupported_media_type',
        `Content-Type ${media.type} is not accepted; send application/json, application/x-www-form-urlencoded or application/xml`,
      );
    }
  }
  if (bytes.length === 0) return {};
  const text = format === 'xml' ? decodeText(bytes, media.charset ?? xmlDeclaredCharset(bytes)) : decodeText(bytes, media.charset);
  if (/^\s*$/.test(text)) return {};

  format ??= sniff(text);
  switch (format) {
    case 'json': {
      const value = parseJsonText(text);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new FlowgateError('malformed_body', 'body must be a JSON object');
      }
      return value as Record<string, unknown>;
    }
    case 'form': {
      refuseJsonSentAsForm(text);
      return parseForm(bytes, media.charset);
    }
    case 'xml':
      return xmlToObject(text);
  }
}

/**
 * `curl -d '{"amount": 5}'` sends JSON as `application/x-www-form-urlencoded` (curl's default), which
 * would parse as one key that looks like JSON: refused with the likely cause instead of a run whose
 * data is that key. (No form of name=value pairs starts with `{` and ends with `}`.)
 */
function refuseJsonSentAsForm(text: string): void {
  const t = text.trim();
  if ((t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']'))) {
    throw new FlowgateError('malformed_body', 'the body looks like JSON but was sent as application/x-www-form-urlencoded (curl\'s default with -d): send it with Content-Type: application/json');
  }
}

function sniff(text: string): BodyFormat {
  const start = text.trimStart();
  const c = start[0];
  if (c === '{' || c === '[') return 'json';
  if (c === '<') return 'xml';
  if (FORM_LIKE.test(start.trimEnd())) return 'form';
  throw new FlowgateError(
    'unsupported_media_type',
    'body format not recognised; send Content-Type application/json, application/x-www-form-urlencoded or application/xml',
  );
}

/** The `encoding` of an XML declaration, or a UTF-16 byte-order mark, when the Content-Type names none. */
function xmlDeclaredCharset(bytes: Buffer): string | undefined {
  if (bytes.length >= 2) {
    if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
    if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  }
  const head = bytes.subarray(0, 256).toString('latin1');
  const m = /^(?:\uFEFF|\xEF\xBB\xBF)?\s*<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head);
  return m ? m[1].toLowerCase() : undefined;
}

// ---------------------------------------------------------------- forms

/**
 * `application/x-www-form-urlencoded` → params. `+` is a space and `%XX` a byte; each key and value is
 * decoded from its bytes in `charset` (default UTF-8, strictly). Values are strings; a repeated key
 * collects an array of strings; keys such as `a[b]` stay literal. A string input is taken as text.
 */
export function parseForm(input: Buffer | string, charset?: string): Record<string, unknown> {
  // The latin1 view maps every byte to one char, so raw bytes and %-escapes decode alike below.
  const text = typeof input === 'string' ? Buffer.from(input, 'utf8').toString('latin1') : input.toString('latin1');
  const out: Record<string, unknown> = {};
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decodeFormComponent(eq === -1 ? pair : pair.slice(0, eq), charset);
    const value = eq === -1 ? '' : decodeFormComponent(pair.slice(eq + 1), charset);
    if (!Object.hasOwn(out, key)) {
      defineKey(out, key, value);
    } else {
      const existing = out[key];
      if (Array.isArray(existing)) existing.push(value);
      else defineKey(out, key, [existing, value]);
    }
  }
  return out;
}

const PLAIN_ASCII = /^[^%+\u0080-\u00ff]*$/;

/** Decodes one key or value given as its latin1 view (one char per byte). */
function decodeFormComponent(raw: string, charset?: string): string {
  if (PLAIN_ASCII.test(raw)) return raw;
  const bytes = Buffer.allocUnsafe(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x2b /* + */) {
      bytes[n++] = 0x20;
    } else if (c === 0x25 /* % */ && i + 2 < raw.length && isHex(raw.charCodeAt(i + 1)) && isHex(raw.charCodeAt(i + 2))) {
      bytes[n++] = Number.parseInt(raw.slice(i + 1, i + 3), 16);
      i += 2;
    } else {
      bytes[n++] = c; // a literal byte (a lone '%' included, as browsers and URLSearchParams keep it)
    }
  }
  const decoded = bytes.subarray(0, n);
  if (charset === undefined || UTF8.has(charset)) {
    if (!isUtf8(decoded)) throw new FlowgateError('malformed_body', 'form field is not valid UTF-8 after percent-decoding');
    return decoded.toString('utf8');
  }
  return decodeText(decoded, charset);
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** An own data property, so `__proto__` stays a key instead of replacing the prototype. */
function defineKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}
