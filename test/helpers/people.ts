// People for end-to-end tests: a registered, logged-in user with the API at hand and sockets
// opened the way the contract says; helpers to wait for (or rule out) a push on a socket.
import { expect } from "chai";
import { io, type Socket } from "socket.io-client";

export const PASSWORD = "password123";
let names = 0;
export const uniqueName = (prefix: string) => `${prefix}_${process.pid % 1000}_${names++}`;

/** Resolves with the first event `name` the socket gets (acking it unless told not to). */
export function next<T>(socket: Socket, name: string, ms = 3000, ack = true): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(name, handler);
      reject(new Error(`no ${name} within ${ms} ms`));
    }, ms);
    const handler = (data: T, callback?: () => void) => {
      clearTimeout(timer);
      socket.off(name, handler);
      if (ack) callback?.();
      resolve(data);
    };
    socket.on(name, handler);
  });
}

/** Proves the socket gets no `name` event for `ms`. */
export function none(socket: Socket, name: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const handler = () => {
      clearTimeout(timer);
      reject(new Error(`unexpected ${name}`));
    };
    const timer = setTimeout(() => {
      socket.off(name, handler);
      resolve();
    }, ms);
    socket.on(name, handler);
  });
}

export interface ApiAnswer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests index freely into answers
}

export async function call(
  base: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<ApiAnswer> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

export interface Person {
  userId: string;
  username: string;
  token: string;
  api(method: string, path: string, body?: unknown): Promise<ApiAnswer>;
  /** Opens a socket the way the contract says: /api/connect, then io(url, {path, auth}). */
  socket(): Promise<Socket>;
}

/** Every socket opened here; a suite closes them after each test. */
export const sockets: Socket[] = [];

export async function person(base: string, name = uniqueName("user")): Promise<Person> {
  const registered = await call(base, "POST", "/api/register", undefined, {
    username: name,
    password: PASSWORD,
  });
  expect(registered.status).to.equal(201);
  const login = await call(base, "POST", "/api/login", undefined, {
    username: name,
    password: PASSWORD,
  });
  expect(login.status).to.equal(200);
  const { token, userId, username } = login.body as {
    token: string;
    userId: string;
    username: string;
  };
  const api = (method: string, path: string, body?: unknown) =>
    call(base, method, path, token, body);
  return {
    userId,
    username,
    token,
    api,
    async socket() {
      const grant = await api("POST", "/api/connect");
      expect(grant.status).to.equal(200);
      const socket = await openSocket(grant.body.url, grant.body.path, grant.body.token);
      return socket;
    },
  };
}

export function openSocket(url: string, path: string, token: string): Promise<Socket> {
  const socket = io(url, {
    path,
    transports: ["websocket"],
    auth: { token },
    reconnection: false,
    forceNew: true,
  });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => reject(err));
  });
}

export async function befriend(a: Person, b: Person): Promise<void> {
  expect((await a.api("POST", `/api/friends/${b.userId}`)).body).to.deep.equal({
    status: "pending",
  });
  expect((await b.api("POST", `/api/friends/${a.userId}`)).body).to.deep.equal({
    status: "friends",
  });
}
