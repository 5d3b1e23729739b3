// Files end to end over real HTTP: uploads (raw and multipart), limits, images and thumbnails,
// signed links, access — for each storage twin (disk, S3 on a local s3rver) and each engine.
import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { Agent, request } from "node:http";
import sharp from "sharp";
import { FileService } from "../business/files/service.js";
import { LinkSigner } from "../business/files/links.js";
import { PART_BYTES } from "../business/files/s3-storage.js";
import { createLogger } from "../config/logger.js";
import { MemoryEngine } from "../engine/memory-engine.js";
import type { ConversationRef } from "../engine/types.js";
import {
  engineKinds,
  startHarness,
  type ApiResponse,
  type Harness,
  type TestUser,
} from "./helpers/business.js";
import { startDisk, storageBackends, type StorageBackend } from "./helpers/file-storage.js";

/** Past one S3 part, so a too-large upload to S3 has begun a multipart upload. */
const MAX_BYTES = PART_BYTES + 1024 * 1024;
/** The suite uploads far more than a user would; the limits have tests of their own. */
const NO_LIMITS = { IM_FILE_UPLOADS_PER_MIN: "1000000" };
/** Known to the suite, so it can sign links business never made. */
const SECRET = "s".repeat(40);
const sha = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

interface Images {
  png: Buffer;
  jpeg: Buffer;
  gif: Buffer;
  webp: Buffer;
}

async function makeImages(): Promise<Images> {
  const base = () =>
    sharp({ create: { width: 1200, height: 800, channels: 4, background: "#3a6ea5" } });
  return {
    png: await base().png().toBuffer(),
    jpeg: await base().jpeg().toBuffer(),
    gif: await base().gif().toBuffer(),
    webp: await base().webp().toBuffer(),
  };
}

async function answer(response: Response): Promise<ApiResponse> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body };
}

/** POST /api/files with the file as the raw body. */
async function uploadRaw(
  h: Harness,
  token: string,
  data: Uint8Array | ReadableStream<Uint8Array>,
  name: string | null,
  contentType: string | null,
): Promise<ApiResponse> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (name !== null) headers["x-filename"] = encodeURIComponent(name);
  if (contentType !== null) headers["content-type"] = contentType;
  const init: RequestInit & { duplex?: "half" } = { method: "POST", headers };
  if (data instanceof ReadableStream) Object.assign(init, { body: data, duplex: "half" });
  else init.body = new Uint8Array(data);
  return answer(await fetch(`${h.business.url}/api/files`, init));
}

/** POST /api/files as multipart/form-data with the file in `field`. */
async function uploadForm(
  h: Harness,
  token: string,
  data: Uint8Array,
  name: string,
  type: string,
  field = "file",
): Promise<ApiResponse> {
  const form = new FormData();
  form.append("note", "a field before the file");
  form.append(field, new Blob([new Uint8Array(data)], { type }), name);
  const response = await fetch(`${h.business.url}/api/files`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  return answer(response);
}

/**
 * Sends two uploads over one keep-alive connection, the first written in chunks (no
 * Content-Length). The second is answered only if the server read the whole of the first,
 * even after refusing it: else the first never finishes sending and holds the connection.
 */
async function twoOnOneConnection(
  h: Harness,
  token: string,
  first: { headers: Record<string, string>; body: Buffer },
): Promise<[number, number]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const send = (headers: Record<string, string>, body: Buffer) =>
    new Promise<{ status: number; socket: unknown }>((resolve, reject) => {
      const req = request(
        `${h.business.url}/api/files`,
        { method: "POST", agent, headers: { authorization: `Bearer ${token}`, ...headers } },
        (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode!, socket: req.socket }));
        },
      );
      req.on("error", reject);
      for (let at = 0; at < body.length; at += 64 * 1024)
        req.write(body.subarray(at, at + 64 * 1024));
      req.end();
    });
  try {
    const answers = await Promise.all([
      send(first.headers, first.body),
      send({ "x-filename": "next.txt", "content-type": "text/plain" }, Buffer.from("next")),
    ]);
    expect(answers[0].socket).to.equal(answers[1].socket);
    return [answers[0].status, answers[1].status];
  } finally {
    agent.destroy();
  }
}

/** A body of `size` bytes sent in chunks with no Content-Length. */
function chunked(size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      const chunk = randomBytes(Math.min(256 * 1024, size - sent));
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
}

