// The list side: who I am and the connection state, friend requests, friends with online dots,
// invitations, my channels with counts, the people I block, and the forms to add a friend,
// create a channel or join one.
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { Avatar } from "./avatar.js";
import { CHANNEL_NAME, NewChannelForm } from "./channel-form.js";
import type { ChatModel, ChatState, ConversationState } from "./chat-model.js";
import { ConnectionPill } from "./connection-pill.js";
import { contentText } from "./content.js";
import { shortId } from "./format.js";
import { LockIcon, LogoutIcon, PlusIcon } from "./icons.js";
import { InlineForm } from "./inline-form.js";

interface Props {
  model: ChatModel;
  state: ChatState;
}

export function Sidebar({ model, state }: Props) {
  const [creating, setCreating] = useState(false);
  const invites = state.invites.filter((i) => !state.joined.includes(i.channel));
  const nameOf = (id: string) => state.names[id] ?? shortId(id);
  const counts = new Map(state.channels.map((c) => [c.name, c]));
  const others = state.channels.filter((c) => !state.joined.includes(c.name));
  // Direct conversations with someone who is not (or no longer) a friend, newest first.
  const friendIds = new Set(state.friends.map((f) => f.userId));
  const strangers = Object.entries(state.conversations)
    .filter(([key]) => key.startsWith("d:") && !friendIds.has(key.slice(2)))
    .filter(([, c]) => c.messages.length > 0 || c.lastTs > 0)
    .sort(([, a], [, b]) => b.lastTs - a.lastTs)
    .map(([key]) => key);
  return (
    <aside class="sidebar">
      <header class="sidebar-head">
        <Avatar id={state.me.userId} name={state.me.username} />
        <div class="me">
          <strong data-testid="me-name">{state.me.username}</strong>
          <ConnectionPill status={state.status} />
        </div>
        <button
          type="button"
          class="icon-button"
          title="Log out"
          aria-label="Log out"
          onClick={() => void model.logout()}
          data-testid="logout-button"
        >
          <LogoutIcon />
        </button>
      </header>

      <div class="sidebar-scroll">
        {state.incoming.length > 0 && (
          <section class="group">
            <h2>Friend requests</h2>
            <ul class="rows">
              {state.incoming.map((u) => (
                <li
                  class="row request"
                  key={u.userId}
                  data-testid="incoming-request"
                  data-username={u.username}
                >
                  <Avatar id={u.userId} name={u.username} />
                  <span class="row-main">
                    <span class="row-title">{u.username}</span>
                    <span class="row-sub">wants to be friends</span>
                  </span>
                  <span class="row-actions">
                    <button
                      type="button"
                      class="button primary small"
                      onClick={() => void model.acceptFriend(u.userId)}
                      data-testid="accept-request"
                    >
                      Accept
                    </button>
                    <button
                      type="button"
                      class="button ghost small"
                      onClick={() => void model.removeFriend(u.userId)}
                      data-testid="decline-request"
                    >
                      Decline
                    </button>
                  </span>
                </li>
              ))}
            </ul>
          </section>
        )}

        <section class="group">
          <h2>Friends</h2>
          <ul class="rows" data-testid="friend-list">
            {state.friends.map((f) => (
              <ConversationRow
                key={f.userId}
                model={model}
                state={state}
                convKey={`d:${f.userId}`}
                avatar={<Avatar id={f.userId} name={f.username} online={f.online} />}
                title={f.username}
                sub={
                  preview(state.conversations[`d:${f.userId}`], state.me.userId) ??
                  (f.online ? "Online" : "Offline")
                }
                attrs={{
                  "data-testid": "friend",
                  "data-username": f.username,
                  "data-online": String(f.online),
                }}
              />
            ))}
            {state.outgoing.map((u) => (
              <li
                class="row pending"
                key={u.userId}
                data-testid="outgoing-request"
                data-username={u.username}
              >
                <Avatar id={u.userId} name={u.username} />
                <span class="row-main">
                  <span class="row-title">{u.username}</span>
                  <span class="row-sub">Request sent</span>
                </span>
                <button
                  type="button"
                  class="button ghost small"
                  onClick={() => void model.removeFriend(u.userId)}
                >
                  Cancel
                </button>
              </li>
            ))}
          </ul>
          {state.friends.length === 0 && state.outgoing.length === 0 && (
            <p class="hint">No friends yet. Add someone by their username.</p>
          )}
          <InlineForm
            placeholder="Add a friend by username"
            label="Add friend"
            testid="add-friend"
            maxLength={32}
            onSubmit={(name) => model.addFriend(name)}
          />
        </section>

        {strangers.length > 0 && (
          <section class="group">
            <h2>Other conversations</h2>
            <ul class="rows">
              {strangers.map((key) => {
                const peer = key.slice(2);
                const name = state.names[peer] ?? shortId(peer);
                return (
                  <ConversationRow
                    key={key}
                    model={model}
                    state={state}
                    convKey={key}
                    avatar={<Avatar id={peer} name={name} />}
                    title={name}
                    sub={preview(state.conversations[key], state.me.userId) ?? "Not a friend"}
                    attrs={{ "data-testid": "other-conversation" }}
                  />
                );
              })}
            </ul>
          </section>
        )}

        {invites.length > 0 && (
          <section class="group">
            <h2>Invitations</h2>
            <ul class="rows">
              {invites.map((i) => (
                <li
                  class="row request"
                  key={i.channel}
                  data-testid="invitation"
                  data-channel={i.channel}
                >
                  <Avatar id={`c:${i.channel}`} name={i.channel} channel />
                  <span class="row-main">
                    <span class="row-title">#{i.channel}</span>
                    <span class="row-sub">invited by {nameOf(i.by)}</span>
                  </span>
                  <span class="row-actions">
                    <button
                      type="button"
                      class="button primary small"
                      onClick={() => void model.acceptInvite(i.channel)}
                      data-testid="accept-invite"
                    >
                      Join
                    </button>
                    <button
                      type="button"
                      class="button ghost small"
                      onClick={() => model.dismissInvite(i.channel)}
                      data-testid="dismiss-invite"
                    >
                      Dismiss
                    </button>
                  </span>
                </li>
              ))}
            </ul>
          </section>
        )}

        <section class="group">
          <div class="group-head">
            <h2>Channels</h2>
            <button
              type="button"
              class="icon-button small"
              title="New channel"
              aria-label="New channel"
              aria-expanded={creating}
              onClick={() => setCreating(!creating)}
              data-testid="new-channel"
            >
              <PlusIcon />
            </button>
          </div>
          {creating && <NewChannelForm model={model} onDone={() => setCreating(false)} />}
          <ul class="rows" data-testid="channel-list">
            {state.joined.map((name) => {
              const info = counts.get(name);
              const view = state.channelInfo[name];
              return (
                <ConversationRow
                  key={name}
                  model={model}
                  state={state}
                  convKey={`c:${name}`}
                  avatar={<Avatar id={`c:${name}`} name={name} channel />}
                  title={name}
                  lock={(view?.visibility ?? info?.visibility) === "private"}
                  sub={info ? memberCounts(info.members, info.online) : "…"}
                  subTestid="channel-counts"
                  attrs={{ "data-testid": "channel", "data-name": name }}
                />
              );
            })}
          </ul>
          <InlineForm
            placeholder="Join a channel by name"
            label="Join"
            testid="join-channel"
            maxLength={64}
            onFocus={() => void model.refreshChannels()}
            validate={(name) =>
              CHANNEL_NAME.test(name) ? undefined : "Channel names: letters, digits, _ and -"
            }
            onSubmit={(name) => model.joinChannel(name.replace(/^#/, ""))}
          />
          {others.length > 0 && (
            <div class="discover">
              <h3>More channels</h3>
              <ul class="chips">
                {others.map((c) => (
                  <li key={c.name}>
                    <button
                      type="button"
                      class="chip"
                      title={`Join #${c.name}`}
                      onClick={() => void model.joinChannel(c.name)}
                      data-testid="discover-channel"
                      data-name={c.name}
                    >
                      #{c.name}
                      <span class="chip-count">{c.members}</span>
                    </button>
                  </li>
                ))}
              </ul>
            </div>
          )}
        </section>

        {state.blocked.length > 0 && (
          <section class="group">
            <h2>Blocked</h2>
            <ul class="rows" data-testid="blocked-list">
              {state.blocked.map((u) => (
                <li
                  class="row"
                  key={u.userId}
                  data-testid="blocked-user"
                  data-username={u.username}
                >
                  <Avatar id={u.userId} name={u.username} />
                  <button
                    type="button"
                    class="row-main member-name"
                    onClick={() => model.showProfile(u.userId)}
                  >
                    <span class="row-title">{u.username}</span>
                  </button>
                  <button
                    type="button"
                    class="button ghost small"
                    onClick={() => void model.unblock(u.userId)}
                    data-testid="blocked-unblock"
                  >
                    Unblock
                  </button>
                </li>
              ))}
            </ul>
          </section>
        )}
      </div>
    </aside>
  );
}

export function memberCounts(members: number, online: number): string {
  return `${members} ${members === 1 ? "member" : "members"} · ${online} online`;
}

interface RowProps extends Props {
  convKey: string;
  avatar: JSX.Element;
  title: string;
  /** A private channel: a lock by its name. */
  lock?: boolean;
  sub: string;
  subTestid?: string;
  /** data-* attributes for the row's button (tests select by them). */
  attrs: Record<string, string>;
}

/** One conversation in a list: opens it, shows a preview line and its unread count. */
function ConversationRow({
  model,
  state,
  convKey,
  avatar,
  title,
  lock,
  sub,
  subTestid,
  attrs,
}: RowProps) {
  return (
    <li>
      <button
        type="button"
        class={`row link${state.active === convKey ? " active" : ""}`}
        onClick={() => model.open(convKey)}
        {...attrs}
      >
        {avatar}
        <span class="row-main">
          <span class="row-title">
            {lock && (
              <span class="lock" title="Private" data-testid="private-mark">
                <LockIcon />
              </span>
            )}
            {title}
          </span>
          <span class="row-sub" data-testid={subTestid}>
            {sub}
          </span>
        </span>
        <Unread conv={state.conversations[convKey]} />
      </button>
    </li>
  );
}

function Unread({ conv }: { conv: ConversationState | undefined }) {
  if (!conv || conv.unread === 0) return null;
  return (
    <span class="badges">
      {conv.mentions > 0 && (
        <span class="badge mention" data-testid="mention-badge" aria-label="You were mentioned">
          @
        </span>
      )}
      <span class="badge" data-testid="unread-badge" aria-label={`${conv.unread} unread`}>
        {conv.unread > 99 ? "99+" : conv.unread}
      </span>
    </span>
  );
}

function preview(conv: ConversationState | undefined, me: string): string | undefined {
  if (conv && Object.keys(conv.typing).length > 0) return "typing…";
  const last = conv?.messages[conv.messages.length - 1];
  if (!last) return undefined;
  const text = last.recalled ? "Message deleted" : contentText(last.content).replace(/\s+/g, " ");
  return last.from === me ? `You: ${text}` : text;
}
