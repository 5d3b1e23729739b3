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
  IM_ADMINS: list.default([]),
  IM_ACK_TIMEOUT_MS: positiveInt.default(10_000),
  IM_MAILBOX_MAX: positiveInt.default(1024),
  IM_MAILBOX_MAX_BYTES: positiveInt.default(1024 * 1024),
  IM_TOKEN_TTL_S: z.coerce.number().int().min(1).max(30).default(30),
  SESSION_TTL_S: positiveInt.default(7 * 24 * 3600),
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
  redisPrefix: string;
  businessPort: number;
  imPort: number;
  host: string;
  /** The URL handed to clients; undefined: http://host:<bound port>. */
  imPublicUrl: string | undefined;
  nodeId: string;
  router: "partition" | "adapter";
  dmPolicy: "friends" | "open";
  admins: string[];
  ackTimeoutMs: number;
  mailboxMax: number;
  /** Bytes of encoded pushes an actor may queue (as Centrifuge's writer bounds its queue). */
  mailboxMaxBytes: number;
  tokenTtlMs: number;
  sessionTtlMs: number;
  logLevel: string;
  files: FilesConfig;
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
  return {
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    businessPort: e.BUSINESS_PORT,
    imPort: e.IM_PORT,
    host: e.IM_HOST,
    imPublicUrl: e.IM_PUBLIC_URL,
    nodeId: e.IM_NODE_ID ?? `im-${e.IM_PORT}`,
    router: e.IM_ROUTER,
    dmPolicy: e.IM_DM_POLICY,
    admins: e.IM_ADMINS,
    ackTimeoutMs: e.IM_ACK_TIMEOUT_MS,
    mailboxMax: e.IM_MAILBOX_MAX,
    mailboxMaxBytes: e.IM_MAILBOX_MAX_BYTES,
    tokenTtlMs: e.IM_TOKEN_TTL_S * 1000,
    sessionTtlMs: e.SESSION_TTL_S * 1000,
    logLevel: e.LOG_LEVEL,
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
