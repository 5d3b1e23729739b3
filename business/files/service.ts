// Files: uploads streamed to storage (metered, checked, counted against the user's limits),
// records in the engine's store, who may read a file, signed links and the bytes they serve.
// The send path uses `attachments`, `share` and `unshare` for messages that carry files.
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import type { FilesConfig } from "../../config/index.js";
import type { Logger } from "../../config/logger.js";
import { MAX_ATTACHMENTS, type Attachment, type UserId } from "../../engine/protocol.js";
import type { ConversationRef, FileRecord, Limiter, Limits, Store } from "../../engine/types.js";
import { DomainError } from "../errors.js";
import { sees } from "../services/conversation-access.js";
import { imageTypeOf } from "./images.js";
import type { IncomingFile } from "./incoming.js";
import { contentDisposition, LINK_TTL_S, type LinkSigner, type Variant } from "./links.js";
import type { FileStorage, ServeHeaders, StoredBytes } from "./storage.js";
import { makeThumbnail, THUMBNAIL_TYPE } from "./thumbnails.js";
import { UploadMeter } from "./upload-meter.js";

export interface UploadedFile extends Attachment {
  sha256: string;
}

export interface FileAnswer extends UploadedFile {
  url: string;
  expiresIn: number;
  /** Images only. */
  thumbnailUrl?: string;
  width?: number;
  height?: number;
}

export interface Download extends StoredBytes {
  headers: ServeHeaders;
}

export interface FileServiceDeps {
  store: Store;
  storage: FileStorage;
  /** The engine's: the upload rate and the quota hold across business instances. */
  limits: Limits;
  links: LinkSigner;
  logger: Logger;
  config: Pick<FilesConfig, "maxBytes" | "uploadsPerMin" | "quotaBytesPerDay">;
  clock?: () => number;
}

