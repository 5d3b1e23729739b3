// server/socket-adapter.ts on one Redis: two socket.io servers linked by it see each other's
// server-side emits and room broadcasts. (On a Redis Cluster, the sharded adapter is exercised
// end to end by cluster.test's adapter-mode suite.)
import { expect } from "chai";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import { io as connectClient } from "socket.io-client";
import { createSocketAdapter, type SocketAdapterHandle } from "../server/socket-adapter.js";
import { startRedis, type TestRedis } from "../support/redis-server.js";

describe("socket adapter (adapter mode's link between nodes)", function () {
  this.timeout(15_000);
  let redis: TestRedis;
  const handles: SocketAdapterHandle[] = [];
  const servers: Server[] = [];

  before(async () => (redis = await startRedis()));
  after(async () => {
    await Promise.all(servers.map((io) => io.close()));
    await Promise.all(handles.map((handle) => handle.close()));
    await redis.destroy();
  });

  async function linked(): Promise<{ io: Server; url: string }> {
    const handle = createSocketAdapter({ url: redis.url, prefix: "t:" });
    handles.push(handle);
    const http = createServer();
    const io = new Server(http, { transports: ["websocket"] });
    servers.push(io);
    io.adapter(handle.adapter);
    await handle.ready();
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    return { io, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` };
  }

  it("carries server-side emits and room broadcasts from one server to the other", async () => {
    const a = await linked();
    const b = await linked();
    b.io.on("connection", (socket) => void socket.join("room"));
    const joined = new Promise<void>((resolve) => b.io.once("connection", () => resolve()));
    const client = connectClient(b.url, { transports: ["websocket"], reconnection: false });
    try {
      await joined;
      const pushed = new Promise((resolve) => client.once("hello", resolve));
      const emitted = new Promise((resolve) => b.io.of("/").once("herald:test", resolve));
      a.io.to("room").emit("hello", { from: "a" });
      a.io.serverSideEmit("herald:test", "from a");
      expect(await pushed).to.deep.equal({ from: "a" });
      expect(await emitted).to.equal("from a");
    } finally {
      client.close();
    }
  });
});
