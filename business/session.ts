// The session check that every route but register and login runs first (before the body is
// parsed, so a bad session wins over a bad body), then the per-session and per-user rate limits.
import type { Context, Next } from "koa";
import type { Engine, Session } from "../engine/types.js";
import { HttpError } from "./http-error.js";
import type { RateLimits } from "./rate-limits.js";

/** The caller's session, with the bearer token it was found by (never logged). */
export interface AuthedSession extends Session {
  token: string;
}

export interface AppState {
  session?: AuthedSession;
}

const BEARER = /^Bearer ([A-Za-z0-9_~+/.=-]{1,512})$/;

export function sessionMiddleware(engine: Engine, rates: RateLimits) {
  return async function requireSession(ctx: Context, next: Next): Promise<void> {
    const match = BEARER.exec(ctx.get("Authorization"));
    const session = match ? await engine.store.sessionByToken(match[1]!) : null;
    if (!session) throw new HttpError(401, "unauthorized", "missing or invalid session");
    await rates.request(session);
    (ctx.state as AppState).session = { ...session, token: match![1]! };
    await next();
  };
}

/** The session that sessionMiddleware put on the context. */
export function sessionOf(ctx: Context): AuthedSession {
  const session = (ctx.state as AppState).session;
  if (!session) throw new Error("route is missing sessionMiddleware");
  return session;
}
