// A table of bad inputs for every business endpoint. Each row is answered with its 4xx status
// and error code, in the contract's judging order (session 401 → body 400/413 → unknown 404 →
// permission 403), and leaves the stored state and the push bus exactly as they were.
import { expect } from "chai";
import {
  startHarness,
  engineKinds,
  type EngineKind,
  type FakeNode,
  type Harness,
  type TestUser,
} from "./helpers/business.js";

interface Fixture {
  a: TestUser; // friend of b, member of "room", operator
  b: TestUser; // friend of a, member of "room"
  c: TestUser; // stranger to both, not in "room"
  /** a's DM to b, a's post in "room", and an edit of the post. */
  dm: string;
  post: string;
  edit: string;
}

interface Case {
  name: string;
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string | ((f: Fixture) => string);
  /** Who calls: a user of the fixture, "none" (no header), or a raw Authorization header. */
  as?: "a" | "b" | "c" | "none" | { header: string };
  body?: unknown | ((f: Fixture) => unknown);
  raw?: string;
  contentType?: string;
  contentEncoding?: string;
  status: number;
  code: string;
}

const BIG_CONTENT = "x".repeat(64 * 1024); // 64 KiB + the quotes once serialised
const HUGE_BODY = JSON.stringify({ content: "y".repeat(1024 * 1024 + 10) });
const LONG_ID = "i".repeat(300);
/** JSON.parse takes this nesting; JSON.stringify runs out of stack on it. */
const DEEP_CONTENT = "[".repeat(100_000) + "]".repeat(100_000);
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";
/** Nesting one level past the limit, and a depth that once slipped past a stack check. */
const nested = (depth: number): unknown => JSON.parse("[".repeat(depth) + "]".repeat(depth));

/** Every route that needs a session: each is refused without one. */
const SESSION_ROUTES: [Case["method"], string][] = [
  ["POST", "/api/logout"],
  ["GET", "/api/me"],
  ["POST", "/api/connect"],
  ["GET", "/api/users?username=someone"],
  ["GET", "/api/friends"],
  ["POST", `/api/friends/${UNKNOWN_ID}`],
  ["DELETE", `/api/friends/${UNKNOWN_ID}`],
  ["POST", "/api/messages"],
  ["GET", `/api/messages?peer=${UNKNOWN_ID}`],
  ["GET", "/api/conversations"],
  ["GET", "/api/channels"],
  ["POST", "/api/channels/room/join"],
  ["POST", "/api/channels/room/leave"],
  ["GET", "/api/channels/room"],
  ["POST", "/api/channels/room/messages"],
  ["GET", "/api/channels/room/messages"],
  ["GET", "/api/presence?ids=x"],
  ["POST", "/api/broadcast"],
  ["POST", `/api/users/${UNKNOWN_ID}/disconnect`],
  ["PATCH", `/api/messages/${UNKNOWN_ID}`],
  ["DELETE", `/api/messages/${UNKNOWN_ID}`],
  ["POST", `/api/messages/${UNKNOWN_ID}/reactions`],
  ["DELETE", `/api/messages/${UNKNOWN_ID}/reactions/x`],
  ["POST", "/api/read"],
  ["POST", "/api/typing"],
  ["POST", "/api/sync"],
  ["GET", `/api/users?ids=${UNKNOWN_ID}`],
  ["GET", "/api/channels/room/readers?seq=1"],
  ["POST", "/api/files"],
  ["GET", `/api/files/${UNKNOWN_ID}`],
];

/** Every route that reads a JSON body. */
const BODY_ROUTES: { path: string; as?: Case["as"] }[] = [
  { path: "/api/register", as: "none" },
  { path: "/api/login", as: "none" },
  { path: "/api/messages" },
  { path: "/api/channels/room/messages" },
  { path: "/api/broadcast" },
  { path: `/api/messages/${UNKNOWN_ID}/reactions` },
  { path: "/api/read" },
  { path: "/api/typing" },
  { path: "/api/sync" },
];

const sessionCases: Case[] = SESSION_ROUTES.flatMap(([method, path]): Case[] => [
  {
    name: `${method} ${path} without a session`,
    method,
    path,
    as: "none",
    status: 401,
    code: "unauthorized",
  },
  {
    name: `${method} ${path} with an unknown token`,
    method,
    path,
    as: { header: "Bearer not-a-real-token" },
    status: 401,
    code: "unauthorized",
  },
  {
    name: `${method} ${path} with a non-Bearer header`,
    method,
    path,
    as: { header: "Basic YTpi" },
    status: 401,
    code: "unauthorized",
  },
]);

