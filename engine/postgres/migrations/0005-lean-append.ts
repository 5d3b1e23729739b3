// The append in fewer statements. A profile of PostgreSQL's backends under bench/send (perf,
// every backend, at saturation) put more than half of their CPU in plpgsql starting and ending
// the statements of herald_append_message(s), not in the work they do: each SQL statement in a
// function is an executor run of its own. Same outcomes as 0004, in fewer runs (callgrind on a
// single-user server appending batches of 3: 9 % fewer instructions per message):
// - the conversation is locked by one SELECT … FOR UPDATE (herald_lock_conversation, a function
//   call and a second SELECT, only for a conversation's first message);
// - a direct message's block and friendship checks are one statement;
// - mentions are inserted only when there are some, and come as jsonb, so the batch's call of
//   herald_append_message has no sub-select and plpgsql evaluates it as a simple expression
//   (with ARRAY(SELECT …) it was a statement of its own per item).
// - messages are found by an index on their text's tsvector, no longer a stored column (a
//   generated column's expression is read from the catalog's text and compiled for every
//   INSERT statement, and the row is smaller; 3 % fewer instructions).
// Tried and not kept (no fewer instructions): the item, counters and cursor written by one
// statement of data-modifying CTEs; a repeated clientMsgId found by INSERT … ON CONFLICT; the
// whole batch as one set-based statement (its plan's start alone cost more than the loop's).
import type { Migration } from "../migrate.js";

const sql = String.raw`
-- Search by an index on the text's tsvector rather than a stored tsvector column: a generated
-- column's expression was read anew (stringToNode) and compiled for every INSERT statement.
-- The index is built first (reads go on meanwhile, writes wait), and the column with its old
-- index dropped after, so the exclusive lock that blocks reads is held only at the end.
CREATE INDEX items_search_text ON items
  USING gin (to_tsvector('simple', coalesce(search_text, '')));
ALTER TABLE items DROP COLUMN search;

DROP FUNCTION herald_append_messages(jsonb);
DROP FUNCTION herald_append_message(text, text, text, text, text, text, bigint, text, text, text,
  text[], text, text, bigint);

-- → {1, seq} stored | {0, seq of the first} a repeated clientMsgId | {2, 0} not a member |
-- {3, mutedUntil} muted | {4, 0} blocked | {5, 0} not friends. p_mentions: a JSON array of ids.
CREATE FUNCTION herald_append_message(
  p_key text, p_channel text, p_a text, p_b text, p_id text, p_sender text, p_ts bigint,
  p_envelope text, p_body text, p_client_msg_id text, p_mentions jsonb, p_search text,
  p_standing text, p_now bigint
) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE c conversations; s integer; first integer; muted bigint; refused integer;
BEGIN
  SELECT * INTO c FROM conversations WHERE key = p_key FOR UPDATE;
  IF NOT FOUND THEN c := herald_lock_conversation(p_key, p_channel, p_a, p_b); END IF;
  IF p_client_msg_id IS NOT NULL THEN
    SELECT i.seq INTO first FROM items i
      WHERE i.conv_id = c.conv_id AND i.sender = p_sender AND i.client_msg_id = p_client_msg_id;
    IF FOUND THEN RETURN ARRAY[0, first]; END IF;
  END IF;
  IF p_standing = 'member' AND p_channel IS NOT NULL THEN
    SELECT muted_until INTO muted FROM channel_members
      WHERE name = p_channel AND user_id = p_sender;
    IF NOT FOUND THEN RETURN ARRAY[2, 0]; END IF;
    IF muted > p_now THEN RETURN ARRAY[3, muted]; END IF;
  ELSIF p_standing IN ('peer', 'friend') AND p_channel IS NULL THEN
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM blocks WHERE blocker = p_a AND blocked = p_b)
          OR EXISTS (SELECT 1 FROM blocks WHERE blocker = p_b AND blocked = p_a) THEN 4
        WHEN p_standing = 'friend' AND NOT EXISTS (SELECT 1 FROM friendships
          WHERE lo = p_a AND hi = p_b AND state = 'friends') THEN 5
        ELSE 0 END
      INTO refused;
    IF refused <> 0 THEN RETURN ARRAY[refused, 0]; END IF;
  END IF;
  s := c.last_seq + 1;
  INSERT INTO items (conv_id, seq, id, kind, sender, ts, envelope, body, msg_count, client_msg_id,
      search_text)
    VALUES (c.conv_id, s, p_id, 'message', p_sender, p_ts, p_envelope, p_body, c.msg_count + 1,
      p_client_msg_id, p_search);
  UPDATE conversations SET last_seq = s, last_ts = p_ts, msg_count = c.msg_count + 1
    WHERE conv_id = c.conv_id;
  IF p_channel IS NULL THEN
    INSERT INTO cursors (conv_id, user_id, read_seq) VALUES (c.conv_id, p_sender, s)
      ON CONFLICT (conv_id, user_id) DO UPDATE SET read_seq = EXCLUDED.read_seq
      WHERE cursors.read_seq < EXCLUDED.read_seq;
  ELSE
    UPDATE cursors SET read_seq = s
      WHERE conv_id = c.conv_id AND user_id = p_sender AND read_seq < s;
  END IF;
  IF jsonb_array_length(p_mentions) > 0 THEN
    INSERT INTO mentions (conv_id, user_id, seq)
      SELECT c.conv_id, u, s FROM jsonb_array_elements_text(p_mentions) AS u ON CONFLICT DO NOTHING;
  END IF;
  RETURN ARRAY[1, s];
END $$;

-- As 0004's: several appends in one transaction, in conversation-key order, each exactly as
-- herald_append_message alone. p_items: a JSON array of {key, channel, a, b, id, sender, ts,
-- envelope, body, clientMsgId, mentions, search, standing, now}
-- → {outcome, value} of each item, flattened, in the order given.
CREATE FUNCTION herald_append_messages(p_items jsonb) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE item record; one bigint[]; results bigint[] := '{}';
BEGIN
  FOR item IN SELECT e.value AS v, e.n FROM jsonb_array_elements(p_items) WITH ORDINALITY e(value, n)
      ORDER BY e.value->>'key', e.n LOOP
    one := herald_append_message(item.v->>'key', item.v->>'channel', item.v->>'a', item.v->>'b',
      item.v->>'id', item.v->>'sender', (item.v->>'ts')::bigint, item.v->>'envelope',
      item.v->>'body', item.v->>'clientMsgId', item.v->'mentions', item.v->>'search',
      item.v->>'standing', (item.v->>'now')::bigint);
    results[item.n * 2 - 1] := one[1];
    results[item.n * 2] := one[2];
  END LOOP;
  RETURN results;
END $$;
`;

export const migration: Migration = { version: 5, name: "lean-append", sql };
