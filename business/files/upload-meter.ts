// The stream an upload passes through on its way to storage: it counts and hashes the bytes,
// fails as soon as they pass the size limit, and fails when a claimed image type does not match
// the bytes' signature — each before the rest of the upload is read.
import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { DomainError } from "../errors.js";
import { sniffImage, SNIFF_BYTES, type ImageType } from "./images.js";

export class UploadMeter extends Transform {
  bytes = 0;
  private readonly hash = createHash("sha256");
  /** The first bytes, until the signature is checked (then null). */
  private head: Buffer | null;

  constructor(
    private readonly maxBytes: number,
    /** The image type the upload claims, checked against its bytes; null: not an image. */
    private readonly claimed: ImageType | null,
  ) {
    super();
    this.head = claimed ? Buffer.alloc(0) : null;
  }

  /** The hex SHA-256 of every byte; once the stream has ended. */
  sha256(): string {
    return this.hash.digest("hex");
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes)
      return done(new DomainError("too_large", `the file is larger than ${this.maxBytes} bytes`));
    this.hash.update(chunk);
    if (this.head) {
      this.head = Buffer.concat([this.head, chunk.subarray(0, SNIFF_BYTES)]);
      if (this.head.length >= SNIFF_BYTES) {
        const mismatch = this.checkSignature();
        if (mismatch) return done(mismatch);
      }
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    done(this.head ? this.checkSignature() : null);
  }

  private checkSignature(): DomainError | null {
    const found = sniffImage(this.head!);
    this.head = null;
    if (found === this.claimed) return null;
    return new DomainError(
      "invalid_file",
      `the file is sent as ${this.claimed} but its bytes are ${found ?? "not an image of that type"}`,
    );
  }
}