const bodyCases: Case[] = BODY_ROUTES.flatMap(({ path, as }): Case[] => [
  {
    name: `POST ${path}: malformed JSON`,
    method: "POST",
    path,
    as,
    raw: '{"content": ',
    status: 400,
    code: "invalid_json",
  },
  {
    name: `POST ${path}: a bare JSON string`,
    method: "POST",
    path,
    as,
    raw: '"hello"',
    status: 400,
    code: "invalid_json",
  },
  // What a foreign page can post without a preflight: refused unread (415, not v1's 400).
  ...(
    [
      ["form-encoded", "content=hi", "application/x-www-form-urlencoded"],
      ["text/plain", '{"content":"hi"}', "text/plain"],
      ["multipart", "--b\r\n\r\nhi\r\n--b--", "multipart/form-data; boundary=b"],
    ] as const
  ).map(([what, raw, contentType]): Case => ({
    name: `POST ${path}: ${what}`,
    method: "POST",
    path,
    as,
    raw,
    contentType,
    status: 415,
    code: "unsupported_media_type",
  })),
  {
    name: `POST ${path}: a JSON array`,
    method: "POST",
    path,
    as,
    raw: "[1,2]",
    status: 400,
    code: "invalid_body",
  },
  { name: `POST ${path}: no body`, method: "POST", path, as, status: 400, code: "invalid_body" },
  ...["gzip", "deflate", "br"].map((encoding): Case => ({
    name: `POST ${path}: Content-Encoding ${encoding} that does not decode`,
    method: "POST",
    path,
    as,
    raw: '{"content": "not compressed"}',
    contentEncoding: encoding,
    status: 400,
    code: "invalid_json",
  })),
  {
    name: `POST ${path}: body over 1 MiB`,
    method: "POST",
    path,
    as,
    raw: HUGE_BODY,
    status: 413,
    code: "too_large",
  },
]);

/** Bodies that fail the shape check on a route, each a 400 `invalid_body`. */
function shapeCases(
  label: string,
  method: Case["method"],
  path: Case["path"],
  bodies: readonly (readonly [string, unknown])[],
): Case[] {
  return bodies.map(([what, body]) => ({
    name: `${label}: ${what}`,
    method,
    path,
    body,
    status: 400,
    code: "invalid_body",
  }));
}

