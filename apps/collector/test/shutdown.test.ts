/**
 * Graceful shutdown of the real collector process (main.ts): SIGTERM while token reports are
 * still buffered for a slow (or briefly unreachable) Postgres writes them all, closes the socket
 * to the app-server with a close frame, and exits 0 within the 10 s grace period; when Postgres
 * stays away for the whole grace period it gives up in time with exit code 1. The target is a
 * scripted peer that streams cumulative token totals; Postgres sits behind a TCP proxy that adds
 * latency or cuts the link. Totals are checked in the database itself afterwards.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  type PeerConnection,
  type ScriptedPeer,
  startScriptedPeer,
  waitFor,
} from "@codex-fleet/codex-fakes/scripted-peer";
import { startTcpProxy, type TcpProxy, throughProxy } from "@codex-fleet/codex-fakes/tcp-proxy";
import { createDb, type Db } from "@codex-fleet/db/client";
import { threadTotals } from "@codex-fleet/db/repositories/threads-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type CollectorChild, spawnCollector, writeChildConfig } from "./support/collector-child.ts";

const GRACE_MS = 10_000;
const THREADS = 10;
const REPORTS_PER_THREAD = 4;
/** Latency the proxy adds to every chunk, each way (a transaction makes ~6 round trips per report). */
const SLOW_MS = Number(process.env.SHUTDOWN_PG_DELAY_MS ?? 5);

let db: TestDatabase;
let direct: Db;
let pgProxy: TcpProxy;
let peer: ScriptedPeer;
let child: CollectorChild | null = null;
let run = 0;

const counts = (n: number) => ({
  totalTokens: n,
  inputTokens: n - 10,
  cachedInputTokens: Math.floor(n / 4),
  outputTokens: 10,
  reasoningOutputTokens: 2,
});

/** Stream cumulative totals for this run's threads; resolves with the last total per thread. */
function streamUsage(c: PeerConnection, wave: number, last: Map<string, number>): void {
  for (let i = 0; i < THREADS; i++) {
    const threadId = `shutdown-${run}-${i}`;
    if (wave === 0) {
      c.send({
        method: "thread/started",
        params: { thread: { id: threadId, status: { type: "active", activeFlags: [] }, model: "gpt-5.5" } },
        emittedAtMs: Date.now(),
      });
    }
    for (let k = 0; k < REPORTS_PER_THREAD / 2; k++) {
      const total = (last.get(threadId) ?? 0) + 1000 + i * 7 + k;
      last.set(threadId, total);
      c.send({
        method: "thread/tokenUsage/updated",
        params: {
          threadId,
          turnId: `${threadId}-turn-${wave}`,
          tokenUsage: { total: counts(total), last: counts(1000), modelContextWindow: 200_000 },
        },
        emittedAtMs: Date.now(),
      });
    }
  }
}

async function backlog(c: CollectorChild): Promise<number> {
  const text = await fetch(`${c.baseUrl}/metrics`).then((r) => r.text());
  return Number(/^codex_fleet_ingest_backlog (\d+)$/m.exec(text)?.[1] ?? Number.NaN);
}

interface Outcome {
  code: number | null;
  shutdownMs: number;
  backlogAtSigterm: number;
  closeCode: number;
  last: Map<string, number>;
}

/** Start a collector, stream totals with Postgres made slow/cut by `degrade`, SIGTERM it. */
async function sigtermWithBufferedWrites(
  degrade: () => void,
  whileStopping = async () => {},
): Promise<Outcome> {
  run++;
  pgProxy.delayMs = 0;
  pgProxy.restore();
  const config = writeChildConfig({
    dbUrl: throughProxy(db.url, pgProxy),
    targets: [{ name: "peer", url: peer.url, token: null }],
  });
  const c = await spawnCollector(config);
  child = c;
  await waitFor(
    "the collector connected",
    () =>
      peer.connections.length === run &&
      peer.connections[run - 1]?.received.some((r) => r.frame?.method === "initialized") === true,
  );
  const conn = peer.connections[run - 1] as PeerConnection;
  let closeCode = -1;
  conn.ws.on("close", (code) => {
    closeCode = code;
  });
  degrade();
  const last = new Map<string, number>();
  streamUsage(conn, 0, last);
  // The first batch is in flight (slow); the second wave waits in the buffer behind it.
  await sleep(200);
  streamUsage(conn, 1, last);
  let backlogAtSigterm = 0;
  await waitFor("reports buffered", async () => {
    backlogAtSigterm = await backlog(c);
    return backlogAtSigterm > 0;
  });
  const t0 = Date.now();
  const exitedAt = c.exited.then(() => Date.now());
  c.kill("SIGTERM");
  await whileStopping();
  const { code } = await c.exited;
  const shutdownMs = (await exitedAt) - t0;
  child = null;
  await conn.closed;
  return { code, shutdownMs, backlogAtSigterm, closeCode, last };
}

async function expectWritten(last: Map<string, number>): Promise<void> {
  for (const [threadId, total] of last) {
    const t = await threadTotals({ pool: direct.pool, threadId });
    expect({ threadId, total: t?.totalTokens }).toEqual({ threadId, total });
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  direct = createDb({ url: db.url, poolMax: 2 });
  const pg = new URL(db.url);
  pgProxy = await startTcpProxy({ targetHost: pg.hostname, targetPort: Number(pg.port || 5432) });
  peer = await startScriptedPeer();
}, 60_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail" && child) console.error(child.output().slice(-6000));
  child?.kill("SIGKILL");
  child = null;
});

afterAll(async () => {
  await peer?.close();
  await pgProxy?.close();
  await direct?.close();
  await db?.drop();
});

describe("SIGTERM to the collector process", () => {
  it("writes every buffered total, closes the app-server socket and exits 0 within 10 s when Postgres is slow", async () => {
    const o = await sigtermWithBufferedWrites(() => {
      pgProxy.delayMs = SLOW_MS;
    });
    console.log(
      `[shutdown] Postgres +${SLOW_MS} ms per chunk each way: backlog ${o.backlogAtSigterm} ops at SIGTERM, exit ${o.code} after ${o.shutdownMs} ms, peer saw close ${o.closeCode}`,
    );
    expect(o.code).toBe(0);
    expect(o.shutdownMs).toBeLessThan(GRACE_MS);
    expect(o.closeCode).toBe(1001);
    await expectWritten(o.last);
  }, 60_000);

  it("waits for Postgres to come back within the grace period, then writes everything and exits 0", async () => {
    const o = await sigtermWithBufferedWrites(
      () => pgProxy.cut(),
      async () => {
        await sleep(2000);
        pgProxy.restore();
      },
    );
    console.log(
      `[shutdown] Postgres cut, back 2 s after SIGTERM: backlog ${o.backlogAtSigterm} ops, exit ${o.code} after ${o.shutdownMs} ms`,
    );
    expect(o.code).toBe(0);
    expect(o.shutdownMs).toBeLessThan(GRACE_MS);
    await expectWritten(o.last);
  }, 60_000);

  it("gives up within the grace period with exit code 1 when Postgres stays unreachable", async () => {
    const o = await sigtermWithBufferedWrites(() => pgProxy.cut());
    console.log(
      `[shutdown] Postgres cut for good: backlog ${o.backlogAtSigterm} ops, exit ${o.code} after ${o.shutdownMs} ms`,
    );
    expect(o.code).toBe(1);
    expect(o.shutdownMs).toBeLessThan(GRACE_MS + 1000);
    pgProxy.restore();
  }, 60_000);
});
