/**
 * The real-peer suite, run once per codex version in CODEX_VERSIONS (the supported floor 0.150.0,
 * 0.169.0 and the newest tested; `CODEX_VERSIONS=0.171.0` env picks a subset): the collector
 * against two real `codex app-server` processes of that version with bearer tokens and a
 * model stand-in that serves known usage. Scenarios run in order on shared servers (the way a
 * fleet lives): a thread created before the collector connected, plain and tool-call turns,
 * HTTP 500, response.failed, an interrupt, an approval the developer answers late, one nobody
 * answers until the developer interrupts, an app-server restart, and two collector restarts
 * (one needing a cold resume). After each: per-thread and per-target totals equal what the
 * stand-in served, to the token; and every frame the collector ever sent is an allowlisted
 * request or `initialized`, never a response.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  type AppServer,
  CODEX_BEHAVIOUR,
  startAppServer,
  testedCodexVersions,
} from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient, type DevClient } from "@codex-fleet/codex-fakes/dev-client";
import { type MockModel, startMockModel, type UsageTotals } from "@codex-fleet/codex-fakes/mock-model";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { ALLOWED_CLIENT_METHODS } from "@codex-fleet/protocol/wire";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RunningCollector, startCollector } from "./support/collector.ts";

describe.each(testedCodexVersions())("codex %s", (version) => {
  let mock: MockModel;
  let a: AppServer;
  let b: AppServer;
  let db: TestDatabase;
  let collector: RunningCollector | null = null;
  const clients: DevClient[] = [];
  /** Every frame any collector instance sent, per target, across restarts. */
  const allSent: { target: string; frame: Record<string, unknown> }[] = [];
  const threadsOf = { a: new Set<string>(), b: new Set<string>() };

  async function dev(server: AppServer): Promise<DevClient> {
    const c = await connectDevClient({ url: server.url, token: server.token, name: "codex_vscode" });
    clients.push(c);
    return c;
  }

  async function startFleetCollector(): Promise<RunningCollector> {
    const c = await startCollector({
      dbUrl: db.url,
      poolMax: db.poolMax,
      targets: [
        { name: "alice", team: "payments", url: a.url, token: a.token },
        { name: "bob", team: "search", url: b.url, token: b.token },
      ],
    });
    collector = c;
    await waitUntil("both targets open", () =>
      [...c.fleet.targets.values()].every((t) => t.status.state === "open"),
    );
    return c;
  }

  async function stopCollector(): Promise<void> {
    if (!collector) return;
    for (const [target, frames] of collector.sent)
      for (const frame of frames) allSent.push({ target, frame });
    await collector.stop();
    collector = null;
  }

  const DAY_MS = 86_400_000;
  const RANGE = `from=${new Date(Date.now() - DAY_MS).toISOString()}&to=${new Date(Date.now() + DAY_MS).toISOString()}`;

  function served(threadId: string): UsageTotals {
    const s = mock.servedByThread.get(threadId);
    if (!s) throw new Error(`the stand-in served nothing for thread ${threadId}`);
    return s;
  }

  async function get<T>(path: string): Promise<T> {
    const c = collector as RunningCollector;
    const res = await c.app.inject({ method: "GET", url: path });
    if (res.statusCode !== 200) throw new Error(`${path} → ${res.statusCode} ${res.body}`);
    return res.json() as T;
  }

  /** Wait until the collector counted exactly what the stand-in served for each thread. */
  async function expectExactTotals(threadIds: string[]): Promise<void> {
    const c = collector as RunningCollector;
    for (const id of threadIds) {
      const want = served(id);
      await waitUntil(
        () => `thread ${id} counted ${want.totalTokens} (has ${c.fleet.threads.get(id)?.countedTotalTokens})`,
        async () => {
          await c.fleet.flush();
          return c.fleet.threads.get(id)?.countedTotalTokens === want.totalTokens;
        },
      );
      const detail = await get<{ counted: Record<string, number>; turns: { totalTokens: number }[] }>(
        `/api/v1/threads/${id}`,
      );
      expect(detail.counted).toEqual({
        inputTokens: want.inputTokens,
        cachedInputTokens: want.cachedInputTokens,
        outputTokens: want.outputTokens,
        reasoningOutputTokens: want.reasoningOutputTokens,
        totalTokens: want.totalTokens,
      });
      // The ledger's per-turn rows add up to the thread total as well.
      expect(detail.turns.reduce((s, t) => s + t.totalTokens, 0)).toBe(want.totalTokens);
    }
  }

  async function expectTargetTotals(): Promise<void> {
    const usage = await get<{ rows: { target: string; totalTokens: number; inputTokens: number }[] }>(
      `/api/v1/usage?${RANGE}&groupBy=target`,
    );
    for (const [name, ids] of [
      ["alice", threadsOf.a],
      ["bob", threadsOf.b],
    ] as const) {
      const want = [...ids].reduce((s, id) => s + (mock.servedByThread.get(id)?.totalTokens ?? 0), 0);
      const wantInput = [...ids].reduce((s, id) => s + (mock.servedByThread.get(id)?.inputTokens ?? 0), 0);
      const row = usage.rows.find((r) => r.target === name);
      expect({
        target: name,
        totalTokens: row?.totalTokens ?? 0,
        inputTokens: row?.inputTokens ?? 0,
      }).toEqual({
        target: name,
        totalTokens: want,
        inputTokens: wantInput,
      });
    }
  }

  beforeAll(async () => {
    mock = await startMockModel();
    // Real model responses take seconds; an instant stand-in makes turns shorter than an observer's
    // resume round trip (facts §2: resuming on `active` is in time for turns of ~50 ms and up).
    const push = mock.push.bind(mock);
    mock.push = (...steps) =>
      push(...steps.map((s) => (s.kind === "reply" || s.kind === "toolCall" ? { delayMs: 400, ...s } : s)));
    [a, b, db] = await Promise.all([
      startAppServer({ modelUrl: mock.baseUrl, name: `fleet-alice-${version}`, version }),
      startAppServer({ modelUrl: mock.baseUrl, name: `fleet-bob-${version}`, version }),
      createTestDatabase(),
    ]);
  }, 60_000);

  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail") {
      for (const s of [a, b]) console.error(s.stderr().slice(-3000));
      if (collector) console.error(collector.logs.slice(-40).join(""));
    }
  });

  afterAll(async () => {
    await stopCollector().catch(() => {});
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await Promise.all([a?.dispose(), b?.dispose()]);
    await mock?.close();
    await db?.drop();
  }, 30_000);

  describe("collector against real app-servers", () => {
    let devA: DevClient;
    let devB: DevClient;
    let early: string;
    let t2: string;
    let t3: string;

    it("counts a thread that had usage before the collector connected, in full", async () => {
      devA = await dev(a);
      devB = await dev(b);
      early = await devA.startThread({ cwd: a.cwd });
      threadsOf.a.add(early);
      mock.push({ kind: "reply", usage: { input: 1200, cached: 200, output: 80, reasoning: 10 } });
      await devA.waitForTurnCompleted(early, await devA.startTurn(early, "before the collector"));

      await startFleetCollector();
      // The thread is known from thread/list backfill without any new turn.
      await waitUntil("early thread known", () => collector?.fleet.threads.has(early) ?? false);
      mock.push({ kind: "reply", usage: { input: 1500, cached: 700, output: 60, reasoning: 0 } });
      await devA.waitForTurnCompleted(early, await devA.startTurn(early, "after"));
      await expectExactTotals([early]);
      // The fleet view names the codex version each target runs (from its initialize userAgent).
      const targets =
        await get<{ name: string; codexVersion: string | null; belowSupportedFloor: boolean }[]>(
          "/api/v1/targets",
        );
      expect(targets.map((t) => [t.name, t.codexVersion, t.belowSupportedFloor]).sort()).toEqual([
        ["alice", version, false],
        ["bob", version, false],
      ]);
      // Turn rows are written after the totals (another batch): wait for both turns' outcomes.
      const detail = () =>
        get<{ turns: { backfill: boolean; status: string }[] }>(`/api/v1/threads/${early}`);
      await waitUntil("both turns stored completed", async () => {
        const turns = (await detail()).turns;
        return turns.length === 2 && turns.every((t) => t.status === "completed");
      });
      expect((await detail()).turns.some((t) => t.backfill)).toBe(true);
    }, 60_000);

    it("counts plain and tool-call turns on both targets exactly", async () => {
      t2 = await devA.startThread({ cwd: a.cwd });
      t3 = await devB.startThread({ cwd: b.cwd });
      threadsOf.a.add(t2);
      threadsOf.b.add(t3);
      mock.push({ kind: "reply", usage: { input: 3000, cached: 600, output: 120, reasoning: 30 } });
      await devA.waitForTurnCompleted(t2, await devA.startTurn(t2, "plain"));
      mock.push(
        {
          kind: "toolCall",
          command: "echo hi",
          usage: { input: 2000, cached: 0, output: 50, reasoning: 20 },
        },
        { kind: "reply", usage: { input: 2600, cached: 2000, output: 70, reasoning: 0 } },
      );
      await devB.waitForTurnCompleted(t3, await devB.startTurn(t3, "use a tool"));
      mock.push({ kind: "reply", usage: { input: 900, cached: 100, output: 40, reasoning: 0 } });
      await devA.waitForTurnCompleted(t2, await devA.startTurn(t2, "plain again"));
      await expectExactTotals([t2, t3]);
      await expectTargetTotals();
      const thread = collector?.fleet.threads.get(t3);
      expect(thread?.status).toBe("idle");
      expect(thread?.lastTurnStatus).toBe("completed");
      expect(thread?.contextTokens).toBe(2670);
    }, 60_000);

    it("records HTTP 500, response.failed and interrupted turns without counting their echoes", async () => {
      mock.push({ kind: "http500" });
      const failed500 = await devB.startTurn(t3, "fails with 500");
      await devB.waitForTurnCompleted(t3, failed500);
      // The status change and the error may arrive in either order (0.150.0 differs from 0.169.0).
      await waitUntil(
        "systemError and its error kind seen",
        () =>
          collector?.fleet.threads.get(t3)?.status === "systemError" &&
          collector?.fleet.threads.get(t3)?.lastCodexErrorInfo === "internalServerError",
      );

      mock.push({ kind: "failed" });
      const failedStream = await devB.startTurn(t3, "fails mid-stream");
      await devB.waitForTurnCompleted(t3, failedStream);

      mock.push({ kind: "hang" });
      const hung = await devA.startTurn(t2, "will be interrupted");
      await mock.waitForHang();
      await waitUntil("t2 active", () => collector?.fleet.threads.get(t2)?.status === "active");
      await devA.interrupt(t2, hung);
      await devA.waitForTurnCompleted(t2, hung);
      mock.releaseHangs();

      await expectExactTotals([t2, t3]);
      // Turn rows are written after the totals: wait for the three outcomes to be stored.
      const stored = async (thread: string, turn: string) =>
        (await get<{ turns: { id: string; status: string }[] }>(`/api/v1/threads/${thread}`)).turns.find(
          (t) => t.id === turn,
        )?.status;
      await waitUntil(
        "three outcomes stored",
        async () =>
          (await stored(t3, failed500)) === "failed" &&
          (await stored(t3, failedStream)) === "failed" &&
          (await stored(t2, hung)) === "interrupted",
      );
      const d3 = await get<{ turns: { id: string; status: string; codexErrorInfo: string | null }[] }>(
        `/api/v1/threads/${t3}`,
      );
      expect(d3.turns.find((t) => t.id === failed500)).toMatchObject({
        status: "failed",
        codexErrorInfo: "internalServerError",
      });
      expect(d3.turns.find((t) => t.id === failedStream)).toMatchObject({
        status: "failed",
        codexErrorInfo: "other",
      });
      const d2 = await get<{ turns: { id: string; status: string }[] }>(`/api/v1/threads/${t2}`);
      expect(d2.turns.find((t) => t.id === hung)?.status).toBe("interrupted");
      const usage = await get<{ rows: { target: string; failedTurns: number }[] }>(
        `/api/v1/usage?${RANGE}&groupBy=target`,
      );
      expect(usage.rows.find((r) => r.target === "bob")?.failedTurns).toBe(2);
      const bobThreads = await get<{ id: string; status: string; lastCodexErrorInfo: string | null }[]>(
        "/api/v1/threads?target=bob&status=idle,systemError",
      );
      expect(bobThreads.find((t) => t.id === t3)?.lastCodexErrorInfo).toBe("other");
    }, 60_000);

    it("shows an approval the developer answers late, and the developer's decision is the one that took effect", async () => {
      const t4 = await devB.startThread({ cwd: b.cwd, approvalPolicy: "untrusted" });
      threadsOf.b.add(t4);
      devB.onServerRequest(async (req) => {
        await new Promise((r) => setTimeout(r, 1500));
        return req.method === "item/commandExecution/requestApproval" ? { decision: "accept" } : undefined;
      });
      mock.push(
        {
          kind: "toolCall",
          command: "touch approved-by-dev.txt",
          usage: { input: 800, cached: 0, output: 30, reasoning: 0 },
        },
        { kind: "reply", usage: { input: 900, cached: 800, output: 25, reasoning: 0 } },
      );
      const turn = await devB.startTurn(t4, "needs approval");
      await waitUntil("collector sees the pending approval", () => {
        const t = collector?.fleet.threads.get(t4);
        return (
          (t?.activeFlags.includes("waitingOnApproval") ?? false) && (t?.pendingRequests.length ?? 0) === 1
        );
      });
      expect(collector?.fleet.threads.get(t4)?.pendingRequests[0]?.preview).toContain(
        "touch approved-by-dev.txt",
      );
      const done = await devB.waitForTurnCompleted(t4, turn);
      expect(done.turn.status).toBe("completed");
      expect(existsSync(join(b.cwd, "approved-by-dev.txt"))).toBe(true);
      await waitUntil(
        "pending cleared",
        () => collector?.fleet.threads.get(t4)?.pendingRequests.length === 0,
      );
      devB.onServerRequest(() => undefined);
      await expectExactTotals([t4]);
    }, 60_000);

    it("keeps an unanswered approval pending until the developer interrupts, without answering it", async () => {
      const t5 = await devA.startThread({ cwd: a.cwd, approvalPolicy: "untrusted" });
      threadsOf.a.add(t5);
      mock.push({
        kind: "toolCall",
        command: "touch nobody-approved.txt",
        usage: { input: 700, cached: 0, output: 20, reasoning: 0 },
        // A model's latency: a brand-new thread's first response must not beat the subscription
        // (else it is pending while the developer keeps the thread loaded — by design).
        delayMs: 500,
      });
      const turn = await devA.startTurn(t5, "nobody answers");
      await waitUntil(
        "waiting on approval",
        () => collector?.fleet.threads.get(t5)?.activeFlags.includes("waitingOnApproval") ?? false,
      );
      // Give a wrongly-built observer every chance to answer.
      await new Promise((r) => setTimeout(r, 2000));
      expect(collector?.fleet.threads.get(t5)?.status).toBe("active");
      await devA.interrupt(t5, turn);
      const done = await devA.waitForTurnCompleted(t5, turn);
      expect(done.turn.status).toBe("interrupted");
      expect(existsSync(join(a.cwd, "nobody-approved.txt"))).toBe(false);
      await waitUntil(
        "pending cleared",
        () => collector?.fleet.threads.get(t5)?.pendingRequests.length === 0,
      );
      await expectExactTotals([t5]);
    }, 60_000);

    it("follows an app-server restart and keeps counting the same threads", async () => {
      await a.restart();
      await waitUntil("alice back open", () => {
        const rt = collector?.fleet.targets.get("alice");
        return rt?.status.state === "open";
      });
      devA = await dev(a);
      await devA.request("thread/resume", { threadId: t2 });
      mock.push({ kind: "reply", usage: { input: 4000, cached: 3000, output: 90, reasoning: 10 } });
      await devA.waitForTurnCompleted(t2, await devA.startTurn(t2, "after restart"));
      await expectExactTotals([t2]);
    }, 60_000);

    it("counts usage that happened while the collector was down (warm thread, then cold resume)", async () => {
      await stopCollector();
      // Warm: bob's thread is still loaded; the next live total covers the missed turn.
      mock.push({ kind: "reply", usage: { input: 1100, cached: 100, output: 35, reasoning: 0 } });
      await devB.waitForTurnCompleted(t3, await devB.startTurn(t3, "while the collector is away"));
      mock.push({ kind: "http500" });
      const failedWhileAway = await devB.startTurn(t3, "fails while the collector is away");
      await devB.waitForTurnCompleted(t3, failedWhileAway);
      // Cold: alice's early thread gets a turn, then the server restarts so the thread is unloaded.
      await devA.request("thread/resume", { threadId: early });
      mock.push({ kind: "reply", usage: { input: 2100, cached: 300, output: 45, reasoning: 5 } });
      await devA.waitForTurnCompleted(early, await devA.startTurn(early, "while away, then unloaded"));
      await devA.close();
      await a.restart();

      await startFleetCollector();
      if (CODEX_BEHAVIOUR[version].coldResumeReplaysUsage) {
        // No new turn on `early`: its total can only come from the cold-resume replay.
        await expectExactTotals([early]);
      } else {
        // This codex's cold resume replays no total: the turn run while the collector was away
        // cannot be read yet. The collector must say so (pending, a lower bound), not hide it.
        const c = collector as RunningCollector;
        await waitUntil("early cold-resumed", () =>
          (c.sent.get("alice") ?? []).some(
            (f) => f.method === "thread/resume" && (f.params as { threadId: string }).threadId === early,
          ),
        );
        await new Promise((r) => setTimeout(r, 1500));
        await c.fleet.flush();
        const counted = c.fleet.threads.get(early)?.countedTotalTokens ?? 0;
        expect(counted).toBeLessThan(served(early).totalTokens);
        expect(c.fleet.threads.get(early)?.owedSinceMs).not.toBeNull();
        const alice = (await get<{ name: string; pendingThreads?: number }[]>("/api/v1/targets")).find(
          (t) => t.name === "alice",
        );
        expect(alice?.pendingThreads).toBeGreaterThanOrEqual(1);
        // The thread's next turn brings the cumulative total: exact again, and no longer pending.
        devA = await dev(a);
        await devA.request("thread/resume", { threadId: early });
        mock.push({ kind: "reply", usage: { input: 700, cached: 0, output: 10, reasoning: 0 } });
        await devA.waitForTurnCompleted(early, await devA.startTurn(early, "back again"));
        await expectExactTotals([early]);
        await waitUntil("early no longer pending", () => c.fleet.threads.get(early)?.owedSinceMs === null);
        await devA.close();
      }
      // Outcomes of turns that ended meanwhile come from thread/turns/list.
      await waitUntil("failed turn backfilled", async () => {
        const d = await get<{ turns: { id: string; status: string; codexErrorInfo: string | null }[] }>(
          `/api/v1/threads/${t3}`,
        );
        const t = d.turns.find((x) => x.id === failedWhileAway);
        return t?.status === "failed" && t.codexErrorInfo === "internalServerError";
      });
      mock.push({ kind: "reply", usage: { input: 1300, cached: 1100, output: 15, reasoning: 0 } });
      await devB.waitForTurnCompleted(t3, await devB.startTurn(t3, "collector is back"));
      await expectExactTotals([early, t2, t3]);
      await expectTargetTotals();
      // The cold-resumed thread is not pinned: the observer unsubscribed it again.
      await waitUntil(
        "early unsubscribed",
        () => !collector?.fleet.targets.get("alice")?.observer.subscribed.includes(early),
      );
    }, 90_000);

    it("sent only allowlisted requests and `initialized`, and never a response", async () => {
      await stopCollector();
      expect(allSent.length).toBeGreaterThan(10);
      const methods = new Set<string>();
      for (const { frame } of allSent) {
        expect(frame).not.toHaveProperty("result");
        expect(frame).not.toHaveProperty("error");
        const method = frame.method as string;
        methods.add(method);
        if (frame.id === undefined) expect(method).toBe("initialized");
        else expect(ALLOWED_CLIENT_METHODS.has(method)).toBe(true);
        if (method === "thread/resume")
          expect((frame.params as { excludeTurns: boolean }).excludeTurns).toBe(true);
      }
      expect([...methods].sort()).toEqual(
        expect.arrayContaining([
          "initialize",
          "initialized",
          "thread/list",
          "thread/loaded/list",
          "thread/resume",
        ]),
      );
    });
  });
});