/** Conversation state (CONTRACT.md v2): send options, changes, read, typing, sync, readers. */
const streamCases: Case[] = [
  ...shapeCases("send", "POST", "/api/messages", [
    ["clientMsgId with a space", { to: UNKNOWN_ID, content: "hi", clientMsgId: "a b" }],
    ["clientMsgId of 65", { to: UNKNOWN_ID, content: "hi", clientMsgId: "c".repeat(65) }],
    ["clientMsgId empty", { to: UNKNOWN_ID, content: "hi", clientMsgId: "" }],
    ["clientMsgId a number", { to: UNKNOWN_ID, content: "hi", clientMsgId: 7 }],
    ["replyTo empty", { to: UNKNOWN_ID, content: "hi", replyTo: "" }],
    ["mentions not an array", { to: UNKNOWN_ID, content: "hi", mentions: "x" }],
    ["mentions repeated", { to: UNKNOWN_ID, content: "hi", mentions: ["x", "x"] }],
    [
      "51 mentions",
      { to: UNKNOWN_ID, content: "hi", mentions: Array.from({ length: 51 }, (_, i) => `m${i}`) },
    ],
  ]),
  ...shapeCases("send", "POST", "/api/messages", [
    ["attachments not an array", { to: UNKNOWN_ID, content: "hi", attachments: "x" }],
    ["attachments of numbers", { to: UNKNOWN_ID, content: "hi", attachments: [1] }],
    ["attachments without content", { to: UNKNOWN_ID, attachments: [UNKNOWN_ID] }],
  ]),
  {
    name: "send: an attachment that is no file",
    method: "POST",
    path: "/api/messages",
    body: (f: Fixture) => ({ to: f.b.userId, content: "hi", attachments: [UNKNOWN_ID] }),
    status: 400,
    code: "invalid_attachments",
  },
  {
    name: "post: 11 attachments",
    method: "POST",
    path: "/api/channels/room/messages",
    body: { content: "hi", attachments: Array.from({ length: 11 }, (_, i) => `f${i}`) },
    status: 400,
    code: "invalid_attachments",
  },
  {
    name: "post: attachments from a non-member: 403 first",
    method: "POST",
    path: "/api/channels/room/messages",
    as: "c",
    body: { content: "hi", attachments: [UNKNOWN_ID] },
    status: 403,
    code: "not_member",
  },
  {
    name: "send: mentions in a direct message",
    method: "POST",
    path: "/api/messages",
    body: (f: Fixture) => ({ to: f.b.userId, content: "hi", mentions: [f.b.userId] }),
    status: 400,
    code: "invalid_mentions",
  },
  {
    name: "send: mentions in a DM beat an unknown recipient",
    method: "POST",
    path: "/api/messages",
    body: { to: UNKNOWN_ID, content: "hi", mentions: [UNKNOWN_ID] },
    status: 400,
    code: "invalid_mentions",
  },
  {
    name: "send: replyTo an unknown message",
    method: "POST",
    path: "/api/messages",
    body: (f: Fixture) => ({ to: f.b.userId, content: "hi", replyTo: UNKNOWN_ID }),
    status: 404,
    code: "message_not_found",
  },
  {
    name: "send: replyTo a message of another conversation",
    method: "POST",
    path: "/api/messages",
    body: (f: Fixture) => ({ to: f.b.userId, content: "hi", replyTo: f.post }),
    status: 404,
    code: "message_not_found",
  },
  {
    name: "send: replyTo an edit, not a message",
    method: "POST",
    path: "/api/channels/room/messages",
    body: (f: Fixture) => ({ content: "hi", replyTo: f.edit }),
    status: 404,
    code: "message_not_found",
  },
  {
    name: "post: replyTo a DM message",
    method: "POST",
    path: "/api/channels/room/messages",
    body: (f: Fixture) => ({ content: "hi", replyTo: f.dm }),
    status: 404,
    code: "message_not_found",
  },
  {
    name: "post: mentions a non-member",
    method: "POST",
    path: "/api/channels/room/messages",
    body: (f: Fixture) => ({ content: "hi", mentions: [f.b.userId, f.c.userId] }),
    status: 400,
    code: "invalid_mentions",
  },
  {
    name: "post: a non-member's mentions are not judged",
    method: "POST",
    path: "/api/channels/room/messages",
    as: "c",
    body: (f: Fixture) => ({ content: "hi", mentions: [f.c.userId] }),
    status: 403,
    code: "not_member",
  },
  ...shapeCases("post", "POST", "/api/channels/room/messages", [
    ["clientMsgId with a slash", { content: "hi", clientMsgId: "a/b" }],
    ["mentions with an empty id", { content: "hi", mentions: [""] }],
  ]),

  ...shapeCases("edit", "PATCH", (f) => `/api/messages/${f.dm}`, [
    ["no content", {}],
    ["content null", { content: null }],
  ]),
  {
    name: "edit: content over 64 KiB",
    method: "PATCH",
    path: (f) => `/api/messages/${f.dm}`,
    body: { content: BIG_CONTENT },
    status: 413,
    code: "too_large",
  },
  {
    name: "edit: a bad body beats an unknown id",
    method: "PATCH",
    path: `/api/messages/${UNKNOWN_ID}`,
    body: {},
    status: 400,
    code: "invalid_body",
  },
  {
    name: "edit: id too long",
    method: "PATCH",
    path: `/api/messages/${LONG_ID}`,
    body: { content: "x" },
    status: 400,
    code: "invalid_param",
  },
  {
    name: "edit: unknown id",
    method: "PATCH",
    path: `/api/messages/${UNKNOWN_ID}`,
    body: { content: "x" },
    status: 404,
    code: "message_not_found",
  },
  {
    name: "edit: a DM of others reads as unknown",
    method: "PATCH",
    path: (f) => `/api/messages/${f.dm}`,
    as: "c",
    body: { content: "x" },
    status: 404,
    code: "message_not_found",
  },
  {
    name: "edit: a post in a channel the caller is not in reads as unknown",
    method: "PATCH",
    path: (f) => `/api/messages/${f.post}`,
    as: "c",
    body: { content: "x" },
    status: 404,
    code: "message_not_found",
  },
  {
    name: "edit: an edit item",
    method: "PATCH",
    path: (f) => `/api/messages/${f.edit}`,
    body: { content: "x" },
    status: 400,
    code: "not_editable",
  },
  {
    name: "edit: someone else's message",
    method: "PATCH",
    path: (f) => `/api/messages/${f.dm}`,
    as: "b",
    body: { content: "x" },
    status: 403,
    code: "not_sender",
  },
  {
    name: "recall: unknown id",
    method: "DELETE",
    path: `/api/messages/${UNKNOWN_ID}`,
    status: 404,
    code: "message_not_found",
  },
  {
    name: "recall: id too long",
    method: "DELETE",
    path: `/api/messages/${LONG_ID}`,
    status: 400,
    code: "invalid_param",
  },
  {
    name: "recall: a DM of others reads as unknown",
    method: "DELETE",
    path: (f) => `/api/messages/${f.dm}`,
    as: "c",
    status: 404,
    code: "message_not_found",
  },
  {
    name: "recall: an edit item",
    method: "DELETE",
    path: (f) => `/api/messages/${f.edit}`,
    status: 400,
    code: "not_editable",
  },
  {
    name: "recall: someone else's post (no channel roles yet)",
    method: "DELETE",
    path: (f) => `/api/messages/${f.post}`,
    as: "b",
    status: 403,
    code: "not_sender",
  },
  ...shapeCases("react", "POST", (f) => `/api/messages/${f.dm}/reactions`, [
    ["no emoji", {}],
    ["emoji empty", { emoji: "" }],
    ["emoji with a space", { emoji: "👍 👍" }],
    ["emoji with a tab", { emoji: "	" }],
    ["emoji with a control character", { emoji: "a" }],
    ["emoji of 17 characters", { emoji: "x".repeat(17) }],
    ["emoji a number", { emoji: 1 }],
  ]),
  {
    name: "react: unknown id",
    method: "POST",
    path: `/api/messages/${UNKNOWN_ID}/reactions`,
    body: { emoji: "👍" },
    status: 404,
    code: "message_not_found",
  },
  {
    name: "react: a DM of others reads as unknown",
    method: "POST",
    path: (f) => `/api/messages/${f.dm}/reactions`,
    as: "c",
    body: { emoji: "👍" },
    status: 404,
    code: "message_not_found",
  },
  {
    name: "react: an edit item",
    method: "POST",
    path: (f) => `/api/messages/${f.edit}/reactions`,
    body: { emoji: "👍" },
    status: 400,
    code: "not_editable",
  },
  {
    name: "unreact: emoji with a space",
    method: "DELETE",
    path: (f) => `/api/messages/${f.dm}/reactions/a%20b`,
    status: 400,
    code: "invalid_param",
  },
  {
    name: "unreact: unknown id",
    method: "DELETE",
    path: `/api/messages/${UNKNOWN_ID}/reactions/x`,
    status: 404,
    code: "message_not_found",
  },
  {
    name: "unreact: a post in a channel the caller is not in reads as unknown",
    method: "DELETE",
    path: (f) => `/api/messages/${f.post}/reactions/x`,
    as: "c",
    status: 404,
    code: "message_not_found",
  },

  ...shapeCases("read", "POST", "/api/read", [
    ["no target", { seq: 1 }],
    ["no seq", { peer: UNKNOWN_ID }],
    ["both peer and channel", { peer: UNKNOWN_ID, channel: "room", seq: 1 }],
    ["a negative seq", { channel: "room", seq: -1 }],
    ["a fractional seq", { channel: "room", seq: 1.5 }],
    ["a string seq", { channel: "room", seq: "1" }],
    ["a bad channel name", { channel: "no spaces", seq: 1 }],
  ]),
  {
    name: "read: an unknown peer",
    method: "POST",
    path: "/api/read",
    body: { peer: UNKNOWN_ID, seq: 1 },
    status: 404,
    code: "user_not_found",
  },
  {
    name: "read: yourself",
    method: "POST",
    path: "/api/read",
    body: (f: Fixture) => ({ peer: f.a.userId, seq: 1 }),
    status: 400,
    code: "cannot_target_self",
  },
  {
    name: "read: an unknown channel",
    method: "POST",
    path: "/api/read",
    body: { channel: "nowhere", seq: 1 },
    status: 404,
    code: "channel_not_found",
  },
  {
    name: "read: a channel the caller is not in",
    method: "POST",
    path: "/api/read",
    as: "c",
    body: { channel: "room", seq: 1 },
    status: 403,
    code: "not_member",
  },
  ...shapeCases("typing", "POST", "/api/typing", [
    ["no target", {}],
    ["both peer and channel", { peer: UNKNOWN_ID, channel: "room" }],
    ["peer a number", { peer: 5 }],
  ]),
  {
    name: "typing: an unknown peer",
    method: "POST",
    path: "/api/typing",
    body: { peer: UNKNOWN_ID },
    status: 404,
    code: "user_not_found",
  },
  {
    name: "typing: to a non-friend",
    method: "POST",
    path: "/api/typing",
    as: "c",
    body: (f: Fixture) => ({ peer: f.a.userId }),
    status: 403,
    code: "not_friends",
  },
  {
    name: "typing: in a channel the caller is not in",
    method: "POST",
    path: "/api/typing",
    as: "c",
    body: { channel: "room" },
    status: 403,
    code: "not_member",
  },
  {
    name: "typing: in an unknown channel",
    method: "POST",
    path: "/api/typing",
    body: { channel: "nowhere" },
    status: 404,
    code: "channel_not_found",
  },
  ...shapeCases("sync", "POST", "/api/sync", [
    ["no cursors", {}],
    ["cursors not an array", { cursors: { channel: "room", seq: 0 } }],
    ["a cursor without seq", { cursors: [{ channel: "room" }] }],
    ["a cursor with both targets", { cursors: [{ channel: "room", peer: "x", seq: 0 }] }],
    ["limit 0", { cursors: [], limit: 0 }],
    ["limit 501", { cursors: [], limit: 501 }],
  ]),
  ...(
    [
      ["no ids", "/api/users?ids="],
      ["101 ids", `/api/users?ids=${Array.from({ length: 101 }, (_, i) => `u${i}`).join(",")}`],
      ["an id too long", `/api/users?ids=${LONG_ID}`],
      ["readers without seq", "/api/channels/room/readers"],
      ["readers with a negative seq", "/api/channels/room/readers?seq=-1"],
      ["readers with seq a word", "/api/channels/room/readers?seq=two"],
    ] as const
  ).map(([what, path]): Case => ({
    name: `query: ${what}`,
    method: "GET",
    path,
    status: 400,
    code: "invalid_query",
  })),
  {
    name: "readers: an unknown channel",
    method: "GET",
    path: "/api/channels/nowhere/readers?seq=1",
    status: 404,
    code: "channel_not_found",
  },
  {
    name: "readers: a channel the caller is not in",
    method: "GET",
    path: "/api/channels/room/readers?seq=1",
    as: "c",
    status: 403,
    code: "not_member",
  },
];

