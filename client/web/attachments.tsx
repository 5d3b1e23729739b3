// Files in the chat: a message's attachments (images as thumbnails that open full size, other
// files as a card that downloads) and the composer's uploads with their progress.
import { useEffect, useState } from "preact/hooks";
import type { Attachment, FileLink } from "../sdk.js";
import type { ChatModel } from "./chat-model.js";
import { describeError } from "./errors.js";
import { formatBytes } from "./format.js";

/** A signed link lasts `expiresIn` s; one this close to its end is read again before use. */
const LINK_MARGIN_MS = 15_000;

export function AttachmentList(props: { model: ChatModel; attachments: readonly Attachment[] }) {
  return (
    <div class="attachments">
      {props.attachments.map((a) => (
        <AttachmentView key={a.fileId} model={props.model} attachment={a} />
      ))}
    </div>
  );
}

function AttachmentView({ model, attachment }: { model: ChatModel; attachment: Attachment }) {
  const [link, setLink] = useState<{ file: FileLink; until: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const read = async () => {
    const file = await model.fileLink(attachment.fileId);
    const fresh = { file, until: Date.now() + file.expiresIn * 1000 - LINK_MARGIN_MS };
    setLink(fresh);
    return fresh;
  };
  useEffect(() => {
    read().catch((err: unknown) => setError(describeError(err)));
  }, [attachment.fileId]);
  // A link past its time is read again, then followed.
  const open = (e: MouseEvent, download: boolean) => {
    if (link && Date.now() < link.until) return;
    e.preventDefault();
    void read().then(({ file }) => follow(file.url, download ? attachment.name : null));
  };
  const image = link?.file.thumbnailUrl;
  if (image)
    return (
      <a
        class="attachment image"
        href={link.file.url}
        target="_blank"
        rel="noopener noreferrer"
        onClick={(e) => open(e, false)}
        data-testid="attachment-image"
      >
        <img
          src={image}
          alt={attachment.name}
          width={link.file.width}
          height={link.file.height}
          data-testid="attachment-thumbnail"
        />
      </a>
    );
  return (
    <a
      class="attachment card"
      href={link?.file.url}
      download={attachment.name}
      onClick={(e) => open(e, true)}
      data-testid="attachment-file"
      data-error={error ?? undefined}
    >
      <span class="attachment-name" data-testid="attachment-name">
        {attachment.name}
      </span>
      <span class="attachment-size">{formatBytes(attachment.size)}</span>
    </a>
  );
}

function follow(url: string, download: string | null): void {
  const a = document.createElement("a");
  a.href = url;
  if (download === null) {
    a.target = "_blank";
    a.rel = "noopener noreferrer";
  } else a.download = download;
  a.click();
}

/** A file in the composer: uploading (with its progress), ready to send, or refused. */
export interface PendingFile {
  key: number;
  name: string;
  sent: number;
  total: number;
  file?: Attachment;
  error?: string;
}

export function PendingFiles(props: {
  files: readonly PendingFile[];
  onRemove: (key: number) => void;
}) {
  if (props.files.length === 0) return null;
  return (
    <ul class="pending-files" data-testid="pending-files">
      {props.files.map((p) => (
        <li
          key={p.key}
          class={p.error ? "error" : undefined}
          data-testid="pending-file"
          data-state={p.error ? "error" : p.file ? "ready" : "uploading"}
        >
          <span class="attachment-name">{p.name}</span>
          {p.error ? (
            <span class="pending-error" data-testid="pending-error">
              {p.error}
            </span>
          ) : p.file ? (
            <span class="attachment-size">{formatBytes(p.file.size)}</span>
          ) : (
            <progress
              max={p.total || 1}
              value={p.sent}
              data-testid="upload-progress"
              data-sent={String(p.sent)}
            />
          )}
          <button
            type="button"
            class="icon-button"
            aria-label={`Remove ${p.name}`}
            onClick={() => props.onRemove(p.key)}
          >
            ×
          </button>
        </li>
      ))}
    </ul>
  );
}

/** Starts the upload of `file`, reporting its state to `update` as it goes. */
export function startUpload(
  model: ChatModel,
  key: number,
  file: File,
  update: (key: number, change: Partial<PendingFile>) => void,
): PendingFile {
  model
    .upload(file, (sent, total) => update(key, { sent, total }))
    .then((uploaded) => update(key, { file: uploaded, sent: uploaded.size }))
    .catch((err: unknown) => update(key, { error: describeError(err) }));
  return { key, name: file.name, sent: 0, total: file.size };
}
