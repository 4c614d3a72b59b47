import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MODELS } from "../../src/simulator/catalog.ts";
import { SimClock } from "../../src/simulator/clock.ts";
import { createPrng } from "../../src/simulator/prng.ts";
import { Scheduler } from "../../src/simulator/scheduler.ts";
import { SimServer, type SimServerOptions, type Violation } from "../../src/simulator/sim-server.ts";
import type { SimThread } from "../../src/simulator/state.ts";
import { type Outcome, runTurn } from "../../src/simulator/turn-scripts.ts";

type Frame = {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: unknown;
  error?: { code: number; message: string };
};

let violations: Violation[];
let scheduler: Scheduler;

function makeServer(overrides: Partial<SimServerOptions> = {}): SimServer {
  return new SimServer({
    name: "alice",
    team: "payments",
    token: null,
    prng: createPrng("server"),
    clock: new SimClock(),
    scheduler,
    unloadAfterMs: 60_000,
    responseDelayMs: 0,
    maxInFlightRequests: Number.POSITIVE_INFINITY,
    originator: "codex_vscode",
    platform: "Debian 12.0.0; x86_64) xterm",
    codexHome: "/home/alice/.codex",
    onViolation: (v) => violations.push(v),
    ...overrides,
  });
}

/** A client that records frames; `request` sends and returns the id. */
function client(server: SimServer, initialize = true) {
  const frames: Frame[] = [];
  let nextId = 1;
  const conn = server.attach({ send: (t) => frames.push(JSON.parse(t) as Frame), close: () => {} });
  const send = (frame: unknown) => server.receive(conn, JSON.stringify(frame));
  const request = (method: string, params: unknown = {}): number => {
    const id = nextId++;
    send({ id, method, params });
    return id;
  };
  const answer = (id: number) => frames.find((f) => f.id === id && f.method === undefined);
  const methods = () => frames.filter((f) => f.method !== undefined).map((f) => f.method);
  if (initialize) {
    request("initialize", { clientInfo: { name: "observer", version: "1" }, capabilities: null });
    send({ method: "initialized" });
  }
  return { frames, request, answer, methods, send, conn };
}

function thread(server: SimServer): SimThread {
  const t = server.createThread({
    model: MODELS[0] as (typeof MODELS)[number],
    cwd: "/home/alice/src/ledger",
    gitInfo: null,
  });
  t.contextTokens = 5_000;
  return t;
}

/** A turn whose waits resolve at once; requests are answered (or interrupted) right away. */
function turn(server: SimServer, t: SimThread, outcome: Outcome, interrupt = false) {
  return runTurn(
    {
      server,
      thread: t,
      prng: createPrng("turn"),
      wait: () => Promise.resolve(),
      react: () => ({ afterMs: 0, interrupt }),
    },
    "hello",
    outcome,
  );
}

/** Model and tool steps pass at once; the developer's 1e9 ms answer delay never does. */
const neverIfLong = (ms: number): Promise<void> => (ms >= 1e9 ? new Promise(() => {}) : Promise.resolve());

beforeEach(() => {
  vi.useFakeTimers({ now: 1_795_000_000_000 });
  violations = [];
  scheduler = new Scheduler();
});
afterEach(() => {
  scheduler.close();
  vi.useRealTimers();
});

