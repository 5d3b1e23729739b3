// Files in a local directory (FILES_DIR). An upload is written under `.incoming/` and renamed
// into place once whole, so a reader never sees a partial object and a failed one leaves none.
import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { checkKey, type FileStorage, type StoredBytes } from "./storage.js";

export class DiskStorage implements FileStorage {
  readonly kind = "disk";

  constructor(private readonly root: string) {}

  async put(key: string, body: Readable, _contentType: string): Promise<void> {
    const path = this.pathOf(key);
    const incoming = join(this.root, ".incoming");
    const temp = join(incoming, randomUUID());
    try {
      await mkdir(incoming, { recursive: true });
      await pipeline(body, createWriteStream(temp, { flags: "wx" }));
      await mkdir(dirname(path), { recursive: true });
      await rename(temp, path);
    } catch (err) {
      body.destroy();
      await rm(temp, { force: true });
      throw err;
    }
  }

  async open(key: string): Promise<StoredBytes | null> {
    try {
      const handle = await open(this.pathOf(key), "r");
      const { size } = await handle.stat();
      return { body: handle.createReadStream(), size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async directLink(): Promise<null> {
    return null;
  }

  private pathOf(key: string): string {
    return join(this.root, checkKey(key));
  }
}
