// Faults under load, for test/faults.test.ts (short) and bench/faults.ts (long): a steady stream
// of DMs and channel posts between SDK clients of a real cluster (support/herald-cluster.ts) over
// a real redis-server, while one fault is injected. At the end, per recipient, the ids business
// answered 202 are compared with the ids the app saw (missing, duplicates shown) and with the raw
// pushes each socket got (a push repeated to one socket shows there even when the SDK hides it).
import { HeraldClient } from "../client/sdk.js";
import type { MessagePush } from "../engine/protocol.js";
import type { ImNodeHandle, TestCluster } from "./herald-cluster.js";
import { RawPushes, recordingConnects } from "./raw-pushes.js";

const PASSWORD = "password123";
export const CHANNEL = "load";

/** Environment every fault cluster runs with (limits raised: one address registers everyone). */
export const FAULT_ENV: Record<string, string> = {
  IM_DM_POLICY: "open",
  IM_ACK_TIMEOUT_MS: "3000",
  RATE_REGISTER_PER_MIN: "100000",
  RATE_LOGIN_FAILURES_PER_MIN: "100000",
  RATE_USER_PER_S: "100000",
};

export interface LoadUser {
  name: string;
  userId: string;
  client: HeraldClient;
  raw: RawPushes;
  /** Every node /api/connect sent it to, in order. */
  nodeIds: string[];
  /** How many times the app saw each message id. */
  seen: Map<string, number>;
  /** When each message id reached the app (first time). */
  seenAt: Map<string, number>;
  /** When the client last became connected. */
  connectedAt: number;
}

/** What one fault run measured. */
export interface FaultResult {
  fault: string;
  tried: string;
  /** Requests made (DMs and channel posts). */
  sent: number;
  /** Answered 202. */
  accepted: number;
  /** Answered something else (503 while Redis was gone, …), by status. */
  refused: Record<string, number>;
  /** Deliveries expected: each 202'd message × its recipients. */
  expected: number;
  /** Of those, seen by the app. */
  received: number;
  missing: number;
  /** Ids the app saw more than once. */
  duplicatesShown: number;
  /** Ids one socket was pushed more than once. */
  rawDuplicates: number;
  /** The fault's recovery time (ms), as the scenario defines it. */
  recoveryMs: number | null;
  /** Peak resident memory of the imServer processes (MB). */
  memoryMb: number;
  /** Anything else the scenario measured. */
  notes: Record<string, number | string>;
}

interface Answer {
  /** When the request was sent and when its answer came. */
  started: number;
  at: number;
  status: number;
  ms: number;
}