export const FILE_ID = /^[A-Za-z0-9-]{1,64}$/;
const MAX_NAME_LENGTH = 255;
/** A media type with optional parameters (RFC 9110 tokens). */
const MEDIA_TYPE =
  /^[a-z0-9][\w!#$&^.+-]{0,126}\/[a-z0-9][\w!#$&^.+-]{0,126}(\s*;\s*[\w!#$&^.+-]+=("[^"\\\r\n]*"|[\w!#$&^.+-]+))*$/i;
/** Control characters, and the bidi overrides that make "evil\u202Etxt.exe" look like a .txt. */
const UNSAFE_IN_NAME = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;

const DAY_MS = 86_400_000;

const keyOf = (fileId: string, variant: Variant) => `${variant}/${fileId}`;
const notFound = () => new DomainError("file_not_found", "no such file");

export class FileService {
  private readonly clock: () => number;
  /** Uploads a user may start per minute. */
  private readonly uploads: Limiter;
  /** Bytes a user may keep per UTC day, counted under `<userId>:<day>`. */
  private readonly quota: Limiter;

  constructor(private readonly deps: FileServiceDeps) {
    this.clock = deps.clock ?? Date.now;
    const { limits, config } = deps;
    this.uploads = limits.limiter("file-uploads", { points: config.uploadsPerMin, durationS: 60 });
    this.quota = limits.limiter("file-bytes", {
      points: config.quotaBytesPerDay,
      durationS: DAY_MS / 1000,
    });
  }

  /**
   * Stores an upload and records it; `receive` is called only once the upload rate allows it,
   * so a refused upload is never read. Nothing is kept when any step fails.
   */
  async upload(owner: UserId, receive: () => Promise<IncomingFile>): Promise<UploadedFile> {
    const { storage } = this.deps;
    const { maxBytes } = this.deps.config;
    const allowed = await this.uploads.take(owner);
    if (!allowed.ok) throw new DomainError("rate_limited", "too many uploads", allowed.retryAfterS);
    const incoming = await receive();
    try {
      const name = checkName(incoming.name);
      const contentType = checkContentType(incoming.contentType);
      if (incoming.declaredBytes !== undefined && incoming.declaredBytes > maxBytes)
        throw new DomainError("too_large", `the file is larger than ${maxBytes} bytes`);
      const fileId = randomUUID();
      const claimedImage = imageTypeOf(contentType);
      const meter = new UploadMeter(maxBytes, claimedImage);
      const original = feed(incoming.stream, meter);
      await this.stored(() => storage.put(keyOf(fileId, "original"), original, contentType));
      const record: FileRecord = {
        fileId,
        owner,
        name,
        size: meter.bytes,
        contentType,
        sha256: meter.sha256(),
        createdAt: this.clock(),
      };
      await this.keep(record, claimedImage !== null);
      return uploaded(record);
    } catch (err) {
      // Whatever of the body is still coming is read and dropped, so the answer gets through.
      incoming.stream.unpipe();
      incoming.stream.resume();
      throw err;
    }
  }

  /** Counts the stored bytes against today's quota, makes an image's thumbnail and records
   * the file; when a step fails, the stored bytes and their count are taken back. */
  private async keep(record: FileRecord, image: boolean): Promise<void> {
    const day = Math.floor(this.clock() / DAY_MS);
    const key = `${record.owner}:${day}`;
    let counted = false;
    try {
      if (record.size > 0) {
        const verdict = await this.quota.take(key, record.size);
        // A refused take still counts its points; a file that is not kept takes no quota.
        counted = true;
        if (!verdict.ok)
          throw new DomainError(
            "quota_exceeded",
            "this file would pass your upload quota for today (UTC)",
            Math.ceil(((day + 1) * DAY_MS - this.clock()) / 1000),
          );
      }
      if (image) record.image = await this.thumbnail(record.fileId);
      await this.deps.store.createFile(record);
    } catch (err) {
      const undone = await Promise.allSettled([
        this.deps.storage.remove(keyOf(record.fileId, "original")),
        this.deps.storage.remove(keyOf(record.fileId, "thumbnail")),
        counted ? this.quota.giveBack(key, record.size) : null,
      ]);
      if (undone.some((result) => result.status === "rejected"))
        this.deps.logger.warn({ fileId: record.fileId }, "a failed upload left bytes behind");
      throw err;
    }
  }

  private async thumbnail(fileId: string): Promise<FileRecord["image"]> {
    const { storage } = this.deps;
    const original = await this.stored(() => storage.open(keyOf(fileId, "original")));
    if (!original) throw new Error("the stored original vanished");
    const { data, width, height } = await this.stored(() => makeThumbnail(original.body));
    const thumbnail = Readable.from([data]);
    await this.stored(() => storage.put(keyOf(fileId, "thumbnail"), thumbnail, THUMBNAIL_TYPE));
    return { width, height };
  }

  /** Runs a storage call; a failure of the storage itself (not a refusal) is `unavailable`. */
  private async stored<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof DomainError) throw err;
      const { name, code, message } = (err ?? {}) as Record<string, unknown>;
      this.deps.logger.warn({ error: { name, code, message } }, "file storage failed");
      throw new DomainError("unavailable", "file storage is unavailable");
    }
  }

  /** The file's description with fresh links, for the uploader or a participant of a
   * conversation where it was shared; anyone else gets `file_not_found`, as for no file. */
  async describe(userId: UserId, fileId: string, origin: string): Promise<FileAnswer> {
    const record = await this.deps.store.fileById(fileId);
    if (!record || !(record.owner === userId || (await this.sharedWith(userId, fileId))))
      throw notFound();
    const answer: FileAnswer = {
      ...uploaded(record),
      url: await this.link(record, "original", origin),
      expiresIn: LINK_TTL_S,
    };
    if (!record.image) return answer;
    const thumbnailUrl = await this.link(record, "thumbnail", origin);
    return { ...answer, thumbnailUrl, ...record.image };
  }

  /** Whether an item the user sees (conversation-access.ts `sees`) shares the file. */
  private async sharedWith(userId: UserId, fileId: string): Promise<boolean> {
    const { store } = this.deps;
    for (const { ref, seq } of await store.fileShares(fileId))
      if (await sees(store, userId, ref, seq)) return true;
    return false;
  }

  /** The storage's own link when it has one (S3), else a link business signs and serves. */
  private async link(record: FileRecord, variant: Variant, origin: string): Promise<string> {
    const key = keyOf(record.fileId, variant);
    const direct = await this.deps.storage.directLink(
      key,
      serveHeaders(record, variant),
      LINK_TTL_S,
    );
    return direct ?? origin + this.deps.links.path(record.fileId, variant);
  }

  /** The bytes a signed link names: `link_invalid` when its signature does not match,
   * `link_expired` past its expiry, then `file_not_found`. */
  async download(fileId: string, variant: Variant, exp: number, sig: string): Promise<Download> {
    const check = this.deps.links.check(fileId, variant, exp, sig);
    if (check === "forged") throw new DomainError("link_invalid", "the link is not valid");
    if (check === "expired") throw new DomainError("link_expired", "the link has expired");
    const record = await this.deps.store.fileById(fileId);
    if (!record || (variant === "thumbnail" && !record.image)) throw notFound();
    const bytes = await this.stored(() => this.deps.storage.open(keyOf(fileId, variant)));
    if (!bytes) throw notFound();
    return { ...bytes, headers: serveHeaders(record, variant) };
  }

  /** What a client checks before it uploads or sends (GET /api/files/limits). */
  limits(): { maxBytes: number; maxAttachments: number } {
    return { maxBytes: this.deps.config.maxBytes, maxAttachments: MAX_ATTACHMENTS };
  }

  /**
   * For the send path, before a message is stored: up to MAX_ATTACHMENTS distinct file ids,
   * each uploaded by `sender`, else `invalid_attachments`. Resolves to what the item carries.
   */
  async attachments(sender: UserId, fileIds: readonly string[]): Promise<Attachment[]> {
    const invalid = (why: string) => new DomainError("invalid_attachments", why);
    if (fileIds.length > MAX_ATTACHMENTS)
      throw invalid(`at most ${MAX_ATTACHMENTS} attachments per message`);
    if (new Set(fileIds).size !== fileIds.length) throw invalid("an attachment is repeated");
    const records = await Promise.all(
      fileIds.map((id) => (FILE_ID.test(id) ? this.deps.store.fileById(id) : null)),
    );
    if (records.some((record) => record?.owner !== sender))
      throw invalid("each attachment must be a file you uploaded");
    return records.map((record) => {
      const { fileId, name, size, contentType } = record!;
      return { fileId, name, size, contentType };
    });
  }

  /** After the message at `seq` of `ref` is stored: its participants may read the files. */
  async share(ref: ConversationRef, seq: number, fileIds: readonly string[]): Promise<void> {
    await Promise.all(fileIds.map((id) => this.deps.store.shareFile(id, ref, seq)));
  }

  /** After the message at `seq` of `ref` is recalled: the files are no longer shared by it. */
  async unshare(ref: ConversationRef, seq: number, fileIds: readonly string[]): Promise<void> {
    await Promise.all(fileIds.map((id) => this.deps.store.unshareFile(id, ref, seq)));
  }
}

