// Channels with owners (CONTRACT.md "Channels with owners") and blocks: channel records, roles,
// join seq and order, mutes, invites, bans. A channel from before records reads as public, all,
// no owner (created 0). Every membership change holds the channel's conversation row (as
// appends do), so a post racing a kick either lands before it or is refused.
import type { Migration } from "../migrate.js";

const sql = String.raw`
ALTER TABLE channels
  ADD COLUMN owner text,
  ADD COLUMN title text NOT NULL DEFAULT '',
  ADD COLUMN visibility text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'private')),
  ADD COLUMN history text NOT NULL DEFAULT 'all' CHECK (history IN ('all', 'since_join')),
  ADD COLUMN created bigint NOT NULL DEFAULT 0,
  ADD COLUMN join_count bigint NOT NULL DEFAULT 0;
ALTER TABLE channel_members
  ADD COLUMN role text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
  ADD COLUMN join_seq integer NOT NULL DEFAULT 0,
  ADD COLUMN join_order bigint NOT NULL DEFAULT 0,
  ADD COLUMN muted_until bigint NOT NULL DEFAULT 0;
CREATE INDEX channel_members_order ON channel_members (name, join_order);

CREATE TABLE channel_invites (
  name text COLLATE "C" NOT NULL,
  user_id text NOT NULL,
  PRIMARY KEY (name, user_id)
);
CREATE TABLE channel_bans (
  name text COLLATE "C" NOT NULL,
  user_id text NOT NULL,
  PRIMARY KEY (name, user_id)
);
CREATE TABLE blocks (
  blocker text NOT NULL,
  blocked text NOT NULL,
  PRIMARY KEY (blocker, blocked)
);

-- A friendship and the blocks between its pair change under one lock per pair.
CREATE FUNCTION herald_lock_pair(p_a text, p_b text) RETURNS void LANGUAGE sql AS $$
  SELECT pg_advisory_xact_lock(hashtext('pair:' || LEAST(p_a, p_b) || ':' || GREATEST(p_a, p_b)))
$$;

CREATE FUNCTION herald_request_friend(p_from text, p_to text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE result text;
BEGIN
  PERFORM herald_lock_pair(p_from, p_to);
  IF EXISTS (SELECT 1 FROM blocks WHERE (blocker = p_from AND blocked = p_to)
                                     OR (blocker = p_to AND blocked = p_from)) THEN
    RETURN 'blocked';
  END IF;
  INSERT INTO friendships AS f (lo, hi, state, asker)
    VALUES (LEAST(p_from, p_to), GREATEST(p_from, p_to), 'pending', p_from)
    ON CONFLICT (lo, hi) DO UPDATE SET
      state = CASE WHEN f.state = 'pending' AND f.asker <> EXCLUDED.asker THEN 'friends'
                   ELSE f.state END,
      asker = CASE WHEN f.state = 'pending' AND f.asker <> EXCLUDED.asker THEN ''
                   ELSE f.asker END
    RETURNING state INTO result;
  RETURN result;
END $$;

CREATE FUNCTION herald_block(p_blocker text, p_blocked text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM herald_lock_pair(p_blocker, p_blocked);
  INSERT INTO blocks VALUES (p_blocker, p_blocked) ON CONFLICT DO NOTHING;
  DELETE FROM friendships
    WHERE lo = LEAST(p_blocker, p_blocked) AND hi = GREATEST(p_blocker, p_blocked);
END $$;

-- Where a user stands in a channel.
CREATE FUNCTION herald_standing(p_name text, p_user text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    (SELECT role FROM channel_members WHERE name = p_name AND user_id = p_user),
    CASE WHEN EXISTS (SELECT 1 FROM channel_bans WHERE name = p_name AND user_id = p_user)
         THEN 'banned' ELSE 'outsider' END)
$$;

-- The channel's conversation and record, locked (in that order, as everywhere).
CREATE FUNCTION herald_lock_channel(p_name text) RETURNS conversations
LANGUAGE plpgsql AS $$
DECLARE c conversations;
BEGIN
  c := herald_lock_conversation('c:' || p_name, p_name, NULL, NULL);
  PERFORM 1 FROM channels WHERE name = p_name FOR UPDATE;
  RETURN c;
END $$;

-- A new member (the owner when the channel has none); their cursor starts at the last seq.
-- The caller holds herald_lock_channel. → their role.
CREATE FUNCTION herald_add_member(c conversations, p_name text, p_user text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE jo bigint; own text; r text;
BEGIN
  UPDATE channels SET members = members + 1, join_count = join_count + 1,
      owner = coalesce(owner, p_user)
    WHERE name = p_name RETURNING join_count, owner INTO jo, own;
  r := CASE WHEN own = p_user THEN 'owner' ELSE 'member' END;
  INSERT INTO channel_members (name, user_id, role, join_seq, join_order)
    VALUES (p_name, p_user, r, c.last_seq, jo);
  DELETE FROM channel_invites WHERE name = p_name AND user_id = p_user;
  INSERT INTO cursors (conv_id, user_id, read_seq) VALUES (c.conv_id, p_user, c.last_seq)
    ON CONFLICT (conv_id, user_id) DO UPDATE SET read_seq = EXCLUDED.read_seq;
  RETURN r;
END $$;

-- Removes a member; an owner's place goes to the longest-standing admin, else member. The
-- caller holds herald_lock_channel. → {left '1' | '0', heir}.
CREATE FUNCTION herald_remove_member(c conversations, p_name text, p_user text) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE r text; heir text;
BEGIN
  DELETE FROM channel_members WHERE name = p_name AND user_id = p_user RETURNING role INTO r;
  IF NOT FOUND THEN RETURN ARRAY['0', NULL]; END IF;
  UPDATE channels SET members = members - 1 WHERE name = p_name;
  DELETE FROM cursors WHERE conv_id = c.conv_id AND user_id = p_user;
  DELETE FROM mentions WHERE conv_id = c.conv_id AND user_id = p_user;
  IF r <> 'owner' THEN RETURN ARRAY['1', NULL]; END IF;
  SELECT user_id INTO heir FROM channel_members WHERE name = p_name
    ORDER BY (role = 'admin') DESC, join_order LIMIT 1;
  IF heir IS NOT NULL THEN
    UPDATE channel_members SET role = 'owner' WHERE name = p_name AND user_id = heir;
  END IF;
  UPDATE channels SET owner = heir WHERE name = p_name;
  RETURN ARRAY['1', heir];
END $$;

-- null when the name exists.
CREATE FUNCTION herald_create_channel(p_name text, p_owner text, p_title text,
  p_visibility text, p_history text, p_created bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE c conversations;
BEGIN
  INSERT INTO channels (name, title, visibility, history, created)
    VALUES (p_name, p_title, p_visibility, p_history, p_created) ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN RETURN false; END IF;
  c := herald_lock_channel(p_name);
  PERFORM herald_add_member(c, p_name, p_owner);
  RETURN true;
END $$;

DROP FUNCTION herald_join_channel(text, text);
-- → {'joined', role} | {'member', NULL} | {'refused', 'banned' | 'invite_required' | 'channel_full'}
CREATE FUNCTION herald_join_channel(p_name text, p_user text, p_max integer, p_now bigint)
RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE c conversations; ch channels;
BEGIN
  INSERT INTO channels (name, created) VALUES (p_name, p_now) ON CONFLICT DO NOTHING;
  c := herald_lock_channel(p_name);
  SELECT * INTO ch FROM channels WHERE name = p_name;
  IF EXISTS (SELECT 1 FROM channel_members WHERE name = p_name AND user_id = p_user) THEN
    RETURN ARRAY['member', NULL];
  END IF;
  IF EXISTS (SELECT 1 FROM channel_bans WHERE name = p_name AND user_id = p_user) THEN
    RETURN ARRAY['refused', 'banned'];
  END IF;
  IF ch.visibility = 'private' AND NOT EXISTS (
      SELECT 1 FROM channel_invites WHERE name = p_name AND user_id = p_user) THEN
    RETURN ARRAY['refused', 'invite_required'];
  END IF;
  IF p_max IS NOT NULL AND ch.members >= p_max THEN RETURN ARRAY['refused', 'channel_full']; END IF;
  RETURN ARRAY['joined', herald_add_member(c, p_name, p_user)];
END $$;

DROP FUNCTION herald_leave_channel(text, text);
-- null: no such channel.
CREATE FUNCTION herald_leave_channel(p_name text, p_user text) RETURNS text[]
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM channels WHERE name = p_name) THEN RETURN NULL; END IF;
  RETURN herald_remove_member(herald_lock_channel(p_name), p_name, p_user);
END $$;

-- A moderation step, applied only while actor and target stand where the guard says.
-- → {'done', heir} | {'noop', NULL} | {'stale', NULL}.
CREATE FUNCTION herald_change_member(p_name text, p_actor text, p_actor_standing text,
  p_target text, p_target_standing text, p_kind text, p_ban boolean, p_until bigint,
  p_role text) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE c conversations; res text[]; n integer := 0; u bigint;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM channels WHERE name = p_name) THEN
    RETURN ARRAY['stale', NULL];
  END IF;
  c := herald_lock_channel(p_name);
  IF herald_standing(p_name, p_actor) <> p_actor_standing
     OR herald_standing(p_name, p_target) <> p_target_standing THEN
    RETURN ARRAY['stale', NULL];
  END IF;
  IF p_kind = 'invite' THEN
    IF EXISTS (SELECT 1 FROM channel_members WHERE name = p_name AND user_id = p_target) THEN
      RETURN ARRAY['noop', NULL];
    END IF;
    INSERT INTO channel_invites VALUES (p_name, p_target) ON CONFLICT DO NOTHING;
    RETURN ARRAY['done', NULL];
  ELSIF p_kind = 'kick' THEN
    res := herald_remove_member(c, p_name, p_target);
    IF p_ban THEN
      INSERT INTO channel_bans VALUES (p_name, p_target) ON CONFLICT DO NOTHING;
      GET DIAGNOSTICS n = ROW_COUNT;
    END IF;
    IF res[1] = '1' OR n > 0 THEN RETURN ARRAY['done', res[2]]; END IF;
    RETURN ARRAY['noop', NULL];
  ELSIF p_kind = 'unban' THEN
    DELETE FROM channel_bans WHERE name = p_name AND user_id = p_target;
  ELSIF p_kind IN ('mute', 'unmute') THEN
    u := CASE WHEN p_kind = 'mute' THEN p_until ELSE 0 END;
    UPDATE channel_members SET muted_until = u
      WHERE name = p_name AND user_id = p_target AND muted_until <> u;
  ELSIF p_kind = 'role' THEN
    UPDATE channel_members SET role = p_role
      WHERE name = p_name AND user_id = p_target AND role <> p_role;
  ELSIF p_kind = 'owner' THEN
    IF p_actor = p_target
       OR herald_standing(p_name, p_actor) NOT IN ('owner', 'admin', 'member')
       OR herald_standing(p_name, p_target) NOT IN ('owner', 'admin', 'member') THEN
      RETURN ARRAY['noop', NULL];
    END IF;
    UPDATE channel_members SET role = 'admin' WHERE name = p_name AND user_id = p_actor;
    UPDATE channel_members SET role = 'owner' WHERE name = p_name AND user_id = p_target;
    UPDATE channels SET owner = p_target WHERE name = p_name;
  END IF;
  IF FOUND THEN RETURN ARRAY['done', NULL]; END IF;
  RETURN ARRAY['noop', NULL];
END $$;

DROP FUNCTION herald_append_message(text, text, text, text, text, text, bigint, text, text,
  text, text[], text);
-- As before, and with p_as_member a channel message is refused unless the sender is a member
-- not muted at p_now. → {1, seq} stored | {0, seq of the first} a repeated clientMsgId |
-- {2, 0} not a member | {3, mutedUntil} muted.
CREATE FUNCTION herald_append_message(
  p_key text, p_channel text, p_a text, p_b text, p_id text, p_sender text, p_ts bigint,
  p_envelope text, p_body text, p_client_msg_id text, p_mentions text[], p_search text,
  p_as_member boolean, p_now bigint
) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE c conversations; s integer; first integer; muted bigint;
BEGIN
  c := herald_lock_conversation(p_key, p_channel, p_a, p_b);
  IF p_client_msg_id IS NOT NULL THEN
    SELECT i.seq INTO first FROM items i
      WHERE i.conv_id = c.conv_id AND i.sender = p_sender AND i.client_msg_id = p_client_msg_id;
    IF FOUND THEN RETURN ARRAY[0, first]; END IF;
  END IF;
  IF p_as_member AND p_channel IS NOT NULL THEN
    SELECT muted_until INTO muted FROM channel_members
      WHERE name = p_channel AND user_id = p_sender;
    IF NOT FOUND THEN RETURN ARRAY[2, 0]; END IF;
    IF muted > p_now THEN RETURN ARRAY[3, muted]; END IF;
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
`;

export const migration: Migration = { version: 3, name: "groups", sql };
