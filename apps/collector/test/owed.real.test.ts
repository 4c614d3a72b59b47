/**
 * Issue "a thread's total lost across a SIGKILL" (DESIGN "What is owed is persistent"), against a
 * real `codex app-server` 0.169.0 and the model stand-in (`servedByThread` is the ground truth):
 * a developer ran a turn before the collector started and keeps the thread loaded and idle; the
 * compiled collector meets it (its total is owed: a warm resume replays nothing), writes that
 * obligation, moves "last contact" past the thread's update, and is SIGKILLed. The restarted
 * collector no longer finds the thread by `updatedAt`: only the persisted obligation re-arms the
 * recovery. The developer keeps working on another thread, the socket drops and the collector
 * reconnects (its new scan starts past the thread's update too), then the developer leaves; codex unloads the thread
 * 60 s later and the cold resume brings its total. Pending state is visible (thread, target,
 * usage API, /metrics) before, and cleared after, with totals exact to the token.
 * Takes ~75 s (codex's 60 s unload).
 */

import { type AppServer, startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient, type DevClient } from "@codex-fleet/codex-fakes/dev-client";
import { type MockModel, type StepUsage, startMockModel } from "@codex-fleet/codex-fakes/mock-model";
import { startTcpProxy, type TcpProxy, throughProxy } from "@codex-fleet/codex-fakes/tcp-proxy";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createDb, type Db } from "@codex-fleet/db/client";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { TargetView, ThreadDetail, UsageResponse } from "@codex-fleet/protocol/api";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type CollectorChild, spawnCollector, writeChildConfig } from "./support/collector-child.ts";

let mock: MockModel;
let a: AppServer;
let db: TestDatabase;
let sql: Db["pool"];
let dbc: Db;
let dev: DevClient;
let child: CollectorChild | null = null;
/** Collector ↔ app-server: cut to drop the socket without a close frame (a reconnect). */
let wsProxy: TcpProxy;

const u = (input: number, cached: number, output: number, reasoning = 0): StepUsage => ({
  input,
  cached,
  output,
  reasoning,
});

function api(): CollectorChild {
  if (!child) throw new Error("no collector running");
  return child;
}

const detail = (id: string) =>
  api()
    .get<ThreadDetail>(`/api/v1/threads/${id}`)
    .catch(() => null);

async function target(): Promise<TargetView | undefined> {
  const list = await api()
    .get<TargetView[]>("/api/v1/targets")
    .catch(() => []);
  return list.find((t) => t.name === "alice");
}

async function usage(): Promise<UsageResponse> {
  const day = 86_400_000;
  return api().get<UsageResponse>(
    `/api/v1/usage?from=${new Date(Date.now() - day).toISOString()}&to=${new Date(Date.now() + day).toISOString()}&groupBy=target`,
  );
}

async function pendingGauge(): Promise<number | null> {
  const text = await fetch(`${api().baseUrl}/metrics`).then((r) => r.text());
  const line = text
    .split("\n")
    .find((l) => l.startsWith('codex_fleet_threads_pending_recovery{target="alice"}'));
  return line ? Number(line.split(" ").pop()) : null;
}

async function turn(threadId: string, step: StepUsage): Promise<void> {
  mock.push({ kind: "reply", usage: step, delayMs: 300 });
  await dev.waitForTurnCompleted(threadId, await dev.startTurn(threadId, "work"), 60_000);
}

/** Counted totals reach what the stand-in served (never pass it), field by field. */
async function expectExact(id: string, timeoutMs: number): Promise<void> {
  const want = mock.servedByThread.get(id);
  if (!want) throw new Error(`nothing served for ${id}`);
  await waitUntil(
    () => `thread ${id} counted ${want.totalTokens}`,
    async () => {
      const n = (await detail(id))?.counted.totalTokens ?? 0;
      if (n > want.totalTokens) throw new Error(`thread ${id} counted ${n} > served ${want.totalTokens}`);
      return n === want.totalTokens;
    },
    timeoutMs,
  );
  expect((await detail(id))?.counted).toEqual({
    inputTokens: want.inputTokens,
    cachedInputTokens: want.cachedInputTokens,
    outputTokens: want.outputTokens,
    reasoningOutputTokens: want.reasoningOutputTokens,
    totalTokens: want.totalTokens,
  });
}