for (const storageKind of storageBackends)
  for (const engineKind of engineKinds())
    describe(`files over HTTP: ${storageKind.kind} storage, ${engineKind.name} engine`, function () {
      this.timeout(30_000);
      let backend: StorageBackend;
      let h: Harness;
      let images: Images;
      let alice: TestUser;
      let bob: TestUser;
      let carol: TestUser;
      let now = Date.now();
      const extra: Harness[] = [];

      /** Another business on the same storage, with its own limits. */
      async function harness(env: Record<string, string>): Promise<Harness> {
        const started = await startHarness(engineKind.make, {
          env: { ...backend.env, ...NO_LIMITS, IM_FILE_MAX_BYTES: String(MAX_BYTES), ...env },
          clock: () => now,
        });
        extra.push(started);
        return started;
      }

      before(async function () {
        backend = await storageKind.start();
        images = await makeImages();
        h = await startHarness(engineKind.make, {
          env: {
            ...backend.env,
            ...NO_LIMITS,
            IM_FILE_MAX_BYTES: String(MAX_BYTES),
            FILES_SECRET: SECRET,
          },
          clock: () => now,
        });
        [alice, bob, carol] = [await h.user(), await h.user(), await h.user()];
      });
      beforeEach(function () {
        now = Date.now();
      });
      afterEach(async function () {
        await Promise.all(extra.splice(0).map((x) => x.close()));
      });
      after(async function () {
        await h?.close();
        await backend?.stop();
        await engineKind.stop?.();
      });

      const describeFile = (user: TestUser, fileId: string) =>
        h.api("GET", `/api/files/${fileId}`, { token: user.token });

      it("a raw upload answers 201 with its id, name, size, type and sha256, and downloads by its link with no token", async function () {
        const data = randomBytes(300_000);
        const up = await uploadRaw(h, alice.token, data, "report.bin", "application/x-report");
        expect(up.status).to.equal(201);
        expect(up.body).to.deep.equal({
          fileId: up.body.fileId,
          name: "report.bin",
          size: data.length,
          contentType: "application/x-report",
          sha256: sha(data),
        });
        const got = await describeFile(alice, up.body.fileId);
        expect(got.status).to.equal(200);
        expect(got.body).to.include({ ...up.body, expiresIn: 300 });
        expect(got.body).to.not.have.property("thumbnailUrl");
        const download = await fetch(got.body.url);
        expect(download.status).to.equal(200);
        expect(download.headers.get("content-type")).to.equal("application/x-report");
        expect(download.headers.get("content-disposition")).to.equal(
          "attachment; filename=\"report.bin\"; filename*=UTF-8''report.bin",
        );
        expect(Buffer.from(await download.arrayBuffer())).to.deep.equal(data);
      });

      it("a multipart upload keeps a UTF-8 name; the download names it safely (RFC 5987)", async function () {
        const data = Buffer.from("%PDF-1.7 not really");
        const name = 'résumé "2024" (final)\\v2.pdf';
        const up = await uploadForm(h, alice.token, data, name, "application/pdf");
        expect(up.status).to.equal(201);
        expect(up.body).to.include({ name: "v2.pdf", size: data.length, sha256: sha(data) });
        const plain = 'résumé "2024" (final).pdf';
        const raw = await uploadRaw(h, alice.token, data, plain, "application/pdf");
        expect(raw.body.name).to.equal(plain);
        const { body } = await describeFile(alice, raw.body.fileId);
        const download = await fetch(body.url);
        expect(download.headers.get("content-disposition")).to.equal(
          'attachment; filename="r_sum_ _2024_ (final).pdf"; ' +
            "filename*=UTF-8''r%C3%A9sum%C3%A9%20%222024%22%20%28final%29.pdf",
        );
        expect(download.headers.get("content-type")).to.equal("application/pdf");
      });

      it("takes any body type on /api/files: a JSON file is stored, not parsed", async function () {
        const data = Buffer.from('{"not": "parsed"');
        const up = await uploadRaw(h, alice.token, data, "broken.json", "application/json");
        expect(up.status).to.equal(201);
        const download = await fetch((await describeFile(alice, up.body.fileId)).body.url);
        expect(Buffer.from(await download.arrayBuffer())).to.deep.equal(data);
      });

      it("every download carries nosniff, a sandboxing CSP and a private cache lifetime", async function () {
        const up = await uploadRaw(
          h,
          alice.token,
          Buffer.from("<script>x</script>"),
          "x.html",
          "text/html",
        );
        const { body } = await describeFile(alice, up.body.fileId);
        const download = await fetch(body.url);
        expect(download.headers.get("content-type")).to.equal("text/html");
        expect(download.headers.get("content-disposition")).to.match(/^attachment;/);
        if (storageKind.kind === "disk") {
          expect(download.headers.get("x-content-type-options")).to.equal("nosniff");
          expect(download.headers.get("content-security-policy")).to.equal(
            "default-src 'none'; sandbox",
          );
          expect(download.headers.get("cache-control")).to.match(/^private, max-age=(29\d|300)$/);
        } else {
          const url = new URL(body.url);
          expect(url.searchParams.get("X-Amz-Expires")).to.equal("300");
          expect(url.searchParams.get("X-Amz-Signature")).to.match(/^[0-9a-f]{64}$/);
        }
      });

      describe("too large", function () {
        const cases: [string, () => Promise<ApiResponse>][] = [
          [
            "a raw body whose Content-Length says so",
            () =>
              uploadRaw(h, alice.token, randomBytes(MAX_BYTES + 1), "big.bin", "application/x-big"),
          ],
          [
            "a raw body sent in chunks with no length, past one S3 part",
            () =>
              uploadRaw(
                h,
                alice.token,
                chunked(MAX_BYTES + 300_000),
                "big.bin",
                "application/x-big",
              ),
          ],
          [
            "a multipart body",
            () =>
              uploadForm(
                h,
                alice.token,
                randomBytes(MAX_BYTES + 1),
                "big.bin",
                "application/x-big",
              ),
          ],
        ];
        for (const [what, send] of cases)
          it(`${what}: 413 too_large, and nothing is kept`, async function () {
            const before = await backend.keys();
            const up = await send();
            expect(up.status).to.equal(413);
            expect(up.body.error.code).to.equal("too_large");
            expect(await backend.keys()).to.deep.equal(before);
            // The connection still serves the next request.
            const next = await uploadRaw(h, alice.token, Buffer.from("ok"), "ok.txt", "text/plain");
            expect(next.status).to.equal(201);
          });

        it("a refused upload is read to its end: the same connection serves the next request", async function () {
          const big = randomBytes(2 * MAX_BYTES);
          const raw = { "x-filename": "big.bin", "content-type": "application/x-big" };
          const form = { "content-type": "multipart/form-data; boundary=b0undary" };
          const part = (header: string) =>
            Buffer.concat([Buffer.from(`--b0undary\r\n${header}\r\n\r\n`), big]);
          const file = part('Content-Disposition: form-data; name="file"; filename="big.bin"');
          // A malformed part header fails the form before any file.
          const malformed = part("x".repeat(20_000));
          for (const [headers, body, status] of [
            [raw, big, 413],
            [form, file, 413],
            [form, malformed, 400],
          ] as const)
            expect(await twoOnOneConnection(h, alice.token, { headers, body })).to.deep.equal([
              status,
              201,
            ]);
        });

        it("exactly IM_FILE_MAX_BYTES is accepted", async function () {
          const data = randomBytes(MAX_BYTES);
          const up = await uploadForm(h, alice.token, data, "edge.bin", "application/x-edge");
          expect(up.status).to.equal(201);
          expect(up.body).to.include({ size: MAX_BYTES, sha256: sha(data) });
        });
      });

      describe("images", function () {
        for (const [type, key] of [
          ["image/png", "png"],
          ["image/jpeg", "jpeg"],
          ["image/gif", "gif"],
          ["image/webp", "webp"],
        ] as const)
          it(`${type}: a thumbnail of at most 320 px in WebP, both shown inline`, async function () {
            const up = await uploadRaw(h, alice.token, images[key], `photo.${key}`, type);
            expect(up.status).to.equal(201);
            const { body } = await describeFile(alice, up.body.fileId);
            expect(body).to.include({ contentType: type, width: 1200, height: 800 });
            const original = await fetch(body.url);
            expect(original.headers.get("content-type")).to.equal(type);
            expect(original.headers.get("content-disposition")).to.match(/^inline;/);
            expect(Buffer.from(await original.arrayBuffer())).to.deep.equal(images[key]);
            const thumbnail = await fetch(body.thumbnailUrl);
            expect(thumbnail.status).to.equal(200);
            expect(thumbnail.headers.get("content-type")).to.equal("image/webp");
            const bytes = Buffer.from(await thumbnail.arrayBuffer());
            const meta = await sharp(bytes).metadata();
            expect(meta).to.include({ format: "webp", width: 320, height: 213 });
            expect(bytes.length).to.be.below(images.png.length);
          });

        it("a claimed image type that the bytes do not match: 400 invalid_file, nothing kept", async function () {
          const before = await backend.keys();
          for (const [data, type] of [
            [images.jpeg, "image/png"],
            [images.png, "image/jpeg"],
            [Buffer.from("GIF8 nope, just text"), "image/gif"],
            [Buffer.from("RIFF1234WAVEfmt "), "image/webp"],
            [Buffer.from("tiny"), "image/png"],
            [Buffer.alloc(0), "image/jpeg"],
          ] as const) {
            const up = await uploadRaw(h, alice.token, data, "x.img", type);
            expect(up.status, type).to.equal(400);
            expect(up.body.error.code).to.equal("invalid_file");
            const form = await uploadForm(h, alice.token, data, "x.img", type);
            expect(form.body.error.code).to.equal("invalid_file");
          }
          expect(await backend.keys()).to.deep.equal(before);
        });

        it("an image with a right signature that does not decode: 400 invalid_file, nothing kept", async function () {
          const before = await backend.keys();
          const broken = Buffer.concat([images.png.subarray(0, 64), randomBytes(2_000)]);
          const up = await uploadRaw(h, alice.token, broken, "broken.png", "image/png");
          expect(up.status).to.equal(400);
          expect(up.body.error.code).to.equal("invalid_file");
          expect(await backend.keys()).to.deep.equal(before);
        });

        it("image bytes sent as another type, and SVG, are plain files: no thumbnail, downloaded", async function () {
          const svg = Buffer.from(
            '<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>',
          );
          for (const [data, type] of [
            [images.png, "application/octet-stream"],
            [svg, "image/svg+xml"],
          ] as const) {
            const up = await uploadRaw(h, alice.token, data, "file", type);
            expect(up.status).to.equal(201);
            const { body } = await describeFile(alice, up.body.fileId);
            expect(body).to.not.have.property("thumbnailUrl");
            const download = await fetch(body.url);
            expect(download.headers.get("content-type")).to.equal(type);
            expect(download.headers.get("content-disposition")).to.match(/^attachment;/);
          }
        });
      });

      describe("limits", function () {
        it("the upload rate: the next upload gets 429 rate_limited with Retry-After", async function () {
          const x = await harness({ IM_FILE_UPLOADS_PER_MIN: "2" });
          const [dave, erin] = [await x.user(), await x.user()];
          for (let i = 0; i < 2; i++)
            expect((await uploadRaw(x, dave.token, Buffer.from("a"), "a", null)).status).to.equal(
              201,
            );
          const refused = await uploadRaw(x, dave.token, Buffer.from("a"), "a", null);
          expect(refused.status).to.equal(429);
          expect(refused.body.error.code).to.equal("rate_limited");
          expect(Number(refused.headers.get("retry-after"))).to.be.within(1, 60);
          // Per user: someone else still uploads.
          expect((await uploadRaw(x, erin.token, Buffer.from("a"), "a", null)).status).to.equal(
            201,
          );
        });

        it("the daily quota: an upload past it gets 413 quota_exceeded until the UTC day ends, and is not kept", async function () {
          const x = await harness({ IM_FILE_QUOTA_BYTES_PER_DAY: "150000" });
          const dave = await x.user();
          const first = await uploadRaw(x, dave.token, randomBytes(100_000), "a", null);
          expect(first.status).to.equal(201);
          const before = await backend.keys();
          const second = await uploadRaw(x, dave.token, randomBytes(60_000), "b", null);
          expect(second.status).to.equal(413);
          expect(second.body.error.code).to.equal("quota_exceeded");
          const untilMidnight = Math.ceil((86_400_000 - (now % 86_400_000)) / 1000);
          expect(Number(second.headers.get("retry-after"))).to.equal(untilMidnight);
          expect(await backend.keys()).to.deep.equal(before);
          // What was refused does not count: the rest of the quota still takes 50 000 bytes.
          const third = await uploadRaw(x, dave.token, randomBytes(50_000), "c", null);
          expect(third.status).to.equal(201);
          expect(
            (await x.api("GET", `/api/files/${first.body.fileId}`, { token: dave.token })).status,
          ).to.equal(200);
        });

        it("a refused image (invalid_file) gives its bytes back to the quota", async function () {
          const x = await harness({ IM_FILE_QUOTA_BYTES_PER_DAY: "6000" });
          const dave = await x.user();
          const broken = Buffer.concat([images.png.subarray(0, 64), randomBytes(4_000)]);
          expect((await uploadRaw(x, dave.token, broken, "b.png", "image/png")).status).to.equal(
            400,
          );
          expect((await uploadRaw(x, dave.token, randomBytes(5_000), "c", null)).status).to.equal(
            201,
          );
        });
      });

      if (storageKind.kind === "disk")
        describe("signed links (served by business)", function () {
          let image: string;
          let link: URL;

          before(async function () {
            image = (await uploadRaw(h, alice.token, images.png, "p.png", "image/png")).body.fileId;
          });
          beforeEach(async function () {
            link = new URL((await describeFile(alice, image)).body.url);
          });

          it("has the form /files/<id>/<variant>?exp=<s>&sig=<hmac>, expiring within 300 s", function () {
            expect(link.pathname).to.equal(`/files/${image}/original`);
            const exp = Number(link.searchParams.get("exp"));
            expect(exp).to.be.within(Math.floor(now / 1000) + 299, Math.floor(now / 1000) + 300);
            expect(link.searchParams.get("sig")).to.match(/^[A-Za-z0-9_-]{43}$/);
          });

          it("expires: past `exp` it is 403 link_expired", async function () {
            now += 301_000;
            const refused = await answer(await fetch(link));
            expect(refused.status).to.equal(403);
            expect(refused.body.error.code).to.equal("link_expired");
          });

          it("cannot be widened: another file, expiry or variant is 403 link_invalid", async function () {
            const other = (await uploadRaw(h, alice.token, images.jpeg, "o.jpg", "image/jpeg")).body
              .fileId as string;
            const exp = Number(link.searchParams.get("exp"));
            const tampered = [
              link.href.replace(image, other),
              link.href.replace(`exp=${exp}`, `exp=${exp + 3600}`),
              link.href.replace("/original?", "/thumbnail?"),
              link.href.replace(/sig=./, (m) => (m.endsWith("A") ? "sig=B" : "sig=A")),
              link.href.replace(/sig=.*/, "sig=short"),
            ];
            for (const url of tampered) {
              const refused = await answer(await fetch(url));
              expect(refused.status, url).to.equal(403);
              expect(refused.body.error.code).to.equal("link_invalid");
            }
          });

          it("a malformed link is 400", async function () {
            const base = `${h.business.url}/files/${image}`;
            const bad: [string, number, string][] = [
              [`${base}/original`, 400, "invalid_query"],
              [`${base}/original?exp=soon&sig=abc`, 400, "invalid_query"],
              [`${base}/original?exp=1&sig=a%20b`, 400, "invalid_query"],
              [`${base}/preview${link.search}`, 400, "invalid_param"],
              [`${h.business.url}/files/bad!id/original${link.search}`, 400, "invalid_param"],
            ];
            for (const [url, code, error] of bad) {
              const refused = await answer(await fetch(url));
              expect(refused.status, url).to.equal(code);
              expect(refused.body.error.code).to.equal(error);
            }
          });

          it("a well-signed link to a thumbnail that does not exist, or to no file, is 404", async function () {
            const plain = (await uploadRaw(h, alice.token, Buffer.from("t"), "t.txt", "text/plain"))
              .body.fileId as string;
            const signer = new LinkSigner(Buffer.from(SECRET), () => now);
            for (const path of [
              signer.path(plain, "thumbnail"),
              signer.path("00000000-0000-4000-8000-000000000000", "original"),
            ]) {
              const missing = await answer(await fetch(h.business.url + path));
              expect(missing.status, path).to.equal(404);
              expect(missing.body.error.code).to.equal("file_not_found");
            }
            const served = await fetch(h.business.url + signer.path(plain, "original"));
            expect(await served.text()).to.equal("t");
          });
        });

      describe("access", function () {
        let fileId: string;
        const dm = (): ConversationRef => ({ kind: "direct", a: alice.userId, b: bob.userId });

        beforeEach(async function () {
          fileId = (await uploadRaw(h, alice.token, Buffer.from("secret"), "s.txt", "text/plain"))
            .body.fileId;
        });

        const expectNotFound = async (user: TestUser) => {
          const refused = await describeFile(user, fileId);
          expect(refused.status).to.equal(404);
          expect(refused.body.error.code).to.equal("file_not_found");
        };

        it("only the uploader until it is shared: anyone else gets 404 as for no file", async function () {
          expect((await describeFile(alice, fileId)).status).to.equal(200);
          await expectNotFound(bob);
          const unknown = await describeFile(bob, "00000000-0000-4000-8000-000000000000");
          expect(unknown.body.error.code).to.equal("file_not_found");
        });

        it("shared in a direct conversation: both may read it, no one else; recalled: no more", async function () {
          await h.engine.store.shareFile(fileId, dm(), 4);
          const seen = await describeFile(bob, fileId);
          expect(seen.status).to.equal(200);
          expect(seen.body).to.include({ fileId, name: "s.txt" });
          expect(Buffer.from(await (await fetch(seen.body.url)).arrayBuffer()).toString()).to.equal(
            "secret",
          );
          await expectNotFound(carol);
          await h.engine.store.unshareFile(fileId, dm(), 4);
          await expectNotFound(bob);
          expect((await describeFile(alice, fileId)).status).to.equal(200);
        });

        it("shared in a channel: its members may read it, until they leave", async function () {
          const name = `room${Math.random().toString(36).slice(2, 8)}`;
          await h.api("POST", `/api/channels/${name}/join`, { token: alice.token });
          await h.api("POST", `/api/channels/${name}/join`, { token: bob.token });
          await h.engine.store.shareFile(fileId, { kind: "channel", name }, 1);
          expect((await describeFile(bob, fileId)).status).to.equal(200);
          await expectNotFound(carol);
          await h.api("POST", `/api/channels/${name}/leave`, { token: bob.token });
          await expectNotFound(bob);
        });
      });

      describe("attachments on messages", function () {
        let fileId: string;
        const upload = async (user: TestUser, text = "attached") =>
          (await uploadRaw(h, user.token, Buffer.from(text), "a.txt", "text/plain")).body
            .fileId as string;
        const expectStatus = async (user: TestUser, id: string, status: number) =>
          expect((await describeFile(user, id)).status).to.equal(status);
        const dm = (body: object, from = alice) =>
          h.api("POST", "/api/messages", { token: from.token, body: { to: bob.userId, ...body } });

        before(async function () {
          await h.api("POST", `/api/friends/${bob.userId}`, { token: alice.token });
          await h.api("POST", `/api/friends/${alice.userId}`, { token: bob.token });
        });
        beforeEach(async function () {
          fileId = await upload(alice);
        });

        it("a DM shares its files with the peer, who sees them on the item; a recall takes them back from the peer only", async function () {
          await expectStatus(bob, fileId, 404);
          const sent = await dm({ content: "", attachments: [fileId] });
          expect(sent.status).to.equal(202);
          const history = await h.api("GET", `/api/messages?peer=${alice.userId}`, {
            token: bob.token,
          });
          const item = history.body.messages.find((m: { id: string }) => m.id === sent.body.id);
          expect(item.attachments).to.deep.equal([
            { fileId, name: "a.txt", size: 8, contentType: "text/plain" },
          ]);
          const seen = await describeFile(bob, fileId);
          expect(seen.status).to.equal(200);
          expect(Buffer.from(await (await fetch(seen.body.url)).arrayBuffer()).toString()).to.equal(
            "attached",
          );
          await expectStatus(carol, fileId, 404);

          expect(
            (await h.api("DELETE", `/api/messages/${sent.body.id}`, { token: alice.token })).status,
          ).to.equal(202);
          await expectStatus(bob, fileId, 404);
          await expectStatus(alice, fileId, 200);
          const after = await h.api("GET", `/api/messages?peer=${alice.userId}`, {
            token: bob.token,
          });
          const recalled = after.body.messages.find((m: { id: string }) => m.id === sent.body.id);
          expect(recalled).to.include({ recalled: true }).and.not.have.property("attachments");
        });

        it("a repeat (same clientMsgId) stores and shares once; recalling the one message unshares", async function () {
          const body = { content: "caption", attachments: [fileId], clientMsgId: `c${Date.now()}` };
          const first = await dm(body);
          const again = await dm(body);
          expect(again.body.id).to.equal(first.body.id);
          expect(await h.engine.store.fileShares(fileId)).to.have.length(1);
          await h.api("DELETE", `/api/messages/${first.body.id}`, { token: alice.token });
          expect(await h.engine.store.fileShares(fileId)).to.deep.equal([]);
        });

        it("a channel post shares its files with the members, not with others", async function () {
          const name = `att${Math.random().toString(36).slice(2, 8)}`;
          await h.api("POST", `/api/channels/${name}/join`, { token: alice.token });
          await h.api("POST", `/api/channels/${name}/join`, { token: bob.token });
          const posted = await h.api("POST", `/api/channels/${name}/messages`, {
            token: alice.token,
            body: { content: "look", attachments: [fileId] },
          });
          expect(posted.status).to.equal(202);
          await expectStatus(bob, fileId, 200);
          await expectStatus(carol, fileId, 404);
          const page = await h.api("GET", `/api/channels/${name}/messages`, { token: bob.token });
          expect(page.body.messages.at(-1).attachments[0]).to.include({ fileId, name: "a.txt" });
        });

        const refusals: [string, () => Promise<string[]>][] = [
          ["someone else's file", async () => [await upload(bob)]],
          ["an unknown id", async () => ["00000000-0000-4000-8000-000000000000"]],
          ["a malformed id", async () => ["../etc"]],
          ["11 files", async () => Promise.all(Array.from({ length: 11 }, () => upload(alice)))],
          ["a repeated file", async () => [fileId, fileId]],
        ];
        for (const [what, ids] of refusals)
          it(`${what}: 400 invalid_attachments, nothing stored or shared`, async function () {
            const attachments = await ids();
            const before = await h.api("GET", `/api/messages?peer=${bob.userId}`, {
              token: alice.token,
            });
            const refused = await dm({ content: "x", attachments });
            expect(refused.status).to.equal(400);
            expect(refused.body.error.code).to.equal("invalid_attachments");
            const after = await h.api("GET", `/api/messages?peer=${bob.userId}`, {
              token: alice.token,
            });
            expect(after.body.messages).to.have.length(before.body.messages.length);
            for (const id of attachments) await expectStatus(carol, id, 404);
            expect(await h.engine.store.fileShares(attachments[0]!)).to.deep.equal([]);
          });

        it("attachments still need content (an empty string will do): content missing is 400", async function () {
          const refused = await dm({ attachments: [fileId] });
          expect(refused.status).to.equal(400);
          expect(refused.body.error.code).to.equal("invalid_body");
        });
      });

      describe("bad inputs", function () {
        const boundary = "----heraldtest";
        const form = (parts: string) =>
          ({
            "content-type": `multipart/form-data; boundary=${boundary}`,
            body: parts.replaceAll("\n", "\r\n"),
          }) as const;
        const filePart = (field: string, filename?: string) =>
          `--${boundary}\nContent-Disposition: form-data; name="${field}"` +
          (filename === undefined ? "" : `; filename="${filename}"`) +
          "\nContent-Type: text/plain\n\nhello\n";

        const cases: {
          name: string;
          headers?: Record<string, string>;
          body?: string;
          token?: "none" | "bad";
          status: number;
          code: string;
        }[] = [
          { name: "no session", token: "none", body: "x", status: 401, code: "unauthorized" },
          { name: "a bad session", token: "bad", body: "x", status: 401, code: "unauthorized" },
          {
            name: "a raw body with no X-Filename",
            headers: { "content-type": "text/plain" },
            body: "x",
            status: 400,
            code: "invalid_upload",
          },
          {
            name: "X-Filename not percent-encoded UTF-8",
            headers: { "x-filename": "%E0%A4%A" },
            body: "x",
            status: 400,
            code: "invalid_upload",
          },
          ...["%0A", "a%00b", "evil%E2%80%AEtxt.exe", "", "dir%2F", "x".repeat(256)].map(
            (name) => ({
              name: `the name ${JSON.stringify(name.slice(0, 20))}`,
              headers: { "x-filename": name },
              body: "x",
              status: 400,
              code: "invalid_upload",
            }),
          ),
          ...["text", "text/", "/plain", "text/plain; charset", "a/b\u00e9"].map((type) => ({
            name: `the Content-Type ${JSON.stringify(type)}`,
            headers: { "x-filename": "a.txt", "content-type": type },
            body: "x",
            status: 400,
            code: "invalid_upload",
          })),
          {
            name: "multipart with no boundary",
            headers: { "content-type": "multipart/form-data" },
            body: "x",
            status: 400,
            code: "invalid_upload",
          },
          {
            name: "multipart with the file in another field",
            headers: form(filePart("upload", "a.txt") + `--${boundary}--\n`),
            status: 400,
            code: "invalid_upload",
          },
          {
            name: "multipart with `file` as a plain field",
            headers: form(filePart("file") + `--${boundary}--\n`),
            status: 400,
            code: "invalid_upload",
          },
          {
            name: "multipart cut off inside the file",
            headers: form(
              `--${boundary}\nContent-Disposition: form-data; name="file"; filename="a.txt"\n\nhel`,
            ),
            status: 400,
            code: "invalid_upload",
          },
          {
            name: "multipart with a malformed part header, and much more behind it",
            headers: form(
              `--${boundary}\n${"x".repeat(20_000)}\n\n` + filePart("file", "a.txt").repeat(2_000),
            ),
            status: 400,
            code: "invalid_upload",
          },
          {
            name: "multipart with no parts",
            headers: form(`--${boundary}--\n`),
            status: 400,
            code: "invalid_upload",
          },
        ];

        it("each is answered with its 4xx and code, and nothing is kept", async function () {
          const before = await backend.keys();
          for (const c of cases) {
            const { body: formBody, ...headers } = (c.headers ?? {}) as Record<string, string>;
            if (c.token !== "none")
              headers.authorization = `Bearer ${c.token === "bad" ? "nope" : alice.token}`;
            const response = await answer(
              await fetch(`${h.business.url}/api/files`, {
                method: "POST",
                headers,
                body: c.body ?? formBody,
              }),
            );
            expect(response.status, c.name).to.equal(c.status);
            expect(response.body.error.code, c.name).to.equal(c.code);
          }
          expect(await backend.keys()).to.deep.equal(before);
        });

        it("GET /api/files/:fileId: a malformed id is 400, an unknown one 404", async function () {
          const bad = await h.api("GET", "/api/files/no!such", { token: alice.token });
          expect(bad.status).to.equal(400);
          expect(bad.body.error.code).to.equal("invalid_param");
          const unknown = await h.api("GET", `/api/files/${"f".repeat(64)}`, {
            token: alice.token,
          });
          expect(unknown.status).to.equal(404);
          expect((await h.api("GET", "/api/files/x")).status).to.equal(401);
        });
      });
    });

