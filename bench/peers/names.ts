// What the publisher and the peer servers agree on (apart from the peers, so importing it starts
// no server).

/** The Redis channel the raw ws peer takes commands on. */
export const WS_CHANNEL = "bench:ws";

/** A raw ws command; `to`: user ids, or "*" for every connection. */
export interface WsCommand {
  to: string[] | "*";
  data: unknown;
}

/** The server-side event the socket.io peer with acks takes pushes on: (userId | "*", data). */
export const PUSH_EVENT = "push";
