/**
 * Regular expressions written by users (param `pattern`, JSONata's regex literals) run on RE2
 * (`re2-wasm`), whose matching time is linear in the input: no pattern and input can make a match
 * backtrack for seconds on the event loop, as JavaScript's own engine does with `^(a+)+$`.
 *
 * RE2 syntax is JavaScript's, less what needs backtracking: backreferences (`\1`, `\k<name>`) and
 * lookaround (`(?=…)`, `(?!…)`, `(?<=…)`, `(?<!…)`) are refused with a `RegexError` saying so. It
 * always matches by code point (as JavaScript does with the `u` flag). `\s` keeps JavaScript's
 * meaning (Unicode spaces); `.` and a multiline `^`/`$` treat only `\n` as a line end.
 *
 * What the engine costs, and how it is kept bounded:
 * - Compiling is slow (≈ 0.2 ms for `^[A-Z]{3}$`, ≈ 1 ms with `i`), so compiled patterns are kept
 *   in one LRU cache of `CACHE_SIZE` entries shared by every user of this module. Nothing else holds
 *   a compiled pattern: a `UserRegex` is its source and flags, and looks its compiled form up at
 *   each match, so evicting an entry (and freeing its memory) is always safe.
 * - Each match copies the input into the engine, so a match costs time in proportion to the input
 *   from the start position on (≈ 25 ns per character), and a pattern whose automaton has many
 *   states (`[ab]*a[ab]{18}`) costs up to ≈ 0.5 s for building them the first time (bounded by the
 *   engine's memory budget per pattern) and then a few µs per character: inputs longer than
 *   `MAX_INPUT` characters are refused.
 * - The engine has a fixed heap of 16 MB and no garbage collector: compiled patterns are freed
 *   explicitly when evicted, and if the heap runs out anyway (an aborted engine answers nothing
 *   more), a fresh engine is loaded, the cache emptied and the operation tried once again.
 */
import { createRequire } from 'node:module';

/** A pattern RE2 cannot run, or an input it refuses; `message` says why, for the user. */
export class RegexError extends Error {
  readonly code = 'regex_error' as const;
  constructor(message: string) {
    super(message);
    this.name = 'RegexError';
  }
}

/** One match: the matched text, its index in the input (UTF-16 units), the capture groups. */
export interface RegexMatch {
  match: string;
  index: number;
  /** Capture groups 1…n; a group that did not take part is undefined. */
  groups: Array<string | undefined>;
}

/** Compiled patterns kept at once. */
export const CACHE_SIZE = 64;
/** The longest input (UTF-16 code units) a match accepts. */
export const MAX_INPUT = 100_000;

// ---------------------------------------------------------------- the engine

interface Re2Instance {
  lastIndex: number;
  exec(input: string): (Array<string | undefined> & { index: number }) | null;
}
type Re2Class = new (pattern: string, flags: string) => Re2Instance;

const nodeRequire = createRequire(import.meta.url);
const ENGINE_FILES = ['re2-wasm', 're2-wasm/build/wasm/re2.js'];

function loadEngine(fresh: boolean): Re2Class {
  if (fresh) {
    for (const id of ENGINE_FILES) delete nodeRequire.cache[nodeRequire.resolve(id)];
  }
  return (nodeRequire('re2-wasm') as { RE2: Re2Class }).RE2;
}

/** Loaded on first use: a process that never meets a user regex never compiles the engine. */
let RE2: Re2Class | null = null;
/** How many times the engine was loaded again after it aborted (for tests and logs). */
let reloads = 0;
export const engineReloads = (): number => reloads;

/** key (`flags/source`) → compiled pattern (an RE2 with flags `g` and `u` set). */
const compiled = new Map<string, Re2Instance>();

/** Frees a compiled pattern's engine memory (re2-wasm has no finalizer). */
function free(re: Re2Instance): void {
  try {
    (re as unknown as { wrapper: { delete(): void } }).wrapper.delete();
  } catch {
    // an aborted engine: its whole heap is dropped with it
  }
}

/** Whether an error comes from the engine itself (an abort: out of memory), not from the pattern. */
const isEngineFailure = (e: unknown): boolean =>
  e instanceof WebAssembly.RuntimeError || (e instanceof Error && !(e instanceof SyntaxError) && /abort\(|OOM/.test(e.message));

function reloadEngine(): void {
  compiled.clear();
  RE2 = loadEngine(true);
  reloads++;
}

/** Runs `f` against the engine; once again on a fresh engine if this one aborted. */
function withEngine<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!isEngineFailure(e)) throw e;
  }
  reloadEngine();
  try {
    return f();
  } catch (e) {
    if (!isEngineFailure(e)) throw e;
    reloadEngine();
    throw new RegexError('the regular expression needs more memory than the regex engine has');
  }
}

