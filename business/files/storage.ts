// Where file bytes live: one small interface, two twins side by side — ./disk-storage.ts (a
// directory, the default) and ./s3-storage.ts (an S3-compatible bucket) — that pass the same
// conformance suite (test/file-storage.test.ts). Records of files are the engine store's.
import type { Readable } from "node:stream";

/** The headers a download is served with (the storage sets them on its own links). */
export interface ServeHeaders {
  contentType: string;
  contentDisposition: string;
}

export interface StoredBytes {
  body: Readable;
  size: number;
}

export interface FileStorage {
  readonly kind: "disk" | "s3";
  /**
   * Streams `body` into `key` without holding it in memory. Resolves once the object is whole;
   * when `body` errors or the write fails it rejects, destroys `body` and keeps nothing under
   * `key`.
   */
  put(key: string, body: Readable, contentType: string): Promise<void>;
  /** The object's bytes, or null when there is none. */
  open(key: string): Promise<StoredBytes | null>;
  /** Deletes the object; idempotent. */
  remove(key: string): Promise<void>;
  /**
   * A link the storage serves itself, valid `expiresInS` seconds, answered with `headers` (S3:
   * a presigned GET); null when business serves the bytes (disk).
   */
  directLink(key: string, headers: ServeHeaders, expiresInS: number): Promise<string | null>;
}

/** Keys are relative paths of safe segments, so no key can leave the disk twin's directory. */
const KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}(\/[A-Za-z0-9][A-Za-z0-9_.-]{0,127}){0,3}$/;

export function checkKey(key: string): string {
  if (!KEY.test(key)) throw new Error(`invalid storage key ${JSON.stringify(key)}`);
  return key;
}
