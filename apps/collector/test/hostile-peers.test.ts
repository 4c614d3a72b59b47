/**
 * One collector, one real `codex app-server` 0.169.0 with a developer running turns, and three
 * hostile targets: one sends garbage, binary, wrong types, unknown methods, stray responses, a
 * server request and an oversize frame on every connection; one floods 50,000 valid-but-useless
 * notifications and then 5,000 garbage frames; one refuses the upgrade with 401. The good target's
 * totals stay exact, every target's state tells what went wrong, nothing throws, memory stays
 * bounded, and the collector never answers anything.
 */
import { randomBytes } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type AppServer, startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient, type DevClient } from "@codex-fleet/codex-fakes/dev-client";
import { type MockModel, startMockModel } from "@codex-fleet/codex-fakes/mock-model";
import {
  type PeerConnection,
  type ScriptedPeer,
  startScriptedPeer,
  waitFor,
} from "@codex-fleet/codex-fakes/scripted-peer";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { TargetView } from "@codex-fleet/protocol/api";
import { ALLOWED_CLIENT_METHODS } from "@codex-fleet/protocol/wire";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RunningCollector, startCollector } from "./support/collector.ts";

const FLOOD_VALID = 50_000;
const FLOOD_GARBAGE = 5_000;
/** The connection's default (not configurable): past this many invalid frames a minute, drop the peer. */
const MAX_INVALID_PER_MINUTE = 1000;
const MAX_PAYLOAD_BYTES = 256 * 1024;
/** Invalid frames the garbage peer sends per connection before its oversize frame. */
const GARBAGE_INVALID_PER_CONNECTION = 8;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function heapUsedAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

let mock: MockModel;
let server: AppServer;
let db: TestDatabase;
let dev: DevClient;
let garbage: ScriptedPeer;
let flood: ScriptedPeer;
let locked: ScriptedPeer;
let collector: RunningCollector;
/** Every state change of every target, as the fleet reported it. */
const history = new Map<string, { state: string; reason: string | null; error: string | null }[]>();
let openFloodGate!: () => void;
const floodGate = new Promise<void>((r) => {
  openFloodGate = r;
});
let floodFinished!: () => void;
const floodDone = new Promise<void>((r) => {
  floodFinished = r;
});
const thrown: unknown[] = [];
const recordThrow = (err: unknown) => thrown.push(err);

/** Everything the garbage peer does on every connection, in order. */
function misbehave(c: PeerConnection): void {
  c.sendText("}{ this is not json");
  c.sendBinary(randomBytes(64));
  c.sendText("[]");
  c.sendText("null");
  c.send({ method: "thread/started", params: { thread: { id: 42, status: "busy" } } });
  c.send({
    method: "thread/tokenUsage/updated",
    params: { threadId: "evil", turnId: "t", tokenUsage: { total: { totalTokens: "all of them" } } },
  });
  c.send({ method: "turn/completed", params: { threadId: ["x"], turn: null } });
  c.send({ id: 424_242, result: { thread: { id: "never-asked" } } });
  c.send({ method: `hostile/unknown/${c.index}`, params: { x: 1 } });
  c.send({
    id: 7,
    method: "item/commandExecution/requestApproval",
    params: { threadId: "evil", turnId: "t", itemId: "i", command: "rm -rf ~", cwd: "/" },
  });
  c.send({ method: "thread/goal/updated", params: { pad: "x".repeat(MAX_PAYLOAD_BYTES + 1024) } });
}

async function get<T>(path: string): Promise<T> {
  const res = await collector.app.inject({ method: "GET", url: path });
  if (res.statusCode !== 200) throw new Error(`${path} → ${res.statusCode} ${res.body}`);
  return res.json() as T;
}

async function target(name: string): Promise<TargetView> {
  const rows = await get<TargetView[]>("/api/v1/targets");
  const row = rows.find((r) => r.name === name);
  if (!row) throw new Error(`no target ${name}`);
  return row;
}

/** Poll the API until the target's row matches. */
async function waitForTarget(name: string, match: (t: TargetView) => boolean): Promise<TargetView> {
  let last: TargetView | null = null;
  await waitFor(
    () => `${name} to match (last: ${JSON.stringify(last)})`,
    async () => {
      last = await target(name);
      return match(last);
    },
    20_000,
  );
  return last as unknown as TargetView;
}

async function expectExactTotals(threadId: string): Promise<void> {
  await waitFor(
    () =>
      `thread ${threadId} counted ${mock.servedByThread.get(threadId)?.totalTokens} (has ${collector.fleet.threads.get(threadId)?.countedTotalTokens})`,
    async () => {
      await collector.fleet.flush();
      const want = mock.servedByThread.get(threadId)?.totalTokens;
      return want !== undefined && collector.fleet.threads.get(threadId)?.countedTotalTokens === want;
    },
    20_000,
  );
}

