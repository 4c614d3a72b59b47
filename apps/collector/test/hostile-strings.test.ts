/**
 * Issue "Hostile input, round two", finding 1: one app-server that sends huge strings — a
 * 4,000-character random model name with a token report, `model/rerouted` to one, a 4 MiB `cwd`, a
 * 1 MiB thread name, a server request whose `threadId` has 6,000 characters, a token report with a
 * 6,000-character turn id — must never stall the fleet's accounting. Beside it a real
 * `codex app-server` runs turns: its totals stay exact and prompt, the hostile thread's tokens are
 * counted too (under the cut model name), nothing is refused by Postgres, and every stored string
 * is within its stated limit (packages/protocol/src/bounds.ts).
 */
import { randomBytes } from "node:crypto";
import { type AppServer, startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient, type DevClient } from "@codex-fleet/codex-fakes/dev-client";
import { type MockModel, startMockModel } from "@codex-fleet/codex-fakes/mock-model";
import {
  type PeerConnection,
  type ScriptedPeer,
  startScriptedPeer,
} from "@codex-fleet/codex-fakes/scripted-peer";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createDb, type Db } from "@codex-fleet/db/client";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { CUT_MARKER, WIRE_LIMITS } from "@codex-fleet/protocol/bounds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningCollector, startCollector } from "./support/collector.ts";

/** Random, so that Postgres cannot compress an index key below its limit (a repeated letter can). */
const random = (chars: number) =>
  randomBytes(Math.ceil((chars * 3) / 4))
    .toString("base64")
    .slice(0, chars);
const LONG_MODEL = random(4000);
const LONG_TO_MODEL = random(4000);
const HUGE_CWD = `/${"d".repeat(4 * 2 ** 20)}`;
const HUGE_NAME = random(2 ** 20);
const LONG_THREAD_ID = random(6000);
const total = (n: number) => ({
  totalTokens: n,
  inputTokens: n,
  cachedInputTokens: 0,
  outputTokens: 0,
  reasoningOutputTokens: 0,
});

let mock: MockModel;
let server: AppServer;
let db: TestDatabase;
let pool: Db;
let dev: DevClient;
let hostile: ScriptedPeer;
let collector: RunningCollector;

function misbehave(c: PeerConnection): void {
  const now = Math.floor(Date.now() / 1000);
  c.send({
    method: "thread/started",
    params: {
      thread: {
        id: "th-long",
        model: LONG_MODEL,
        cwd: HUGE_CWD,
        name: HUGE_NAME,
        gitInfo: { branch: random(5000), originUrl: `https://example.com/${random(5000)}`, sha: null },
        status: { type: "active", activeFlags: [] },
        createdAt: now,
        updatedAt: now,
      },
    },
  });
  c.send({
    method: "turn/started",
    params: { threadId: "th-long", turn: { id: "tu-1", status: "inProgress" } },
  });
  c.send({
    method: "thread/tokenUsage/updated",
    params: { threadId: "th-long", turnId: "tu-1", tokenUsage: { total: total(700), last: total(700) } },
  });
  c.send({
    method: "model/rerouted",
    params: { threadId: "th-long", turnId: "tu-1", fromModel: LONG_MODEL, toModel: LONG_TO_MODEL },
  });
  c.send({
    method: "thread/tokenUsage/updated",
    params: {
      threadId: "th-long",
      turnId: random(6000),
      tokenUsage: { total: total(1000), last: total(300) },
    },
  });
  c.send({
    id: 99,
    method: "item/commandExecution/requestApproval",
    params: { threadId: LONG_THREAD_ID, turnId: "tu-1", itemId: "i-1", command: `echo ${random(10_000)}` },
  });
  c.send({ method: "thread/name/updated", params: { threadId: "th-long", threadName: HUGE_NAME } });
}

