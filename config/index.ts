// The one place the environment is read. A bad value stops start-up with a message naming it.
import { resolve } from "node:path";
import { z } from "zod";
import { parseS3Url, type S3Location } from "./s3-url.js";

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const list = z.string().transform((s) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0),
);

const schema = z.object({
  REDIS_URL: z.string().min(1).optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "a postgres:// URL")
    .optional(),
  DATABASE_POOL_SIZE: positiveInt.max(1000).default(10),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{0,64}$/)
    .default("herald:"),
  BUSINESS_PORT: port.default(5555),
  IM_PORT: port.default(6001),
  IM_HOST: z.string().min(1).default("127.0.0.1"),
  IM_PUBLIC_URL: z.url({ protocol: /^(http|https)$/ }).optional(),
  IM_NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .optional(),
  IM_ROUTER: z.enum(["partition", "adapter"]).default("partition"),
  IM_DM_POLICY: z.enum(["friends", "open"]).default("friends"),
  IM_CHANNEL_MAX_MEMBERS: positiveInt.default(100_000),
  IM_ADMINS: list.default([]),
  IM_ADMIN_PASSWORD: z.string().min(8).max(256).optional(),
  METRICS_TOKEN: z.string().min(16, "at least 16 characters").max(1024).optional(),
  IM_ACK_TIMEOUT_MS: positiveInt.default(10_000),
  IM_MAILBOX_MAX: positiveInt.default(1024),
  IM_MAILBOX_MAX_BYTES: positiveInt.default(1024 * 1024),
  IM_MAX_CONNECTIONS_PER_USER: positiveInt.default(16),
  IM_TOKEN_TTL_S: z.coerce.number().int().min(1).max(30).default(30),
  SESSION_TTL_S: positiveInt.default(7 * 24 * 3600),
  IM_WEBHOOK_URL: z.url({ protocol: /^(http|https)$/ }).optional(),
  IM_WEBHOOK_SECRET: z.string().min(16, "at least 16 characters").max(1024).optional(),
  IM_WEBHOOK_TIMEOUT_MS: positiveInt.default(5_000),
  IM_WEBHOOK_RETRY_BASE_MS: positiveInt.default(1_000),
  IM_WEBHOOK_RETRY_MAX_MS: positiveInt.default(10 * 60_000),
  IM_WEBHOOK_RETRY_FOR_S: z.coerce
    .number()
    .int()
    .min(3600)
    .default(24 * 3600),
  IM_WEBHOOK_POLL_MS: positiveInt.default(1_000),
  RATE_REGISTER_PER_MIN: positiveInt.default(20),
  RATE_LOGIN_FAILURES_PER_MIN: positiveInt.default(10),
  RATE_USER_PER_S: positiveInt.default(60),
  RATE_CONNECT_PER_MIN: positiveInt.default(60),
  QUOTA_USER_BYTES_PER_DAY: positiveInt.default(50 * 1024 * 1024),
  TRUST_PROXY: z.enum(["0", "1"]).default("0"),
  IM_EDIT_WINDOW_S: positiveInt.default(172_800),
  IM_RECALL_WINDOW_S: positiveInt.default(172_800),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  FILES_DIR: z.string().min(1).default("./data/files"),
  S3_URL: z
    .string()
    .transform((url, ctx) => {
      try {
        return parseS3Url(url);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
        return z.NEVER;
      }
    })
    .optional(),
  FILES_SECRET: z.string().min(32).optional(),
  IM_FILE_MAX_BYTES: positiveInt.default(25 * 1024 * 1024),
  IM_FILE_QUOTA_BYTES_PER_DAY: positiveInt.default(1024 * 1024 * 1024),
  IM_FILE_UPLOADS_PER_MIN: positiveInt.default(30),
});

export interface Config {
  redisUrl: string | undefined;
  /** With it, the store is PostgreSQL (everything that must last); the rest stays as chosen by
   * redisUrl. */
  databaseUrl: string | undefined;
  /** Connections each process holds at most. */
  databasePoolSize: number;
  redisPrefix: string;
  businessPort: number;
  imPort: number;
  host: string;
  /** The URL handed to clients; undefined: http://host:<bound port>. */
  imPublicUrl: string | undefined;
  nodeId: string;
  router: "partition" | "adapter";
  dmPolicy: "friends" | "open";
  /** A join past this many members is refused (409 `channel_full`). */
  channelMaxMembers: number;
  admins: string[];
  /** Embedded engine only: the password every IM_ADMINS account is created with at start. */
  adminPassword: string | undefined;
  /** When set, /metrics on both roles answers only `Authorization: Bearer <it>`. */
  metricsToken: string | undefined;
  ackTimeoutMs: number;
  mailboxMax: number;
  /** Bytes of encoded pushes an actor may queue (as Centrifuge's writer bounds its queue). */
  mailboxMaxBytes: number;
  /** Connections one user may hold across all nodes (presence's count). */
  maxConnectionsPerUser: number;
  tokenTtlMs: number;
  sessionTtlMs: number;
  rates: RateConfig;
  quotaBytesPerDay: number;
  /** Take the client address from X-Forwarded-For (first entry): only behind a proxy. */
  trustProxy: boolean;
  /** How long after sending its sender may edit a message. */
  editWindowMs: number;
  /** How long after sending its sender may recall a message. */
  recallWindowMs: number;
  logLevel: string;
  /** Undelivered messages are posted here (IM_WEBHOOK_*); undefined: no webhook. */
  webhook: WebhookConfig | undefined;
  files: FilesConfig;
}

