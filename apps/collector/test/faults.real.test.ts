/**
 * Issue #6: every token the model served is counted exactly once, whatever fails. The real
 * collector against a real `codex app-server` 0.169.0 and the model stand-in, whose served usage
 * is the ground truth, through faults: the collector process SIGKILLed mid-turn and restarted, the
 * app-server restarted mid-turn, the socket to it dropped without a close frame (a proxy resets
 * the TCP connection) and the app-server SIGKILLed, then Postgres unreachable for a while (a proxy
 * cut between the collector and Postgres), once with the writer's buffer bound far below what the
 * outage produces. After each: per-thread and per-target totals equal what the stand-in served,
 * to the token, and no alert is lost or doubled (one alert per identity and episode, each
 * notification delivered once).
 *
 * `FAULT_OUTAGE_MS` sets the Postgres outage (default 5 s; scripts/fault-postgres-outage.sh: 30 s).
 * `FAULT_SLOW=1` adds a scenario that waits for codex's 60 s thread unload.
 */

import { type AppServer, startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient, type DevClient } from "@codex-fleet/codex-fakes/dev-client";
import {
  type MockModel,
  type StepUsage,
  startMockModel,
  type UsageTotals,
} from "@codex-fleet/codex-fakes/mock-model";
import { startTestReceiver, type TestReceiver } from "@codex-fleet/codex-fakes/notification-receiver";
import { startTcpProxy, type TcpProxy, throughProxy } from "@codex-fleet/codex-fakes/tcp-proxy";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { AlertView, ThreadDetail, ThreadView } from "@codex-fleet/protocol/api";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { groupEvents } from "./support/alert-fixtures.ts";
import { type RunningCollector, startFromConfigFile } from "./support/collector.ts";
import { type CollectorChild, spawnCollector, writeChildConfig } from "./support/collector-child.ts";

const OUTAGE_MS = Number(process.env.FAULT_OUTAGE_MS ?? 5000);
const ALERTS_YAML = (hookUrl: string) =>
  [
    "alerts:",
    "  repeatIntervalMs: 0",
    "  evaluateIntervalMs: 200",
    "  settleMs: 500",
    "  rules:",
    "    - { id: target-down, kind: targetUnreachable, forMs: 1500, severity: critical }",
    "  route: { receiver: hook, groupWaitMs: 0, groupIntervalMs: 1 }",
    "  notify:",
    `    - { type: webhook, name: hook, url: '${hookUrl}', minBackoffMs: 50, maxBackoffMs: 500 }`,
  ].join("\n");

let mock: MockModel;
let a: AppServer;
let db: TestDatabase;
let hook: TestReceiver;
/** Collector ↔ app-server: cut to drop the socket without a close frame. */
let wsProxy: TcpProxy;
/** Collector ↔ Postgres: cut for the outage. */
let pgProxy: TcpProxy;
let child: CollectorChild | null = null;
let inProcess: RunningCollector | null = null;
let dev: DevClient;
/** Every thread the developer ran, for the per-target total. */
const threads = new Set<string>();

interface Api {
  get<T>(path: string): Promise<T>;
}

const api = (): Api => {
  const c = child ?? inProcess;
  if (!c) throw new Error("no collector running");
  return c;
};

function u(input: number, cached: number, output: number, reasoning = 0): StepUsage {
  return { input, cached, output, reasoning };
}

function served(threadId: string): UsageTotals {
  const s = mock.servedByThread.get(threadId);
  if (!s) throw new Error(`the stand-in served nothing for thread ${threadId}`);
  return s;
}

async function thread(id: string): Promise<ThreadDetail | null> {
  return api()
    .get<ThreadDetail>(`/api/v1/threads/${id}`)
    .catch(() => null);
}

async function targetState(): Promise<string | undefined> {
  const list = await api()
    .get<{ name: string; state: string }[]>("/api/v1/targets")
    .catch(() => []);
  return list.find((t) => t.name === "alice")?.state;
}

