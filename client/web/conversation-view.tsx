// One open conversation: a header (who, online or channel counts), the messages with older
// history loaded on scrolling up, and the composer.
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { Avatar } from "./avatar.js";
import type { ChatModel, ChatState, ConversationState } from "./chat-model.js";
import { EMPTY_CONVERSATION, refOf } from "./chat-model.js";
import { contentText } from "./content.js";
import type { ChatMessage } from "./conversation-log.js";
import { formatDay, formatTime, hueClass, sameDay, shortId } from "./format.js";
import { AlertIcon, BackIcon, CheckIcon, ClockIcon, DoubleCheckIcon, SendIcon } from "./icons.js";
import { memberCounts } from "./sidebar.js";

/** Messages from one sender closer than this share a group (one name label). */
const GROUP_MS = 5 * 60_000;
/** Within this distance of the top, the next older page is read. */
const NEAR_TOP_PX = 120;
const MAX_TEXT = 8000;

interface Props {
  model: ChatModel;
  state: ChatState;
  convKey: string;
}

export function ConversationView({ model, state, convKey }: Props) {
  const ref = refOf(convKey);
  const conv = state.conversations[convKey] ?? EMPTY_CONVERSATION;
  const friend =
    ref.kind === "direct" ? state.friends.find((f) => f.userId === ref.peer) : undefined;
  const channel =
    ref.kind === "channel" ? state.channels.find((c) => c.name === ref.channel) : undefined;
  const title = ref.kind === "channel" ? ref.channel : (state.names[ref.peer] ?? shortId(ref.peer));
  const subtitle =
    ref.kind === "channel"
      ? channel
        ? memberCounts(channel.members, channel.online)
        : ""
      : friend
        ? friend.online
          ? "Online"
          : "Offline"
        : "Not a friend";

  return (
    <div class="conversation" data-testid="conversation" data-key={convKey}>
      <header class="conv-head">
        <button
          type="button"
          class="icon-button back"
          aria-label="Back"
          onClick={() => model.open(null)}
          data-testid="back-button"
        >
          <BackIcon />
        </button>
        <Avatar
          id={ref.kind === "channel" ? convKey : ref.peer}
          name={title}
          channel={ref.kind === "channel"}
          online={friend?.online}
        />
        <div class="conv-title">
          <h2 data-testid="conversation-title">{title}</h2>
          <p class={friend?.online ? "online" : undefined} data-testid="conversation-subtitle">
            {subtitle}
          </p>
        </div>
        {ref.kind === "channel" && (
          <button
            type="button"
            class="button ghost small"
            onClick={() => void model.leaveChannel(ref.channel)}
            data-testid="leave-channel"
          >
            Leave
          </button>
        )}
      </header>
      <MessageList
        model={model}
        state={state}
        convKey={convKey}
        conv={conv}
        showNames={ref.kind === "channel"}
      />
      <Composer
        key={convKey}
        onSend={(text) => void model.sendText(convKey, text)}
        placeholder={ref.kind === "channel" ? `Message #${ref.channel}` : `Message ${title}`}
      />
    </div>
  );
}

interface ListProps {
  model: ChatModel;
  state: ChatState;
  convKey: string;
  conv: ConversationState;
  showNames: boolean;
}

function MessageList({ model, state, convKey, conv, showNames }: ListProps) {
  const box = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const last = useRef<{ first: string | undefined; end: string | undefined; height: number }>({
    first: undefined,
    end: undefined,
    height: 0,
  });
  const messages = conv.messages;

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const first = messages[0]?.key;
    const end = messages[messages.length - 1];
    const prev = last.current;
    const prepended = prev.first !== undefined && first !== prev.first && end?.key === prev.end;
    if (prepended && !atBottom.current) {
      // An older page went in above: keep the same messages under the reader's eye.
      el.scrollTop += el.scrollHeight - prev.height;
    } else if (atBottom.current || (end?.mine && end.key !== prev.end)) {
      el.scrollTop = el.scrollHeight;
      atBottom.current = true;
    }
    last.current = { first, end: end?.key, height: el.scrollHeight };
    // Too few messages to scroll: read older ones now rather than wait for a scroll.
    if (conv.loaded && !conv.atStart && el.scrollHeight <= el.clientHeight + NEAR_TOP_PX) {
      void model.loadOlder(convKey);
    }
  }, [messages, conv.loaded, conv.atStart]);

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
    if (el.scrollTop < NEAR_TOP_PX) void model.loadOlder(convKey);
  };

  return (
    <div class="messages" ref={box} onScroll={onScroll} data-testid="message-list">
      <div class="messages-inner">
        {conv.loaded && conv.atStart && (
          <p class="history-edge" data-testid="history-start">
            This is the beginning of the conversation.
          </p>
        )}
        {conv.loadingOlder && <p class="history-edge">Loading earlier messages…</p>}
        {!conv.loaded && !conv.error && <p class="history-edge">Loading…</p>}
        {conv.error && <p class="history-edge error">{conv.error}</p>}
        {messages.map((m, i) => {
          const prev = messages[i - 1];
          const newDay = !prev || !sameDay(prev.ts, m.ts);
          const grouped =
            !newDay && prev !== undefined && prev.from === m.from && m.ts - prev.ts < GROUP_MS;
          return (
            <div key={m.key}>
              {newDay && (
                <div class="day" role="separator">
                  <span>{formatDay(m.ts)}</span>
                </div>
              )}
              <Message
                message={m}
                name={state.names[m.from] ?? shortId(m.from)}
                showName={showNames && !m.mine && !grouped}
                grouped={grouped}
                onRetry={() => void model.retry(convKey, m.key)}
                onDiscard={() => model.discard(convKey, m.key)}
              />
            </div>
          );
        })}
      </div>
    </div>
  );
}

