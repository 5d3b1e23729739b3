// A channel's members panel: its settings, who is in it with their roles and mutes, and — for
// its owner and admins — invite by username, mute for a time, remove, ban, and (the owner only)
// promote, demote and hand over ownership. The server decides; the page only offers what the
// contract lets this user's role do (an admin acts on members, the owner on everyone else).
import { useEffect, useState } from "preact/hooks";
import type { ChannelMember, ChannelRole } from "../sdk.js";
import { Avatar } from "./avatar.js";
import type { ChatModel, ChatState } from "./chat-model.js";
import { Drawer } from "./drawer.js";
import { formatUntil } from "./format.js";
import { InlineForm } from "./inline-form.js";

const MUTE_CHOICES: readonly [label: string, seconds: number][] = [
  ["10 minutes", 600],
  ["1 hour", 3600],
  ["8 hours", 8 * 3600],
  ["1 day", 86_400],
  ["1 week", 7 * 86_400],
];

const ROLE_LABEL: Record<ChannelRole, string> = { owner: "Owner", admin: "Admin", member: "" };

interface Props {
  model: ChatModel;
  state: ChatState;
  channel: string;
  onClose: () => void;
}

export function MembersPanel({ model, state, channel, onClose }: Props) {
  useEffect(() => {
    void model.readRoster(channel);
    return () => model.closeRoster(channel);
  }, [model, channel]);
  const info = state.channelInfo[channel];
  const roster = state.rosters[channel];
  const myRole = info?.role;
  const runs = myRole === "owner" || myRole === "admin";
  return (
    <Drawer title="Members" testid="members-panel" onClose={onClose}>
      {info && (
        <section class="drawer-section channel-facts">
          <strong class="channel-title" data-testid="channel-title">
            {info.title || `#${info.name}`}
          </strong>
          <span class="row-sub">
            #{info.name} · {info.visibility === "private" ? "Private" : "Public"}
            {info.history === "since_join" ? " · history from joining" : ""}
          </span>
        </section>
      )}
      {runs && (
        <section class="drawer-section">
          <InlineForm
            placeholder="Invite by username"
            label="Invite"
            testid="invite"
            maxLength={32}
            onSubmit={(name) => model.invite(channel, name)}
          />
        </section>
      )}
      <ul class="rows" data-testid="member-list">
        {(roster?.members ?? []).map((m) => (
          <MemberRow
            key={m.userId}
            model={model}
            channel={channel}
            member={m}
            me={state.me.userId}
            myRole={myRole}
          />
        ))}
      </ul>
      {!roster && <p class="hint">Loading…</p>}
      {roster && roster.next !== null && (
        <button
          type="button"
          class="button ghost small wide"
          onClick={() => void model.readMoreMembers(channel)}
          data-testid="more-members"
        >
          Show more
        </button>
      )}
    </Drawer>
  );
}

interface RowProps {
  model: ChatModel;
  channel: string;
  member: ChannelMember;
  me: string;
  myRole: ChannelRole | null | undefined;
}

function MemberRow({ model, channel, member: m, me, myRole }: RowProps) {
  const [open, setOpen] = useState(false);
  const [handOver, setHandOver] = useState(false);
  const [seconds, setSeconds] = useState(MUTE_CHOICES[0]![1]);
  const muted = m.mutedUntil !== undefined && m.mutedUntil > Date.now();
  const isOwner = myRole === "owner";
  const canAct =
    m.userId !== me &&
    m.role !== "owner" &&
    (isOwner || (myRole === "admin" && m.role === "member"));
  const run = (action: () => Promise<void>) => {
    setOpen(false);
    setHandOver(false);
    void action();
  };
  return (
    <li
      class="member"
      data-testid="member"
      data-username={m.username}
      data-role={m.role}
      data-muted={String(muted)}
    >
      <div class="row">
        <Avatar id={m.userId} name={m.username} />
        <button
          type="button"
          class="row-main member-name"
          onClick={() => model.showProfile(m.userId)}
          data-testid="member-profile"
        >
          <span class="row-title">
            {m.username}
            {m.userId === me ? " (you)" : ""}
          </span>
          {muted && (
            <span class="row-sub" data-testid="member-muted">
              Muted until {formatUntil(m.mutedUntil!)}
            </span>
          )}
        </button>
        {m.role !== "member" && (
          <span class={`role-badge ${m.role}`} data-testid="member-role">
            {ROLE_LABEL[m.role]}
          </span>
        )}
        {canAct && (
          <button
            type="button"
            class="button ghost small"
            aria-expanded={open}
            onClick={() => setOpen(!open)}
            data-testid="manage-member"
          >
            Manage
          </button>
        )}
      </div>
      {open && canAct && (
        <div class="member-actions" data-testid="member-actions">
          {isOwner && (
            <div class="action-line">
              {m.role === "member" ? (
                <button
                  type="button"
                  class="button ghost small"
                  onClick={() => run(() => model.setRole(channel, m.userId, "admin"))}
                  data-testid="promote"
                >
                  Make admin
                </button>
              ) : (
                <button
                  type="button"
                  class="button ghost small"
                  onClick={() => run(() => model.setRole(channel, m.userId, "member"))}
                  data-testid="demote"
                >
                  Remove admin
                </button>
              )}
              {handOver ? (
                <button
                  type="button"
                  class="button primary small"
                  onClick={() => run(() => model.transferOwner(channel, m.userId))}
                  data-testid="confirm-owner"
                >
                  Hand over to {m.username}
                </button>
              ) : (
                <button
                  type="button"
                  class="button ghost small"
                  onClick={() => setHandOver(true)}
                  data-testid="make-owner"
                >
                  Make owner
                </button>
              )}
            </div>
          )}
          <div class="action-line">
            {muted ? (
              <button
                type="button"
                class="button ghost small"
                onClick={() => run(() => model.unmute(channel, m.userId))}
                data-testid="unmute"
              >
                Unmute
              </button>
            ) : (
              <>
                <select
                  aria-label="Mute for"
                  value={String(seconds)}
                  onChange={(e) => setSeconds(Number(e.currentTarget.value))}
                  data-testid="mute-duration"
                >
                  {MUTE_CHOICES.map(([label, s]) => (
                    <option key={s} value={String(s)}>
                      {label}
                    </option>
                  ))}
                </select>
                <button
                  type="button"
                  class="button ghost small"
                  onClick={() => run(() => model.mute(channel, m.userId, seconds))}
                  data-testid="mute"
                >
                  Mute
                </button>
              </>
            )}
          </div>
          <div class="action-line">
            <button
              type="button"
              class="button ghost small danger"
              onClick={() => run(() => model.kick(channel, m.userId, false))}
              data-testid="kick"
            >
              Remove
            </button>
            <button
              type="button"
              class="button ghost small danger"
              onClick={() => run(() => model.kick(channel, m.userId, true))}
              data-testid="ban"
            >
              Ban
            </button>
          </div>
        </div>
      )}
    </li>
  );
}
