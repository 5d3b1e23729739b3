// The one place the environment is read. A bad value stops start-up with a message naming it.
import { z } from "zod";

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
  IM_MAX_CONNECTIONS_PER_USER: positiveInt.default(16),
  IM_TOKEN_TTL_S: z.coerce.number().int().min(1).max(30).default(30),
  SESSION_TTL_S: positiveInt.default(7 * 24 * 3600),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
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
  /** Connections one user may hold across all nodes (presence's count). */
  maxConnectionsPerUser: number;
  tokenTtlMs: number;
  sessionTtlMs: number;
  logLevel: string;
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
    maxConnectionsPerUser: e.IM_MAX_CONNECTIONS_PER_USER,
    tokenTtlMs: e.IM_TOKEN_TTL_S * 1000,
    sessionTtlMs: e.SESSION_TTL_S * 1000,
    logLevel: e.LOG_LEVEL,
  };
}