// ---------------------------------------------------------------- syntax

/** JavaScript's `\s` (WhiteSpace and LineTerminator), in RE2 class syntax; RE2's own is ASCII only. */
const SPACES = '\\t\\n\\v\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}';

/** Gives `\s` and `\S` JavaScript's meaning (`\S` inside a class stays RE2's: ASCII). */
function translate(source: string): string {
  if (!source.includes('\\s') && !source.includes('\\S')) return source;
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === '\\' && i + 1 < source.length) {
      const next = source[i + 1];
      i++;
      if (next === 's') out += inClass ? SPACES : `[${SPACES}]`;
      else if (next === 'S' && !inClass) out += `[^${SPACES}]`;
      else out += ch + next;
      continue;
    }
    if (ch === '[' && !inClass) inClass = true;
    else if (ch === ']' && inClass) inClass = false;
    out += ch;
  }
  return out;
}

/** The user's message for a pattern RE2 refused. */
function refusal(source: string, e: unknown): RegexError {
  const raw = e instanceof Error ? e.message : String(e);
  const why = raw.replace(/^Invalid regular expression: \/[\s\S]*\/[a-z]*: /, '');
  if (/^invalid escape sequence: \\([1-9]|k)/.test(why)) {
    return new RegexError('uses a backreference (\\1, \\k<name>), which Flowgate\'s linear-time regex engine (RE2) does not support');
  }
  if (/^invalid perl operator: \(\?(<|=|!)/.test(why)) {
    return new RegexError('uses lookahead or lookbehind ((?=…), (?!…), (?<=…), (?<!…)), which Flowgate\'s linear-time regex engine (RE2) does not support');
  }
  return new RegexError(`is not a valid regular expression (RE2 syntax): ${why}`);
}

const FLAG_SET = new Set(['i', 'm', 's']);

/** The flags RE2 is given: the user's `i`, `m`, `s` in a fixed order, then `g` and `u`. */
function engineFlags(flags: string): string {
  let out = '';
  for (const f of ['i', 'm', 's']) if (flags.includes(f)) out += f;
  return `${out}gu`;
}

/** The compiled pattern for a key, compiling (and caching) it when it is not at hand. */
function compiledFor(key: string, source: string, flags: string): Re2Instance {
  const hit = compiled.get(key);
  if (hit !== undefined) {
    compiled.delete(key);
    compiled.set(key, hit);
    return hit;
  }
  let re: Re2Instance;
  try {
    RE2 ??= loadEngine(false);
    re = new RE2(translate(source), flags);
  } catch (e) {
    if (isEngineFailure(e)) throw e;
    throw refusal(source, e);
  }
  compiled.set(key, re);
  if (compiled.size > CACHE_SIZE) {
    const oldest = compiled.keys().next().value as string;
    const old = compiled.get(oldest) as Re2Instance;
    compiled.delete(oldest);
    free(old);
  }
  return re;
}

/** ES2024's String methods (Node 20 has them; the ES2022 lib does not declare them). */
type WellFormed = { isWellFormed(): boolean; toWellFormed(): string };

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/** The UTF-16 index of the code point at `codePoints` in `s`. */
function unitsOf(s: string, codePoints: number): number {
  let i = 0;
  for (let n = 0; n < codePoints && i < s.length; n++) {
    i += isHigh(s.charCodeAt(i)) && i + 1 < s.length && isLow(s.charCodeAt(i + 1)) ? 2 : 1;
  }
  return i;
}

// ---------------------------------------------------------------- user patterns

/**
 * A user's pattern, checked once (`compileUserRegex`), matched on RE2. Holds no engine memory of
 * its own, so it may be kept for as long as its workflow version is.
 */
export class UserRegex {
  readonly source: string;
  /** The user's flags (`i`, `m`, `s`). */
  readonly flags: string;
  private readonly key: string;
  private readonly re2Flags: string;

  constructor(source: string, flags = '') {
    for (const f of flags) {
      if (!FLAG_SET.has(f) && f !== 'g' && f !== 'u') throw new RegexError(`has an unsupported flag ${JSON.stringify(f)}`);
    }
    this.source = source;
    this.re2Flags = engineFlags(flags);
    this.flags = this.re2Flags.slice(0, -2);
    this.key = `${this.re2Flags}/${source}`;
    withEngine(() => compiledFor(this.key, this.source, this.re2Flags));
  }

  /** The leftmost match at or after `from` (a UTF-16 index), or null. */
  exec(input: string, from = 0): RegexMatch | null {
    if (input.length > MAX_INPUT) {
      throw new RegexError(`cannot match an input longer than ${MAX_INPUT} characters (this one has ${input.length})`);
    }
    if (from > input.length) return null;
    // The engine copies (and indexes) its whole input at each match: give it the text from `from`
    // on, with the one character before it that `^`, `\b` and `\B` look at (two UTF-16 units for a
    // surrogate pair). The engine counts positions in code points.
    let back = 0;
    if (from > 0) back = from >= 2 && isLow(input.charCodeAt(from - 1)) && isHigh(input.charCodeAt(from - 2)) ? 2 : 1;
    const offset = from - back;
    let text = offset === 0 ? input : input.slice(offset);
    // The engine miscounts lone surrogates (invalid UTF-16): it sees each as U+FFFD, one unit for one,
    // so indices hold, and the matched text is taken from the input itself.
    const wellFormed = (text as unknown as WellFormed).isWellFormed();
    if (!wellFormed) text = (text as unknown as WellFormed).toWellFormed();
    const m = withEngine(() => {
      const re = compiledFor(this.key, this.source, this.re2Flags);
      re.lastIndex = back === 0 ? 0 : 1;
      return re.exec(text);
    });
    if (m === null) return null;
    const index = offset + unitsOf(text, m.index);
    const match = wellFormed ? (m[0] as string) : input.slice(index, index + (m[0] as string).length);
    return { match, index, groups: m.slice(1) };
  }

  test(input: string): boolean {
    return this.exec(input, 0) !== null;
  }
}

/** Checks and prepares a user's pattern; throws RegexError (with the user's message) when RE2 cannot run it. */
export function compileUserRegex(source: string, flags = ''): UserRegex {
  return new UserRegex(source, flags);
}

/** Why RE2 cannot run a pattern (the message of its RegexError), or null when it can. */
export function regexProblem(source: string, flags = ''): string | null {
  try {
    compileUserRegex(source, flags);
    return null;
  } catch (e) {
    if (e instanceof RegexError) return e.message;
    throw e;
  }
}

// ---------------------------------------------------------------- RegExp's interface, for JSONata

/**
 * The part of RegExp's interface JSONata's regex functions use (`lastIndex`, `exec`), on RE2: given
 * to JSONata as its `RegexEngine`. JSONata constructs one from each regex literal it evaluates
 * (always global: it sets `lastIndex` before each `exec` and reads it after). `beforeMatch`, when
 * given, runs before every match (the expression's time budget throws from there).
 */
export class RegexEngine {
  lastIndex = 0;
  readonly source: string;
  readonly flags: string;
  readonly global: boolean;
  private readonly re: UserRegex;

  constructor(pattern: RegExp | string, flags?: string, private readonly beforeMatch?: () => void) {
    const source = typeof pattern === 'string' ? pattern : pattern.source;
    const f = flags ?? (typeof pattern === 'string' ? '' : pattern.flags);
    this.re = compileUserRegex(source, f);
    this.source = source;
    this.global = f.includes('g');
    this.flags = `${this.global ? 'g' : ''}${this.re.flags}`;
  }

  exec(input: string): (string | undefined)[] & { index: number; input: string } | null {
    this.beforeMatch?.();
    const str = typeof input === 'string' ? input : String(input);
    const from = this.global ? this.lastIndex : 0;
    const m = this.re.exec(str, from);
    if (m === null) {
      if (this.global) this.lastIndex = 0;
      return null;
    }
    if (this.global) this.lastIndex = m.index + m.match.length;
    const out = [m.match, ...m.groups] as (string | undefined)[] & { index: number; input: string };
    out.index = m.index;
    out.input = str;
    return out;
  }

  test(input: string): boolean {
    return this.exec(input) !== null;
  }
}

/**
 * Runs the engine once through compiling and matching (with groups, `i`, a many-state automaton):
 * its WebAssembly code is compiled on first use, which holds the event loop for ≈ 50–300 ms once.
 * The server calls this before it listens, so no request pays for it.
 */
export function warmUpRegexEngine(): void {
  const input = `${'ab'.repeat(200)}Ab1 ${'a'.repeat(30)}!`;
  for (const [source, flags] of [['^(a+)+$', ''], ['([a-z]+)(\\d)', 'i'], ['[ab]*a[ab]{6}c', ''], ['\\s+', 'm']]) {
    const re = compileUserRegex(source, flags);
    for (let from = 0; from < input.length; from += 97) re.exec(input, from);
  }
}
