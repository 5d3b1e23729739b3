// Creating a channel: its name, a title, public or private, and whether members who join later
// see what came before. The creator becomes its owner.
import { useState } from "preact/hooks";
import type { ChannelHistory, ChannelVisibility } from "../sdk.js";
import type { ChatModel } from "./chat-model.js";

export const CHANNEL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_TITLE = 200;
const VISIBILITIES: readonly [ChannelVisibility, string][] = [
  ["public", "Public: anyone can join"],
  ["private", "Private: invited people only"],
];

interface Props {
  model: ChatModel;
  onDone: () => void;
}

export function NewChannelForm({ model, onDone }: Props) {
  const [name, setName] = useState("");
  const [title, setTitle] = useState("");
  const [visibility, setVisibility] = useState<ChannelVisibility>("public");
  const [history, setHistory] = useState<ChannelHistory>("all");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = async () => {
    const n = name.trim().replace(/^#/, "");
    if (!CHANNEL_NAME.test(n)) {
      setError("Channel names: 1–64 letters, digits, _ and -");
      return;
    }
    setBusy(true);
    setError(undefined);
    const t = title.trim();
    const ok = await model.createChannel({
      name: n,
      visibility,
      history,
      ...(t === "" ? {} : { title: t }),
    });
    setBusy(false);
    if (ok) onDone();
  };
  return (
    <form
      class="new-channel"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
      data-testid="new-channel-form"
    >
      <input
        type="text"
        placeholder="Channel name, e.g. design-team"
        aria-label="Channel name"
        autocapitalize="none"
        spellcheck={false}
        maxLength={64}
        value={name}
        onInput={(e) => setName(e.currentTarget.value)}
        data-testid="new-channel-name"
      />
      <input
        type="text"
        placeholder="Title (optional)"
        aria-label="Title"
        maxLength={MAX_TITLE}
        value={title}
        onInput={(e) => setTitle(e.currentTarget.value)}
        data-testid="new-channel-title"
      />
      <fieldset class="choice">
        <legend>Who can find it</legend>
        {VISIBILITIES.map(([value, label]) => (
          <label key={value}>
            <input
              type="radio"
              name="visibility"
              checked={visibility === value}
              onChange={() => setVisibility(value)}
              data-testid={`new-channel-${value}`}
            />
            {label}
          </label>
        ))}
      </fieldset>
      <label class="select-line">
        <span>New members see</span>
        <select
          value={history}
          onChange={(e) => setHistory(e.currentTarget.value as ChannelHistory)}
          data-testid="new-channel-history"
        >
          <option value="all">all earlier messages</option>
          <option value="since_join">only what comes after they join</option>
        </select>
      </label>
      {error && <p class="form-error small">{error}</p>}
      <div class="row-actions">
        <button
          type="submit"
          class="button primary small"
          disabled={busy || name.trim() === ""}
          data-testid="new-channel-create"
        >
          Create
        </button>
        <button type="button" class="button ghost small" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
