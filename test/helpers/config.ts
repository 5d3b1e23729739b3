// A single-node Config for tests: ports 0 (the OS picks), silent logs, the contract's defaults.
import type { Config } from "../../config/index.js";

export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    redisUrl: undefined,
    redisPrefix: "herald:",
    businessPort: 0,
    imPort: 0,
    host: "127.0.0.1",
    imPublicUrl: undefined,
    nodeId: "im-test",
    router: "partition",
    dmPolicy: "friends",
    admins: [],
    ackTimeoutMs: 1000,
    mailboxMax: 1024,
    mailboxMaxBytes: 1024 * 1024,
    maxConnectionsPerUser: 16,
    tokenTtlMs: 30_000,
    sessionTtlMs: 3_600_000,
    logLevel: "silent",
    ...overrides,
  };
}
