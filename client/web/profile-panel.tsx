// A person's profile: who they are to this user (friend, request, blocked), a way to message or
// befriend them, and Block / Unblock. Blocking ends the friendship: they leave the friend list.
import { Avatar } from "./avatar.js";
import type { ChatModel, ChatState } from "./chat-model.js";
import { Drawer } from "./drawer.js";
import { shortId } from "./format.js";

interface Props {
  model: ChatModel;
  state: ChatState;
  userId: string;
}

export function ProfilePanel({ model, state, userId }: Props) {
  const name = state.names[userId] ?? shortId(userId);
  const friend = state.friends.find((f) => f.userId === userId);
  const blocked = state.blocked.some((u) => u.userId === userId);
  const incoming = state.incoming.some((u) => u.userId === userId);
  const outgoing = state.outgoing.some((u) => u.userId === userId);
  const me = userId === state.me.userId;
  const relation = me
    ? "This is you"
    : blocked
      ? "Blocked: they can't message you or send you requests"
      : friend
        ? friend.online
          ? "Friend · online"
          : "Friend"
        : incoming
          ? "Wants to be friends"
          : outgoing
            ? "Friend request sent"
            : "Not a friend";
  const close = () => model.showProfile(null);
  return (
    <Drawer title="Profile" testid="profile" onClose={close}>
      <section class="drawer-section profile-card">
        <Avatar id={userId} name={name} online={friend?.online} />
        <strong class="profile-name" data-testid="profile-name">
          {name}
        </strong>
        <span class="row-sub" data-testid="profile-relation">
          {relation}
        </span>
      </section>
      {!me && (
        <section class="drawer-section profile-actions">
          {friend && (
            <button
              type="button"
              class="button primary small"
              onClick={() => {
                close();
                model.open(`d:${userId}`);
              }}
              data-testid="profile-message"
            >
              Message
            </button>
          )}
          {!friend && !blocked && !outgoing && (
            <button
              type="button"
              class="button ghost small"
              onClick={() => void model.acceptFriend(userId)}
              data-testid="profile-befriend"
            >
              {incoming ? "Accept request" : "Add friend"}
            </button>
          )}
          {blocked ? (
            <button
              type="button"
              class="button ghost small"
              onClick={() => void model.unblock(userId)}
              data-testid="unblock-user"
            >
              Unblock
            </button>
          ) : (
            <button
              type="button"
              class="button ghost small danger"
              onClick={() => void model.block(userId)}
              data-testid="block-user"
            >
              Block
            </button>
          )}
        </section>
      )}
    </Drawer>
  );
}