export class FaultLoad {
  readonly users: LoadUser[] = [];
  readonly answers: Answer[] = [];
  /** Recipient userId → ids answered 202 that it should see. */
  private readonly expected = new Map<string, Set<string>>();
  /** Message id → when its request was sent (for latencies). */
  readonly sentAt = new Map<string, number>();
  private sent = 0;
  private round = 0;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly cluster: TestCluster) {}

  /** Registers, logs in and connects `count` users, all members of CHANNEL. */
  async addUsers(count: number, tag: string): Promise<LoadUser[]> {
    const added = await Promise.all(
      Array.from({ length: count }, (_, i) => this.user(`${tag}_${i}`)),
    );
    // One at a time: adapter mode's least-loaded choice sees each one.
    for (const user of added) await user.client.connect();
    this.users.push(...added);
    return added;
  }

  /** Starts sending: every `intervalMs`, each user a DM to the next, and one channel post. */
  start(intervalMs = 100): void {
    this.stopped = false;
    this.running = (async () => {
      while (!this.stopped) {
        await this.tick();
        await sleep(intervalMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /** Forgets what was sent and answered, so the next result covers one scenario. */
  reset(): void {
    this.expected.clear();
    this.answers.length = 0;
    this.sentAt.clear();
    this.sent = 0;
  }

  /** One round of traffic; resolves once every request was answered. */
  async tick(): Promise<void> {
    const n = this.round++;
    const { users } = this;
    const work = users.map((from, i) => {
      const to = users[(i + 1) % users.length]!;
      return this.request([to.userId], () => from.client.send(to.userId, { n }));
    });
    const poster = users[n % users.length]!;
    work.push(
      this.request(
        users.map((u) => u.userId),
        () => poster.client.sendChannel(CHANNEL, { n }),
      ),
    );
    await Promise.all(work);
  }

  /** Waits until every 202'd message reached its recipients (or `timeoutMs`), then tallies. */
  async result(
    fault: string,
    tried: string,
    recoveryMs: number | null,
    timeoutMs = 10_000,
    notes: Record<string, number | string> = {},
  ): Promise<FaultResult> {
    // One more round after the fault: a message whose push was lost behind an outage shows as a
    // seq gap to the SDK, which fetches it from history.
    await this.tick();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.missingCount() > 0) await sleep(50);
    let expected = 0;
    for (const ids of this.expected.values()) expected += ids.size;
    const missing = this.missingCount();
    let duplicatesShown = 0;
    let rawDuplicates = 0;
    for (const user of this.users) {
      const mine = this.expected.get(user.userId) ?? new Set<string>();
      for (const id of mine) if ((user.seen.get(id) ?? 0) > 1) duplicatesShown++;
      for (const ids of user.raw.sockets) {
        const counts = new Map<string, number>();
        for (const id of ids) if (mine.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
        for (const count of counts.values()) if (count > 1) rawDuplicates++;
      }
    }
    const refused: Record<string, number> = {};
    for (const a of this.answers)
      if (a.status !== 202) refused[a.status] = (refused[a.status] ?? 0) + 1;
    return {
      fault,
      tried,
      sent: this.sent,
      accepted: this.answers.filter((a) => a.status === 202).length,
      refused,
      expected,
      received: expected - missing,
      missing,
      duplicatesShown,
      rawDuplicates,
      recoveryMs,
      memoryMb: await peakMemoryMb(this.cluster),
      notes,
    };
  }

  /** The users connected to `node` now. */
  on(node: ImNodeHandle): LoadUser[] {
    return this.users.filter((u) => u.nodeIds[u.nodeIds.length - 1] === node.nodeId);
  }

  /**
   * Resolves when every one of `users` is connected to a node other than `away` after `since`:
   * the time from `since` to the last of them (ms).
   */
  async reconnected(users: LoadUser[], since: number, away: string, timeoutMs = 15_000) {
    const back = (u: LoadUser) =>
      u.client.status === "connected" &&
      u.connectedAt > since &&
      u.nodeIds[u.nodeIds.length - 1] !== away;
    const deadline = Date.now() + timeoutMs;
    while (!users.every(back)) {
      if (Date.now() > deadline) {
        const late = users
          .filter((u) => !back(u))
          .map((u) => `${u.name}: ${u.client.status} via ${u.nodeIds.slice(-3).join(",")}`);
        throw new Error(`not reconnected within ${timeoutMs} ms: ${late.join("; ")}`);
      }
      await sleep(5);
    }
    return Math.max(...users.map((u) => u.connectedAt)) - since;
  }

  /** 202 answers to requests sent after `from` and answered before `to`. */
  acceptedBetween(from: number, to: number): number {
    return this.answers.filter((a) => a.status === 202 && a.started > from && a.at < to).length;
  }

  /** The slowest answer that was not a 202 (ms): how long a refusal took. */
  slowestRefusal(): number {
    return Math.max(0, ...this.answers.filter((a) => a.status !== 202).map((a) => a.ms));
  }

  /** The first 202 answered after `since` (ms after it), or null. */
  firstAcceptedAfter(since: number): number | null {
    const first = this.answers.find((a) => a.status === 202 && a.at > since);
    return first ? first.at - since : null;
  }

  /** Latency percentile (ms) from request to the recipient's app, over ids sent in [from, to). */
  latency(percentile: number, users: LoadUser[], from = 0, to = Infinity): number {
    const samples: number[] = [];
    for (const user of users)
      for (const [id, at] of user.seenAt) {
        const sent = this.sentAt.get(id);
        if (sent !== undefined && sent >= from && sent < to) samples.push(at - sent);
      }
    samples.sort((a, b) => a - b);
    if (samples.length === 0) return NaN;
    return samples[Math.min(samples.length - 1, Math.floor((percentile / 100) * samples.length))]!;
  }

  disconnectAll(): void {
    for (const user of this.users) user.client.disconnect();
  }

  private missingCount(): number {
    let missing = 0;
    for (const user of this.users)
      for (const id of this.expected.get(user.userId) ?? []) if (!user.seen.has(id)) missing++;
    return missing;
  }

  private async request(recipients: string[], send: () => Promise<{ id: string }>): Promise<void> {
    this.sent++;
    const started = Date.now();
    try {
      const { id } = await send();
      this.sentAt.set(id, started);
      for (const userId of recipients) {
        let ids = this.expected.get(userId);
        if (!ids) this.expected.set(userId, (ids = new Set()));
        ids.add(id);
      }
    } catch {
      // Refused for good (the SDK's outbox gave up): its answers are already in `answers`.
    }
  }

  /**
   * The SDK's fetch, recording every answer to a send as it comes off the wire: the outbox posts
   * a send again after a 503, so what the server answered each attempt is only seen here.
   */
  private recordingSends(inner: typeof fetch): typeof fetch {
    return async (input, init) => {
      const path = new URL(String(input)).pathname;
      const isSend =
        init?.method === "POST" &&
        (path === "/api/messages" || /^\/api\/channels\/[^/]+\/messages$/.test(path));
      const started = Date.now();
      try {
        const response = await inner(input, init);
        if (isSend) this.answer(started, response.status);
        return response;
      } catch (err) {
        if (isSend) this.answer(started, 0);
        throw err;
      }
    };
  }

  private answer(started: number, status: number): void {
    const at = Date.now();
    this.answers.push({ started, at, status, ms: at - started });
  }

  private async user(name: string): Promise<LoadUser> {
    const raw = new RawPushes();
    const nodeIds: string[] = [];
    const client = new HeraldClient({
      baseUrl: this.cluster.business.url,
      io: raw.io,
      reconnect: { minDelayMs: 50, maxDelayMs: 500 },
      fetch: this.recordingSends(recordingConnects(nodeIds)),
    });
    await client.register(name, PASSWORD);
    const { userId } = await client.login(name, PASSWORD);
    await client.joinChannel(CHANNEL);
    const user: LoadUser = {
      name,
      userId,
      client,
      raw,
      nodeIds,
      seen: new Map(),
      seenAt: new Map(),
      connectedAt: 0,
    };
    client.on("message", (m) => {
      if ("broadcast" in m) return;
      const id = (m as MessagePush).id;
      user.seen.set(id, (user.seen.get(id) ?? 0) + 1);
      if (!user.seenAt.has(id)) user.seenAt.set(id, Date.now());
    });
    client.on("status", (status) => {
      if (status === "connected") user.connectedAt = Date.now();
    });
    return user;
  }
}

/** The highest resident memory of the cluster's imServer processes now (MB). */
export async function peakMemoryMb(cluster: TestCluster): Promise<number> {
  const values = await Promise.all(
    cluster.nodes.map(async (node) => {
      try {
        const text = await (await fetch(`${node.url}/metrics`)).text();
        const line = text.split("\n").find((l) => l.startsWith("process_resident_memory_bytes "));
        return Number(line?.split(" ")[1] ?? 0) / 2 ** 20;
      } catch {
        return 0; // a node just killed
      }
    }),
  );
  return Math.round(Math.max(0, ...values));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
