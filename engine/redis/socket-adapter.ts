// The socket.io adapter for adapter mode (IM_ROUTER=adapter): @socket.io/redis-adapter over the
// engine's Redis. One server: the classic adapter (PUBLISH/PSUBSCRIBE); a cluster: the sharded
// adapter (SPUBLISH/SSUBSCRIBE, Redis 7). Its channels carry the engine's prefix like every
// other name.
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import type { SocketAdapterHandle } from "../types.js";
import { duplicate, isCluster, quit, type RedisClient } from "./connection.js";

export function createSocketAdapter(client: RedisClient, prefix: string): SocketAdapterHandle {
  const channelPrefix = `${prefix}socket.io`;
  const pub = duplicate(client);
  const sub = duplicate(client, true);
  // Both reconnect on their own; the adapter has no error path to report to.
  pub.on("error", () => {});
  sub.on("error", () => {});
  const cluster = isCluster(client);
  // "static": a namespace's two channels, fixed when io.adapter() runs, so ready() covers every
  // subscription (server-side emits use them); "dynamic" would SSUBSCRIBE per room on each join.
  const adapter = cluster
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
    },
    close() {
      closing ??= Promise.all([quit(pub), quit(sub)]).then(() => {});
      return closing;
    },
  };
}