const cases: Case[] = [
  ...sessionCases,
  ...bodyCases,
  ...streamCases,

  // The session is judged before the body.
  {
    name: "bad session beats malformed JSON",
    method: "POST",
    path: "/api/messages",
    as: "none",
    raw: "{",
    status: 401,
    code: "unauthorized",
  },
  {
    name: "bad session beats an oversize body",
    method: "POST",
    path: "/api/broadcast",
    as: { header: "Bearer nope" },
    raw: HUGE_BODY,
    status: 401,
    code: "unauthorized",
  },

  // register / login
  ...(
    [
      ["missing username", { password: "password123" }],
      ["missing password", { username: "newbie" }],
      ["username a number", { username: 12345, password: "password123" }],
      ["username too short", { username: "ab", password: "password123" }],
      ["username too long", { username: "a".repeat(33), password: "password123" }],
      ["username with a space", { username: "new bie", password: "password123" }],
      ["username with markup", { username: "<b>bold</b>", password: "password123" }],
      ["password too short", { username: "newbie", password: "1234567" }],
      ["password too long", { username: "newbie", password: "p".repeat(257) }],
      ["password a number", { username: "newbie", password: 12345678 }],
      ["password null", { username: "newbie", password: null }],
    ] as const
  ).flatMap(([what, body]): Case[] => [
    {
      name: `register: ${what}`,
      method: "POST",
      path: "/api/register",
      as: "none",
      body,
      status: 400,
      code: "invalid_body",
    },
    {
      name: `login: ${what}`,
      method: "POST",
      path: "/api/login",
      as: "none",
      body,
      status: 400,
      code: "invalid_body",
    },
  ]),
  {
    name: "register: a taken name in another case",
    method: "POST",
    path: "/api/register",
    as: "none",
    body: (f: Fixture) => ({ username: f.b.username.toUpperCase(), password: "password123" }),
    status: 409,
    code: "username_taken",
  },
  {
    name: "register: an operator's name, spelt with lookalikes",
    method: "POST",
    path: "/api/register",
    as: "none",
    body: { username: "0PERAT0R_A", password: "password123" },
    status: 403,
    code: "username_reserved",
  },
  {
    name: "register: a password with a lone surrogate",
    method: "POST",
    path: "/api/register",
    as: "none",
    body: { username: "newbie", password: "abc\ud800defgh" },
    status: 400,
    code: "invalid_body",
  },
  {
    name: "login: unknown user",
    method: "POST",
    path: "/api/login",
    as: "none",
    body: { username: "ghost_user", password: "password123" },
    status: 401,
    code: "invalid_credentials",
  },
  {
    name: "login: wrong password",
    method: "POST",
    path: "/api/login",
    as: "none",
    body: (f: Fixture) => ({ username: f.b.username, password: "wrong-password" }),
    status: 401,
    code: "invalid_credentials",
  },

  // users lookup
  {
    name: "users: no username",
    method: "GET",
    path: "/api/users",
    status: 400,
    code: "invalid_query",
  },
  {
    name: "users: empty username",
    method: "GET",
    path: "/api/users?username=",
    status: 400,
    code: "invalid_query",
  },
  {
    name: "users: username twice",
    method: "GET",
    path: "/api/users?username=abc&username=def",
    status: 400,
    code: "invalid_query",
  },
  {
    name: "users: username too long",
    method: "GET",
    path: `/api/users?username=${"a".repeat(40)}`,
    status: 400,
    code: "invalid_query",
  },
  {
    name: "users: unknown username",
    method: "GET",
    path: "/api/users?username=ghost_user",
    status: 404,
    code: "user_not_found",
  },

  // friends
  {
    name: "friend request: yourself",
    method: "POST",
    path: (f) => `/api/friends/${f.a.userId}`,
    status: 400,
    code: "cannot_target_self",
  },
  {
    name: "friend request: unknown user",
    method: "POST",
    path: `/api/friends/${UNKNOWN_ID}`,
    status: 404,
    code: "user_not_found",
  },
  {
    name: "friend request: id too long",
    method: "POST",
    path: `/api/friends/${LONG_ID}`,
    status: 400,
    code: "invalid_param",
  },
  {
    name: "unfriend: yourself",
    method: "DELETE",
    path: (f) => `/api/friends/${f.a.userId}`,
    status: 400,
    code: "cannot_target_self",
  },
  {
    name: "unfriend: id too long",
    method: "DELETE",
    path: `/api/friends/${LONG_ID}`,
    status: 400,
    code: "invalid_param",
  },

  // direct messages: body shape, then size, then unknown, then permission
  ...(
    [
      ["no to", { content: "hi" }],
      ["to a number", { to: 7, content: "hi" }],
      ["to an empty string", { to: "", content: "hi" }],
      ["to too long", { to: LONG_ID, content: "hi" }],
      ["to an empty array", { to: [], content: "hi" }],
      ["to an array of 101", { to: Array.from({ length: 101 }, (_, i) => `u${i}`), content: "hi" }],
      ["to with a repeated id", { to: [UNKNOWN_ID, UNKNOWN_ID], content: "hi" }],
      ["to with a number inside", { to: [UNKNOWN_ID, 3], content: "hi" }],
      ["no content", { to: UNKNOWN_ID }],
      ["content null", { to: UNKNOWN_ID, content: null }],
      ["receipt not a boolean", { to: UNKNOWN_ID, content: "hi", receipt: "yes" }],
    ] as const
  ).map(([what, body]): Case => ({
    name: `send: ${what}`,
    method: "POST",
    path: "/api/messages",
    body,
    status: 400,
    code: "invalid_body",
  })),
  {
    name: "send: content over 64 KiB",
    method: "POST",
    path: "/api/messages",
    body: (f: Fixture) => ({ to: f.b.userId, content: BIG_CONTENT }),
    status: 413,
    code: "too_large",
  },
  {
    name: "send: content nested too deeply to serialise (beats an unknown recipient)",
    method: "POST",
    path: "/api/messages",
    raw: `{"to": "${UNKNOWN_ID}", "content": ${DEEP_CONTENT}}`,
    status: 400,
    code: "invalid_body",
  },
  ...[65, 4_110].map((depth) => ({
    name: `send: content nested ${depth} levels (at most 64)`,
    method: "POST" as const,
    path: "/api/messages",
    body: (f: Fixture) => ({ to: f.b.userId, content: nested(depth) }),
    status: 400,
    code: "invalid_body",
  })),
  {
    name: "send: oversize content beats an unknown recipient",
    method: "POST",
    path: "/api/messages",
    body: { to: UNKNOWN_ID, content: BIG_CONTENT },
    status: 413,
    code: "too_large",
  },
  {
    name: "send: to yourself",
    method: "POST",
    path: "/api/messages",
    body: (f: Fixture) => ({ to: f.a.userId, content: "me" }),
    status: 400,
    code: "cannot_target_self",
  },
  {
    name: "send: yourself among several",
    method: "POST",
    path: "/api/messages",
    body: (f: Fixture) => ({ to: [f.b.userId, f.a.userId], content: "me" }),
    status: 400,
    code: "cannot_target_self",
  },
  {
    name: "send: unknown recipient",
    method: "POST",
    path: "/api/messages",
    body: { to: UNKNOWN_ID, content: "hi" },
    status: 404,
    code: "user_not_found",
  },
  {
    name: "send: unknown beats not-a-friend",
    method: "POST",
    path: "/api/messages",
    body: (f: Fixture) => ({ to: [f.c.userId, UNKNOWN_ID], content: "hi" }),
    status: 404,
    code: "user_not_found",
  },
  {
    name: "send: not a friend",
    method: "POST",
    path: "/api/messages",
    body: (f: Fixture) => ({ to: f.c.userId, content: "hi" }),
    status: 403,
    code: "not_friends",
  },
  {
    name: "send: one of several not a friend",
    method: "POST",
    path: "/api/messages",
    body: (f: Fixture) => ({ to: [f.b.userId, f.c.userId], content: "hi" }),
    status: 403,
    code: "not_friends",
  },

  // history
  {
    name: "history: no peer",
    method: "GET",
    path: "/api/messages",
    status: 400,
    code: "invalid_query",
  },
  {
    name: "history: peer too long",
    method: "GET",
    path: `/api/messages?peer=${LONG_ID}`,
    status: 400,
    code: "invalid_query",
  },
  ...["-1", "abc", "1.5", "1e3", "", "99999999999999999999"].map((after): Case => ({
    name: `history: after=${after}`,
    method: "GET",
    path: (f) => `/api/messages?peer=${f.b.userId}&after=${after}`,
    status: 400,
    code: "invalid_query",
  })),
  ...["0", "201", "-5", "ten", "2.5"].map((limit): Case => ({
    name: `history: limit=${limit}`,
    method: "GET",
    path: (f) => `/api/messages?peer=${f.b.userId}&limit=${limit}`,
    status: 400,
    code: "invalid_query",
  })),
  {
    name: "history: unknown peer",
    method: "GET",
    path: `/api/messages?peer=${UNKNOWN_ID}`,
    status: 404,
    code: "user_not_found",
  },
  {
    name: "history: yourself",
    method: "GET",
    path: (f) => `/api/messages?peer=${f.a.userId}`,
    status: 400,
    code: "cannot_target_self",
  },

  // channels
  ...["bad%20name", "semi%3Bcolon", "dot.ted", "a".repeat(65), "%C3%A9t%C3%A9"].flatMap(
    (name): Case[] => [
      {
        name: `join: name ${name}`,
        method: "POST",
        path: `/api/channels/${name}/join`,
        status: 400,
        code: "invalid_param",
      },
      {
        name: `leave: name ${name}`,
        method: "POST",
        path: `/api/channels/${name}/leave`,
        status: 400,
        code: "invalid_param",
      },
      {
        name: `channel info: name ${name}`,
        method: "GET",
        path: `/api/channels/${name}`,
        status: 400,
        code: "invalid_param",
      },
      {
        name: `post: name ${name}`,
        method: "POST",
        path: `/api/channels/${name}/messages`,
        body: { content: "hi" },
        status: 400,
        code: "invalid_param",
      },
      {
        name: `channel history: name ${name}`,
        method: "GET",
        path: `/api/channels/${name}/messages`,
        status: 400,
        code: "invalid_param",
      },
    ],
  ),
  {
    name: "leave: unknown channel",
    method: "POST",
    path: "/api/channels/nowhere/leave",
    status: 404,
    code: "channel_not_found",
  },
  {
    name: "channel info: unknown channel",
    method: "GET",
    path: "/api/channels/nowhere",
    status: 404,
    code: "channel_not_found",
  },
  {
    name: "post: unknown channel",
    method: "POST",
    path: "/api/channels/nowhere/messages",
    body: { content: "hi" },
    status: 404,
    code: "channel_not_found",
  },
  {
    name: "post: no content",
    method: "POST",
    path: "/api/channels/room/messages",
    body: {},
    status: 400,
    code: "invalid_body",
  },
  {
    name: "post: content null",
    method: "POST",
    path: "/api/channels/room/messages",
    body: { content: null },
    status: 400,
    code: "invalid_body",
  },
  {
    name: "post: content over 64 KiB",
    method: "POST",
    path: "/api/channels/room/messages",
    body: { content: BIG_CONTENT },
    status: 413,
    code: "too_large",
  },
  {
    name: "post: content nested too deeply to serialise",
    method: "POST",
    path: "/api/channels/room/messages",
    raw: `{"content": ${DEEP_CONTENT}}`,
    status: 400,
    code: "invalid_body",
  },
  {
    name: "post: bad body beats an unknown channel",
    method: "POST",
    path: "/api/channels/nowhere/messages",
    body: { content: null },
    status: 400,
    code: "invalid_body",
  },
  {
    name: "post: oversize beats not a member",
    method: "POST",
    path: "/api/channels/room/messages",
    as: "c",
    body: { content: BIG_CONTENT },
    status: 413,
    code: "too_large",
  },
  {
    name: "post: not a member",
    method: "POST",
    path: "/api/channels/room/messages",
    as: "c",
    body: { content: "hi" },
    status: 403,
    code: "not_member",
  },
  {
    name: "channel history: unknown channel",
    method: "GET",
    path: "/api/channels/nowhere/messages",
    status: 404,
    code: "channel_not_found",
  },
  {
    name: "channel history: not a member",
    method: "GET",
    path: "/api/channels/room/messages",
    as: "c",
    status: 403,
    code: "not_member",
  },
  {
    name: "channel history: limit=500",
    method: "GET",
    path: "/api/channels/room/messages?limit=500",
    status: 400,
    code: "invalid_query",
  },
  {
    name: "channel history: after=-2",
    method: "GET",
    path: "/api/channels/room/messages?after=-2",
    status: 400,
    code: "invalid_query",
  },

  // presence
  {
    name: "presence: no ids",
    method: "GET",
    path: "/api/presence",
    status: 400,
    code: "invalid_query",
  },
  {
    name: "presence: 201 ids",
    method: "GET",
    path: `/api/presence?ids=${Array.from({ length: 201 }, (_, i) => `id${i}`).join(",")}`,
    status: 400,
    code: "invalid_query",
  },
  {
    name: "presence: an id too long",
    method: "GET",
    path: `/api/presence?ids=a,${LONG_ID}`,
    status: 400,
    code: "invalid_query",
  },
  {
    name: "presence: ids twice",
    method: "GET",
    path: "/api/presence?ids=a&ids=b",
    status: 400,
    code: "invalid_query",
  },

  // operators: body, then unknown, then permission
  {
    name: "broadcast: no content (operator)",
    method: "POST",
    path: "/api/broadcast",
    body: {},
    status: 400,
    code: "invalid_body",
  },
  {
    name: "broadcast: content null (non-operator: body first)",
    method: "POST",
    path: "/api/broadcast",
    as: "b",
    body: { content: null },
    status: 400,
    code: "invalid_body",
  },
  {
    name: "broadcast: content over 64 KiB",
    method: "POST",
    path: "/api/broadcast",
    body: { content: BIG_CONTENT },
    status: 413,
    code: "too_large",
  },
  {
    name: "broadcast: content nested too deeply to serialise",
    method: "POST",
    path: "/api/broadcast",
    raw: `{"content": ${DEEP_CONTENT}}`,
    status: 400,
    code: "invalid_body",
  },
  {
    name: "broadcast: non-operator",
    method: "POST",
    path: "/api/broadcast",
    as: "b",
    body: { content: "hi" },
    status: 403,
    code: "forbidden",
  },
  {
    name: "disconnect: unknown user",
    method: "POST",
    path: `/api/users/${UNKNOWN_ID}/disconnect`,
    status: 404,
    code: "user_not_found",
  },
  {
    name: "disconnect: unknown beats non-operator",
    method: "POST",
    path: `/api/users/${UNKNOWN_ID}/disconnect`,
    as: "b",
    status: 404,
    code: "user_not_found",
  },
  {
    name: "disconnect: id too long",
    method: "POST",
    path: `/api/users/${LONG_ID}/disconnect`,
    status: 400,
    code: "invalid_param",
  },
  {
    name: "disconnect: non-operator",
    method: "POST",
    path: (f) => `/api/users/${f.c.userId}/disconnect`,
    as: "b",
    status: 403,
    code: "forbidden",
  },
];

