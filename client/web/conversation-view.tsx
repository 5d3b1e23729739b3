// One open conversation: a header (who, online or channel counts, "typing…"), the messages with
// older history loaded on scrolling up, and the composer (replies, edits, @mentions).
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { Avatar } from "./avatar.js";
import type { ChatModel, ChatState, ConversationState, Draft } from "./chat-model.js";
import { EMPTY_CONVERSATION, refOf } from "./chat-model.js";
import { contentText, mentionParts } from "./content.js";
import type { ChatMessage } from "./conversation-log.js";
import { formatDay, formatTime, formatUntil, hueClass, sameDay, shortId } from "./format.js";
import { AttachmentList, PendingFiles, startUpload, type PendingFile } from "./attachments.js";
import {
  AlertIcon,
  BackIcon,
  CheckIcon,
  ClockIcon,
  DoubleCheckIcon,
  LockIcon,
  PaperclipIcon,
  SendIcon,
  UsersIcon,
} from "./icons.js";
import { MembersPanel } from "./members-panel.js";
import { memberCounts } from "./sidebar.js";

/** Messages from one sender closer than this share a group (one name label). */
const GROUP_MS = 5 * 60_000;
/** Within this distance of the top, the next older page is read. */
const NEAR_TOP_PX = 120;
const MAX_TEXT = 8000;
const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "😮"];
const QUOTE_CHARS = 80;
const MAX_SUGGESTIONS = 5;

interface Props {
  model: ChatModel;
  state: ChatState;
  convKey: string;
}

export function ConversationView({ model, state, convKey }: Props) {
  const ref = refOf(convKey);
  const conv = state.conversations[convKey] ?? EMPTY_CONVERSATION;
  const [replyTo, setReplyTo] = useState<ChatMessage | null>(null);
  const [editing, setEditing] = useState<ChatMessage | null>(null);
  const [showMembers, setShowMembers] = useState(false);
  const friend =
    ref.kind === "direct" ? state.friends.find((f) => f.userId === ref.peer) : undefined;
  const channel =
    ref.kind === "channel" ? state.channels.find((c) => c.name === ref.channel) : undefined;
  const nameOf = (id: string) => state.names[id] ?? shortId(id);
  const info = ref.kind === "channel" ? state.channelInfo[ref.channel] : undefined;
  const title = ref.kind === "channel" ? info?.title || ref.channel : nameOf(ref.peer);
  const mutedUntil =
    info?.mutedUntil !== undefined && info.mutedUntil > Date.now() ? info.mutedUntil : undefined;
  // The server says nothing when a mute runs out: the note goes by itself then.
  const [, setExpired] = useState(0);
  useEffect(() => {
    if (mutedUntil === undefined) return;
    // setTimeout takes at most 2^31-1 ms (a mute may last a year).
    const delay = Math.min(mutedUntil - Date.now() + 50, 2 ** 31 - 1);
    const timer = setTimeout(() => setExpired(mutedUntil), delay);
    return () => clearTimeout(timer);
  }, [mutedUntil]);
  const typists = Object.keys(conv.typing);
  const subtitle =
    typists.length > 0
      ? ref.kind === "channel"
        ? `${typists.map(nameOf).join(", ")} ${typists.length === 1 ? "is" : "are"} typing…`
        : "typing…"
      : ref.kind === "channel"
        ? channel
          ? memberCounts(channel.members, channel.online)
          : ""
        : friend
          ? friend.online
            ? "Online"
            : "Offline"
          : "Not a friend";
  // Everyone in the channel but me, by name, for @mentions.
  const members =
    ref.kind === "channel"
      ? (state.members[ref.channel] ?? [])
          .filter((id) => id !== state.me.userId && state.names[id] !== undefined)
          .map((id) => ({ userId: id, username: state.names[id]! }))
      : [];

  const submit = (draft: Draft) => {
    if (editing?.id) {
      void model.editMessage(editing.id, draft.text);
      setEditing(null);
      return;
    }
    void model.sendText(convKey, { ...draft, replyTo: replyTo?.id });
    setReplyTo(null);
  };

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
          {ref.kind === "direct" ? (
            <button
              type="button"
              class="title-button"
              title="Profile"
              onClick={() => model.showProfile(ref.peer)}
              data-testid="open-profile"
            >
              <h2 data-testid="conversation-title">{title}</h2>
            </button>
          ) : (
            <h2 data-testid="conversation-title">
              {info?.visibility === "private" && (
                <span class="lock" title="Private" data-testid="private-mark">
                  <LockIcon />
                </span>
              )}
              {title}
            </h2>
          )}
          <p
            class={typists.length > 0 ? "typing" : friend?.online ? "online" : undefined}
            data-testid={typists.length > 0 ? "typing" : "conversation-subtitle"}
          >
            {subtitle}
          </p>
        </div>
        {ref.kind === "channel" && (
          <>
            <button
              type="button"
              class="icon-button"
              title="Members"
              aria-label="Members"
              aria-expanded={showMembers}
              onClick={() => setShowMembers(!showMembers)}
              data-testid="members-button"
            >
              <UsersIcon />
            </button>
            <button
              type="button"
              class="button ghost small"
              onClick={() => void model.leaveChannel(ref.channel)}
              data-testid="leave-channel"
            >
              Leave
            </button>
          </>
        )}
      </header>
      {ref.kind === "channel" && showMembers && (
        <MembersPanel
          model={model}
          state={state}
          channel={ref.channel}
          onClose={() => setShowMembers(false)}
        />
      )}
      <MessageList
        model={model}
        state={state}
        convKey={convKey}
        conv={conv}
        channel={ref.kind === "channel"}
        onReply={(m) => {
          setEditing(null);
          setReplyTo(m);
        }}
        onEdit={(m) => {
          setReplyTo(null);
          setEditing(m);
        }}
      />
      {replyTo && (
        <ComposerBar
          label={`Replying to ${replyTo.mine ? "yourself" : nameOf(replyTo.from)}`}
          quote={quoteText(replyTo)}
          testid="reply-bar"
          onCancel={() => setReplyTo(null)}
        />
      )}
      {editing && (
        <ComposerBar
          label="Editing message"
          quote={quoteText(editing)}
          testid="edit-bar"
          onCancel={() => setEditing(null)}
        />
      )}
      {mutedUntil !== undefined && (
        <p class="composer-note" data-testid="muted-note">
          You are muted here until {formatUntil(mutedUntil)}.
        </p>
      )}
      <Composer
        key={editing ? `${convKey}/edit/${editing.key}` : convKey}
        model={editing ? undefined : model}
        initial={editing ? contentText(editing.content) : ""}
        members={members}
        onSubmit={submit}
        onType={() => model.typing(convKey)}
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
  channel: boolean;
  onReply: (m: ChatMessage) => void;
  onEdit: (m: ChatMessage) => void;
}

