// A single-node Config for tests: ports 0 (the OS picks), silent logs, the contract's defaults
// except the per-address and per-user limits, raised since every test client is 127.0.0.1.
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config, RateConfig } from "../../config/index.js";

/** Far above what any suite sends; the limits' own tests set theirs. */
export const TEST_RATES: RateConfig = {
  registerPerMin: 1_000_000,
  loginFailuresPerMin: 1_000_000,
  userPerS: 1_000_000,
  connectPerMin: 1_000_000,
};

/** TEST_RATES as the environment says them, for processes and loadConfig. */
export const TEST_RATE_ENV: Record<string, string> = {
  RATE_REGISTER_PER_MIN: "1000000",
  RATE_LOGIN_FAILURES_PER_MIN: "1000000",
  RATE_USER_PER_S: "1000000",
  RATE_CONNECT_PER_MIN: "1000000",
};

export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    redisUrl: undefined,
    databaseUrl: undefined,
    databasePoolSize: 10,
    redisPrefix: "herald:",
    businessPort: 0,
    imPort: 0,
    host: "127.0.0.1",
    imPublicUrl: undefined,
    nodeId: "im-test",
    router: "partition",
    dmPolicy: "friends",
    channelMaxMembers: 100_000,
    admins: [],
    adminPassword: undefined,
    metricsToken: undefined,
    ackTimeoutMs: 1000,
    mailboxMax: 1024,
    mailboxMaxBytes: 1024 * 1024,
    maxConnectionsPerUser: 16,
    tokenTtlMs: 30_000,
    sessionTtlMs: 3_600_000,
    rates: TEST_RATES,
    quotaBytesPerDay: 50 * 1024 * 1024,
    trustProxy: false,
    editWindowMs: 172_800_000,
    recallWindowMs: 172_800_000,
    logLevel: "silent",
    webhook: undefined,
    files: {
      dir: join(tmpdir(), "herald-test-files"),
      s3: undefined,
      secret: undefined,
      maxBytes: 25 * 1024 * 1024,
      quotaBytesPerDay: 1024 * 1024 * 1024,
      uploadsPerMin: 30,
    },
    ...overrides,
  };
}
