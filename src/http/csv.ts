/**
 * CSV request bodies (docs/spec.md §5.4), read as a stream: bytes are counted against their own limit,
 * decoded (UTF-8, strictly, or Windows-1251), the delimiter is detected from the first line when the
 * caller names none, and records come out one at a time with the file line they start on. The body
 * is never held whole in memory.
 *
 * Quoting follows RFC 4180 with Excel's leniency: a quote inside an unquoted field is kept as a
 * character. A record that cannot be parsed (an unclosed quote swallows the rest of the file) comes
 * out as a bad record with its line.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline, Readable } from 'node:stream';
import { parse, type Info } from 'csv-parse';
import iconv from 'iconv-lite';
import { FlowgateError } from '../core/errors.js';
import { markConnectionClose } from './body.js';

export type CsvDelimiter = ',' | ';' | '|';
export type CsvEncoding = 'utf-8' | 'windows-1251';

export const CSV_DELIMITERS: readonly CsvDelimiter[] = [',', ';', '|'];

export interface CsvReadOptions {
  /** Detected from the first line when absent. */
  delimiter?: CsvDelimiter;
  encoding: CsvEncoding;
  maxBytes: number;
  /** Records (the header included) beyond this refuse the file with 413. */
  maxRecords: number;
  /** Told the delimiter in use (given or detected) before the first record. */
  onDelimiter?: (delimiter: CsvDelimiter) => void;
}

export type CsvItem =
  | { kind: 'record'; line: number; fields: string[] }
  | { kind: 'bad'; line: number; message: string };

/** The encoding named by a query value or charset, or undefined when it is not supported. */
export function csvEncoding(name: string): CsvEncoding | undefined {
  const n = name.trim().toLowerCase();
  if (n === 'utf-8' || n === 'utf8') return 'utf-8';
  if (n === 'windows-1251' || n === 'cp1251' || n === 'win1251' || n === 'win-1251') return 'windows-1251';
  return undefined;
}

/** The delimiter that splits `line` most often outside quotes (`,` on a tie or when none occurs). */
export function detectDelimiter(line: string): CsvDelimiter {
  const counts = new Map<CsvDelimiter, number>(CSV_DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && counts.has(c as CsvDelimiter)) counts.set(c as CsvDelimiter, counts.get(c as CsvDelimiter)! + 1);
  }
  let best: CsvDelimiter = ',';
  for (const d of CSV_DELIMITERS) if (counts.get(d)! > counts.get(best)!) best = d;
  return best;
}

const tooLarge = (detail: string): FlowgateError => new FlowgateError('payload_too_large', detail);

/** Decoded text of the body, chunk by chunk, under the byte limit. */
async function* decodedText(req: IncomingMessage, res: ServerResponse, opts: CsvReadOptions): AsyncGenerator<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > opts.maxBytes) {
    markConnectionClose(res);
    throw tooLarge(`the CSV file is ${declared} bytes; the limit is ${opts.maxBytes}`);
  }
  const utf8 = opts.encoding === 'utf-8' ? new TextDecoder('utf-8', { fatal: true }) : null;
  const cp1251 = opts.encoding === 'windows-1251' ? iconv.getDecoder('win1251') : null;
  let received = 0;
  const decode = (chunk?: Buffer): string => {
    if (cp1251) return chunk ? cp1251.write(chunk) : (cp1251.end() ?? '');
    try {
      return chunk ? utf8!.decode(chunk, { stream: true }) : utf8!.decode();
    } catch {
      throw new FlowgateError('malformed_body', 'the file is not valid UTF-8; for a Windows-1251 file pass encoding=windows-1251');
    }
  };
  const chunks = (req as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = await chunks.next();
    } catch {
      throw new FlowgateError('bad_request', 'the upload was aborted before the file was complete');
    }
    if (next.done) break;
    const chunk = next.value;
    received += chunk.length;
    if (received > opts.maxBytes) {
      markConnectionClose(res);
      throw tooLarge(`the CSV file exceeds ${opts.maxBytes} bytes`);
    }
    const text = decode(chunk);
    if (text) yield text;
  }
  const rest = decode();
  if (rest) yield rest;
}

/** Newlines inside a record's fields (a quoted field may span lines). */
function innerLines(fields: string[]): number {
  let n = 0;
  for (const f of fields) {
    for (let i = f.indexOf('\n'); i !== -1; i = f.indexOf('\n', i + 1)) n++;
  }
  return n;
}

/**
 * The records of a CSV body in file order. Throws FlowgateError: 413 past the byte or record
 * limit (the connection is then closed, the rest of the body unread), 400 for bytes that do not
 * decode.
 */
export async function* readCsv(req: IncomingMessage, res: ServerResponse, opts: CsvReadOptions): AsyncGenerator<CsvItem> {
  const text = decodedText(req, res, opts);
  // Look at the first line before the parser exists: it decides the delimiter.
  let head = '';
  let ended = false;
  while (!head.includes('\n') && head.length < 65_536) {
    const next = await text.next();
    if (next.done) {
      ended = true;
      break;
    }
    head += next.value;
  }
  if (head.charCodeAt(0) === 0xfeff) head = head.slice(1);
  const delimiter = opts.delimiter ?? detectDelimiter(head.slice(0, head.indexOf('\n') === -1 ? undefined : head.indexOf('\n')));

  opts.onDelimiter?.(delimiter);
  const parser = parse({
    delimiter, info: true, relax_quotes: true, relax_column_count: true, skip_records_with_error: true,
    skip_empty_lines: true, bom: true, max_record_size: 1_048_576,
  });
  const bad: CsvItem[] = [];
  let lastEnd = 0;
  parser.on('skip', (err: Error & { code?: string; lines?: number }) => {
    const line = err.code === 'CSV_QUOTE_NOT_CLOSED' ? lastEnd + 1 : (err.lines ?? lastEnd + 1);
    const message = err.code === 'CSV_QUOTE_NOT_CLOSED'
      ? `a quote opened on line ${line} is never closed (the rest of the file is part of this field)`
      : err.code === 'CSV_MAX_RECORD_SIZE' ? 'the record is larger than 1 MiB' : `the record cannot be parsed: ${err.message}`;
    bad.push({ kind: 'bad', line, message });
  });
  const source = Readable.from((async function* () {
    if (head) yield head;
    if (!ended) yield* text;
  })(), { objectMode: false });
  pipeline(source, parser, () => undefined);

  let records = 0;
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: Info }>) {
      while (bad.length) yield bad.shift()!;
      records++;
      if (records > opts.maxRecords) {
        markConnectionClose(res);
        throw tooLarge(`the CSV file has more than ${opts.maxRecords - 1} rows`);
      }
      const end = item.info.lines;
      lastEnd = end;
      yield { kind: 'record', line: end - innerLines(item.record), fields: item.record };
    }
    while (bad.length) yield bad.shift()!;
  } finally {
    if (!parser.destroyed) parser.destroy();
    if (!source.destroyed) source.destroy();
  }
}

// ---------------------------------------------------------------- writing

const NEEDS_QUOTES = /["\r\n]|^\s|\s$/;

/** One CSV line (without its terminator), quoting where needed. */
export function csvLine(fields: readonly string[], delimiter: CsvDelimiter): string {
  return fields.map((f) => (f.includes(delimiter) || NEEDS_QUOTES.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(delimiter);
}

/** Text in the given encoding (characters Windows-1251 lacks become `?`). */
export function encodeCsv(text: string, encoding: CsvEncoding): Buffer {
  return encoding === 'utf-8' ? Buffer.from(text, 'utf8') : iconv.encode(text, 'win1251');
}