/** Counted totals reach what the stand-in served (never pass it), then match it field by field. */
async function expectExact(ids: string[], timeoutMs = 30_000): Promise<void> {
  for (const id of ids) {
    const want = served(id);
    let got: ThreadDetail | null = null;
    await waitUntil(
      () => `thread ${id} counted ${want.totalTokens} (has ${got?.counted.totalTokens})`,
      async () => {
        got = await thread(id);
        const n = got?.counted.totalTokens ?? 0;
        if (n > want.totalTokens) throw new Error(`thread ${id} counted ${n} > served ${want.totalTokens}`);
        return n === want.totalTokens;
      },
      timeoutMs,
    );
    // Read again: the route reads turns and totals in two queries, so the read that saw the total
    // arrive may have read the turns just before the same commit.
    const detail = (await thread(id)) as ThreadDetail;
    expect(detail.counted).toEqual({
      inputTokens: want.inputTokens,
      cachedInputTokens: want.cachedInputTokens,
      outputTokens: want.outputTokens,
      reasoningOutputTokens: want.reasoningOutputTokens,
      totalTokens: want.totalTokens,
    });
    expect(detail.turns.reduce((s, t) => s + t.totalTokens, 0)).toBe(want.totalTokens);
  }
  const day = 86_400_000;
  const range = `from=${new Date(Date.now() - day).toISOString()}&to=${new Date(Date.now() + day).toISOString()}`;
  const usage = await api().get<{ rows: { target: string; totalTokens: number }[] }>(
    `/api/v1/usage?${range}&groupBy=target`,
  );
  const want = [...threads].reduce((s, id) => s + (mock.servedByThread.get(id)?.totalTokens ?? 0), 0);
  expect(usage.rows.find((r) => r.target === "alice")?.totalTokens).toBe(want);
}

/** Alert events of the group messages received, as `alertId:event` (still-firing listings left out). */
function notified(): string[] {
  return hook.received
    .flatMap((r) => groupEvents(r.body))
    .filter((e) => e.event !== "repeat")
    .map((e) => `${e.alertId}:${e.event}`);
}

/**
 * No alert lost or doubled: at most one open alert per identity, every alert that fired was
 * notified once as firing (and once as resolved if it resolved), and no notification repeats.
 */
async function expectAlertsOnce(): Promise<AlertView[]> {
  const alerts = await api().get<AlertView[]>("/api/v1/alerts");
  const open = alerts.filter((x) => x.state !== "resolved").map((x) => `${x.ruleId}/${x.subjectId}`);
  expect(new Set(open).size).toBe(open.length);
  const owed = alerts.flatMap((x) => [
    ...(x.firingSince ? [`${x.id}:firing`] : []),
    ...(x.firingSince && x.state === "resolved" ? [`${x.id}:resolved`] : []),
  ]);
  await waitUntil(
    () => `notifications ${owed.join(", ")} (have ${notified().join(", ")})`,
    () => owed.every((k) => notified().includes(k)),
  );
  const keys = notified();
  expect(new Set(keys).size).toBe(keys.length);
  return alerts;
}

async function devClient(): Promise<DevClient> {
  dev = await connectDevClient({ url: a.url, token: a.token, name: "codex_vscode" });
  return dev;
}

async function newThread(): Promise<string> {
  const id = await dev.startThread({ cwd: a.cwd });
  threads.add(id);
  return id;
}

async function turn(threadId: string, ...steps: Parameters<MockModel["push"]>): Promise<void> {
  mock.push(...steps);
  await dev.waitForTurnCompleted(threadId, await dev.startTurn(threadId, "work"), 60_000);
}

function childConfig(): string {
  return writeChildConfig({
    dbUrl: db.url,
    targets: [{ name: "alice", team: "payments", url: throughProxy(a.url, wsProxy), token: a.token }],
    extraYaml: ALERTS_YAML(hook.url),
  });
}

