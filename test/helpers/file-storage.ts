// The two file storages as test backends: a temp directory, and a bucket on a local s3rver
// started on a free port over a temp directory. Each can list every key it holds, so a test
// can prove that nothing was kept.
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import S3rver from "s3rver";
import { parseS3Url } from "../../config/s3-url.js";
import { DiskStorage } from "../../business/files/disk-storage.js";
import { S3Storage } from "../../business/files/s3-storage.js";
import type { FileStorage } from "../../business/files/storage.js";

export interface StorageBackend {
  kind: FileStorage["kind"];
  storage: FileStorage;
  /** The environment that makes business use this backend. */
  env: Record<string, string>;
  /** Every object held, including partial ones (disk: every file under the directory). */
  keys(): Promise<string[]>;
  stop(): Promise<void>;
}

export interface StorageBackendKind {
  kind: FileStorage["kind"];
  start(): Promise<StorageBackend>;
}

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

export async function startDisk(): Promise<StorageBackend> {
  const dir = await mkdtemp(join(tmpdir(), "herald-files-"));
  return {
    kind: "disk",
    storage: new DiskStorage(dir),
    env: { FILES_DIR: dir },
    keys: () => filesUnder(dir),
    stop: () => rm(dir, { recursive: true, force: true }),
  };
}

export const BUCKET = "herald-test";

export async function startS3(): Promise<StorageBackend> {
  const dir = await mkdtemp(join(tmpdir(), "herald-s3rver-"));
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: BUCKET }],
  });
  const { port } = await server.run();
  const url = `s3+http://S3RVER:S3RVER@127.0.0.1:${port}/${BUCKET}?region=us-east-1`;
  const location = parseS3Url(url);
  const client = new S3Client({
    endpoint: location.endpoint,
    region: location.region,
    forcePathStyle: true,
    credentials: location.credentials!,
  });
  return {
    kind: "s3",
    storage: new S3Storage(location),
    env: { S3_URL: url },
    async keys() {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
      return (listed.Contents ?? []).map((object) => object.Key!);
    },
    async stop() {
      client.destroy();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const storageBackends: StorageBackendKind[] = [
  { kind: "disk", start: startDisk },
  { kind: "s3", start: startS3 },
];
