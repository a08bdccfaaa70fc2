/**
 * JSON integers outside the range a JavaScript number holds exactly (±(2^53 − 1)) lose digits in
 * JSON.parse: `3159895014223541328` becomes 3159895014223541000, so a Corezoid ref sent as a number
 * would be echoed wrong and clash with another task's. Flowgate reads every JSON text that enters
 * (request bodies) with such literals turned into strings of their digits first: a ref keeps every
 * digit, a param declared `string` gets the digits as text, and one declared `number` or `integer`
 * refuses them with a 422 naming its path (core/params.ts) instead of rounding in silence.
 */

/** The largest integer literal, in digits, that is always exact (MAX_SAFE_INTEGER has 16). */
const ALWAYS_EXACT_DIGITS = 15;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A cheap test: can the text hold an integer literal of 16 or more digits at all? */
const MAYBE_LONG = /\d{16}/;

/**
 * The JSON text with every integer literal (outside strings) beyond the exact range written as a
 * string of its digits (`-` kept). Other text, floats and exponents included, is left as is. The
 * text is not validated here: JSON.parse does that next.
 */
export function exactIntegers(text: string): string {
  if (!MAYBE_LONG.test(text)) return text;
  let out = '';
  let from = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Skip the string, escapes included.
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) { i++; break; }
        else i++;
      }
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      if (c === 0x2d) i++;
      const digitsAt = i;
      while (i < n && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
      const digits = i - digitsAt;
      // A fraction or an exponent makes it a float: JSON.parse reads it as the nearest number.
      const next = i < n ? text.charCodeAt(i) : 0;
      const isFloat = next === 0x2e /* . */ || next === 0x65 /* e */ || next === 0x45 /* E */;
      // A leading zero is not JSON: left for JSON.parse to refuse.
      if (!isFloat && digits > ALWAYS_EXACT_DIGITS && text.charCodeAt(digitsAt) !== 0x30) {
        const literal = text.slice(start, i);
        const magnitude = BigInt(text.slice(digitsAt, i));
        if (magnitude > MAX_SAFE) {
          out += `${text.slice(from, start)}"${literal}"`;
          from = i;
        }
      }
      // Skip the rest of a float token so its digits are not read as another literal.
      while (i < n) {
        const d = text.charCodeAt(i);
        if ((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) i++;
        else break;
      }
      continue;
    }
    i++;
  }
  return from === 0 ? text : out + text.slice(from);
}

/** True when a string is an integer literal outside the exact range (for params declared number). */
export function isInexactInteger(s: string): boolean {
  const m = /^\s*[+-]?(\d+)\s*$/.exec(s);
  return m !== null && m[1].length > ALWAYS_EXACT_DIGITS && BigInt(m[1]) > MAX_SAFE;
}
