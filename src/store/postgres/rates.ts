/**
 * Rate-limit buckets shared by the nodes (`Store.rateBuckets`, the `database` rate-limit mode):
 * one row per bucket in an UNLOGGED table, refilled and taken from in one statement judged by the
 * database's clock. Unlogged: its changes write no WAL, so a check waits for no disk flush; after
 * a crash of the database the table is empty again and every bucket starts full.
 */
import type { SharedBucket, SharedBuckets } from '../types.js';
import type { Db } from './connection.js';

/** Replaced at every migrate() with the other functions (migrations.ts). */
export const RATES_SQL = `
CREATE OR REPLACE FUNCTION flowgate_take_tokens(p_keys text[], p_rates float8[], p_bursts float8[]) RETURNS json
LANGUAGE plpgsql AS $fn$
DECLARE
  now_ms bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
  t float8;
  wait float8 := 0;
  refused text := NULL;
BEGIN
  FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
    INSERT INTO rate_buckets AS b (key, tokens, at) VALUES (p_keys[i], p_bursts[i], now_ms)
      ON CONFLICT (key) DO UPDATE SET tokens = LEAST(p_bursts[i], b.tokens + GREATEST(0, now_ms - b.at) / 1000.0 * p_rates[i]), at = GREATEST(b.at, now_ms)
      RETURNING tokens INTO t;
    IF t < 1 THEN
      wait := GREATEST(wait, ceil((1 - t) / p_rates[i]));
      refused := coalesce(refused, p_keys[i]);
    END IF;
  END LOOP;
  IF refused IS NOT NULL THEN
    RETURN json_build_object('w', GREATEST(1, wait), 'r', refused);
  END IF;
  UPDATE rate_buckets SET tokens = tokens - 1 WHERE key = ANY(p_keys);
  RETURN '{"w":0}'::json;
END
$fn$;
`;

export class RateBucketQueries implements SharedBuckets {
  constructor(private readonly db: Db) {}

  async take(buckets: SharedBucket[]): Promise<{ wait: number; refused: string | null }> {
    if (buckets.length === 0) return { wait: 0, refused: null };
    // Rows are locked in key order, so two requests naming the same buckets never deadlock.
    const sorted = [...buckets].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const [row] = await this.db.query<{ a: { w: number; r?: string } }>(
      'SELECT flowgate_take_tokens($1::text[], $2::float8[], $3::float8[]) AS a',
      [sorted.map((b) => b.key), sorted.map((b) => b.perSecond), sorted.map((b) => b.burst)],
    );
    return { wait: row.a.w, refused: row.a.r ?? null };
  }
}
