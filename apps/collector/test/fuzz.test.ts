/**
 * Property-based fuzzing (fast-check) of what an app-server can send, > 100,000 generated frames
 * in all: malformed JSON, wrong types, huge and non-finite numbers, deep nesting, unknown methods,
 * valid notifications with mutated fields, server requests and stray responses, oversize frames.
 * 1. `normalizeFrame`, the reducer and the thread view directly: nothing throws, every frame is one
 *    of the three frame types, token counts are never NaN or negative, a valid usage is exact.
 * 2. The same frames over a real socket into a `TargetConnection` (scripted peer on 127.0.0.1:0):
 *    every invalid frame is counted, nothing is ever answered, memory stays bounded, and a frame
 *    over `maxPayloadBytes` drops the connection, which comes back.
 * 3. Frames the normalizer accepts but with extreme values (a timestamp of 1e300, durations and
 *    token counts no column holds), from one target of a real collector writing to Postgres: the
 *    other target's tokens are still counted exactly and the API keeps answering.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { type Frame, normalizeFrame } from "@codex-fleet/protocol/normalize";
import { IGNORED_METHODS } from "@codex-fleet/protocol/wire";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { threadView } from "../src/api/views.ts";
import { type ConnectionStatus, TargetConnection } from "../src/fleet/connection.ts";
import { saneTimes } from "../src/fleet/sane-times.ts";
import { reduce, type ThreadState } from "../src/ingest/thread-state.ts";
import { startCollector } from "./support/collector.ts";
import { type PeerConnection, startScriptedPeer, waitFor } from "./support/scripted-peer.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20261121);
const MAX_PAYLOAD_BYTES = 256 * 1024;
let framesTotal = 0;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const heapAfterGc = () => {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
};

// ---- arbitraries -------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Number literals JSON.stringify cannot write: spliced into the text after stringifying. */
const RAW = [
  "1e400",
  "-1e400",
  "123456789012345678901234567890",
  "-0",
  "1e-400",
  "NaN",
  "Infinity",
  "0x1F",
  "01",
];
const RAW_KEY = "\u0000raw";

const count = fc.oneof(fc.nat({ max: 5_000_000 }), fc.maxSafeNat(), fc.constantFrom(0, MAX_SAFE));
const counts = fc.record({
  totalTokens: count,
  inputTokens: count,
  cachedInputTokens: count,
  outputTokens: count,
  reasoningOutputTokens: count,
  cacheWriteInputTokens: count,
});
const id = fc.oneof(
  fc.constantFrom("th-a", "th-b", "th-c", "turn-1", "turn-2"),
  fc.string({ minLength: 1, maxLength: 30 }),
);
const nowSecs = Math.floor(Date.now() / 1000);
const secs = fc.oneof(
  fc.integer({ min: nowSecs - 86_400, max: nowSecs }),
  fc.double(),
  fc.constantFrom(1e300, -5, 0),
);
const ms = fc.oneof(
  fc.integer({ min: Date.now() - 86_400_000, max: Date.now() }),
  fc.double(),
  fc.constant(1e300),
);
const status = fc.oneof(
  fc.constantFrom({ type: "idle" }, { type: "notLoaded" }, { type: "systemError" }),
  fc.record({
    type: fc.constant("active"),
    activeFlags: fc.array(fc.constantFrom("waitingOnApproval", "waitingOnUserInput", "x"), { maxLength: 3 }),
  }),
);
const turn = fc.record({
  id,
  status: fc.constantFrom("inProgress", "completed", "failed", "interrupted"),
  error: fc.option(
    fc.record({
      message: fc.string(),
      codexErrorInfo: fc.option(
        fc.oneof(fc.string(), fc.constant({ responseStreamDisconnected: { httpStatusCode: 502 } })),
      ),
    }),
  ),
  startedAt: secs,
  completedAt: fc.option(secs),
  durationMs: fc.option(fc.oneof(fc.nat({ max: 600_000 }), fc.double(), fc.constant(1e300))),
});
const note = (method: fc.Arbitrary<string>, params: fc.Arbitrary<unknown>) =>
  fc.record(
    { method, params, emittedAtMs: ms },
    { requiredKeys: ["method", "params"] },
  ) as fc.Arbitrary<Json>;
