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
import {
  count,
  counts,
  frameText,
  id,
  type Json,
  note,
  secs,
  status,
  toText,
  turn,
} from "@codex-fleet/codex-fakes/frame-arbitraries";
import { type PeerConnection, startScriptedPeer, waitFor } from "@codex-fleet/codex-fakes/scripted-peer";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { WIRE_LIMITS } from "@codex-fleet/protocol/bounds";
import { type Frame, normalizeFrame } from "@codex-fleet/protocol/normalize";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { threadView } from "../src/api/views.ts";
import { type ConnectionStatus, TargetConnection } from "../src/fleet/connection.ts";
import { saneTimes } from "../src/fleet/sane-times.ts";
import { reduce, type ThreadState } from "../src/ingest/thread-state.ts";
import { startCollector } from "./support/collector.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20261121);
const MAX_PAYLOAD_BYTES = 256 * 1024;
let framesTotal = 0;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const heapAfterGc = () => {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
};

// ---- checks --------------------------------------------------------------------------------------

const FRAME_TYPES = new Set(["response", "event", "invalid"]);
const states = new Map<string, ThreadState>();

function assertCounts(where: string, cts: Record<string, number>): void {
  for (const [k, n] of Object.entries(cts))
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${where}.${k} = ${n}`);
}

/** The longest text any limit allows (protocol/bounds.ts). */
const LONGEST_TEXT = Math.max(...Object.values(WIRE_LIMITS));

/** Every string in an event is within the longest limit and storable (no NUL). */
function assertBounded(where: string, v: unknown): void {
  if (typeof v === "string") {
    if (v.length > LONGEST_TEXT) throw new Error(`${where}: ${v.length} characters`);
    if (v.includes("\u0000")) throw new Error(`${where}: contains NUL`);
  } else if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) assertBounded(`${where}[${i}]`, x);
  } else if (v !== null && typeof v === "object")
    for (const [k, x] of Object.entries(v)) assertBounded(`${where}.${k}`, x);
}

/** Normalize one frame and push its event through the fleet's pure path; throws on any broken property. */
function check(text: string): Frame {
  const now = Date.now();
  const f = normalizeFrame(text, now);
  if (!FRAME_TYPES.has(f.type)) throw new Error(`frame type ${String(f.type)}`);
  if (f.type !== "event") return f;
  assertBounded("event", f.event);
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
        // Every counter, cacheWriteInputTokens included (carried since issue 14), exactly as sent.
        expect(
          f.type === "event" && f.event.kind === "tokenUsage" ? [f.event.total, f.event.last] : f,
        ).toEqual([total, last]);
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
      fc.constant("thread/tokenUsage/updated"),
      fc.record({
        threadId: fc.constantFrom("evil-1", "evil-2"),
        turnId: fc.constant("evil-turn"),
        tokenUsage: fc.record({ total: counts, last: counts, modelContextWindow: fc.option(count) }),
      }),
    ),
    note(fc.constant("turn/completed"), fc.record({ threadId: fc.constant("evil-1"), turn })),
    note(
      fc.constant("thread/started"),
      fc.record({
        thread: fc.record({ id: fc.constant("evil-2"), status, createdAt: secs, updatedAt: secs }),
      }) as fc.Arbitrary<Json>,
    ),
    note(fc.constant("thread/status/changed"), fc.record({ threadId: fc.constant("evil-1"), status })),
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