function MessageList({ model, state, convKey, conv, channel, onReply, onEdit }: ListProps) {
  const box = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const [selected, setSelected] = useState<string | null>(null);
  const last = useRef<{ first: string | undefined; end: string | undefined; height: number }>({
    first: undefined,
    end: undefined,
    height: 0,
  });
  const messages = conv.messages;
  const byId = new Map(messages.filter((m) => m.id).map((m) => [m.id!, m]));
  const nameOf = (id: string) => state.names[id] ?? shortId(id);
  const me = state.me.userId;
  // "Read by N" goes under this user's newest stored message in a channel.
  const newestMine = channel
    ? [...messages].reverse().find((m) => m.mine && m.seq !== undefined && !m.recalled)
    : undefined;

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
          const original = m.replyTo !== undefined ? byId.get(m.replyTo) : undefined;
          return (
            <div key={m.key}>
              {newDay && (
                <div class="day" role="separator">
                  <span>{formatDay(m.ts)}</span>
                </div>
              )}
              <Message
                model={model}
                message={m}
                name={nameOf(m.from)}
                showName={channel && !m.mine && !grouped}
                grouped={grouped}
                read={!channel && m.seq !== undefined && m.seq <= conv.peerReadSeq}
                mentionsMe={m.mentions?.includes(me) ?? false}
                mentionNames={(m.mentions ?? []).flatMap((id) => state.names[id] ?? [])}
                quote={
                  m.replyTo === undefined
                    ? undefined
                    : original
                      ? {
                          name: original.mine ? "You" : nameOf(original.from),
                          text: quoteText(original),
                        }
                      : { name: "", text: "An earlier message" }
                }
                selected={selected === m.key}
                onSelect={() => setSelected(selected === m.key ? null : m.key)}
                actions={{
                  react: (emoji) => {
                    setSelected(null);
                    if (m.id) void model.toggleReaction(convKey, m.id, emoji);
                  },
                  reply: () => {
                    setSelected(null);
                    onReply(m);
                  },
                  edit: () => {
                    setSelected(null);
                    onEdit(m);
                  },
                  recall: () => {
                    setSelected(null);
                    if (m.id) void model.recallMessage(m.id);
                  },
                  retry: () => void model.retry(convKey, m.key),
                  discard: () => model.discard(convKey, m.key),
                }}
              />
              {m === newestMine && conv.readBy && conv.readBy.seq === m.seq && (
                <button
                  type="button"
                  class="read-by"
                  title="Refresh"
                  onClick={() => void model.refreshReadBy(convKey)}
                  data-testid="read-by"
                  data-count={String(conv.readBy.count)}
                >
                  {conv.readBy.count === 0 ? "Not read yet" : `Read by ${conv.readBy.count}`}
                </button>
              )}
            </div>
          );
        })}
      </div>
    </div>
  );
}

