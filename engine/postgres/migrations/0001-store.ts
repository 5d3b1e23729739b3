// The store's first schema: every table of engine/store/types.ts, and the functions that make each
// multi-row change one statement (one round trip, one transaction), as the Lua scripts do on
// Redis. Text that is JSON (envelopes, bodies, file records) is kept as JS wrote it, never as
// jsonb: jsonb refuses "\u0000" and reorders keys.
import type { Migration } from "../migrate.js";

const sql = String.raw`
CREATE TABLE users (
  user_id text PRIMARY KEY,
  username text NOT NULL,
  -- engine/usernames.ts usernameKey: equal keys are one account.
  username_key text NOT NULL UNIQUE,
  password_hash text NOT NULL
);

-- Keyed by the token's hash; read on every request through the primary key.
CREATE TABLE sessions (
  session_id text PRIMARY KEY,
  user_id text NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- One row per pair, lo < hi; while pending, asker is who asked.
CREATE TABLE friendships (
  lo text NOT NULL,
  hi text NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'friends')),
  asker text NOT NULL DEFAULT '',
  PRIMARY KEY (lo, hi)
);
CREATE INDEX friendships_hi ON friendships (hi);

-- A channel exists once joined, and still after everyone left. COLLATE "C": name order is
-- code-point order, as compareStrings.
CREATE TABLE channels (
  name text COLLATE "C" PRIMARY KEY,
  members integer NOT NULL DEFAULT 0
);
CREATE TABLE channel_members (
  name text COLLATE "C" NOT NULL,
  user_id text NOT NULL,
  PRIMARY KEY (name, user_id)
);
CREATE INDEX channel_members_user ON channel_members (user_id);

-- One row per conversation stream (engine/ids.ts conversationKey): its counters. Appends lock
-- this row, so seq assignment is serial per conversation.
CREATE TABLE conversations (
  conv_id bigserial PRIMARY KEY,
  key text NOT NULL UNIQUE,
  channel text COLLATE "C",
  user_a text,
  user_b text,
  last_seq integer NOT NULL DEFAULT 0,
  last_ts bigint NOT NULL DEFAULT 0,
  msg_count integer NOT NULL DEFAULT 0
);
CREATE INDEX conversations_a ON conversations (user_a) WHERE user_a IS NOT NULL;
CREATE INDEX conversations_b ON conversations (user_b) WHERE user_b IS NOT NULL;

-- Every stream item. envelope: the item without its content (and a message's replyTo, mentions,
-- attachments), which are in body; a recall deletes the body. msg_count: the conversation's
-- messages up to and including this item, so unread is a subtraction (O(1)).
CREATE TABLE items (
  conv_id bigint NOT NULL,
  seq integer NOT NULL,
  id text NOT NULL,
  kind text NOT NULL,
  sender text NOT NULL,
  ts bigint NOT NULL,
  envelope text NOT NULL,
  body text,
  msg_count integer NOT NULL,
  client_msg_id text,
  target text,
  recalled boolean NOT NULL DEFAULT false,
  edit_body text,
  edit_ts bigint,
  search_text text,
  search tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED,
  PRIMARY KEY (conv_id, seq)
);
CREATE INDEX items_id ON items (id);
CREATE UNIQUE INDEX items_client_msg_id ON items (conv_id, sender, client_msg_id)
  WHERE client_msg_id IS NOT NULL;
CREATE INDEX items_edits ON items (conv_id, target) WHERE kind = 'edit';
CREATE INDEX items_search ON items USING gin (search);

-- A message's emoji in the order they (re)appeared (since: the reaction's seq), with counts.
CREATE TABLE message_emoji (
  conv_id bigint NOT NULL,
  seq integer NOT NULL,
  emoji text NOT NULL,
  since integer NOT NULL,
  count integer NOT NULL,
  PRIMARY KEY (conv_id, seq, emoji)
);
CREATE TABLE reactions (
  conv_id bigint NOT NULL,
  seq integer NOT NULL,
  emoji text NOT NULL,
  user_id text NOT NULL,
  PRIMARY KEY (conv_id, seq, emoji, user_id)
);

-- Read cursors; in a channel only its members have one.
CREATE TABLE cursors (
  conv_id bigint NOT NULL,
  user_id text NOT NULL,
  read_seq integer NOT NULL,
  PRIMARY KEY (conv_id, user_id)
);
CREATE INDEX cursors_readers ON cursors (conv_id, read_seq, user_id COLLATE "C");

CREATE TABLE mentions (
  conv_id bigint NOT NULL,
  user_id text NOT NULL,
  seq integer NOT NULL,
  PRIMARY KEY (conv_id, user_id, seq)
);

CREATE TABLE files (
  file_id text PRIMARY KEY,
  record text NOT NULL
);
CREATE TABLE file_shares (
  file_id text NOT NULL,
  conv_key text NOT NULL,
  seq integer NOT NULL,
  PRIMARY KEY (file_id, conv_key, seq)
);

-- The conversation's row, created when missing, locked FOR UPDATE.
CREATE FUNCTION herald_lock_conversation(p_key text, p_channel text, p_a text, p_b text)
RETURNS conversations LANGUAGE plpgsql AS $$
DECLARE c conversations;
BEGIN
  SELECT * INTO c FROM conversations WHERE key = p_key FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO conversations (key, channel, user_a, user_b) VALUES (p_key, p_channel, p_a, p_b)
      ON CONFLICT (key) DO NOTHING;
    SELECT * INTO c FROM conversations WHERE key = p_key FOR UPDATE;
  END IF;
  RETURN c;
END $$;

-- Appends a message: seq, item, counters, the sender's cursor and mentions in one step.
-- → {1, seq} stored | {0, seq of the first} a repeated clientMsgId.
CREATE FUNCTION herald_append_message(
  p_key text, p_channel text, p_a text, p_b text, p_id text, p_sender text, p_ts bigint,
  p_envelope text, p_body text, p_client_msg_id text, p_mentions text[], p_search text
) RETURNS integer[] LANGUAGE plpgsql AS $$
DECLARE c conversations; s integer; first integer;
BEGIN
  c := herald_lock_conversation(p_key, p_channel, p_a, p_b);
  IF p_client_msg_id IS NOT NULL THEN
    SELECT i.seq INTO first FROM items i
      WHERE i.conv_id = c.conv_id AND i.sender = p_sender AND i.client_msg_id = p_client_msg_id;
    IF FOUND THEN RETURN ARRAY[0, first]; END IF;
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

-- Appends an edit, recall or reaction and changes its target in the same step, or refuses it.
-- → {'stored', seq} | {'refused', 'not_found' | 'recalled' | 'too_many_reactions' | 'noop'}.
CREATE FUNCTION herald_append_change(
  p_key text, p_kind text, p_id text, p_sender text, p_ts bigint, p_envelope text, p_body text,
  p_target text, p_emoji text, p_op text, p_search text, p_max_emoji integer
) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE c conversations; s integer; t_seq integer; t_recalled boolean; n integer;
BEGIN
  SELECT * INTO c FROM conversations WHERE key = p_key FOR UPDATE;
  IF NOT FOUND THEN RETURN ARRAY['refused', 'not_found']; END IF;
  SELECT i.seq, i.recalled INTO t_seq, t_recalled FROM items i
    WHERE i.id = p_target AND i.conv_id = c.conv_id AND i.kind = 'message';
  IF NOT FOUND THEN RETURN ARRAY['refused', 'not_found']; END IF;
  IF t_recalled THEN RETURN ARRAY['refused', 'recalled']; END IF;
  s := c.last_seq + 1;
  IF p_kind = 'reaction' THEN
    IF (p_op = 'add') = EXISTS (SELECT 1 FROM reactions r WHERE r.conv_id = c.conv_id
        AND r.seq = t_seq AND r.emoji = p_emoji AND r.user_id = p_sender) THEN
      RETURN ARRAY['refused', 'noop'];
    END IF;
    IF p_op = 'add' THEN
      UPDATE message_emoji SET count = count + 1
        WHERE conv_id = c.conv_id AND seq = t_seq AND emoji = p_emoji;
      IF NOT FOUND THEN
        IF (SELECT count(*) FROM message_emoji WHERE conv_id = c.conv_id AND seq = t_seq)
            >= p_max_emoji THEN
          RETURN ARRAY['refused', 'too_many_reactions'];
        END IF;
        INSERT INTO message_emoji VALUES (c.conv_id, t_seq, p_emoji, s, 1);
      END IF;
      INSERT INTO reactions VALUES (c.conv_id, t_seq, p_emoji, p_sender);
    ELSE
      DELETE FROM reactions WHERE conv_id = c.conv_id AND seq = t_seq AND emoji = p_emoji
        AND user_id = p_sender;
      UPDATE message_emoji SET count = count - 1
        WHERE conv_id = c.conv_id AND seq = t_seq AND emoji = p_emoji RETURNING count INTO n;
      IF n <= 0 THEN
        DELETE FROM message_emoji WHERE conv_id = c.conv_id AND seq = t_seq AND emoji = p_emoji;
      END IF;
    END IF;
  END IF;
  INSERT INTO items (conv_id, seq, id, kind, sender, ts, envelope, body, msg_count, target)
    VALUES (c.conv_id, s, p_id, p_kind, p_sender, p_ts, p_envelope, p_body, c.msg_count, p_target);
  UPDATE conversations SET last_seq = s, last_ts = p_ts WHERE conv_id = c.conv_id;
  IF p_kind = 'edit' THEN
    UPDATE items SET edit_body = p_body, edit_ts = p_ts, search_text = p_search
      WHERE conv_id = c.conv_id AND seq = t_seq;
  ELSIF p_kind = 'recall' THEN
    -- Deleted, not hidden: the message's body, every edit's body and its reactions go.
    UPDATE items SET body = NULL, edit_body = NULL, edit_ts = NULL, recalled = true,
        search_text = NULL
      WHERE conv_id = c.conv_id AND seq = t_seq;
    UPDATE items SET body = NULL WHERE conv_id = c.conv_id AND kind = 'edit' AND target = p_target;
    DELETE FROM reactions WHERE conv_id = c.conv_id AND seq = t_seq;
    DELETE FROM message_emoji WHERE conv_id = c.conv_id AND seq = t_seq;
  END IF;
  RETURN ARRAY['stored', s::text];
END $$;

-- Moves the user's cursor forward to p_seq, clamped to the last seq; a channel's non-member has
-- no cursor. → {readSeq, unread, moved 0 | 1}. FOR SHARE: no append changes the counters
-- between reading them and reading the cursor's count.
CREATE FUNCTION herald_mark_read(p_key text, p_channel boolean, p_user text, p_seq integer)
RETURNS integer[] LANGUAGE plpgsql AS $$
DECLARE c conversations; target integer; cur integer; moved integer := 0; before integer := 0;
BEGIN
  SELECT * INTO c FROM conversations WHERE key = p_key FOR SHARE;
  IF NOT FOUND THEN RETURN ARRAY[0, 0, 0]; END IF;
  target := LEAST(p_seq, c.last_seq);
  IF target > 0 THEN
    IF p_channel THEN
      UPDATE cursors SET read_seq = target
        WHERE conv_id = c.conv_id AND user_id = p_user AND read_seq < target
        RETURNING read_seq INTO cur;
    ELSE
      INSERT INTO cursors (conv_id, user_id, read_seq) VALUES (c.conv_id, p_user, target)
        ON CONFLICT (conv_id, user_id) DO UPDATE SET read_seq = EXCLUDED.read_seq
        WHERE cursors.read_seq < EXCLUDED.read_seq
        RETURNING read_seq INTO cur;
    END IF;
  END IF;
  IF cur IS NOT NULL THEN
    moved := 1;
  ELSE
    SELECT read_seq INTO cur FROM cursors WHERE conv_id = c.conv_id AND user_id = p_user;
    cur := coalesce(cur, 0);
  END IF;
  IF cur > 0 THEN
    SELECT msg_count INTO before FROM items WHERE conv_id = c.conv_id AND seq = cur;
  END IF;
  RETURN ARRAY[cur, c.msg_count - before, moved];
END $$;

-- A new member's cursor starts at the last seq: what came before reads as read.
CREATE FUNCTION herald_join_channel(p_name text, p_user text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE c conversations; added integer;
BEGIN
  INSERT INTO channels (name) VALUES (p_name) ON CONFLICT DO NOTHING;
  c := herald_lock_conversation('c:' || p_name, p_name, NULL, NULL);
  INSERT INTO channel_members (name, user_id) VALUES (p_name, p_user) ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS added = ROW_COUNT;
  IF added > 0 THEN
    UPDATE channels SET members = members + 1 WHERE name = p_name;
    INSERT INTO cursors (conv_id, user_id, read_seq) VALUES (c.conv_id, p_user, c.last_seq)
      ON CONFLICT (conv_id, user_id) DO UPDATE SET read_seq = EXCLUDED.read_seq;
  END IF;
END $$;

-- false: no such channel. The member's cursor and mentions go with them.
CREATE FUNCTION herald_leave_channel(p_name text, p_user text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE c conversations; removed integer;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM channels WHERE name = p_name) THEN RETURN false; END IF;
  c := herald_lock_conversation('c:' || p_name, p_name, NULL, NULL);
  DELETE FROM channel_members WHERE name = p_name AND user_id = p_user;
  GET DIAGNOSTICS removed = ROW_COUNT;
  IF removed > 0 THEN
    UPDATE channels SET members = members - 1 WHERE name = p_name;
    DELETE FROM cursors WHERE conv_id = c.conv_id AND user_id = p_user;
    DELETE FROM mentions WHERE conv_id = c.conv_id AND user_id = p_user;
  END IF;
  RETURN true;
END $$;
`;

export const migration: Migration = { version: 1, name: "store", sql };
