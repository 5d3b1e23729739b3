// Files in an S3-compatible bucket (S3_URL), with the AWS SDK v3. An upload goes as one PUT when
// it fits in one part, else as a multipart upload of PART_BYTES parts, so at most one part is
// held in memory; a failed multipart upload is aborted, which keeps no object. Downloads are
// presigned GETs that carry the response headers, so the bytes never pass through business.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { Readable } from "node:stream";
import type { S3Location } from "../../config/s3-url.js";
import { checkKey, type FileStorage, type ServeHeaders, type StoredBytes } from "./storage.js";

/** S3's smallest part but the last. */
export const PART_BYTES = 5 * 1024 * 1024;

export class S3Storage implements FileStorage {
  readonly kind = "s3";
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(location: S3Location) {
    this.bucket = location.bucket;
    this.client = new S3Client({
      endpoint: location.endpoint,
      region: location.region,
      forcePathStyle: location.forcePathStyle,
      ...(location.credentials ? { credentials: location.credentials } : {}),
      // Checksums only where S3 requires them: many S3-compatible servers reject the SDK's
      // default CRC trailers.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  async put(key: string, body: Readable, contentType: string): Promise<void> {
    const target = { Bucket: this.bucket, Key: checkKey(key) };
    const parts = inParts(body, PART_BYTES);
    try {
      const first = await parts.next();
      const head = first.done ? Buffer.alloc(0) : first.value;
      if (head.length < PART_BYTES) {
        await this.client.send(
          new PutObjectCommand({ ...target, Body: head, ContentType: contentType }),
        );
        return;
      }
      await this.putInParts(target, contentType, head, parts);
    } catch (err) {
      body.destroy();
      throw err;
    }
  }

  private async putInParts(
    target: { Bucket: string; Key: string },
    contentType: string,
    head: Buffer,
    rest: AsyncGenerator<Buffer>,
  ): Promise<void> {
    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({ ...target, ContentType: contentType }),
    );
    try {
      const done: { ETag: string | undefined; PartNumber: number }[] = [];
      let part: Buffer | undefined = head;
      while (part) {
        const PartNumber = done.length + 1;
        const { ETag } = await this.client.send(
          new UploadPartCommand({ ...target, UploadId, PartNumber, Body: part }),
        );
        done.push({ ETag, PartNumber });
        const next = await rest.next();
        part = next.done ? undefined : next.value;
      }
      await this.client.send(
        new CompleteMultipartUploadCommand({
          ...target,
          UploadId,
          MultipartUpload: { Parts: done },
        }),
      );
    } catch (err) {
      // Best effort: the upload's failure is what the caller needs. An unaborted upload is no
      // object either; a bucket lifecycle rule (AbortIncompleteMultipartUpload) reclaims it.
      await this.client
        .send(new AbortMultipartUploadCommand({ ...target, UploadId }))
        .catch(() => undefined);
      throw err;
    }
  }

  async open(key: string): Promise<StoredBytes | null> {
    try {
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: checkKey(key) }),
      );
      return { body: object.Body as Readable, size: object.ContentLength ?? 0 };
    } catch (err) {
      if (err instanceof S3ServiceException && err.name === "NoSuchKey") return null;
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: checkKey(key) }));
  }

  async directLink(key: string, headers: ServeHeaders, expiresInS: number): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: checkKey(key),
      ResponseContentType: headers.contentType,
      ResponseContentDisposition: headers.contentDisposition,
    });
    return getSignedUrl(this.client, command, { expiresIn: expiresInS });
  }
}

/** The stream cut into buffers of exactly `size` bytes, the last one shorter (at least one). */
async function* inParts(body: Readable, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let length = 0;
  let yielded = false;
  for await (const chunk of body) {
    let data = chunk as Buffer;
    while (length + data.length >= size) {
      pending.push(data.subarray(0, size - length));
      data = data.subarray(size - length);
      yield Buffer.concat(pending);
      yielded = true;
      pending = [];
      length = 0;
    }
    if (data.length > 0) {
      pending.push(data);
      length += data.length;
    }
  }
  if (length > 0 || !yielded) yield Buffer.concat(pending);
}