beforeAll(async () => {
  mock = await startMockModel();
  // Real model responses take seconds; a stand-in that answers at once makes turns shorter than
  // the observer's resume round trip (facts §2), which is not what these faults are about.
  const push = mock.push.bind(mock);
  mock.push = (...steps) =>
    push(...steps.map((s) => (s.kind === "reply" || s.kind === "toolCall" ? { delayMs: 300, ...s } : s)));
  [a, db, hook] = await Promise.all([
    startAppServer({ modelUrl: mock.baseUrl, name: "faults-alice" }),
    createTestDatabase(),
    startTestReceiver(),
  ]);
  const pg = new URL(db.url);
  [wsProxy, pgProxy] = await Promise.all([
    startTcpProxy({ targetPort: a.port }),
    startTcpProxy({ targetHost: pg.hostname, targetPort: Number(pg.port || 5432) }),
  ]);
  await devClient();
}, 90_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail") {
    console.error(a.stderr().slice(-2000));
    console.error((child?.output() ?? inProcess?.logs.join("") ?? "").slice(-6000));
  }
});

afterAll(async () => {
  child?.kill("SIGKILL");
  await inProcess?.stop().catch(() => {});
  await dev?.close().catch(() => {});
  await a?.dispose();
  await Promise.all([mock?.close(), hook?.close(), wsProxy?.close(), pgProxy?.close()]);
  await db?.drop();
}, 30_000);