function badInputSuite({ name: engineName, make: makeEngine, stop }: EngineKind): void {
  describe(`bad input to every endpoint (${engineName} engine)`, function () {
    let h: Harness;
    let f: Fixture;
    let node: FakeNode;

    /** Everything a bad request must not touch, as one comparable string. */
    async function snapshot(): Promise<string> {
      const { store } = h.engine;
      const users = [f.a, f.b, f.c];
      return JSON.stringify({
        conversations: await Promise.all(users.map((u) => store.conversationsOf(u.userId))),
        friends: await Promise.all(users.map((u) => store.friendLists(u.userId))),
        history: await store.history({ kind: "direct", a: f.a.userId, b: f.b.userId }, 0, 200),
        channels: await store.listChannels(),
        room: await store.history({ kind: "channel", name: "room" }, 0, 200),
        sessions: await Promise.all(users.map((u) => store.sessionByToken(u.token))),
        newbie: await store.userByName("newbie"),
        commands: node.commands.length,
      });
    }

    before(async () => {
      h = await startHarness(makeEngine, { env: { IM_ADMINS: "operator_a" } });
      node = await h.fakeNode("n1");
      const [a, b, c] = [await h.operator("operator_a"), await h.user(), await h.user()];
      await h.api("POST", `/api/friends/${b.userId}`, { token: a.token });
      await h.api("POST", `/api/friends/${a.userId}`, { token: b.token });
      await h.api("POST", "/api/channels/room/join", { token: a.token });
      await h.api("POST", "/api/channels/room/join", { token: b.token });
      const dm = await h.api("POST", "/api/messages", {
        token: a.token,
        body: { to: b.userId, content: "x" },
      });
      const post = await h.api("POST", "/api/channels/room/messages", {
        token: a.token,
        body: { content: "y" },
      });
      const edit = await h.api("PATCH", `/api/messages/${post.body.id}`, {
        token: a.token,
        body: { content: "y!" },
      });
      f = { a, b, c, dm: dm.body.id, post: post.body.id, edit: edit.body.id };
      // 4 friend pushes, the DM, the post, its edit and (within 2 s) one conversation push.
      await node.waitFor(8, 5_000);
    });
    after(async () => {
      await h.close();
      await stop?.();
    });

    for (const c of cases) {
      it(`${c.name} → ${c.status} ${c.code}, nothing changed`, async () => {
        const before = await snapshot();
        const as = c.as ?? "a";
        const headers: Record<string, string> = {};
        if (typeof as === "object") headers.authorization = as.header;
        else if (as !== "none") headers.authorization = `Bearer ${f[as].token}`;
        if (c.contentType) headers["content-type"] = c.contentType;
        if (c.contentEncoding) headers["content-encoding"] = c.contentEncoding;
        const body = typeof c.body === "function" ? c.body(f) : c.body;
        const path = typeof c.path === "function" ? c.path(f) : c.path;
        const r = await h.api(c.method, path, {
          headers,
          ...(body !== undefined && { body }),
          ...(c.raw !== undefined && { raw: c.raw }),
        });
        expect(r.status, JSON.stringify(r.body)).to.equal(c.status);
        expect(r.body).to.have.keys("error");
        expect(r.body.error.code).to.equal(c.code);
        expect(r.body.error.message)
          .to.be.a("string")
          .and.not.match(/\n\s+at /);
        await new Promise((resolve) => setImmediate(resolve)); // let a stray push land
        expect(await snapshot()).to.equal(before);
      });
    }
  });
}

for (const kind of engineKinds()) badInputSuite(kind);
