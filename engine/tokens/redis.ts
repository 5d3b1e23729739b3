// Connect tokens in Redis: each under its hash with its TTL, indexed by session for logout.
import { hashToken, newToken } from "../ids.js";
import { eachInOneStage, inStages, replies, type RedisClient } from "../redis/connection.js";
import type { RedisKeys } from "../redis/keys.js";
import { TOKEN_MEMORY_MS, type ConnectGrant, type TakeResult, type Tokens } from "./types.js";

export class RedisTokens implements Tokens {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async issue(grant: ConnectGrant, ttlMs: number): Promise<string> {
    const token = newToken();
    const hash = hashToken(token);
    const keepMs = Math.ceil(ttlMs) + TOKEN_MEMORY_MS;
    const set = this.keys.sessionTokens(grant.sessionId);
    const value = JSON.stringify({
      userId: grant.userId,
      sessionId: grant.sessionId,
      nodeId: grant.nodeId,
    });
    // The session's index first: a token that exists is always revocable. NX gives a new set
    // its TTL, GT extends an existing one. (The token's key has a slot of its own: take() knows
    // only the token.)
    await inStages(this.redis, [
      [(p) => p.sadd(set, hash).pexpire(set, keepMs, "NX").pexpire(set, keepMs, "GT")],
      [(p) => p.set(this.keys.token(hash), value, "PX", keepMs)],
    ]);
    return token;
  }

  async take(token: string): Promise<TakeResult> {
    const taken = await this.redis.heraldTakeToken(this.keys.token(hashToken(token)));
    if (!taken) return { status: "invalid" };
    const [grant, remainingMs] = taken;
    if (remainingMs <= TOKEN_MEMORY_MS) return { status: "expired" };
    return { status: "ok", grant: JSON.parse(grant) as ConnectGrant };
  }

  async revokeSession(sessionId: string): Promise<void> {
    // Drain the index atomically, then delete what it named: a token issued meanwhile lands in
    // a fresh index, as if issued just after the revocation.
    const set = this.keys.sessionTokens(sessionId);
    const [hashes] = replies<[string[], number]>(
      await this.redis.multi().smembers(set).del(set).exec(),
    );
    // One UNLINK per token: on a cluster each token's key is in a slot of its own.
    if (hashes.length > 0)
      await eachInOneStage(this.redis, hashes, (p, hash) => p.unlink(this.keys.token(hash)));
  }
}