describe("the collector process and the app-server fail", () => {
  let t1: string;

  it("counts every token exactly when the collector is SIGKILLed mid-turn and restarted", async () => {
    const config = childConfig();
    child = await spawnCollector(config);
    await waitUntil("alice open", async () => (await targetState()) === "open");
    t1 = await newThread();
    await turn(t1, { kind: "reply", usage: u(1200, 200, 80, 10) });
    await expectExact([t1]);

    // A tool call (counted live), then a reply that is still streaming when the collector dies.
    mock.push(
      { kind: "toolCall", command: "echo one", usage: u(2000, 500, 60, 20) },
      { kind: "reply", usage: u(2600, 2000, 70), delayMs: 3000 },
    );
    const midTurn = await dev.startTurn(t1, "killed mid-turn");
    const before = (await thread(t1))?.counted.totalTokens ?? 0;
    await waitUntil("the tool call's usage counted", async () => {
      return ((await thread(t1))?.counted.totalTokens ?? 0) > before;
    });
    child.kill("SIGKILL");
    expect(await child.exited).toEqual({ code: null, signal: "SIGKILL" });
    child = null;
    // The reply completes while no collector runs.
    await dev.waitForTurnCompleted(t1, midTurn, 30_000);

    child = await spawnCollector(config);
    await waitUntil("alice open again", async () => (await targetState()) === "open");
    // The thread stayed loaded (the developer holds it): a warm resume replays nothing (facts §2),
    // so the next total brings the reply's tokens (Δtotal covers everything missed).
    await turn(t1, { kind: "reply", usage: u(900, 100, 40) });
    await expectExact([t1]);
    const detail = await thread(t1);
    expect(detail?.turns.find((t) => t.id === midTurn)?.status).toBe("completed");
    await expectAlertsOnce();
  }, 120_000);

  it("counts every token exactly when the app-server restarts mid-turn, and raises target-down once", async () => {
    const c = child as CollectorChild;
    const before = (await thread(t1))?.counted.totalTokens ?? 0;
    mock.push({ kind: "toolCall", command: "echo two", usage: u(3000, 600, 120, 30) }, { kind: "hang" });
    await dev.startTurn(t1, "the server restarts under this turn");
    await mock.waitForHang();
    await waitUntil("the tool call's usage counted", async () => {
      return ((await thread(t1))?.counted.totalTokens ?? 0) > before;
    });
    await dev.close();
    await a.stop();
    await waitUntil("target-down firing", async () => {
      const list = await c.get<AlertView[]>("/api/v1/alerts?state=firing");
      return list.some((x) => x.ruleId === "target-down");
    });
    await a.restart();
    mock.releaseHangs();
    await waitUntil("alice open again", async () => (await targetState()) === "open");
    await devClient();
    await dev.request("thread/resume", { threadId: t1 });
    await turn(t1, { kind: "reply", usage: u(4000, 3000, 90, 10) });
    await expectExact([t1]);
    await waitUntil("target-down resolved", async () => {
      const list = await c.get<AlertView[]>("/api/v1/alerts?rule=target-down");
      return list.length > 0 && list.every((x) => x.state === "resolved");
    });
    const alerts = await expectAlertsOnce();
    expect(alerts.filter((x) => x.ruleId === "target-down")).toHaveLength(1);
  }, 120_000);

  it("reconnects and counts a turn exactly when the socket drops mid-turn without a close frame", async () => {
    const c = child as CollectorChild;
    const t2 = await newThread();
    await turn(t2, { kind: "reply", usage: u(700, 0, 20) });
    await expectExact([t2]);
    mock.push({ kind: "reply", usage: u(1500, 700, 60), delayMs: 5000 });
    const dropped = await dev.startTurn(t2, "the socket drops under this turn");
    await waitUntil("t2 active", async () => (await thread(t2))?.status === "active");
    wsProxy.cut();
    await waitUntil("alice dropped", async () => (await targetState()) !== "open");
    const reasons = (await c.get<{ name: string; reason: string | null }[]>("/api/v1/targets")).map(
      (t) => t.reason,
    );
    wsProxy.restore();
    await waitUntil("alice open again", async () => (await targetState()) === "open");
    await dev.waitForTurnCompleted(t2, dropped, 30_000);
    // No further turn: the observer re-subscribed to the still-active thread in time for its total.
    await expectExact([t2]);
    expect(reasons).toEqual(["dropped"]);
    await expectAlertsOnce();
  }, 120_000);

  it("counts every token exactly when the app-server is SIGKILLed mid-turn", async () => {
    const before = (await thread(t1))?.counted.totalTokens ?? 0;
    mock.push({ kind: "toolCall", command: "echo three", usage: u(1100, 100, 35) }, { kind: "hang" });
    await dev.startTurn(t1, "the server dies under this turn");
    await mock.waitForHang();
    await waitUntil("the tool call's usage counted", async () => {
      return ((await thread(t1))?.counted.totalTokens ?? 0) > before;
    });
    await a.kill();
    await dev.close();
    await waitUntil("alice down", async () => (await targetState()) !== "open");
    await a.restart();
    mock.releaseHangs();
    await waitUntil("alice open again", async () => (await targetState()) === "open");
    await devClient();
    await dev.request("thread/resume", { threadId: t1 });
    await turn(t1, { kind: "reply", usage: u(2100, 300, 45, 5) });
    await expectExact([...threads]);
    await expectAlertsOnce();
  }, 120_000);

  it("exits on SIGTERM with code 0", async () => {
    const c = child as CollectorChild;
    c.kill("SIGTERM");
    expect(await c.exited).toEqual({ code: 0, signal: null });
    child = null;
  }, 30_000);
});

