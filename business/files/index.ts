// Picks the file storage for a configuration: the S3 twin with S3_URL, else the disk twin.
import type { FilesConfig } from "../../config/index.js";
import { DiskStorage } from "./disk-storage.js";
import { S3Storage } from "./s3-storage.js";
import type { FileStorage } from "./storage.js";

export function createFileStorage(config: Pick<FilesConfig, "dir" | "s3">): FileStorage {
  return config.s3 ? new S3Storage(config.s3) : new DiskStorage(config.dir);
}