beforeAll(async () => {
  process.on("uncaughtException", recordThrow);
  process.on("unhandledRejection", recordThrow);
  mock = await startMockModel();
  // Turns must outlast the observer's resume round trip (facts §2), as in collector.real.test.ts;
  // with a flood and hostile reconnects in the same process, give them more room than there.
  const push = mock.push.bind(mock);
  mock.push = (...steps) => push(...steps.map((s) => (s.kind === "reply" ? { delayMs: 600, ...s } : s)));
  [server, db] = await Promise.all([
    startAppServer({ modelUrl: mock.baseUrl, name: "hostile-good" }),
    createTestDatabase(),
  ]);
  dev = await connectDevClient({ url: server.url, token: server.token, name: "codex_vscode" });
  garbage = await startScriptedPeer({
    // Wrong types in answers too: the observer's backfill must give up, not crash.
    answer: (m) =>
      m === "thread/loaded/list"
        ? { result: { data: 5 } }
        : m === "thread/list"
          ? { result: "nope" }
          : undefined,
    script: misbehave,
  });
  flood = await startScriptedPeer({
    script: (c) => {
      if (c.index > 0) return; // Quiet after the first connection: the collector must recover.
      return floodGate
        .then(async () => {
          const pad = "n".repeat(900);
          await c.flood(FLOOD_VALID, (i) =>
            JSON.stringify(
              i % 2 === 0
                ? { method: "thread/queue/changed", params: { threadId: "flood", i, pad }, emittedAtMs: 1 }
                : { method: "fleet-test/noise", params: { i, pad } },
            ),
          );
          await c.flood(FLOOD_GARBAGE, (i) => `garbage #${i} ${pad.slice(0, 40)}`);
        })
        .finally(floodFinished);
    },
  });
  locked = await startScriptedPeer({
    upgrade: { kind: "refuse", status: 401, body: "invalid websocket bearer token" },
  });
  collector = await startCollector({
    dbUrl: db.url,
    poolMax: db.poolMax,
    targets: [
      { name: "good", team: "core", url: server.url, token: server.token },
      { name: "garbage", url: garbage.url, token: "garbage-token" },
      { name: "flood", url: flood.url, token: "flood-token" },
      { name: "locked", url: locked.url, token: "wrong-token" },
    ],
    // The thread stays subscribed between turns: no resubscribe race for a turn after a pause.
    observer: {
      minBackoffMs: 1000,
      maxBackoffMs: 2000,
      maxPayloadBytes: MAX_PAYLOAD_BYTES,
      idleUnsubscribeMs: 60_000,
    },
  });
  collector.fleet.subscribe({
    targetChanged: (rt) => {
      const list = history.get(rt.config.name) ?? [];
      list.push({ state: rt.status.state, reason: rt.status.reason, error: rt.status.error });
      history.set(rt.config.name, list);
    },
  });
  await waitFor("good and flood open", () =>
    ["good", "flood"].every((n) => collector.fleet.targets.get(n)?.status.state === "open"),
  );
}, 60_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail") {
    console.error(server.stderr().slice(-3000));
    console.error(
      collector?.logs
        .filter((l) => l.includes('"good"'))
        .slice(-60)
        .join(""),
    );
  }
});

afterAll(async () => {
  openFloodGate();
  await collector?.stop().catch(() => {});
  await dev?.close().catch(() => {});
  await Promise.all([garbage, flood, locked].map((p) => p?.close()));
  await server?.dispose();
  await mock?.close();
  await db?.drop();
  process.off("uncaughtException", recordThrow);
  process.off("unhandledRejection", recordThrow);
}, 30_000);