describe("Postgres becomes unreachable", () => {
  /** Turns keep running through an outage of `OUTAGE_MS`; the collector buffers, retries, catches up. */
  async function outage(writer: { maxBufferedReports?: number }, label: string): Promise<void> {
    const config = writeChildConfig({
      dbUrl: throughProxy(db.url, pgProxy),
      targets: [{ name: "alice", team: "payments", url: a.url, token: a.token }],
      extraYaml: ALERTS_YAML(hook.url),
    });
    inProcess = await startFromConfigFile(config, { writer });
    const c = inProcess;
    await waitUntil("alice open", () => c.fleet.targets.get("alice")?.status.state === "open");
    const ids = [await newThread(), await newThread()];
    for (const id of ids) await turn(id, { kind: "reply", usage: u(500, 0, 20) });
    await expectExact(ids);

    pgProxy.cut();
    const cutAt = Date.now();
    let turns = 0;
    let peakBacklog = 0;
    const sampler = setInterval(() => {
      peakBacklog = Math.max(peakBacklog, c.fleet.writer.backlog);
    }, 20);
    try {
      while (Date.now() - cutAt < OUTAGE_MS) {
        const id = ids[turns % ids.length] as string;
        await turn(
          id,
          { kind: "toolCall", command: `echo ${turns}`, usage: u(800 + turns, 100, 30, 5) },
          { kind: "reply", usage: u(900 + turns, 800, 25) },
        );
        turns++;
        // The in-memory state stays live while nothing reaches the database.
        const live = await c.get<ThreadView[]>("/api/v1/threads");
        expect(live.find((t) => t.id === id)?.lastTurnStatus).toBe("completed");
      }
      // Still unwritten. Not `backlog > 0` at this instant: a write attempt in flight holds its batch
      // outside the backlog until it fails and puts it back (gate of session 7 read 0 so).
      expect(c.fleet.writer.pendingSinceMs).not.toBeNull();
      expect(peakBacklog).toBeGreaterThan(0);
      expect(await fetch(`${c.baseUrl}/healthz`).then((r) => r.status)).toBe(200);
    } finally {
      clearInterval(sampler);
    }
    const outageMs = Date.now() - cutAt;
    pgProxy.restore();
    const restoredAt = Date.now();
    await expectExact(ids, 60_000);
    const caughtUpMs = Date.now() - restoredAt;
    const compactions = c.fleet.writer.compacted;
    console.log(
      `[fault] ${label}: outage ${outageMs} ms, ${turns} turns (${turns * 2} token reports) during it, ` +
        `peak backlog ${peakBacklog} ops, ${compactions} compactions, ` +
        `refused ${pgProxy.refused} connections, exact again ${caughtUpMs} ms after restore`,
    );
    expect(turns).toBeGreaterThan(0);
    if (writer.maxBufferedReports !== undefined) expect(compactions).toBeGreaterThan(0);
    else expect(compactions).toBe(0);
    await expectAlertsOnce();
    await c.stop();
    inProcess = null;
  }

  it(
    "keeps observing, buffers, retries and ends with exact totals after the outage",
    async () => {
      await outage({}, "Postgres outage");
    },
    120_000 + 2 * OUTAGE_MS,
  );

  it(
    "still counts exactly when the outage overflows the writer's buffer bound (compaction)",
    async () => {
      await outage({ maxBufferedReports: 3 }, "Postgres outage past maxBufferedReports=3");
    },
    120_000 + 2 * OUTAGE_MS,
  );
});

describe.runIf(process.env.FAULT_SLOW === "1")(
  "slow: a warm thread that unloads without another turn",
  () => {
    it("counts a turn that ended while the collector was dead once its thread unloads (cold resume)", async () => {
      const config = childConfig();
      child = await spawnCollector(config);
      await waitUntil("alice open", async () => (await targetState()) === "open");
      const t = await newThread();
      await turn(t, { kind: "reply", usage: u(1200, 200, 80, 10) });
      await expectExact([t]);
      mock.push({ kind: "reply", usage: u(2600, 2000, 70), delayMs: 3000 });
      const killed = await dev.startTurn(t, "killed mid-turn");
      await waitUntil("t active", async () => (await thread(t))?.status === "active");
      child.kill("SIGKILL");
      await child.exited;
      child = null;
      await dev.waitForTurnCompleted(t, killed, 30_000);
      child = await spawnCollector(config);
      await waitUntil("alice open again", async () => (await targetState()) === "open");
      // The developer leaves: codex unloads the idle thread 60 s later (facts §2), with no new total.
      await dev.close();
      await waitUntil("t unloaded", async () => (await thread(t))?.status === "notLoaded", 120_000);
      await expectExact([t]);
      child.kill("SIGTERM");
      await child.exited;
      child = null;
      await devClient();
    }, 200_000);
  },
);