const c = fc.constant;
/** Notifications, server requests and responses shaped like 0.169.0's (facts §1–§4). */
const wellFormed: fc.Arbitrary<Json> = fc.oneof(
  note(
    c("thread/tokenUsage/updated"),
    fc.record({
      threadId: id,
      turnId: fc.option(id),
      tokenUsage: fc.record({ total: counts, last: counts, modelContextWindow: fc.option(count) }),
    }),
  ),
  note(
    c("thread/started"),
    fc.record({
      thread: fc.record({
        id,
        status,
        model: fc.option(fc.string()),
        cwd: fc.option(fc.string()),
        createdAt: secs,
        updatedAt: secs,
        source: fc.oneof(c("vscode"), fc.jsonValue({ maxDepth: 3 })),
      }),
    }) as fc.Arbitrary<Json>,
  ),
  note(c("thread/status/changed"), fc.record({ threadId: id, status })),
  note(c("thread/closed"), fc.record({ threadId: id })),
  note(
    fc.constantFrom("turn/started", "turn/completed"),
    fc.record({ threadId: id, turn }) as fc.Arbitrary<Json>,
  ),
  note(
    c("error"),
    fc.record({
      threadId: id,
      turnId: fc.option(id),
      willRetry: fc.boolean(),
      error: fc.record({ message: fc.string(), codexErrorInfo: fc.option(fc.string()) }),
    }),
  ),
  note(
    fc.constantFrom("item/started", "item/completed"),
    fc.record({
      threadId: id,
      turnId: id,
      item: fc.record({ id, type: fc.string(), status: fc.jsonValue({ maxDepth: 1 }) }),
    }),
  ),
  note(
    c("model/rerouted"),
    fc.record({ threadId: id, turnId: id, fromModel: fc.string(), toModel: fc.string() }),
  ),
  note(c("serverRequest/resolved"), fc.record({ threadId: id, requestId: fc.oneof(fc.nat(), fc.string()) })),
  note(fc.constantFrom(...IGNORED_METHODS), fc.jsonValue({ maxDepth: 2 })),
  note(fc.string({ maxLength: 60 }), fc.jsonValue({ maxDepth: 2 })),
  fc.record({
    id: fc.oneof(fc.nat(), fc.string()),
    method: fc.constantFrom("item/commandExecution/requestApproval", "item/tool/requestUserInput", "x/y"),
    params: fc.record({ threadId: id, turnId: id, command: fc.oneof(fc.string(), fc.array(fc.string())) }),
  }) as fc.Arbitrary<Json>,
  fc.record({
    id: fc.oneof(fc.integer(), fc.string(), c(null)),
    result: fc.jsonValue({ maxDepth: 2 }),
  }) as fc.Arbitrary<Json>,
  fc.record({
    id: fc.integer(),
    error: fc.record({ code: fc.integer(), message: fc.string() }),
  }) as fc.Arbitrary<Json>,
);

/** Every path in a JSON value, the root included. */
function paths(v: Json, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (Array.isArray(v)) for (const [i, x] of v.entries()) out.push(...paths(x, [...at, i]));
  else if (v !== null && typeof v === "object")
    for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

const weird: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom(null, -1, -0.5, 0.5, 1.5, "", "x", true, [], {}, 2 ** 64, -(2 ** 53), MAX_SAFE + 2, 1e308),
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  fc.nat({ max: RAW.length - 1 }).map((i) => ({ [RAW_KEY]: i })),
);

/** A well-formed frame with 1–3 fields replaced or deleted (or its method renamed). */
const mutated = fc
  .tuple(wellFormed, fc.array(fc.tuple(fc.nat(), fc.boolean(), weird), { minLength: 1, maxLength: 3 }))
  .map(([frame, edits]) => {
    let v = structuredClone(frame);
    for (const [pick, remove, value] of edits) {
      const all = paths(v);
      const path = all[pick % all.length] as (string | number)[];
      if (path.length === 0) {
        v = value;
        continue;
      }
      const parent = path
        .slice(0, -1)
        .reduce<Json>((o, k) => (o as Record<string, Json>)[k] as Json, v) as Record<string, Json>;
      const key = path[path.length - 1] as string;
      if (remove && !Array.isArray(parent)) delete parent[key];
      else parent[key] = value;
    }
    return v;
  });

const toText = (v: Json) =>
  JSON.stringify(v).replace(/\{"\\u0000raw":(\d+)\}/g, (_m, i: string) => RAW[Number(i)] as string);