describe("a collector with hostile peers", () => {
  let threadId: string;

  it("does count the good target exactly while the flood runs, with memory bounded", async () => {
    threadId = await dev.startThread({ cwd: server.cwd });
    mock.push({ kind: "reply", usage: { input: 1200, cached: 200, output: 80, reasoning: 10 } });
    await dev.waitForTurnCompleted(threadId, await dev.startTurn(threadId, "before the flood"));
    await expectExactTotals(threadId);

    const heapBefore = heapUsedAfterGc();
    openFloodGate();
    // Turns during the flood.
    for (const usage of [
      { input: 3000, cached: 600, output: 120, reasoning: 30 },
      { input: 900, cached: 100, output: 40, reasoning: 0 },
    ]) {
      mock.push({ kind: "reply", usage });
      await dev.waitForTurnCompleted(threadId, await dev.startTurn(threadId, "during the flood"));
    }
    await floodDone;
    const rt = collector.fleet.targets.get("flood");
    await waitFor("flood target dropped", () => (rt?.invalidFrames ?? 0) > MAX_INVALID_PER_MINUTE);
    // Its first backoff as the fleet reported it (the API row is this status): dropped as hostile.
    await waitFor("flood backoff recorded", () =>
      (history.get("flood") ?? []).some((h) => h.state === "backoff"),
    );
    expect(history.get("flood")?.find((h) => h.state === "backoff")).toEqual({
      state: "backoff",
      reason: "protocol",
      error: "too many invalid frames (last: malformed JSON)",
    });
    // Dropped at the first frame past the limit: nothing after it was even parsed.
    expect(rt?.invalidFrames).toBe(MAX_INVALID_PER_MINUTE + 1);
    // Every valid frame before the garbage was processed (none lost, none thrown).
    expect(rt?.unknownMethods?.get("fleet-test/noise")).toBe(FLOOD_VALID / 2);
    const metrics = (await collector.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toContain(
      `codex_fleet_notifications_total{method="thread/queue/changed"} ${FLOOD_VALID / 2}`,
    );

    mock.push({ kind: "reply", usage: { input: 1500, cached: 700, output: 60, reasoning: 0 } });
    await dev.waitForTurnCompleted(threadId, await dev.startTurn(threadId, "after the flood"));
    await expectExactTotals(threadId);
    expect(collector.fleet.threads.get(threadId)?.countedTotalTokens).toBe(1280 + 3120 + 940 + 1560);

    const growthMb = (heapUsedAfterGc() - heapBefore) / 2 ** 20;
    // ~50 MB crossed the wire; keeping even a tenth of it would show. Logged for the report.
    console.info(`heapUsed growth after the flood: ${growthMb.toFixed(1)} MB`);
    expect(growthMb).toBeLessThan(24);
  }, 60_000);

  it("does show each target's state, reason and last error in GET /api/v1/targets", async () => {
    const good = await target("good");
    expect(good).toMatchObject({ state: "open", reason: null, lastError: null });
    expect(good.userAgent).toMatch(/^codex_vscode\/0\.169\.0 /);

    const g = await waitForTarget("garbage", (t) => t.state === "backoff");
    expect(g).toMatchObject({ reason: "protocol" });
    expect(g.lastError).toMatch(/^frame too large: Max payload size exceeded/);

    const l = await waitForTarget("locked", (t) => t.state === "backoff");
    expect(l).toMatchObject({
      reason: "unauthorized",
      lastError: "HTTP 401 (bearer token missing or not accepted)",
    });
    expect(locked.upgrades.every((h) => h.authorization === "Bearer wrong-token")).toBe(true);

    // The flood target was dropped as hostile, then reconnected to a peer that behaves.
    const f = await waitForTarget("flood", (t) => t.state === "open");
    expect(f.lastError).toBe("invalid frame: malformed JSON");
    expect(flood.connections.length).toBeGreaterThanOrEqual(2);

    const body = JSON.stringify(await get<TargetView[]>("/api/v1/targets"));
    for (const secret of [server.token ?? "", "garbage-token", "flood-token", "wrong-token"])
      expect(body).not.toContain(secret);
  });

  it("does count invalid frames per target", async () => {
    const count = (name: string) => collector.fleet.targets.get(name)?.invalidFrames;
    const finished = garbage.connections.filter((c) => !c.isOpen).length;
    expect(finished).toBeGreaterThanOrEqual(1);
    expect(count("garbage")).toBeGreaterThanOrEqual(finished * GARBAGE_INVALID_PER_CONNECTION);
    expect(count("garbage")).toBeLessThanOrEqual(garbage.connections.length * GARBAGE_INVALID_PER_CONNECTION);
    expect(count("flood")).toBe(MAX_INVALID_PER_MINUTE + 1);
    // The real app-server's frames are all understood; a 401 gives no frames at all.
    expect(count("good")).toBe(0);
    expect(count("locked")).toBe(0);
  });

  it("does record the hostile server request and answer nothing, to anyone", async () => {
    expect(collector.fleet.threads.get("evil")?.pendingRequests.map((r) => r.preview)).toEqual(["rm -rf ~"]);
    for (const p of [garbage, flood, locked]) expect(p.responsesFromClient()).toEqual([]);
    let frames = 0;
    for (const [, sent] of collector.sent) {
      for (const f of sent) {
        frames++;
        expect(f).not.toHaveProperty("result");
        expect(f).not.toHaveProperty("error");
        if (f.id === undefined) expect(f.method).toBe("initialized");
        else expect(ALLOWED_CLIENT_METHODS.has(f.method as string)).toBe(true);
      }
    }
    expect(frames).toBeGreaterThan(10);
  });

  it("does never throw", () => {
    expect(thrown).toEqual([]);
    expect(garbage.scriptErrors.concat(flood.scriptErrors)).toEqual([]);
  });
});