beforeAll(async () => {
  mock = await startMockModel();
  const push = mock.push.bind(mock);
  mock.push = (...steps) => push(...steps.map((s) => (s.kind === "reply" ? { delayMs: 600, ...s } : s)));
  [server, db] = await Promise.all([
    startAppServer({ modelUrl: mock.baseUrl, name: "hostile-strings-good" }),
    createTestDatabase(),
  ]);
  pool = createDb({ url: db.url, poolMax: 1 });
  dev = await connectDevClient({ url: server.url, token: server.token, name: "codex_vscode" });
  hostile = await startScriptedPeer({ script: misbehave });
  collector = await startCollector({
    dbUrl: db.url,
    poolMax: db.poolMax,
    targets: [
      { name: "good", team: "core", url: server.url, token: server.token },
      { name: "long", team: "core", url: hostile.url, token: "long-token" },
    ],
    observer: { idleUnsubscribeMs: 60_000 },
  });
  const c = collector;
  await waitUntil("both open", () =>
    ["good", "long"].every((n) => c.fleet.targets.get(n)?.status.state === "open"),
  );
}, 60_000);

afterAll(async () => {
  await collector?.stop().catch(() => {});
  await dev?.close().catch(() => {});
  await hostile?.close();
  await server?.dispose();
  await mock?.close();
  await pool?.close();
  await db?.drop();
}, 30_000);

describe("an app-server that sends huge strings", () => {
  it("never stalls another target's accounting and is counted itself, every string within its limit", async () => {
    const threadId = await dev.startThread({ cwd: server.cwd });
    mock.push({ kind: "reply", usage: { input: 1200, cached: 200, output: 80, reasoning: 10 } });
    await dev.waitForTurnCompleted(threadId, await dev.startTurn(threadId, "beside a hostile peer"));
    const c = collector;
    await waitUntil("the good thread counted exactly", async () => {
      await c.fleet.flush();
      const want = mock.servedByThread.get(threadId)?.totalTokens;
      return want !== undefined && c.fleet.threads.get(threadId)?.countedTotalTokens === want;
    });
    await waitUntil("the hostile thread counted", async () => {
      await c.fleet.flush();
      return c.fleet.threads.get("th-long")?.countedTotalTokens === 1000;
    });
    // Postgres refused nothing: no row was dropped, no write is waiting.
    expect(c.fleet.writer.dropped).toBe(0);
    expect(c.fleet.writer.backlog).toBe(0);

    const { rows } = await pool.pool.query<{
      model: string;
      cwd: string;
      name: string;
      git_branch: string;
      counted: number;
    }>(
      "SELECT model, cwd, name, git_branch, counted_total_tokens::float8 AS counted FROM thread WHERE id = 'th-long'",
    );
    const row = rows[0];
    expect(row?.counted).toBe(1000);
    expect(row?.model.length).toBeLessThanOrEqual(WIRE_LIMITS.model);
    expect(row?.model.endsWith(CUT_MARKER)).toBe(true);
    expect(row?.cwd.length).toBe(WIRE_LIMITS.cwd);
    expect(row?.name.length).toBe(WIRE_LIMITS.name);
    expect(row?.git_branch.length).toBe(WIRE_LIMITS.gitBranch);
    const models = await pool.pool.query<{ model: string; total: number }>(
      "SELECT model, sum(total_tokens)::float8 AS total FROM usage_hourly WHERE target_id = 'long' GROUP BY model",
    );
    expect(models.rows.reduce((a, r) => a + r.total, 0)).toBe(1000);
    for (const r of models.rows) expect(r.model.length).toBeLessThanOrEqual(WIRE_LIMITS.model);

    // The server request was recorded without its unusable thread id, and never answered.
    expect(hostile.responsesFromClient()).toEqual([]);
    const metrics = (await c.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).not.toContain(LONG_THREAD_ID);

    // What the API answers about the hostile target is bounded too.
    const threads = await c.app.inject({ method: "GET", url: "/api/v1/threads" });
    expect(threads.statusCode).toBe(200);
    expect(threads.body.length).toBeLessThan(64 * 1024);
  }, 60_000);
});