const deep = fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.nat({ max: 3 })).map(([n, kind]) => {
  const obj = `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
  if (kind === 0) return `${"[".repeat(n)}${"]".repeat(n)}`;
  if (kind === 1) return obj;
  if (kind === 2) return `{"method":"thread/started","params":{"thread":{"id":"deep","source":${obj}}}}`;
  return `{"method":"thread/closed","params":${"[".repeat(n)}`;
});

const garbage = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.json({ maxDepth: 4 }),
  fc.constantFrom(
    "",
    " ",
    "null",
    "[]",
    "{}",
    '{"id":null}',
    '{"method":42}',
    '{"method":"thread/closed"}',
    "}{",
  ),
);

/** One frame's text: mostly well-formed or mutated, some garbage, a few deeply nested. */
const frameText = fc.oneof(
  { weight: 4, arbitrary: wellFormed.map(toText) },
  { weight: 4, arbitrary: mutated.map(toText) },
  { weight: 2, arbitrary: garbage },
  { weight: 1, arbitrary: deep },
);

// ---- checks --------------------------------------------------------------------------------------

const FRAME_TYPES = new Set(["response", "event", "invalid"]);
const states = new Map<string, ThreadState>();

function assertCounts(where: string, cts: Record<string, number>): void {
  for (const [k, n] of Object.entries(cts))
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${where}.${k} = ${n}`);
}

/** Normalize one frame and push its event through the fleet's pure path; throws on any broken property. */
function check(text: string): Frame {
  const now = Date.now();
  const f = normalizeFrame(text, now);
  if (!FRAME_TYPES.has(f.type)) throw new Error(`frame type ${String(f.type)}`);
  if (f.type !== "event") return f;
  if (f.event.kind === "tokenUsage") {
    assertCounts("total", { ...f.event.total });
    assertCounts("last", { ...f.event.last });
  }
  const event = saneTimes(f.event, now);
  const threadId =
    event.kind === "threadStarted" ? event.thread.id : "threadId" in event ? event.threadId : null;
  if (threadId === null) return f;
  const r = reduce(states.get(threadId), "fuzz", event, now);
  if (!r.state) return f;
  if (states.size > 1000) states.clear();
  states.set(threadId, r.state);
  threadView(r.state, "fuzzers"); // every time in it must be a real date
  for (const op of r.ops) if (op.op === "usage") assertCounts("report", { ...op.report.total });
  return f;
}

afterAll(() => console.log(`[fuzz] ${framesTotal} generated frames in all (seed ${SEED})`));

describe("fuzzing what an app-server sends", () => {
  it("normalizes any frame to one of three types without throwing, with sane counts and times", () => {
    fc.assert(
      fc.property(fc.array(frameText, { minLength: 40, maxLength: 40 }), (texts) => {
        for (const t of texts) check(t);
        framesTotal += texts.length;
      }),
      { seed: SEED, numRuns: 1500 },
    );
  });

  it("keeps every counter of a valid token usage exact", () => {
    states.clear();
    fc.assert(
      fc.property(id, counts, counts, (threadId, total, last) => {
        framesTotal++;
        const text = JSON.stringify({
          method: "thread/tokenUsage/updated",
          params: { threadId, turnId: "t", tokenUsage: { total, last } },
        });
        const f = check(text);
        const exact = ({ cacheWriteInputTokens: _, ...rest }: typeof total) => rest;
        expect(
          f.type === "event" && f.event.kind === "tokenUsage" ? [f.event.total, f.event.last] : f,
        ).toEqual([exact(total), exact(last)]);
      }),
      { seed: SEED, numRuns: 10_000 },
    );
  });

  it("counts every invalid frame over a real socket, answers nothing, stays small, and survives an oversize frame", async () => {
    const peer = await startScriptedPeer();
    let seen = 0;
    let invalid = 0;
    let expectedInvalid = 0;
    const statuses: ConnectionStatus[] = [];
    const conn = new TargetConnection(
      {
        url: peer.url,
        token: null,
        connectTimeoutMs: 5000,
        pingIntervalMs: 600_000,
        minBackoffMs: 20,
        maxBackoffMs: 100,
        stableAfterMs: 60_000,
        maxPayloadBytes: MAX_PAYLOAD_BYTES,
        requestTimeoutMs: 5000,
        clientVersion: "fuzz",
        maxInvalidPerMinute: 1e9,
      },
      {
        onOpen: () => {},
        onEvent: () => {},
        onStatus: (s) => statuses.push(s),
        onInvalid: () => invalid++,
        onFrame: () => seen++,
      },
    );
    try {
      conn.start();
      await waitFor("open", () => conn.isReady);
      const c = peer.connections[0] as PeerConnection;
      const heapBefore = heapAfterGc();
      // The handshake's answer went through the same path.
      const handshake = seen;
      let sent = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(frameText, { minLength: 100, maxLength: 100 }), async (texts) => {
          for (const t of texts) {
            const f = normalizeFrame(t, Date.now());
            // Responses: the connection has no request in flight, so every id is unknown.
            if (f.type !== "event") expectedInvalid++;
            c.sendText(t);
          }
          sent += texts.length;
          await waitFor(
            () => `${sent} frames delivered (${seen - handshake})`,
            () => seen - handshake === sent,
          );
          expect(invalid).toBe(expectedInvalid);
          expect(conn.isReady).toBe(true);
        }),
        // No shrinking: the socket and the counters carry state from run to run.
        { seed: SEED, numRuns: 300, endOnFailure: true },
      );
      framesTotal += sent;
      const growthMb = (heapAfterGc() - heapBefore) / 2 ** 20;
      console.log(`[fuzz] socket: ${sent} frames, ${invalid} invalid, heap +${growthMb.toFixed(1)} MB`);
      expect(growthMb).toBeLessThan(32);
      expect(peer.responsesFromClient()).toEqual([]);
      expect(new Set(peer.received.map((r) => r.frame?.method))).toEqual(
        new Set(["initialize", "initialized"]),
      );

      c.sendText(JSON.stringify({ method: "x", params: { pad: "x".repeat(MAX_PAYLOAD_BYTES) } }));
      framesTotal++;
      await waitFor(
        "reconnected after the oversize frame",
        () => peer.connections.length === 2 && conn.isReady,
      );
      expect(statuses.find((s) => s.state === "backoff")).toMatchObject({ reason: "protocol" });
    } finally {
      conn.stop();
      await peer.close();
    }
  }, 60_000);
});