interface MessageProps {
  message: ChatMessage;
  name: string;
  showName: boolean;
  grouped: boolean;
  onRetry: () => void;
  onDiscard: () => void;
}

function Message({ message: m, name, showName, grouped, onRetry, onDiscard }: MessageProps) {
  return (
    <div
      class={`msg ${m.mine ? "mine" : "theirs"}${grouped ? " grouped" : ""}`}
      data-testid="message"
      data-mine={String(m.mine)}
      data-delivery={m.delivery ?? ""}
      data-id={m.id ?? ""}
    >
      {showName && (
        <div class={`msg-sender ${hueClass(m.from)}`} data-testid="message-sender">
          {name}
        </div>
      )}
      <div class="bubble">
        <span class="msg-text" data-testid="message-text">
          {contentText(m.content)}
        </span>
        <span class="msg-meta">
          <time dateTime={new Date(m.ts).toISOString()}>{formatTime(m.ts)}</time>
          {m.mine && m.delivery && <DeliveryMark delivery={m.delivery} />}
        </span>
      </div>
      {m.delivery === "error" && (
        <div class="msg-error" data-testid="message-error">
          <span>Not sent{m.error ? `: ${m.error}` : ""}</span>
          <button type="button" class="link-button" onClick={onRetry}>
            Retry
          </button>
          <button type="button" class="link-button" onClick={onDiscard}>
            Discard
          </button>
        </div>
      )}
    </div>
  );
}

function DeliveryMark({ delivery }: { delivery: NonNullable<ChatMessage["delivery"]> }) {
  switch (delivery) {
    case "sending":
      return (
        <span class="tick" title="Sending" data-testid="delivery">
          <ClockIcon />
        </span>
      );
    case "sent":
      return (
        <span class="tick" title="Sent" data-testid="delivery">
          <CheckIcon />
        </span>
      );
    case "delivered":
      return (
        <span class="tick delivered" title="Delivered" data-testid="delivery">
          <DoubleCheckIcon />
        </span>
      );
    case "offline":
      return (
        <span
          class="tick label"
          title="They were offline; they will see it when they are back"
          data-testid="delivery"
        >
          <CheckIcon /> offline
        </span>
      );
    case "failed":
      return (
        <span class="tick label" title="Their device did not confirm it" data-testid="delivery">
          <AlertIcon /> unconfirmed
        </span>
      );
    case "error":
      return (
        <span class="tick label error" title="Not sent" data-testid="delivery">
          <AlertIcon />
        </span>
      );
  }
}

function Composer({
  onSend,
  placeholder,
}: {
  onSend: (text: string) => void;
  placeholder: string;
}) {
  const [text, setText] = useState("");
  const input = useRef<HTMLTextAreaElement>(null);
  const send = () => {
    if (text.trim() === "") return;
    onSend(text);
    setText("");
    input.current?.focus();
  };
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <textarea
        ref={input}
        rows={1}
        placeholder={placeholder}
        aria-label={placeholder}
        maxLength={MAX_TEXT}
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          // Enter sends; Shift+Enter (or composing an IME word) does not.
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            send();
          }
        }}
        data-testid="composer-input"
      />
      <button
        type="submit"
        class="send-button"
        aria-label="Send"
        title="Send"
        disabled={text.trim() === ""}
        data-testid="composer-send"
      >
        <SendIcon />
      </button>
    </form>
  );
}
