// The request limits of docs/CONTRACT.md ("Limits and hardening"), each keyed by what it protects
// and counted in the engine's limiter store, so they hold across business instances.
import type { Config } from "../config/index.js";
import type { Limiter, LimitRule, Limits, Verdict } from "../engine/types.js";
import { usernameKey } from "../engine/usernames.js";
import type { Session } from "../engine/types.js";
import { DomainError } from "./errors.js";

export interface RateRules {
  /** Registrations per client address. */
  register: LimitRule;
  /** Failed logins per client address and username: a stranger's guesses never lock you out. */
  loginFailures: LimitRule;
  /** Requests per session. */
  session: LimitRule;
  /** Requests per user, across all their sessions. */
  user: LimitRule;
  /** `/api/connect` per user. */
  connect: LimitRule;
}

/** v1's figures: a burst of 60, 30 a second sustained; 20 requests/s never see a 429. */
export const SESSION_RULE: LimitRule = { points: 60, durationS: 2 };

export function rateRules(config: Config): RateRules {
  const { registerPerMin, loginFailuresPerMin, userPerS, connectPerMin } = config.rates;
  return {
    register: { points: registerPerMin, durationS: 60 },
    loginFailures: { points: loginFailuresPerMin, durationS: 60 },
    session: SESSION_RULE,
    user: { points: userPerS, durationS: 1 },
    connect: { points: connectPerMin, durationS: 60 },
  };
}

function refuse(verdict: Verdict, what: string): void {
  if (!verdict.ok) throw new DomainError("rate_limited", `too many ${what}`, verdict.retryAfterS);
}

export class RateLimits {
  private readonly limiters: Record<keyof RateRules, Limiter>;

  constructor(limits: Limits, rules: RateRules) {
    const limiter = (name: keyof RateRules) => limits.limiter(`rate:${name}`, rules[name]);
    this.limiters = {
      register: limiter("register"),
      loginFailures: limiter("loginFailures"),
      session: limiter("session"),
      user: limiter("user"),
      connect: limiter("connect"),
    };
  }

  async register(address: string): Promise<void> {
    refuse(await this.limiters.register.take(address), "registrations; try again later");
  }

  /**
   * Counts a login as failed until `loginSucceeded` takes it back, so parallel guesses cannot all
   * pass the check; refused once the address has failed too often for that name.
   */
  async loginAttempt(address: string, username: string): Promise<void> {
    const verdict = await this.limiters.loginFailures.take(loginKey(address, username));
    refuse(verdict, "failed logins; try again later");
  }

  async loginSucceeded(address: string, username: string): Promise<void> {
    await this.limiters.loginFailures.giveBack(loginKey(address, username));
  }

  /**
   * A request made with this session: the session's own limit, then its user's. Both counted at
   * once (one round trip); a request the session's limit refuses never counts for its user, as
   * if the user's had not been asked, so one flooding session cannot use up its user's budget.
   */
  async request({ sessionId, userId }: Session): Promise<void> {
    const [session, user] = await Promise.all([
      this.limiters.session.take(sessionId),
      this.limiters.user.take(userId),
    ]);
    // A refused take still counted its point: the user's is given back whatever it answered.
    if (!session.ok) await this.limiters.user.giveBack(userId);
    refuse(session, "requests");
    refuse(user, "requests");
  }

  async connect(userId: string): Promise<void> {
    refuse(await this.limiters.connect.take(userId), "connects; try again later");
  }
}

/** Names that are one account share one count. */
const loginKey = (address: string, username: string) => `${address} ${usernameKey(username)}`;
