/**
 * The server-side function behind the group commit. `flowgate_write_batch(creates, transitions)`
 * does a whole batch (createRuns, applyTransitions, writeBatch) in ONE statement: one round trip,
 * and, sent without BEGIN, one transaction of its own. Items are handled in order with the SQLite
 * store's rules, so two items with one ref behave as two sequential requests:
 *
 * - a create with a ref looks for the run holding it (row-locked). `native`: the holder is the answer
 *   (`held`: the caller compares inputs to tell `existing` from `conflict`). `while-active`: an
 *   active holder is a `conflict`; a finished one hands its key on. The insert itself is
 *   `ON CONFLICT (tenant, workflow, ref_key) DO NOTHING`: when another node took the ref meanwhile,
 *   the holder is looked up again (READ COMMITTED: the next statement sees that node's commit), so
 *   one ref makes one run across nodes;
 * - a transition row-locks its run, checks rev (and owner when fenced), writes the mutable columns
 *   and offers its reply over NULL only: whether this writer stored the reply is decided under the
 *   row lock;
 * - the batch publishes its hints with pg_notify before it returns, i.e. inside the committing
 *   transaction (PostgreSQL delivers them at commit, never for a rolled back batch): one
 *   notification per batch, several only when the payload would pass PostgreSQL's 8000 bytes.
 *
 * Replaced at every migrate() (migrations.ts); the column lists come from the shared run row.
 */
import { RUN_MUTABLE_COLUMNS, STEP_FIELDS } from '../run-row.js';

/** The channel of the store's hints (hints.ts decodes the payloads). */
export const HINT_CHANNEL = 'flowgate_hints';

/** A notification's payload stays below this many bytes (PostgreSQL refuses 8000 and more). */
export const HINT_PAYLOAD_LIMIT = 7000;

const setMutable = RUN_MUTABLE_COLUMNS.map((c) => `${c} = rec.${c}`).join(', ');
const stepUpdate = STEP_FIELDS.filter((c) => c !== 'run_id' && c !== 'seq').map((c) => `${c} = excluded.${c}`).join(', ');

export const FUNCTIONS_SQL = `
CREATE OR REPLACE FUNCTION flowgate_hint_flush(runs_part text, work boolean) RETURNS void
LANGUAGE sql AS $fn$
  SELECT pg_notify('${HINT_CHANNEL}', '{"r":[' || runs_part || ']' || CASE WHEN work THEN ',"w":1' ELSE '' END || '}')
$fn$;

CREATE OR REPLACE FUNCTION flowgate_write_batch(creates json, transitions json) RETURNS json
LANGUAGE plpgsql AS $fn$
DECLARE
  item json;
  rec runs;
  holder runs;
  out_c json[] := '{}';
  out_t json[] := '{}';
  hints text := '';
  work boolean := false;
  one text;
  was_empty boolean;
  cur_rev bigint;
  cur_owner text;
  reply_text text;
  n bigint;
  tries int;
  answer json;
BEGIN
  FOR item IN SELECT value FROM json_array_elements(creates) LOOP
    rec := json_populate_record(NULL::runs, item->'r');
    answer := NULL;
    tries := 0;
    LOOP
      IF rec.ref IS NULL THEN
        INSERT INTO runs SELECT (rec).*;
        EXIT;
      END IF;
      SELECT * INTO holder FROM runs WHERE tenant = rec.tenant AND workflow = rec.workflow AND ref_key = rec.ref FOR UPDATE;
      IF FOUND THEN
        IF item->>'p' = 'native' THEN
          answer := json_build_object('k', 'held', 'row', row_to_json(holder));
          EXIT;
        ELSIF holder.status NOT IN ('succeeded', 'failed', 'cancelled') THEN
          answer := json_build_object('k', 'conflict', 'row', row_to_json(holder));
          EXIT;
        END IF;
        -- while-active and finished: the old run keeps ref for display and hands the key on.
        UPDATE runs SET ref_key = NULL WHERE id = holder.id;
      END IF;
      INSERT INTO runs SELECT (rec).* ON CONFLICT (tenant, workflow, ref_key) WHERE ref_key IS NOT NULL DO NOTHING;
      GET DIAGNOSTICS n = ROW_COUNT;
      EXIT WHEN n = 1;
      -- Another transaction took the ref after our look: look again (it is committed by now).
      tries := tries + 1;
      IF tries > 10 THEN
        RAISE EXCEPTION 'the ref % of workflow % kept changing hands', rec.ref, rec.workflow;
      END IF;
    END LOOP;
    IF answer IS NULL THEN
      answer := '{"k":"created"}'::json;
      one := json_build_array(rec.id, rec.tenant, rec.status, rec.reply IS NOT NULL)::text;
      IF octet_length(hints) + octet_length(one) > ${HINT_PAYLOAD_LIMIT} THEN
        PERFORM flowgate_hint_flush(hints, work);
        hints := '';
        work := false;
      END IF;
      hints := CASE WHEN hints = '' THEN one ELSE hints || ',' || one END;
      work := work OR (rec.status = 'queued' AND rec.owner IS NULL) OR (rec.status = 'waiting' AND rec.wake_at IS NOT NULL);
    END IF;
    out_c := array_append(out_c, answer);
  END LOOP;

  FOR item IN SELECT value FROM json_array_elements(transitions) LOOP
    rec := json_populate_record(NULL::runs, item->'r');
    SELECT r.rev, r.owner, r.reply IS NULL INTO cur_rev, cur_owner, was_empty
      FROM runs r WHERE r.id = rec.id AND r.tenant = rec.tenant FOR UPDATE;
    IF NOT FOUND OR cur_rev <> (item->>'e')::bigint
       OR ((item->>'f')::boolean AND cur_owner IS DISTINCT FROM (item->>'o')) THEN
      out_t := array_append(out_t, '{"ok":false}'::json);
      CONTINUE;
    END IF;
    reply_text := CASE WHEN was_empty THEN item->>'y' ELSE NULL END;
    UPDATE runs SET ${setMutable}, reply = COALESCE(reply, reply_text) WHERE id = rec.id;
    IF json_array_length(item->'s') > 0 THEN
      INSERT INTO step_records SELECT * FROM json_populate_recordset(NULL::step_records, item->'s')
        ON CONFLICT (run_id, seq) DO UPDATE SET ${stepUpdate};
    END IF;
    out_t := array_append(out_t, json_build_object('ok', true, 'y', reply_text IS NOT NULL));
    one := json_build_array(rec.id, rec.tenant, rec.status, reply_text IS NOT NULL OR NOT was_empty)::text;
    IF octet_length(hints) + octet_length(one) > ${HINT_PAYLOAD_LIMIT} THEN
      PERFORM flowgate_hint_flush(hints, work);
      hints := '';
      work := false;
    END IF;
    hints := CASE WHEN hints = '' THEN one ELSE hints || ',' || one END;
    work := work OR (rec.status = 'queued' AND rec.owner IS NULL) OR (rec.status = 'waiting' AND rec.wake_at IS NOT NULL);
  END LOOP;

  IF hints <> '' THEN
    PERFORM flowgate_hint_flush(hints, work);
  END IF;
  RETURN json_build_object('c', array_to_json(out_c), 't', array_to_json(out_t));
END
$fn$;
`;