beforeAll(async () => {
  mock = await startMockModel();
  [a, db] = await Promise.all([
    startAppServer({ modelUrl: mock.baseUrl, name: "owed-alice" }),
    createTestDatabase(),
  ]);
  dbc = createDb({ url: db.url, poolMax: 2 });
  sql = dbc.pool;
  wsProxy = await startTcpProxy({ targetPort: a.port });
  dev = await connectDevClient({ url: a.url, token: a.token, name: "codex_vscode" });
}, 90_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail") {
    console.error(a.stderr().slice(-2000));
    console.error((child?.output() ?? "").slice(-6000));
  }
});

afterAll(async () => {
  child?.kill("SIGKILL");
  await dev?.close().catch(() => {});
  await a?.dispose();
  await dbc?.close().catch(() => {});
  await Promise.all([mock?.close(), wsProxy?.close()]);
  await db?.drop();
}, 30_000);

describe("a thread's total owed across a collector SIGKILL (persisted obligation)", () => {
  it("is recovered after the restart and a reconnect once the thread unloads, exact, and shown pending until then", async () => {
    // The developer works before any collector runs, and keeps the thread loaded and idle.
    const early = await dev.startThread({ cwd: a.cwd });
    await turn(early, u(900, 100, 150));
    // `updatedAt` is in whole seconds and the observer allows 2 s of slack: start clearly later.
    await new Promise((r) => setTimeout(r, 3500));

    const config = writeChildConfig({
      dbUrl: db.url,
      targets: [{ name: "alice", team: "payments", url: throughProxy(a.url, wsProxy), token: a.token }],
    });
    child = await spawnCollector(config);
    // The collector met the thread loaded and idle: its total is owed, in Postgres, and "last
    // contact" has moved past the thread's update (the state that lost 1,050 tokens in the issue).
    await waitUntil("the obligation written and last contact past the thread's update", async () => {
      const { rows } = await sql.query<{ owed: Date | null; updated: Date | null; contact: Date | null }>(
        `SELECT th.owed_since AS owed, th.updated_at AS updated, tg.last_contact_at AS contact
         FROM thread th JOIN target tg ON tg.id = th.target_id WHERE th.id = $1`,
        [early],
      );
      const r = rows[0];
      return !!r?.owed && !!r.updated && !!r.contact && r.contact.getTime() - 2000 > r.updated.getTime();
    });
    const first = await detail(early);
    expect(first?.owedSince).not.toBeNull();
    expect(first?.owedReason).toBe("loadedAtContact");
    expect(first?.counted.totalTokens).toBe(0);

    child.kill("SIGKILL");
    expect(await child.exited).toEqual({ code: null, signal: "SIGKILL" });
    child = await spawnCollector(config);
    await waitUntil("alice open again", async () => (await target())?.state === "open");

    // Still owed after the restart, since the first contact, and shown as such.
    expect((await detail(early))?.owedSince).toBe(first?.owedSince);
    expect((await target())?.pendingThreads).toBe(1);
    expect((await usage()).pendingThreads).toBe(1);
    expect(await pendingGauge()).toBe(1);

    // Developers keep working: a new thread is counted live, and exactly.
    const later = await dev.startThread({ cwd: a.cwd });
    await turn(later, u(2000, 500, 60, 20));
    await expectExact(later, 30_000);
    await waitUntil("the live thread not pending", async () => (await detail(later))?.owedSince == null);

    // The socket drops without a close frame and the collector reconnects: the new connection's
    // scan starts from a cutoff past the thread's update, so only the obligation re-arms it.
    wsProxy.cut();
    await waitUntil("alice dropped", async () => (await target())?.state !== "open");
    wsProxy.restore();
    await waitUntil("alice open after the drop", async () => (await target())?.state === "open");
    expect((await detail(early))?.owedSince).toBe(first?.owedSince);

    // The developer leaves: codex unloads the idle thread 60 s later (facts §2); the cold resume
    // replays its total, which is counted and clears the obligation in the same transaction.
    await dev.close();
    await expectExact(early, 120_000);
    await waitUntil("nothing pending", async () => (await usage()).pendingThreads === 0);
    expect((await detail(early))?.owedSince).toBeNull();
    expect((await target())?.pendingThreads).toBe(0);
    expect(await pendingGauge()).toBe(0);
    const { rows } = await sql.query("SELECT id FROM thread WHERE owed_since IS NOT NULL");
    expect(rows).toEqual([]);
    const byTarget = (await usage()).rows.find((r) => r.target === "alice");
    expect(byTarget?.totalTokens).toBe(
      (mock.servedByThread.get(early)?.totalTokens ?? 0) + (mock.servedByThread.get(later)?.totalTokens ?? 0),
    );
    await api().stop();
    child = null;
  }, 200_000);
});
