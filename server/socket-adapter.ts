// The socket.io adapter for adapter mode (IM_ROUTER=adapter): @socket.io/redis-adapter on its own
// two Redis connections. One server: the classic adapter (PUBLISH/PSUBSCRIBE); a cluster: the
// sharded adapter (SPUBLISH/SSUBSCRIBE, Redis 7). Its channels carry the key prefix like every
// other name.
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import type { ServerOptions } from "socket.io";
import {
  createClient,
  duplicate,
  isCluster,
  parseRedisUrl,
  quit,
} from "../engine/redis/connection.js";

/** A socket.io adapter with its own Redis connections. */
export interface SocketAdapterHandle {
  /** Give it to `io.adapter(adapter)`. */
  readonly adapter: ServerOptions["adapter"];
  /** After `io.adapter(adapter)`: resolves once the main namespace's subscriptions are live. */
  ready(): Promise<void>;
  /** Closes its connections (after io.close()); idempotent. */
  close(): Promise<void>;
}

export function createSocketAdapter(redis: { url: string; prefix: string }): SocketAdapterHandle {
  const channelPrefix = `${redis.prefix}socket.io`;
  const pub = createClient(parseRedisUrl(redis.url), true);
  const sub = duplicate(pub, true);
  // Both reconnect on their own; the adapter has no error path to report to.
  pub.on("error", () => {});
  sub.on("error", () => {});
  // "static": a namespace's two channels, fixed when io.adapter() runs, so ready() covers every
  // subscription (server-side emits use them); "dynamic" would SSUBSCRIBE per room on each join.
  const adapter = isCluster(pub)
    ? createShardedAdapter(pub, sub, { channelPrefix, subscriptionMode: "static" })
    : createAdapter(pub, sub, { key: channelPrefix });
  let closing: Promise<void> | null = null;
  return {
    adapter,
    async ready() {
      // Commands on one connection run in order: an answer after the adapter's (S)SUBSCRIBE
      // means it is live. On a cluster, SSUBSCRIBE again (idempotent) on the connection of the
      // main namespace's channel; the per-server response channel serves acks only.
      if (isCluster(sub)) await sub.ssubscribe(`${channelPrefix}#/#`);
      else await sub.ping();
      await pub.ping();
    },
    close() {
      closing ??= Promise.all([quit(pub), quit(sub)]).then(() => {});
      return closing;
    },
  };
}