describe("fuzzing the write path with values no column holds", () => {
  let db: TestDatabase;
  afterAll(async () => db?.drop());

  /** Accepted by the normalizer, absurd for the database. */
  const extreme: fc.Arbitrary<Json> = fc.oneof(
    note(
      c("thread/tokenUsage/updated"),
      fc.record({
        threadId: fc.constantFrom("evil-1", "evil-2"),
        turnId: c("evil-turn"),
        tokenUsage: fc.record({ total: counts, last: counts, modelContextWindow: fc.option(count) }),
      }),
    ),
    note(c("turn/completed"), fc.record({ threadId: c("evil-1"), turn })),
    note(
      c("thread/started"),
      fc.record({
        thread: fc.record({ id: c("evil-2"), status, createdAt: secs, updatedAt: secs }),
      }) as fc.Arbitrary<Json>,
    ),
    note(c("thread/status/changed"), fc.record({ threadId: c("evil-1"), status })),
  );

  it("keeps counting another target exactly and keeps the API up whatever one target reports", async () => {
    db = await createTestDatabase();
    const evil = await startScriptedPeer();
    const good = await startScriptedPeer();
    const collector = await startCollector({
      dbUrl: db.url,
      poolMax: db.poolMax,
      targets: [
        { name: "evil", url: evil.url, token: null },
        { name: "good", url: good.url, token: null },
      ],
    });
    try {
      await waitFor("both open", () =>
        [...collector.fleet.targets.values()].every((t) => t.status.state === "open"),
      );
      let goodTotal = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(extreme, { minLength: 10, maxLength: 10 }), async (frames) => {
          for (const f of frames) evil.connections[0]?.sendText(toText(f));
          goodTotal += 100;
          const n = {
            totalTokens: goodTotal,
            inputTokens: goodTotal,
            cachedInputTokens: 0,
            outputTokens: 0,
            reasoningOutputTokens: 0,
          };
          good.connections[0]?.send({
            method: "thread/tokenUsage/updated",
            params: { threadId: "good-1", turnId: "good-turn", tokenUsage: { total: n, last: n } },
          });
          framesTotal += frames.length + 1;
          await waitFor(
            "the good total arrived",
            () => collector.fleet.threads.get("good-1")?.contextTokens === goodTotal,
          );
          await collector.fleet.flush();
          expect(collector.fleet.threads.get("good-1")?.countedTotalTokens).toBe(goodTotal);
          const res = await collector.app.inject({ method: "GET", url: "/api/v1/threads" });
          expect(res.statusCode).toBe(200);
        }),
        { seed: SEED, numRuns: 30, endOnFailure: true },
      );
      console.log(
        `[fuzz] write path: ${collector.fleet.writer.dropped} operations refused by Postgres and dropped`,
      );
    } finally {
      await collector.stop().catch(() => {});
      await evil.close();
      await good.close();
    }
  }, 60_000);
});
