// Property-based bad input (fast-check) over every HTTP endpoint of business: arbitrary JSON and
// wrong types in every field, huge and deeply nested bodies, odd unicode (lone surrogates,
// controls, bidi marks), path parameters with `../` and control characters, odd queries, content
// types and sessions. Whatever comes in: never a 5xx, and every refusal in the contract's shape.
import { expect } from "chai";
import fc from "fast-check";
import {
  engineKinds,
  startHarness,
  type EngineKind,
  type Harness,
  type TestUser,
} from "./helpers/business.js";

interface Fixture {
  friendId: string;
}

interface Endpoint {
  method: string;
  /** `:param` segments are replaced by generated path parameters. */
  path: string;
  /** Fields a body of this route reads, so generated bodies hit the validation of each. */
  fields?: string[];
  /** A body that passes, so a bad value in one field reaches the checks after the shape's. */
  valid?: (f: Fixture) => Record<string, unknown>;
  /** Query parameters the route reads. */
  query?: string[];
}

/** Every route business answers (business/routes/*.ts and the ops routes). */
const ENDPOINTS: Endpoint[] = [
  {
    method: "POST",
    path: "/api/register",
    fields: ["username", "password"],
    valid: () => ({
      username: `p${Math.random().toString(36).slice(2, 10)}`,
      password: "long enough",
    }),
  },
  {
    method: "POST",
    path: "/api/login",
    fields: ["username", "password"],
    valid: () => ({ username: "prop_op", password: "not the password" }),
  },
  { method: "POST", path: "/api/logout" },
  { method: "GET", path: "/api/me" },
  { method: "POST", path: "/api/connect" },
  { method: "GET", path: "/api/users", query: ["username"] },
  { method: "GET", path: "/api/friends" },
  { method: "POST", path: "/api/friends/:userId" },
  { method: "DELETE", path: "/api/friends/:userId" },
  {
    method: "POST",
    path: "/api/messages",
    fields: ["to", "content", "receipt"],
    valid: (f) => ({ to: f.friendId, content: "hi" }),
  },
  { method: "GET", path: "/api/messages", query: ["peer", "after", "limit"] },
  { method: "GET", path: "/api/conversations" },
  { method: "GET", path: "/api/channels", query: ["after", "limit"] },
  { method: "POST", path: "/api/channels/:name/join" },
  { method: "POST", path: "/api/channels/:name/leave" },
  { method: "GET", path: "/api/channels/:name" },
  {
    method: "POST",
    path: "/api/channels/:name/messages",
    fields: ["content"],
    valid: () => ({ content: "hi" }),
  },
  { method: "GET", path: "/api/channels/:name/messages", query: ["after", "limit"] },
  { method: "GET", path: "/api/presence", query: ["ids"] },
  { method: "POST", path: "/api/broadcast", fields: ["content"], valid: () => ({ content: "hi" }) },
  { method: "POST", path: "/api/users/:userId/disconnect" },
  { method: "GET", path: "/health" },
  { method: "GET", path: "/metrics" },
];

/** Characters that break naive code: lone surrogates, NUL, controls, bidi, BOM, separators. */
const ODD = [
  "\ud800",
  "\udfff",
  "\u0000",
  "\u001b",
  "\u202e",
  "\ufeff",
  "\u2028",
  "../",
  "%",
  "\\",
];

const oddString = fc
  .array(fc.oneof(fc.string({ unit: "binary", maxLength: 8 }), fc.constantFrom(...ODD)), {
    maxLength: 6,
  })
  .map((parts) => parts.join(""));

/** Any JSON value, odd strings included. */
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    oddString,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(oddString, tie("value"), { maxKeys: 4 }),
  ),
})).value;

/** Values (as JSON text) that a parser chokes on, or a limit refuses: nested past any stack or
 * just past the content limit, over 64 KiB or 1 MiB, a lone surrogate, prototype keys. */
const NASTY_VALUES = [
  "[".repeat(100_000) + "]".repeat(100_000),
  "[".repeat(65) + "]".repeat(65),
  JSON.stringify("z".repeat(64 * 1024)),
  JSON.stringify("z".repeat(1024 * 1024)),
  '"\\ud800"',
  '{"__proto__": {"admin": true}, "constructor": {"prototype": {}}}',
  "null",
  "[]",
  "1e999",
];

/** Bodies that do not parse at all, or parse as something other than an object. */
const NOT_OBJECTS = ["{", "", "null", '"text"', "[1,2]", "\u0000"];

function bodyFor(endpoint: Endpoint, f: Fixture) {
  const fields = endpoint.fields ?? ["content"];
  const shaped = fc.dictionary(fc.constantFrom(...fields, "extra"), jsonValue, { maxKeys: 4 });
  // A valid body with one field's value replaced: as a JSON value, or as raw nasty JSON text.
  const oneBadField = fc
    .tuple(
      fc.constantFrom(...fields),
      fc.oneof(
        jsonValue.map((v) => JSON.stringify(v) ?? "0"),
        fc.constantFrom(...NASTY_VALUES),
        fc.constantFrom(...NASTY_VALUES),
      ),
    )
    .map(([field, value]) => {
      const rest = JSON.stringify({ ...(endpoint.valid?.(f) ?? {}), [field]: undefined });
      return `${rest.slice(0, -1)}${rest === "{}" ? "" : ","}${JSON.stringify(field)}:${value}}`;
    });
  return fc.oneof(
    { arbitrary: shaped.map((body) => ({ raw: JSON.stringify(body) })), weight: 2 },
    { arbitrary: oneBadField.map((raw) => ({ raw })), weight: 5 },
    { arbitrary: fc.constantFrom(...NOT_OBJECTS).map((raw) => ({ raw })), weight: 1 },
    { arbitrary: fc.constant({ raw: undefined }), weight: 1 },
  );
}