export interface WebhookConfig {
  url: string;
  /** The HMAC-SHA256 key of X-Herald-Signature. */
  secret: string;
  /** A call that has not answered by then is retried. */
  timeoutMs: number;
  /** Backoff: the n-th retry waits a random time in [0, min(retryMaxMs, retryBaseMs·2^n)). */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long after queueing an event is still retried (at least an hour). */
  retryForMs: number;
  /** How often each business instance looks for due events. */
  pollMs: number;
}

export interface RateConfig {
  registerPerMin: number;
  loginFailuresPerMin: number;
  userPerS: number;
  connectPerMin: number;
}

export interface FilesConfig {
  /** Absolute; where the disk storage keeps files when there is no S3 bucket. */
  dir: string;
  s3: S3Location | undefined;
  /** Signs download links; undefined: a random secret per process. */
  secret: string | undefined;
  maxBytes: number;
  quotaBytesPerDay: number;
  uploadsPerMin: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads and validates the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const defined = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ""),
  );
  const result = schema.safeParse(defined);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.join(".")}: ${issue.message}`,
    );
    throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
  }
  const e = result.data;
  if (e.IM_WEBHOOK_URL !== undefined && e.IM_WEBHOOK_SECRET === undefined)
    throw new ConfigError("invalid configuration: IM_WEBHOOK_SECRET: required with IM_WEBHOOK_URL");
  if (
    e.IM_ADMIN_PASSWORD !== undefined &&
    (e.REDIS_URL !== undefined || e.DATABASE_URL !== undefined)
  )
    throw new ConfigError(
      "invalid configuration: IM_ADMIN_PASSWORD: only for the embedded engine; " +
        "with REDIS_URL or DATABASE_URL create operators with `npm run admin -- create <username>`",
    );
  return {
    redisUrl: e.REDIS_URL,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    redisPrefix: e.REDIS_PREFIX,
    businessPort: e.BUSINESS_PORT,
    imPort: e.IM_PORT,
    host: e.IM_HOST,
    imPublicUrl: e.IM_PUBLIC_URL,
    nodeId: e.IM_NODE_ID ?? `im-${e.IM_PORT}`,
    router: e.IM_ROUTER,
    dmPolicy: e.IM_DM_POLICY,
    channelMaxMembers: e.IM_CHANNEL_MAX_MEMBERS,
    admins: e.IM_ADMINS,
    adminPassword: e.IM_ADMIN_PASSWORD,
    metricsToken: e.METRICS_TOKEN,
    ackTimeoutMs: e.IM_ACK_TIMEOUT_MS,
    mailboxMax: e.IM_MAILBOX_MAX,
    mailboxMaxBytes: e.IM_MAILBOX_MAX_BYTES,
    maxConnectionsPerUser: e.IM_MAX_CONNECTIONS_PER_USER,
    tokenTtlMs: e.IM_TOKEN_TTL_S * 1000,
    sessionTtlMs: e.SESSION_TTL_S * 1000,
    rates: {
      registerPerMin: e.RATE_REGISTER_PER_MIN,
      loginFailuresPerMin: e.RATE_LOGIN_FAILURES_PER_MIN,
      userPerS: e.RATE_USER_PER_S,
      connectPerMin: e.RATE_CONNECT_PER_MIN,
    },
    quotaBytesPerDay: e.QUOTA_USER_BYTES_PER_DAY,
    trustProxy: e.TRUST_PROXY === "1",
    editWindowMs: e.IM_EDIT_WINDOW_S * 1000,
    recallWindowMs: e.IM_RECALL_WINDOW_S * 1000,
    logLevel: e.LOG_LEVEL,
    webhook:
      e.IM_WEBHOOK_URL === undefined
        ? undefined
        : {
            url: e.IM_WEBHOOK_URL,
            secret: e.IM_WEBHOOK_SECRET!,
            timeoutMs: e.IM_WEBHOOK_TIMEOUT_MS,
            retryBaseMs: e.IM_WEBHOOK_RETRY_BASE_MS,
            retryMaxMs: e.IM_WEBHOOK_RETRY_MAX_MS,
            retryForMs: e.IM_WEBHOOK_RETRY_FOR_S * 1000,
            pollMs: e.IM_WEBHOOK_POLL_MS,
          },
    files: {
      dir: resolve(e.FILES_DIR),
      s3: e.S3_URL,
      secret: e.FILES_SECRET,
      maxBytes: e.IM_FILE_MAX_BYTES,
      quotaBytesPerDay: e.IM_FILE_QUOTA_BYTES_PER_DAY,
      uploadsPerMin: e.IM_FILE_UPLOADS_PER_MIN,
    },
  };
}
