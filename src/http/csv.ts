/**
 * CSV request bodies (docs/spec.md §5.4), read as a stream: bytes are counted against their own limit,
 * decoded (UTF-8, strictly, or Windows-1251), the delimiter is detected from the first line when the
 * caller names none, and records come out one at a time with the file line they start on. The body
 * is never held whole in memory.
 *
 * Quoting follows RFC 4180 with Excel's leniency: a quote inside an unquoted field is kept as a
 * character. A record that cannot be parsed (an unclosed quote swallows the rest of the file) or is
 * longer than the row limit comes out as one bad record with the line it starts on, and the records
 * after it are read as usual.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
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
  /** Characters of one record beyond which it is a bad record (default CSV_MAX_RECORD_CHARS). */
  maxRecordChars?: number;
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

const QUOTE = 34;
const CR = 13;
const LF = 10;
/** Where the tokenizer is: before a field, inside an unquoted one, inside quotes, just after a quote inside quotes. */
const enum At { Start, Plain, Quoted, QuoteInQuoted }

/**
 * Splits decoded text into records, chunk by chunk; a record may span chunks. Each record is reported
 * once, with the line it starts on: a record longer than `maxChars` is read to its end (quotes still
 * decide where that is) without keeping its text, and comes out as one bad record.
 *
 * Records end at `\n`, `\r\n` or a lone `\r` outside quotes; empty lines are skipped (and counted).
 * A field that starts with `"` is quoted: `""` inside it is a quote, and a quote followed by anything
 * but the delimiter or the end of the record makes the whole field literal text, its quotes included
 * (Excel's leniency; so is a quote inside an unquoted field, which is a character).
 */
export class CsvTokenizer {
  private at = At.Start;
  private field = '';
  private fields: string[] = [];
  /** Characters of the current record so far (its terminator excluded). */
  private size = 0;
  private oversized = false;
  private line = 1;
  private lastCR = false;
  private recordLine = 1;
  private quoteLine = 1;
  private out: CsvItem[] = [];

  constructor(private readonly delimiter: number, readonly maxChars: number) {}

  /** The records completed by `text`. */
  push(text: string): CsvItem[] {
    const d = this.delimiter;
    const max = this.maxChars;
    // The start of a run of characters not yet added to the field (-1: none).
    let seg = -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === LF) {
        if (!this.lastCR) this.line++;
        this.lastCR = false;
      } else if (c === CR) {
        this.line++;
        this.lastCR = true;
      } else this.lastCR = false;
      const terminator = c === CR || c === LF;
      if (!(terminator && this.at !== At.Quoted)) {
        if (this.size === 0) this.recordLine = this.line;
        if (++this.size > max && !this.oversized) {
          this.oversized = true;
          this.field = '';
          this.fields = [];
          seg = -1;
        }
      }
      switch (this.at) {
        case At.Start:
          if (c === QUOTE) {
            this.at = At.Quoted;
            this.quoteLine = this.line;
          } else if (c === d) this.endField();
          else if (terminator) {
            // After a delimiter the record's last field is empty; an empty line has none.
            if (this.size > 0) this.endField();
            this.endRecord();
          } else {
            seg = i;
            this.at = At.Plain;
          }
          break;
        case At.Plain:
          if (c === d || terminator) {
            if (seg >= 0 && !this.oversized) this.field += text.slice(seg, i);
            seg = -1;
            this.endField();
            if (terminator) this.endRecord();
          } else if (seg < 0) seg = i;
          break;
        case At.Quoted:
          if (c === QUOTE) {
            if (seg >= 0 && !this.oversized) this.field += text.slice(seg, i);
            seg = -1;
            this.at = At.QuoteInQuoted;
          } else if (seg < 0) seg = i;
          break;
        case At.QuoteInQuoted:
          if (c === QUOTE) {
            if (!this.oversized) this.field += '"';
            this.at = At.Quoted;
          } else if (c === d || terminator) {
            this.endField();
            if (terminator) this.endRecord();
          } else {
            // A quote in the middle of a quoted field: the field is literal text from its first quote.
            if (!this.oversized) this.field = `"${this.field}"`;
            seg = i;
            this.at = At.Plain;
          }
          break;
      }
    }
    if (seg >= 0 && !this.oversized) this.field += text.slice(seg);
    return this.take();
  }

  /** The last record, after the end of the text. */
  end(): CsvItem[] {
    if (this.at === At.Quoted) {
      this.out.push({
        kind: 'bad', line: this.recordLine,
        message: `a quote opened on line ${this.quoteLine} is never closed (the rest of the file is part of this field)`,
      });
      this.reset();
    } else if (this.size > 0) {
      this.endField();
      this.endRecord();
    }
    return this.take();
  }

  private take(): CsvItem[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private endField(): void {
    if (!this.oversized) this.fields.push(this.field);
    this.field = '';
    this.at = At.Start;
  }

  private endRecord(): void {
    if (this.oversized) {
      this.out.push({
        kind: 'bad', line: this.recordLine,
        message: `the row starting on line ${this.recordLine} is ${this.size} characters long; the limit for one row is ${this.maxChars} characters (${formatLimit(this.maxChars)})`,
      });
    } else if (this.size > 0) {
      this.out.push({ kind: 'record', line: this.recordLine, fields: this.fields });
    }
    this.reset();
  }

  private reset(): void {
    this.fields = [];
    this.field = '';
    this.size = 0;
    this.oversized = false;
    this.at = At.Start;
  }
}

const formatLimit = (n: number): string => (n % 1_048_576 === 0 ? `${n / 1_048_576} MiB` : n % 1024 === 0 ? `${n / 1024} KiB` : `${n} characters`);

/** The longest row (record) a CSV file may hold, in characters. */
export const CSV_MAX_RECORD_CHARS = 1_048_576;

/**
 * The records of a CSV body in file order. Throws FlowgateError: 413 past the byte or record
 * limit (the connection is then closed, the rest of the body unread), 400 for bytes that do not
 * decode.
 */
export async function* readCsv(req: IncomingMessage, res: ServerResponse, opts: CsvReadOptions): AsyncGenerator<CsvItem> {
  const text = decodedText(req, res, opts);
  // Look at the first line before the tokenizer exists: it decides the delimiter.
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
  const tokenizer = new CsvTokenizer(delimiter.charCodeAt(0), opts.maxRecordChars ?? CSV_MAX_RECORD_CHARS);

  let records = 0;
  function* counted(items: CsvItem[]): Generator<CsvItem> {
    for (const item of items) {
      if (++records > opts.maxRecords) {
        markConnectionClose(res);
        throw tooLarge(`the CSV file has more than ${opts.maxRecords - 1} rows`);
      }
      yield item;
    }
  }
  if (head) yield* counted(tokenizer.push(head));
  if (!ended) for await (const chunk of text) yield* counted(tokenizer.push(chunk));
  yield* counted(tokenizer.end());
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