interface MessageActions {
  react: (emoji: string) => void;
  reply: () => void;
  edit: () => void;
  recall: () => void;
  retry: () => void;
  discard: () => void;
}

interface MessageProps {
  model: ChatModel;
  message: ChatMessage;
  name: string;
  showName: boolean;
  grouped: boolean;
  /** A DM the peer has read up to here. */
  read: boolean;
  mentionsMe: boolean;
  /** Names of the members it mentions, highlighted in its text. */
  mentionNames: string[];
  quote: { name: string; text: string } | undefined;
  selected: boolean;
  onSelect: () => void;
  actions: MessageActions;
}

function Message(props: MessageProps) {
  const { message: m, name, showName, grouped, read, mentionsMe, quote, selected, actions } = props;
  const stored = m.id !== undefined;
  const classes = ["msg", m.mine ? "mine" : "theirs"];
  if (grouped) classes.push("grouped");
  if (mentionsMe) classes.push("mentioned");
  return (
    <div
      class={classes.join(" ")}
      data-testid="message"
      data-mine={String(m.mine)}
      data-delivery={m.delivery ?? ""}
      data-read={String(read)}
      data-mentioned={String(mentionsMe)}
      data-id={m.id ?? ""}
    >
      {showName && (
        <div class={`msg-sender ${hueClass(m.from)}`} data-testid="message-sender">
          {name}
        </div>
      )}
      <div
        class={`bubble${selected ? " selected" : ""}`}
        onClick={stored ? props.onSelect : undefined}
        data-testid="message-bubble"
      >
        {quote && (
          <div class="quote" data-testid="reply-quote">
            {quote.name && <strong>{quote.name}</strong>}
            <span>{quote.text}</span>
          </div>
        )}
        {!m.recalled && m.attachments && m.attachments.length > 0 && (
          <AttachmentList model={props.model} attachments={m.attachments} />
        )}
        {m.recalled ? (
          <span class="msg-text recalled" data-testid="message-recalled">
            Message deleted
          </span>
        ) : (
          <span class="msg-text" data-testid="message-text">
            {mentionParts(contentText(m.content), props.mentionNames).map((part, i) =>
              part.mention ? (
                <mark class="mention" key={i} data-testid="mention">
                  {part.text}
                </mark>
              ) : (
                part.text
              ),
            )}
          </span>
        )}
        <span class="msg-meta">
          {m.editedAt !== undefined && !m.recalled && (
            <span class="edited" data-testid="message-edited">
              edited
            </span>
          )}
          <time dateTime={new Date(m.ts).toISOString()}>{formatTime(m.ts)}</time>
          {m.mine && (m.delivery || stored) && (
            <DeliveryMark delivery={read ? "read" : (m.delivery ?? "sent")} />
          )}
        </span>
      </div>
      {m.reactions.length > 0 && (
        <div class="reactions">
          {m.reactions.map((r) => (
            <button
              type="button"
              key={r.emoji}
              class={`reaction${r.me ? " me" : ""}`}
              onClick={() => actions.react(r.emoji)}
              aria-label={`${r.emoji} ${r.count}`}
              data-testid="reaction"
              data-emoji={r.emoji}
              data-count={String(r.count)}
              data-me={String(r.me)}
            >
              {r.emoji} <span>{r.count}</span>
            </button>
          ))}
        </div>
      )}
      {selected && stored && !m.recalled && (
        <div class="msg-actions" data-testid="message-actions">
          {QUICK_REACTIONS.map((emoji) => (
            <button
              type="button"
              key={emoji}
              class="quick-reaction"
              aria-label={`React ${emoji}`}
              onClick={() => actions.react(emoji)}
              data-testid="react"
              data-emoji={emoji}
            >
              {emoji}
            </button>
          ))}
          <button type="button" class="link-button" onClick={actions.reply} data-testid="reply">
            Reply
          </button>
          {m.mine && (
            <>
              <button type="button" class="link-button" onClick={actions.edit} data-testid="edit">
                Edit
              </button>
              <button
                type="button"
                class="link-button danger"
                onClick={actions.recall}
                data-testid="delete"
              >
                Delete
              </button>
            </>
          )}
        </div>
      )}
      {m.delivery === "error" && (
        <div class="msg-error" data-testid="message-error">
          <span>Not sent{m.error ? `: ${m.error}` : ""}</span>
          <button type="button" class="link-button" onClick={actions.retry}>
            Retry
          </button>
          <button type="button" class="link-button" onClick={actions.discard}>
            Discard
          </button>
        </div>
      )}
    </div>
  );
}

type Mark = NonNullable<ChatMessage["delivery"]> | "read";

