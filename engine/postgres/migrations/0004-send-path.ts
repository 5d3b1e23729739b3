// The send path. A direct message checks its pair in the append's own step (CONTRACT.md
// "Channels with owners and blocking"): refused while either blocks the other and, under the
// friends-only DM policy, unless they are friends. p_standing replaces p_as_member: 'member' (a
// channel's member not muted at p_now), 'peer' (a pair not blocking), 'friend' (and friends), ''
// (nothing checked). And concurrent sends are appended several in one transaction
// (herald_append_messages).
import type { Migration } from "../migrate.js";

const sql = String.raw`
DROP FUNCTION herald_append_message(text, text, text, text, text, text, bigint, text, text,
  text, text[], text, boolean, bigint);
-- → {1, seq} stored | {0, seq of the first} a repeated clientMsgId | {2, 0} not a member |
-- {3, mutedUntil} muted | {4, 0} blocked | {5, 0} not friends.
CREATE FUNCTION herald_append_message(
  p_key text, p_channel text, p_a text, p_b text, p_id text, p_sender text, p_ts bigint,
  p_envelope text, p_body text, p_client_msg_id text, p_mentions text[], p_search text,
  p_standing text, p_now bigint
) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE c conversations; s integer; first integer; muted bigint;
BEGIN
  c := herald_lock_conversation(p_key, p_channel, p_a, p_b);
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
    IF EXISTS (SELECT 1 FROM blocks WHERE (blocker = p_a AND blocked = p_b)
                                       OR (blocker = p_b AND blocked = p_a)) THEN
      RETURN ARRAY[4, 0];
    END IF;
    IF p_standing = 'friend' AND NOT EXISTS (SELECT 1 FROM friendships
        WHERE lo = p_a AND hi = p_b AND state = 'friends') THEN
      RETURN ARRAY[5, 0];
    END IF;
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
  INSERT INTO mentions (conv_id, user_id, seq)
    SELECT c.conv_id, u, s FROM unnest(p_mentions) AS u ON CONFLICT DO NOTHING;
  RETURN ARRAY[1, s];
END $$;


-- Appends several messages in one transaction, each exactly as herald_append_message does (a
-- repeated clientMsgId within the batch is a duplicate of the first). They are taken in
-- conversation-key order, so two batches lock their conversations in the same order and never
-- wait for each other in a cycle. p_items: a JSON array of {key, channel, a, b, id, sender, ts,
-- envelope, body, clientMsgId, mentions, search, standing, now}
-- → {outcome, value} of each item, flattened, in the order given.
CREATE FUNCTION herald_append_messages(p_items jsonb) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE item record; one bigint[]; results bigint[] := '{}';
BEGIN
  FOR item IN SELECT e.value AS v, e.n FROM jsonb_array_elements(p_items) WITH ORDINALITY e(value, n)
      ORDER BY e.value->>'key', e.n LOOP
    one := herald_append_message(item.v->>'key', item.v->>'channel', item.v->>'a', item.v->>'b',
      item.v->>'id', item.v->>'sender', (item.v->>'ts')::bigint, item.v->>'envelope',
      item.v->>'body', item.v->>'clientMsgId',
      ARRAY(SELECT jsonb_array_elements_text(item.v->'mentions')), item.v->>'search',
      item.v->>'standing', (item.v->>'now')::bigint);
    results[item.n * 2 - 1] := one[1];
    results[item.n * 2] := one[2];
  END LOOP;
  RETURN results;
END $$;
`;

export const migration: Migration = { version: 4, name: "send-path", sql };
