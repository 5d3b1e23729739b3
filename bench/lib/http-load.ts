// HTTP load for the send scenario: keep-alive node:http (lighter on the load side than fetch),
// at most `inflight` requests at a time, either back to back (saturation) or started at a fixed
// rate (latency at a given load). Both bounded in count and time.
import { Agent, request } from "node:http";
import { Histogram, type SparseHistogram } from "./stats.js";
import { now, sleep } from "./proc.js";

export interface Answer {
  status: number;
  body: unknown;
}

export function httpJson(
  agent: Agent,
  url: string,
  method: string,
  token?: string,
  body?: unknown,
): Promise<Answer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (payload !== undefined) {
    headers["content-type"] = "application/json";
    headers["content-length"] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null });
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end(payload);
  });
}

export interface LoadFigures {
  requests: number;
  seconds: number;
  statuses: Record<number, number>;
  hist: SparseHistogram;
  /** Requests started late because `inflight` were already out (fixed-rate only). */
  stalls: number;
}

/**
 * Runs `count` requests (`send(i)` resolves with the status), `inflight` at most at a time;
 * with `rate`, started at that many per second (each timed from when it was due), else back to
 * back. Stops at `deadline`.
 */
export async function drive(
  count: number,
  inflight: number,
  send: (i: number) => Promise<number>,
  deadline: number,
  rate?: number,
): Promise<LoadFigures> {
  const hist = new Histogram();
  const statuses: Record<number, number> = {};
  let started = 0;
  let running = 0;
  let stalls = 0;
  const t0 = now();
  // Timed from when the request was due: at a fixed rate, one that waited for a free slot (or
  // for this loop) counts its wait, as a user's would (no coordinated omission).
  const one = async (i: number, due: number) => {
    running++;
    const status = await send(i).catch(() => 0);
    hist.record(now() - due);
    statuses[status] = (statuses[status] ?? 0) + 1;
    running--;
  };
  const all: Promise<void>[] = [];
  if (rate === undefined) {
    const worker = async () => {
      while (started < count && Date.now() < deadline) await one(started++, now());
    };
    for (let w = 0; w < inflight; w++) all.push(worker());
  } else {
    while (started < count && Date.now() < deadline) {
      const due = Math.min(count, Math.floor(((now() - t0) / 1000) * rate));
      while (started < due && running < inflight) {
        all.push(one(started, t0 + (started * 1000) / rate));
        started++;
      }
      if (started < due) stalls++;
      await sleep(1);
    }
  }
  await Promise.all(all);
  return { requests: started, seconds: (now() - t0) / 1000, statuses, hist: hist.take(), stalls };
}
