// The signed-in page: a sidebar (people, channels) and the open conversation side by side on a
// desktop; on a phone one of them at a time, with a back button.
import { useEffect } from "preact/hooks";
import type { ChatModel } from "./chat-model.js";
import { ChatIcon } from "./icons.js";
import { ConversationView } from "./conversation-view.js";
import { ProfilePanel } from "./profile-panel.js";
import { Sidebar } from "./sidebar.js";
import { useChat } from "./use-chat.js";

export function ChatView({ model }: { model: ChatModel }) {
  const state = useChat(model);
  const active = state.active;
  const unread = Object.values(state.conversations).reduce((n, c) => n + c.unread, 0);
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Herald` : "Herald";
    return () => {
      document.title = "Herald";
    };
  }, [unread]);
  return (
    <div class="chat" data-pane={active ? "conversation" : "list"} data-testid="chat">
      <Sidebar model={model} state={state} />
      <section class="pane">
        {active ? (
          <ConversationView key={active} model={model} state={state} convKey={active} />
        ) : (
          <div class="empty-pane">
            <div class="empty-art">
              <ChatIcon />
            </div>
            <h2>Welcome, {state.me.username}</h2>
            <p>Pick a friend or a channel to start chatting.</p>
          </div>
        )}
      </section>
      {state.profile !== null && (
        <ProfilePanel key={state.profile} model={model} state={state} userId={state.profile} />
      )}
      <div class="notices" aria-live="polite">
        {state.notices.map((n) => (
          <div class={`notice ${n.kind}`} key={n.id} data-testid="notice" data-kind={n.kind}>
            <span>{n.text}</span>
            <button
              type="button"
              class="notice-close"
              aria-label="Dismiss"
              onClick={() => model.dismiss(n.id)}
            >
              ×
            </button>
          </div>
        ))}
      </div>
    </div>
  );
}