describe("SimServer", () => {
  it("does send thread events to every connection and turn events only to subscribers", async () => {
    const server = makeServer();
    const a = client(server);
    const b = client(server);
    const t = thread(server);
    await turn(server, t, "completed");
    a.request("thread/resume", { threadId: t.id, excludeTurns: true });
    await turn(server, t, "completed");
    expect(new Set(b.methods())).toEqual(
      new Set([
        "remoteControl/status/changed",
        "thread/started",
        "thread/status/changed",
        "thread/goal/cleared",
      ]),
    );
    expect(a.methods()).toEqual(
      expect.arrayContaining(["turn/started", "thread/tokenUsage/updated", "turn/completed"]),
    );
  });

  it.each([
    ["a thread before its first turn", true],
    ["an unknown thread", false],
  ])("does answer thread/resume of %s with -32600 no rollout found", (_name, exists) => {
    const server = makeServer();
    const c = client(server);
    const threadId = exists ? thread(server).id : "01a1fd1e-0000-7000-8000-000000000000";
    const id = c.request("thread/resume", { threadId, excludeTurns: true });
    expect(c.answer(id)?.error).toEqual({
      code: -32600,
      message: `no rollout found for thread id ${threadId}`,
    });
  });

  it("does answer thread/unsubscribe with unsubscribed, then notSubscribed, and notLoaded after unload", async () => {
    const server = makeServer();
    const c = client(server);
    const t = thread(server);
    await turn(server, t, "completed");
    c.request("thread/resume", { threadId: t.id, excludeTurns: true });
    const statuses = [
      c.request("thread/unsubscribe", { threadId: t.id }),
      c.request("thread/unsubscribe", { threadId: t.id }),
    ];
    server.releaseThread(t);
    vi.advanceTimersByTime(60_000);
    statuses.push(c.request("thread/unsubscribe", { threadId: t.id }));
    expect(statuses.map((id) => c.answer(id)?.result)).toEqual([
      { status: "unsubscribed" },
      { status: "notSubscribed" },
      { status: "notLoaded" },
    ]);
  });

  it("does unload an idle thread unloadAfterMs after its last subscriber left, not before", async () => {
    const server = makeServer({ unloadAfterMs: 60_000 });
    const c = client(server);
    const t = thread(server);
    await turn(server, t, "completed");
    c.request("thread/resume", { threadId: t.id, excludeTurns: true });
    server.releaseThread(t);
    vi.advanceTimersByTime(120_000);
    expect(t.loaded).toBe(true);
    c.request("thread/unsubscribe", { threadId: t.id });
    vi.advanceTimersByTime(59_999);
    expect(c.methods()).not.toContain("thread/closed");
    vi.advanceTimersByTime(1);
    expect(c.frames.slice(-2).map((f) => [f.method, f.params?.status])).toEqual([
      ["thread/status/changed", { type: "notLoaded" }],
      ["thread/closed", undefined],
    ]);
  });

  it("does replay the cumulative total to a cold resumer only", async () => {
    const server = makeServer({ unloadAfterMs: 10 });
    const a = client(server);
    const b = client(server);
    const t = thread(server);
    await turn(server, t, "completed");
    await turn(server, t, "toolCall");
    server.releaseThread(t);
    vi.advanceTimersByTime(10);
    a.request("thread/resume", { threadId: t.id, excludeTurns: true });
    const replay = a.frames.filter((f) => f.method === "thread/tokenUsage/updated");
    expect(replay).toHaveLength(1);
    const usage = replay[0]?.params?.tokenUsage as { total: unknown } | undefined;
    expect(usage?.total).toEqual(t.total);
    expect(b.methods()).not.toContain("thread/tokenUsage/updated");
    expect(t.loaded).toBe(true);
  });

  it("does replay a pending approval to a late subscriber 50 ms after it resumes", async () => {
    const server = makeServer();
    const late = client(server);
    const t = thread(server);
    await turn(server, t, "completed");
    // The developer never answers within this test: run until the request is pending.
    const running = runTurn(
      {
        server,
        thread: t,
        prng: createPrng("x"),
        wait: neverIfLong,
        react: () => ({ afterMs: 1e9, interrupt: false }),
      },
      "approve?",
      "approval",
    );
    void running;
    await vi.advanceTimersByTimeAsync(0);
    expect(t.pending).not.toBeNull();
    late.request("thread/resume", { threadId: t.id, excludeTurns: true });
    expect(late.methods()).not.toContain("item/commandExecution/requestApproval");
    vi.advanceTimersByTime(50);
    const replayed = late.frames.find((f) => f.method === "item/commandExecution/requestApproval");
    expect(replayed?.id).toBe(t.pending?.id);
  });

  it("does record a violation and honour the first answer when a client answers a server request", async () => {
    const server = makeServer();
    const c = client(server);
    const t = thread(server);
    await turn(server, t, "completed");
    c.request("thread/resume", { threadId: t.id, excludeTurns: true });
    const running = runTurn(
      {
        server,
        thread: t,
        prng: createPrng("y"),
        wait: neverIfLong,
        react: () => ({ afterMs: 1e9, interrupt: false }),
      },
      "approve?",
      "approval",
    );
    await vi.advanceTimersByTimeAsync(0);
    const request = c.frames.find((f) => f.method === "item/commandExecution/requestApproval");
    c.send({ id: request?.id, result: { decision: "decline" } });
    await running;
    expect(violations.map((v) => [v.kind, v.client])).toEqual([["response", "observer"]]);
    const done = c.frames.filter((f) => f.method === "item/completed").at(-2)?.params?.item as {
      status?: string;
    };
    expect(done.status).toBe("declined");
  });

  it("does record a violation for a request that would change the developer's session", () => {
    const server = makeServer();
    const c = client(server);
    const id = c.request("turn/start", { threadId: "x", input: [] });
    expect(c.answer(id)?.error?.code).toBe(-32600);
    expect(violations.map((v) => v.kind)).toEqual(["mutatingRequest"]);
  });

  it("does refuse requests before initialize", () => {
    const server = makeServer();
    const c = client(server, false);
    const id = c.request("thread/loaded/list", {});
    expect(c.answer(id)?.error).toEqual({ code: -32600, message: "Not initialized" });
  });

  it("does answer -32001 when more requests are in flight than allowed", () => {
    const server = makeServer({ responseDelayMs: 100, maxInFlightRequests: 2 });
    const c = client(server, false);
    const ids = [1, 2, 3].map(() => c.request("initialize", { clientInfo: { name: "x", version: "1" } }));
    expect(c.answer(ids[2] as number)?.error).toEqual({
      code: -32001,
      message: "Server overloaded; retry later.",
    });
    vi.advanceTimersByTime(100);
    expect(c.answer(ids[0] as number)?.result).toBeDefined();
  });

  it("does report plan windows for a developer on a plan, and refuses the read for an API-key one", async () => {
    const server = makeServer({
      plan: { planType: "plus", primaryTokens: 1_000_000, secondaryTokens: 10_000_000 },
    });
    const c = client(server);
    const t = thread(server);
    const readId = c.request("account/rateLimits/read", { excludeResetCreditDetails: true });
    const read = c.answer(readId)?.result as {
      rateLimits: {
        planType: string;
        primary: { usedPercent: number; windowDurationMins: number; resetsAt: number };
      };
      rateLimitsByLimitId: Record<string, unknown>;
    };
    expect(read.rateLimits.planType).toBe("plus");
    expect(read.rateLimits.primary.windowDurationMins).toBe(300);
    expect(read.rateLimits.primary.resetsAt * 1000).toBeGreaterThan(Date.now());
    expect(Object.keys(read.rateLimitsByLimitId)).toEqual(["codex"]);
    const before = read.rateLimits.primary.usedPercent;

    await turn(server, t, "completed"); // a thread can be resumed once it has a turn
    c.request("thread/resume", { threadId: t.id, excludeTurns: true });
    for (let i = 0; i < 5; i++) await turn(server, t, "completed");
    const updates = c.frames.filter((f) => f.method === "account/rateLimits/updated");
    expect(updates.length).toBeGreaterThan(0);
    const last = updates.at(-1)?.params?.rateLimits as {
      planType: unknown;
      primary: { usedPercent: number };
    };
    // The header route never fills planType (facts); the window grew with the tokens used.
    expect(last.planType).toBeNull();
    // Each % is rounded on its own: the growth equals the tokens served, ±1 point.
    const servedPct = (server.served.totalTokens / 1_000_000) * 100;
    expect(servedPct).toBeGreaterThan(2);
    expect(Math.abs(last.primary.usedPercent - before - servedPct)).toBeLessThanOrEqual(1);

    const apiKey = makeServer({ plan: null });
    const k = client(apiKey);
    const refused = k.request("account/rateLimits/read", { excludeResetCreditDetails: true });
    expect(k.answer(refused)?.error).toEqual({
      code: -32600,
      message: "codex account authentication required to read rate limits",
    });
  });
});
