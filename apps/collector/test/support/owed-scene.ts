/**
 * The pieces of the "owed total across a restart" drills (owed*.real.test.ts): one real
 * `codex app-server` 0.169.0 with its own model stand-in (`servedByThread` is the ground truth),
 * its own database, a developer's client, and the views of the collector child that follows it
 * (thread, target, usage API and /metrics) to see what is pending and what was counted.
 */
import { type AppServer, startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient, type DevClient } from "@codex-fleet/codex-fakes/dev-client";
import { type MockModel, type StepUsage, startMockModel } from "@codex-fleet/codex-fakes/mock-model";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createDb, type Db } from "@codex-fleet/db/client";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { TargetView, ThreadDetail, UsageResponse } from "@codex-fleet/protocol/api";
import { expect } from "vitest";
import type { CollectorChild } from "./collector-child.ts";

export const u = (input: number, cached: number, output: number, reasoning = 0): StepUsage => ({
  input,
  cached,
  output,
  reasoning,
});

/** One app-server, its model stand-in, a database and the developer; `child` is the collector of the moment. */
export interface OwedScene {
  /** The target's name in the collector's config. */
  name: string;
  mock: MockModel;
  app: AppServer;
  db: TestDatabase;
  /** Straight to Postgres (not through any proxy the collector uses). */
  sql: Db["pool"];
  dev: DevClient;
  child: CollectorChild | null;
  dispose(): Promise<void>;
}

export async function startOwedScene(name: string): Promise<OwedScene> {
  const mock = await startMockModel();
  const [app, db] = await Promise.all([
    startAppServer({ modelUrl: mock.baseUrl, name: `owed-${name}` }),
    createTestDatabase(),
  ]);
  const dbc = createDb({ url: db.url, poolMax: 2 });
  const dev = await connectDevClient({ url: app.url, token: app.token, name: "codex_vscode" });
  const scene: OwedScene = {
    name,
    mock,
    app,
    db,
    sql: dbc.pool,
    dev,
    child: null,
    async dispose() {
      scene.child?.kill("SIGKILL");
      await scene.dev.close().catch(() => {});
      await app.dispose();
      await dbc.close().catch(() => {});
      await mock.close();
      await db.drop();
    },
  };
  return scene;
}

function api(s: OwedScene): CollectorChild {
  if (!s.child) throw new Error(`no collector running for ${s.name}`);
  return s.child;
}

export const detail = (s: OwedScene, id: string) =>
  api(s)
    .get<ThreadDetail>(`/api/v1/threads/${id}`)
    .catch(() => null);

export async function target(s: OwedScene): Promise<TargetView | undefined> {
  const list = await api(s)
    .get<TargetView[]>("/api/v1/targets")
    .catch(() => []);
  return list.find((t) => t.name === s.name);
}

export async function usage(s: OwedScene): Promise<UsageResponse> {
  const day = 86_400_000;
  return api(s).get<UsageResponse>(
    `/api/v1/usage?from=${new Date(Date.now() - day).toISOString()}&to=${new Date(Date.now() + day).toISOString()}&groupBy=target`,
  );
}

export async function pendingGauge(s: OwedScene): Promise<number | null> {
  const text = await fetch(`${api(s).baseUrl}/metrics`).then((r) => r.text());
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`codex_fleet_threads_pending_recovery{target="${s.name}"}`));
  return line ? Number(line.split(" ").pop()) : null;
}

/** Pending shown everywhere the product shows it: thread, target, usage API, /metrics. */
export async function expectPendingShown(s: OwedScene, id: string, owedSince: string | null): Promise<void> {
  expect((await detail(s, id))?.owedSince).toBe(owedSince);
  expect((await target(s))?.pendingThreads).toBe(1);
  expect((await usage(s)).pendingThreads).toBe(1);
  expect(await pendingGauge(s)).toBe(1);
}

/** Nothing pending anywhere, the database included. */
export async function expectNothingPending(s: OwedScene, id: string): Promise<void> {
  await waitUntil("nothing pending", async () => (await usage(s)).pendingThreads === 0);
  expect((await detail(s, id))?.owedSince).toBeNull();
  expect((await target(s))?.pendingThreads).toBe(0);
  expect(await pendingGauge(s)).toBe(0);
  const { rows } = await s.sql.query("SELECT id FROM thread WHERE owed_since IS NOT NULL");
  expect(rows).toEqual([]);
}

/** One turn of the developer, answered by the stand-in with `step`. */
export async function turn(s: OwedScene, threadId: string, step: StepUsage): Promise<void> {
  s.mock.push({ kind: "reply", usage: step, delayMs: 300 });
  await s.dev.waitForTurnCompleted(threadId, await s.dev.startTurn(threadId, "work"), 60_000);
}

/** A thread's row as stored: the obligation, the counted total, and its target's last contact. */
export async function storedThread(s: OwedScene, id: string) {
  const { rows } = await s.sql.query<{
    owed: Date | null;
    updated: Date | null;
    contact: Date | null;
    counted: string;
  }>(
    `SELECT th.owed_since AS owed, th.updated_at AS updated, tg.last_contact_at AS contact,
            th.counted_total_tokens AS counted
     FROM thread th JOIN target tg ON tg.id = th.target_id WHERE th.id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

/**
 * The collector met the thread loaded and idle: its total is owed, in Postgres, and "last contact"
 * has moved past the thread's update (from here on only the obligation finds the thread again).
 */
export async function waitOwedWritten(s: OwedScene, id: string): Promise<void> {
  await waitUntil("the obligation written and last contact past the thread's update", async () => {
    const r = await storedThread(s, id);
    return !!r?.owed && !!r.updated && !!r.contact && r.contact.getTime() - 2000 > r.updated.getTime();
  });
}

/** Counted totals reach what the stand-in served (never pass it), field by field. */
export async function expectExact(s: OwedScene, id: string, timeoutMs: number): Promise<void> {
  const want = s.mock.servedByThread.get(id);
  if (!want) throw new Error(`nothing served for ${id}`);
  await waitUntil(
    () => `thread ${id} counted ${want.totalTokens}`,
    async () => {
      const n = (await detail(s, id))?.counted.totalTokens ?? 0;
      if (n > want.totalTokens) throw new Error(`thread ${id} counted ${n} > served ${want.totalTokens}`);
      return n === want.totalTokens;
    },
    timeoutMs,
  );
  expect((await detail(s, id))?.counted).toEqual({
    inputTokens: want.inputTokens,
    cachedInputTokens: want.cachedInputTokens,
    outputTokens: want.outputTokens,
    reasoningOutputTokens: want.reasoningOutputTokens,
    totalTokens: want.totalTokens,
  });
}

/** What failed, for the log of a failed test. */
export function dumpScene(s: OwedScene): void {
  console.error(`--- ${s.name}: app-server\n${s.app.stderr().slice(-2000)}`);
  console.error(`--- ${s.name}: collector\n${(s.child?.output() ?? "").slice(-6000)}`);
}
