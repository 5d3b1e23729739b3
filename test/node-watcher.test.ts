// NodeWatcher: what a node does when another node vanishes from the live set (its presence
// cleared, its users reported offline, once). Fakes for presence and the bus.
import { expect } from "chai";
import { createLogger } from "../config/logger.js";
import type { NodeInfo } from "../engine/types.js";
import { NodeWatcher } from "../server/node-watcher.js";

const node = (nodeId: string): NodeInfo => ({ nodeId, url: `http://${nodeId}` });
const settle = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));

describe("NodeWatcher", function () {
  it("a vanished node: announced, its presence cleared, its users reported offline, once", async function () {
    const cleared: string[] = [];
    const offline: string[] = [];
    const notices: string[] = [];
    const watcher = new NodeWatcher({
      nodeId: "self",
      presence: {
        async clearNode(nodeId) {
          cleared.push(nodeId);
          return cleared.filter((id) => id === nodeId).length === 1 ? [`held-by-${nodeId}`] : [];
        },
      },
      publishOffline: async (userId) => void offline.push(userId),
      notifyMembership: async (nodeId) => void notices.push(nodeId),
      logger: createLogger("silent"),
    });
    const change = (ids: string[]) => watcher.onChange(ids.map(node));
    change(["dead", "other", "self"]);
    change(["other", "self"]);
    await settle();
    expect(notices).to.deep.equal(["dead"]);
    expect(cleared).to.deep.equal(["dead"]);
    expect(offline).to.deep.equal(["held-by-dead"]);
    change(["other", "self"]); // no change: nothing more
    change(["other"]); // itself missing from the view: it never clears itself
    await settle();
    expect(cleared).to.deep.equal(["dead"]);
    watcher.stop();
    change([]);
    await settle();
    expect(cleared).to.deep.equal(["dead"]);
  });
});