describe("files: the send path's interface", function () {
  let engine: MemoryEngine;
  let files: FileService;
  let stop: () => Promise<void>;
  let mine: string[];

  before(async function () {
    const backend = await startDisk();
    stop = backend.stop;
    engine = new MemoryEngine();
    files = new FileService({
      store: engine.store,
      storage: backend.storage,
      limits: engine.limits,
      links: new LinkSigner(randomBytes(32)),
      logger: createLogger("silent"),
      config: { maxBytes: 1024, uploadsPerMin: 1000, quotaBytesPerDay: 1e9 },
    });
    mine = [];
    for (let i = 0; i < 11; i++) {
      const fileId = `file-${i}`;
      await engine.store.createFile({
        fileId,
        owner: i === 10 ? "bob" : "alice",
        name: `f${i}.txt`,
        size: i,
        contentType: "text/plain",
        sha256: "00".repeat(32),
        createdAt: 1,
      });
      mine.push(fileId);
    }
  });
  after(async function () {
    await stop();
  });

  it("attachments: the files' name, size and type, in the order given", async function () {
    expect(await files.attachments("alice", ["file-2", "file-0"])).to.deep.equal([
      { fileId: "file-2", name: "f2.txt", size: 2, contentType: "text/plain" },
      { fileId: "file-0", name: "f0.txt", size: 0, contentType: "text/plain" },
    ]);
    expect(await files.attachments("alice", [])).to.deep.equal([]);
  });

  for (const [what, ids] of [
    ["more than 10", () => mine.slice(0, 10).concat("file-0")],
    ["a repeated id", () => ["file-1", "file-1"]],
    ["someone else's file", () => ["file-1", "file-10"]],
    ["an unknown file", () => ["file-404"]],
    ["a malformed id", () => ["../etc"]],
  ] as const)
    it(`attachments refuses ${what} with invalid_attachments`, async function () {
      let code: unknown = null;
      await files.attachments("alice", ids()).catch((e: { code?: unknown }) => (code = e.code));
      expect(code).to.equal("invalid_attachments");
    });

  it("share and unshare record and take back each file's share of one item", async function () {
    const ref: ConversationRef = { kind: "direct", a: "bob", b: "alice" };
    await files.share(ref, 5, ["file-1", "file-2"]);
    expect(await engine.store.fileShares("file-2")).to.deep.equal([
      { ref: { kind: "direct", a: "alice", b: "bob" }, seq: 5 },
    ]);
    await files.unshare(ref, 5, ["file-1", "file-2"]);
    expect(await engine.store.fileShares("file-1")).to.deep.equal([]);
  });
});
