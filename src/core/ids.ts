import { createHash, randomBytes, randomFillSync, randomUUID, timingSafeEqual } from 'node:crypto';

/**
 * Random bytes from a pooled buffer: one `randomFillSync` of 8 KiB serves hundreds of ids and tokens
 * (a call per id costs more than a whole trigger's other work). The bytes are still from the CSPRNG
 * and each byte is handed out once.
 */
const POOL_SIZE = 8192;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;
export function randomBytesPooled(n: number): Buffer {
  if (n > POOL_SIZE / 4) return randomBytes(n);
  if (poolOffset + n > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = Buffer.from(pool.subarray(poolOffset, poolOffset + n));
  poolOffset += n;
  return out;
}

/**
 * The smallest UUIDv7 of millisecond `ms`: every UUIDv7 made at `ms` or later sorts at or above it
 * (as a lowercase string), every earlier one below.
 */
export function uuidv7Floor(ms: number): string {
  const h = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0').slice(-12);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-0000-0000-000000000000`;
}

/** RFC 9562 UUIDv7: 48-bit ms timestamp, then random bits; ids sort by creation time. */
let lastMs = 0;
let seq = 0;
export function uuidv7(now: number = Date.now()): string {
  // A 12-bit counter in rand_a keeps ids created in the same millisecond ordered.
  if (now <= lastMs) {
    now = lastMs;
    seq++;
    if (seq > 0xfff) {
      lastMs = now = lastMs + 1;
      seq = 0;
    }
  } else {
    lastMs = now;
    seq = 0;
  }
  const b = randomBytesPooled(16);
  b[0] = Math.floor(now / 2 ** 40) & 0xff;
  b[1] = Math.floor(now / 2 ** 32) & 0xff;
  b[2] = (now >>> 24) & 0xff;
  b[3] = (now >>> 16) & 0xff;
  b[4] = (now >>> 8) & 0xff;
  b[5] = now & 0xff;
  b[6] = 0x70 | ((seq >>> 8) & 0x0f);
  b[7] = seq & 0xff;
  b[8] = 0x80 | (b[8] & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const uuidv4 = (): string => randomUUID();

/** A URL-safe random token with `bytes` bytes of entropy. */
export const randomToken = (bytes = 24): string => randomBytesPooled(bytes).toString('base64url');

export const sha256Hex = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

/** Constant-time comparison of two strings (false when lengths differ). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  if (x.length !== y.length) return false;
  return timingSafeEqual(x, y);
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
