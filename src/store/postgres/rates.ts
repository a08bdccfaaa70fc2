/**
 * Rate-limit buckets shared by the nodes (`Store.rateBuckets`, the `database` rate-limit mode):
 * one row per bucket in an UNLOGGED table, refilled and taken from in one statement judged by the
 * database's clock. Unlogged: its changes write no WAL, so a check waits for no disk flush; after
 * a crash of the database the table is empty again and every bucket starts full.
 */
import type { SharedBucket, SharedBuckets } from '../types.js';
import type { Db } from './connection.js';

/**
 * Replaced at every migrate() with the other functions (migrations.ts). One call decides a batch of
 * requests in order, each all or none: every bucket of the batch is made and locked first, in key
 * order (two nodes' batches never wait for each other in a cycle), and refilled once.
 */
export const RATES_SQL = `
CREATE OR REPLACE FUNCTION flowgate_take_tokens(p_req int[], p_keys text[], p_rates float8[], p_bursts float8[], p_n int) RETURNS json
LANGUAGE plpgsql AS $fn$
DECLARE
  now_ms bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
  answers json[] := array_fill('{"w":0}'::json, ARRAY[p_n]);
  m int := coalesce(array_length(p_keys, 1), 0);
  i int := 1;
  j int;
  t float8;
  wait float8;
  refused text;
BEGIN
  INSERT INTO rate_buckets (key, tokens, at)
    SELECT DISTINCT ON (k) k, b, now_ms FROM unnest(p_keys, p_bursts) AS x(k, b) ORDER BY k
    ON CONFLICT (key) DO NOTHING;
  PERFORM 1 FROM rate_buckets WHERE key = ANY(p_keys) ORDER BY key FOR UPDATE;
  UPDATE rate_buckets b SET tokens = LEAST(x.burst, b.tokens + GREATEST(0, now_ms - b.at) / 1000.0 * x.rate), at = GREATEST(b.at, now_ms)
    FROM (SELECT DISTINCT ON (k) k, r AS rate, u AS burst FROM unnest(p_keys, p_rates, p_bursts) AS y(k, r, u) ORDER BY k) x
    WHERE b.key = x.k;
  WHILE i <= m LOOP
    j := i;
    wait := 0;
    refused := NULL;
    WHILE j <= m AND p_req[j] = p_req[i] LOOP
      SELECT tokens INTO t FROM rate_buckets WHERE key = p_keys[j];
      IF t < 1 THEN
        wait := GREATEST(wait, ceil((1 - t) / p_rates[j]));
        refused := coalesce(refused, p_keys[j]);
      END IF;
      j := j + 1;
    END LOOP;
    IF refused IS NULL THEN
      UPDATE rate_buckets SET tokens = tokens - 1 WHERE key = ANY(p_keys[i:j - 1]);
    ELSE
      answers[p_req[i]] := json_build_object('w', GREATEST(1, wait), 'r', refused);
    END IF;
    i := j;
  END LOOP;
  RETURN array_to_json(answers);
END
$fn$;
`;

export class RateBucketQueries implements SharedBuckets {
  constructor(private readonly db: Db) {}

  async take(requests: SharedBucket[][]): Promise<{ wait: number; refused: string | null }[]> {
    if (requests.length === 0) return [];
    const req: number[] = [];
    const keys: string[] = [];
    const rates: number[] = [];
    const bursts: number[] = [];
    requests.forEach((buckets, i) => {
      for (const b of buckets) {
        req.push(i + 1);
        keys.push(b.key);
        rates.push(b.perSecond);
        bursts.push(b.burst);
      }
    });
    const [row] = await this.db.query<{ a: { w: number; r?: string }[] }>(
      'SELECT flowgate_take_tokens($1::int[], $2::text[], $3::float8[], $4::float8[], $5) AS a', [req, keys, rates, bursts, requests.length],
    );
    return row.a.map((a) => ({ wait: a.w, refused: a.r ?? null }));
  }
}
