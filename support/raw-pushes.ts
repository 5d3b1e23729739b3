// What an SDK client was sent, below the SDK: the `message` pushes each of its sockets received,
// before the SDK drops repeats (a server that delivers one message twice to a socket shows here,
// never in the app), and the nodes /api/connect sent it to.
import { io, type Socket } from "socket.io-client";
import type { SocketFactory } from "../client/sdk.js";

export class RawPushes {
  /** One list per socket the client opened: the ids pushed to it, in arrival order. */
  readonly sockets: string[][] = [];
  /** The client's latest socket. */
  latest: Socket | null = null;

  /** Pass as the client's `io` option. */
  readonly io: SocketFactory = (url, opts) => {
    const socket = io(url, opts);
    const ids: string[] = [];
    this.sockets.push(ids);
    this.latest = socket;
    socket.onAny((event: string, push: { id?: unknown } | undefined) => {
      if (event === "message" && typeof push?.id === "string") ids.push(push.id);
    });
    return socket;
  };

  /** The most times one socket got `id`: 1 when the server pushed it once, 0 when never. */
  perSocket(id: string): number {
    return Math.max(0, ...this.sockets.map((ids) => ids.filter((x) => x === id).length));
  }
}

/** A `fetch` for an SDK client that records, in `nodeIds`, every node /api/connect sends it to. */
export function recordingConnects(nodeIds: string[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (String(input).endsWith("/api/connect") && response.ok)
      nodeIds.push(((await response.clone().json()) as { nodeId: string }).nodeId);
    return response;
  };
}