/** A path parameter, percent-encoded when it can be, else sent as it came (URL fixes it up). */
const pathParam = fc
  .oneof(
    oddString,
    fc.constantFrom("..", "../../etc/passwd", "..%2F..%2F", "%00", "a%2Fb", "%zz", "%ED%A0%80"),
    fc.string({ minLength: 300, maxLength: 400 }),
  )
  .map((value) => {
    try {
      return /%/.test(value) ? value : encodeURIComponent(value);
    } catch {
      return value; // a lone surrogate: encodeURIComponent refuses it
    }
  });

const queryFor = (endpoint: Endpoint) =>
  fc
    .array(
      fc.tuple(
        fc.constantFrom(...(endpoint.query ?? ["x"]), "extra"),
        fc.oneof(
          oddString,
          fc.integer().map(String),
          fc.constantFrom("-1", "1e3", "999999999999999999"),
        ),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => {
      const search = new URLSearchParams();
      for (const [key, value] of pairs) {
        try {
          search.append(key, value);
        } catch {
          // not representable
        }
      }
      const text = search.toString();
      return text ? `?${text}` : "";
    });

const contentType = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=latin1",
  "application/json; charset=no-such-charset",
  "text/plain",
  "application/x-www-form-urlencoded",
  undefined,
);

type Caller = "user" | "none" | "garbage";
const caller = fc.constantFrom<Caller>("user", "user", "user", "user", "none", "garbage");

function expectContractAnswer(status: number, body: unknown, what: string): void {
  expect(status, what).to.be.below(500);
  if (status < 400) return;
  expect(body, what).to.be.an("object").with.keys("error");
  const { error } = body as { error: Record<string, unknown> };
  expect(error, what).to.have.keys("code", "message");
  expect(error.code, what)
    .to.be.a("string")
    .and.match(/^[a-z]+(_[a-z]+)*$/);
  expect(error.message, what)
    .to.be.a("string")
    .and.not.match(/\n\s+at /);
}

function propertySuite({ name: engineName, make: makeEngine, stop }: EngineKind, runs: number) {
  describe(`property-based bad input to every endpoint (${engineName} engine)`, function () {
    this.timeout(120_000);
    let h: Harness;
    let operator: TestUser;
    let friend: TestUser;

    before(async () => {
      h = await startHarness(makeEngine, { env: { IM_ADMINS: "prop_op" } });
      await h.fakeNode("n1");
      operator = await h.operator("prop_op");
      friend = await h.user();
      await h.api("POST", `/api/friends/${friend.userId}`, { token: operator.token });
      await h.api("POST", `/api/friends/${operator.userId}`, { token: friend.token });
      await h.api("POST", "/api/channels/room/join", { token: operator.token });
    });
    after(async () => {
      await h.close();
      await stop?.();
    });

    /** The operator's token, logged in again when a generated logout or force offline ended it. */
    async function token(): Promise<string> {
      if (await h.engine.store.sessionByToken(operator.token)) return operator.token;
      const login = await h.api("POST", "/api/login", {
        body: { username: "prop_op", password: "password123" },
      });
      operator = { ...operator, token: login.body.token };
      return operator.token;
    }

    for (const endpoint of ENDPOINTS) {
      it(`${endpoint.method} ${endpoint.path}: never a 5xx, always the error shape`, async () => {
        await fc.assert(
          fc.asyncProperty(
            bodyFor(endpoint, { friendId: friend.userId }),
            fc.array(pathParam, { minLength: 2, maxLength: 2 }),
            queryFor(endpoint),
            contentType,
            caller,
            async ({ raw }, params, query, type, who) => {
              const path = endpoint.path.replace(/:[a-zA-Z]+/g, () => params.shift()!) + query;
              const headers: Record<string, string> = {};
              if (who === "user") headers.authorization = `Bearer ${await token()}`;
              if (who === "garbage") headers.authorization = "Bearer \u00ff\u00fe../";
              if (type !== undefined && raw !== undefined) headers["content-type"] = type;
              const r = await h.api(endpoint.method, path, {
                headers,
                ...(raw !== undefined && endpoint.method !== "GET" && { raw }),
              });
              expectContractAnswer(r.status, r.body, `${endpoint.method} ${path}`);
            },
          ),
          { numRuns: runs },
        );
      });
    }

    it("unknown paths and methods, with ../ and control characters: 404 or 405 in the error shape", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
          fc.array(pathParam, { minLength: 1, maxLength: 4 }),
          async (method, segments) => {
            const path = `/api/${segments.join("/")}`;
            const r = await h.api(method, path, {
              headers: { authorization: `Bearer ${await token()}` },
            });
            expectContractAnswer(r.status, r.body, `${method} ${path}`);
          },
        ),
        { numRuns: runs * 2 },
      );
    });

    it("is still healthy afterwards", async () => {
      expect((await h.api("GET", "/health")).status).to.equal(200);
    });
  });
}

for (const kind of engineKinds()) propertySuite(kind, kind.name === "memory" ? 100 : 25);
