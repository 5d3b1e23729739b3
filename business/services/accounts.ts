// Accounts and sessions: register (operator names reserved), login (scrypt; failures limited per
// address and username), logout, connect.
import type { User } from "../../engine/types.js";
import { DomainError } from "../errors.js";
import { DecoyHash, hashPassword, verifyPassword, type ScryptCost } from "../passwords.js";
import type { ConnectInfo } from "../push-client.js";
import type { OperatorNames } from "../operators.js";
import type { RateLimits } from "../rate-limits.js";
import type { AuthedSession } from "../session.js";
import { requireUser, type ServiceDeps } from "./deps.js";

export class AccountService {
  private readonly decoy: DecoyHash;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly rates: RateLimits,
    private readonly operators: OperatorNames,
    private readonly cost: ScryptCost,
  ) {
    this.decoy = new DecoyHash(cost);
    // Computed now, so even the first login for an unknown name costs one hash, not two.
    this.decoy.get().catch((err: unknown) => deps.logger.error({ err }, "decoy hash failed"));
  }

  /** `address` is the client's (rate limit); `username` is NFKC-normalised already. */
  async register(username: string, password: string, address: string): Promise<User> {
    if (this.operators.includes(username))
      throw new DomainError("username_reserved", "that username is reserved for an operator");
    await this.rates.register(address);
    const hash = await hashPassword(password, this.cost);
    const user = await this.deps.engine.store.createUser(username, hash);
    if (!user) throw new DomainError("username_taken", "that username is taken");
    return user;
  }

  async login(
    username: string,
    password: string,
    address: string,
  ): Promise<{ token: string } & User> {
    await this.rates.loginAttempt(address, username);
    const record = await this.deps.engine.store.userByName(username);
    // The same scrypt work whether or not the account exists.
    const ok = await verifyPassword(password, record?.passwordHash ?? (await this.decoy.get()));
    if (!record || !ok) throw new DomainError("invalid_credentials", "wrong username or password");
    await this.rates.loginSucceeded(address, username);
    const { token } = await this.deps.engine.store.createSession(
      record.userId,
      this.deps.config.sessionTtlMs,
    );
    return { token, userId: record.userId, username: record.username };
  }

  /** Revokes the session and its unused connect tokens, and closes the sockets opened with it. */
  async logout(session: AuthedSession): Promise<void> {
    const { engine, push, logger } = this.deps;
    await engine.store.deleteSession(session.sessionId);
    await engine.tokens.revokeSession(session.sessionId);
    try {
      await push.forceOffline(session.userId, "logout", session.sessionId);
    } catch (err) {
      // The session is gone already: its sockets cannot reconnect, so this is not worth failing.
      logger.error({ err }, "logout kick failed");
    }
  }

  me(userId: string): Promise<User> {
    return requireUser(this.deps.engine, userId);
  }

  /**
   * The seed's PrevConnectServer, through the push client's PushRouter; `failed`: the node the
   * client's last socket failed on (checked before it is granted again).
   */
  async connect(session: AuthedSession, failed?: string): Promise<ConnectInfo> {
    const { engine, push } = this.deps;
    await this.rates.connect(session.userId);
    const info = await push.prevConnect(session.userId, session.sessionId, failed);
    if (!info) throw new DomainError("unavailable", "no imServer node is live");
    // A logout that ran meanwhile (it deletes the session, then revokes its tokens) may have
    // missed this token: with the session gone, spend it here rather than hand it out.
    if (!(await engine.store.sessionByToken(session.token))) {
      await engine.tokens.revokeSession(session.sessionId);
      throw new DomainError("unauthorized", "missing or invalid session");
    }
    return info;
  }

  /** The users among `userIds` that exist, in the order asked. */
  async findByIds(userIds: readonly string[]): Promise<User[]> {
    const users = await this.deps.engine.store.usersById([...new Set(userIds)]);
    return users.filter((user) => user !== null);
  }

  async findByName(username: string): Promise<User> {
    const record = await this.deps.engine.store.userByName(username);
    if (!record) throw new DomainError("user_not_found", "no such user");
    return { userId: record.userId, username: record.username };
  }
}