/**
 * Pipes the upload into its meter. A source that breaks off fails the meter, never the socket
 * (the answer must still get through).
 */
function feed(source: Readable, meter: UploadMeter): UploadMeter {
  const brokeOff = () =>
    meter.destroy(new DomainError("invalid_upload", "the upload broke off before its end"));
  // A refusal may come before the storage starts reading (after an await of its own); it is
  // not lost: put rejects with the error of a stream that already failed.
  meter.on("error", () => undefined);
  if (source.destroyed && !source.readableEnded) brokeOff();
  else source.on("error", brokeOff).pipe(meter);
  return meter;
}

function uploaded({ fileId, name, size, contentType, sha256 }: FileRecord): UploadedFile {
  return { fileId, name, size, contentType, sha256 };
}

/** Only an image Herald checked and previewed is shown inline; anything else downloads. */
function serveHeaders(record: FileRecord, variant: Variant): ServeHeaders {
  return {
    contentType: variant === "thumbnail" ? THUMBNAIL_TYPE : record.contentType,
    contentDisposition: contentDisposition(record.name, record.image !== undefined),
  };
}

/** The name's last path segment (a browser may send a path): 1–255 characters, no control or
 * bidi-override characters. */
function checkName(raw: string | undefined): string {
  if (raw === undefined)
    throw new DomainError(
      "invalid_upload",
      "name the file: X-Filename with a raw body, the part's filename in a form",
    );
  const name = raw.split(/[/\\]/).pop()!;
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || UNSAFE_IN_NAME.test(name))
    throw new DomainError(
      "invalid_upload",
      `a file name is 1-${MAX_NAME_LENGTH} characters with no control characters`,
    );
  return name;
}

/** The type as sent (application/octet-stream when none), if it is a well-formed media type. */
function checkContentType(raw: string | undefined): string {
  const type = (raw ?? "application/octet-stream").trim();
  if (type.length > 255 || !MEDIA_TYPE.test(type))
    throw new DomainError("invalid_upload", "Content-Type must be a media type such as image/png");
  return type;
}