function DeliveryMark({ delivery }: { delivery: Mark }) {
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
    case "read":
      return (
        <span class="tick read" title="Read" data-testid="delivery">
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

/** A short line of a message, for a reply's quote. */
function quoteText(m: ChatMessage): string {
  if (m.recalled) return "Message deleted";
  const text = contentText(m.content).replace(/\s+/g, " ");
  return text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS)}…` : text;
}

function ComposerBar(props: {
  label: string;
  quote: string;
  testid: string;
  onCancel: () => void;
}) {
  return (
    <div class="composer-bar" data-testid={props.testid}>
      <div class="composer-bar-text">
        <strong>{props.label}</strong>
        <span>{props.quote}</span>
      </div>
      <button
        type="button"
        class="icon-button"
        aria-label="Cancel"
        onClick={props.onCancel}
        data-testid={`${props.testid}-cancel`}
      >
        ×
      </button>
    </div>
  );
}

interface ComposerProps {
  /** Given when files may be attached (not while editing). */
  model: ChatModel | undefined;
  initial: string;
  members: { userId: string; username: string }[];
  onSubmit: (draft: Draft) => void;
  onType: () => void;
  placeholder: string;
}

function Composer({ model, initial, members, onSubmit, onType, placeholder }: ComposerProps) {
  const [text, setText] = useState(initial);
  const [files, setFiles] = useState<readonly PendingFile[]>([]);
  const fileInput = useRef<HTMLInputElement>(null);
  const nextKey = useRef(0);
  const ready = files.flatMap((p) => (p.file ? [p.file] : []));
  const uploading = files.some((p) => !p.file && !p.error);
  const canSend = !uploading && (text.trim() !== "" || ready.length > 0);
  const update = (key: number, change: Partial<PendingFile>) =>
    setFiles((now) => now.map((p) => (p.key === key ? { ...p, ...change } : p)));
  const attach = (picked: Iterable<File>) => {
    if (!model) return;
    const started = [...picked].map((file) => startUpload(model, ++nextKey.current, file, update));
    setFiles((now) => [...now, ...started]);
  };
  /** Members picked from the suggestions, by lower-case name. */
  const [picked, setPicked] = useState<Record<string, string>>({});
  const input = useRef<HTMLTextAreaElement>(null);
  const partial = /(?:^|\s)@([A-Za-z0-9_.-]*)$/.exec(text)?.[1];
  const suggestions =
    partial === undefined
      ? []
      : members
          .filter((u) => u.username.toLowerCase().startsWith(partial.toLowerCase()))
          .slice(0, MAX_SUGGESTIONS);
  const send = () => {
    if (!canSend) return;
    // A mention counts while its "@name" is still in the text.
    const mentions = Object.entries(picked)
      .filter(([name]) => mentionParts(text, [name]).some((p) => p.mention))
      .map(([, id]) => id);
    // With files, the text is their caption and may be empty.
    onSubmit({ text: text.trimEnd(), mentions, attachments: ready });
    setText("");
    setPicked({});
    setFiles([]);
    input.current?.focus();
  };
  const pick = (user: { userId: string; username: string }) => {
    setText(text.replace(/@[A-Za-z0-9_.-]*$/, `@${user.username} `));
    setPicked({ ...picked, [user.username.toLowerCase()]: user.userId });
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
      {suggestions.length > 0 && (
        <ul class="suggestions" data-testid="mention-suggestions">
          {suggestions.map((u) => (
            <li key={u.userId}>
              <button
                type="button"
                onClick={() => pick(u)}
                data-testid="mention-option"
                data-username={u.username}
              >
                @{u.username}
              </button>
            </li>
          ))}
        </ul>
      )}
      <PendingFiles
        files={files}
        onRemove={(key) => setFiles((now) => now.filter((p) => p.key !== key))}
      />
      {model && (
        <>
          <input
            ref={fileInput}
            type="file"
            multiple
            hidden
            onChange={(e) => {
              attach(e.currentTarget.files ?? []);
              e.currentTarget.value = "";
            }}
            data-testid="file-input"
          />
          <button
            type="button"
            class="icon-button attach-button"
            aria-label="Attach a file"
            title="Attach a file"
            onClick={() => fileInput.current?.click()}
            data-testid="attach-button"
          >
            <PaperclipIcon />
          </button>
        </>
      )}
      <textarea
        ref={input}
        rows={1}
        placeholder={placeholder}
        aria-label={placeholder}
        maxLength={MAX_TEXT}
        value={text}
        onInput={(e) => {
          setText(e.currentTarget.value);
          if (e.currentTarget.value.trim() !== "") onType();
        }}
        onPaste={(e) => {
          const pasted = e.clipboardData?.files;
          if (model && pasted && pasted.length > 0) {
            e.preventDefault();
            attach(pasted);
          }
        }}
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
        disabled={!canSend}
        data-testid="composer-send"
      >
        <SendIcon />
      </button>
    </form>
  );
}
