// The file storage conformance suite, run against both twins: the disk twin in a temp directory
// and the S3 twin against a local s3rver (test/helpers/file-storage.ts).
import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { resolve } from "node:path";
import { createFileStorage } from "../business/files/index.js";
import { PART_BYTES } from "../business/files/s3-storage.js";
import { ConfigError, loadConfig } from "../config/index.js";
import { storageBackends, type StorageBackend } from "./helpers/file-storage.js";

const sha = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** Yields `data` in 64 KiB chunks, then fails: an upload cut off after `data`. */
function failingAfter(data: Buffer): Readable {
  return Readable.from(
    (async function* () {
      for (let at = 0; at < data.length; at += 64 * 1024) yield data.subarray(at, at + 64 * 1024);
      throw new Error("cut off");
    })(),
  );
}

for (const backend of storageBackends) {
  describe(`file storage conformance: ${backend.kind}`, function () {
    this.timeout(20_000);
    let store: StorageBackend;

    before(async function () {
      store = await backend.start();
    });
    after(async function () {
      await store?.stop();
    });

    async function read(key: string): Promise<{ data: Buffer; size: number } | null> {
      const opened = await store.storage.open(key);
      return opened && { data: await buffer(opened.body), size: opened.size };
    }

    it("reports its kind", function () {
      expect(store.storage.kind).to.equal(backend.kind);
    });

    it("gives back exactly what was put, with its size; an empty object too", async function () {
      const data = randomBytes(100_000);
      await store.storage.put("original/small", Readable.from([data]), "application/x-test");
      expect(await read("original/small")).to.deep.equal({ data, size: data.length });
      await store.storage.put("original/empty", Readable.from([]), "text/plain");
      expect(await read("original/empty")).to.deep.equal({ data: Buffer.alloc(0), size: 0 });
    });

    it("streams an object larger than one S3 part, whole and in order", async function () {
      const data = randomBytes(PART_BYTES + 300_000);
      const chunks = Array.from({ length: Math.ceil(data.length / 70_000) }, (_, i) =>
        data.subarray(i * 70_000, (i + 1) * 70_000),
      );
      await store.storage.put("original/large", Readable.from(chunks), "application/x-test");
      const got = await read("original/large");
      expect(got!.size).to.equal(data.length);
      expect(sha(got!.data)).to.equal(sha(data));
    });

    for (const [what, bytes] of [
      ["before any byte", 0],
      ["within the first part", 200_000],
      ["past the first part", PART_BYTES + 200_000],
    ] as const)
      it(`a body that fails ${what}: put rejects, destroys it and keeps nothing`, async function () {
        const before = await store.keys();
        const body = failingAfter(randomBytes(bytes));
        let error: unknown = null;
        await store.storage.put("original/cut", body, "application/x-test").catch((e) => {
          error = e;
        });
        expect((error as Error | null)?.message).to.equal("cut off");
        expect(body.destroyed).to.equal(true);
        expect(await read("original/cut")).to.equal(null);
        expect(await store.keys()).to.deep.equal(before);
      });

    it("open answers null for a missing key; remove is idempotent", async function () {
      expect(await store.storage.open("original/never")).to.equal(null);
      await store.storage.put("original/gone", Readable.from([Buffer.from("x")]), "text/plain");
      await store.storage.remove("original/gone");
      await store.storage.remove("original/gone");
      await store.storage.remove("original/never");
      expect(await read("original/gone")).to.equal(null);
    });

    it("refuses keys that could leave its space", async function () {
      for (const key of ["", "../x", "a/../../x", "/abs", "a//b", ".hidden", "a/.b", "a\\b"]) {
        const attempts = [
          store.storage.put(key, Readable.from([Buffer.from("x")]), "text/plain"),
          store.storage.open(key),
          store.storage.remove(key),
        ];
        for (const attempt of attempts) {
          let error: unknown = null;
          await attempt.catch((e) => (error = e));
          expect((error as Error | null)?.message, key).to.contain("invalid storage key");
        }
      }
    });

    it("a direct link, where the storage has them, serves the bytes with the given headers", async function () {
      const data = Buffer.from("hello, files");
      await store.storage.put("original/linked", Readable.from([data]), "text/plain");
      const headers = {
        contentType: "text/plain; charset=utf-8",
        contentDisposition: "attachment; filename=\"h_llo.txt\"; filename*=UTF-8''h%C3%A9llo.txt",
      };
      const link = await store.storage.directLink("original/linked", headers, 300);
      if (backend.kind === "disk") {
        expect(link).to.equal(null);
        return;
      }
      const url = new URL(link!);
      expect(Number(url.searchParams.get("X-Amz-Expires"))).to.equal(300);
      expect(url.searchParams.get("X-Amz-Signature")).to.match(/^[0-9a-f]{64}$/);
      const response = await fetch(link!);
      expect(response.status).to.equal(200);
      expect(response.headers.get("content-type")).to.equal(headers.contentType);
      expect(response.headers.get("content-disposition")).to.equal(headers.contentDisposition);
      expect(Buffer.from(await response.arrayBuffer())).to.deep.equal(data);
    });
  });
}

describe("file storage configuration", function () {
  it("defaults: the disk twin in ./data/files (absolute), 25 MiB per file", function () {
    const { files } = loadConfig({});
    expect(files).to.deep.include({
      dir: resolve("data/files"),
      s3: undefined,
      secret: undefined,
      maxBytes: 25 * 1024 * 1024,
    });
    expect(createFileStorage(files).kind).to.equal("disk");
  });

  it("S3_URL: s3:// over HTTPS, s3+http:// over HTTP, percent-encoded credentials", function () {
    const aws = loadConfig({
      S3_URL: "s3://AKIA1:se%2Fcr%40et@s3.eu-west-1.amazonaws.com/my.bucket?region=eu-west-1",
    }).files;
    expect(aws.s3).to.deep.equal({
      endpoint: "https://s3.eu-west-1.amazonaws.com",
      bucket: "my.bucket",
      region: "eu-west-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "AKIA1", secretAccessKey: "se/cr@et" },
    });
    expect(createFileStorage(aws).kind).to.equal("s3");
    const local = loadConfig({ S3_URL: "s3+http://127.0.0.1:9000/files/?forcePathStyle=0" }).files;
    expect(local.s3).to.deep.equal({
      endpoint: "http://127.0.0.1:9000",
      bucket: "files",
      region: "us-east-1",
      forcePathStyle: false,
      credentials: undefined,
    });
  });

  for (const url of [
    "http://key:topsecret@host/bucket",
    "s3://key@host/bucket",
    "s3://key:topsecret@host/",
    "s3://key:topsecret@host/bucket/key",
    "s3://key:topsecret@host/Bad_Bucket",
    "s3://key:topsecret@host/bucket?regoin=eu-west-1",
    "s3://key:topsecret@host/bucket?forcePathStyle=yes",
    "s3://key:top%ZZsecret@host/bucket",
    "not a url topsecret",
  ])
    it(`a bad S3_URL stops start-up naming it, never its secret: ${url}`, function () {
      expect(() => loadConfig({ S3_URL: url }))
        .to.throw(ConfigError, /S3_URL/)
        .with.property("message")
        .that.does.not.contain("topsecret");
    });

  it("FILES_SECRET is at least 32 characters; IM_FILE_MAX_BYTES a positive integer", function () {
    expect(() => loadConfig({ FILES_SECRET: "short" })).to.throw(ConfigError, /FILES_SECRET/);
    expect(() => loadConfig({ IM_FILE_MAX_BYTES: "-1" })).to.throw(ConfigError, /IM_FILE_MAX/);
  });
});
