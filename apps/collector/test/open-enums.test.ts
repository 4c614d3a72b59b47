/**
 * Issue "Tolerant parsing" and "Server requests are all classified", end to end: a newer
 * app-server (a scripted peer) sends a thread status, a turn status and server request methods
 * this version does not know. Nothing is dropped: the thread shows `unknown:paused` in memory, in
 * Postgres and in GET /api/v1/threads (filterable by it), the turn keeps `unknown:cancelled`
 * (counted as neither completed nor failed), every request is recorded under its kind, each unknown
 * variant is counted in /metrics, and the collector answers none of the requests.
 */
import { type ScriptedPeer, startScriptedPeer } from "@codex-fleet/codex-fakes/scripted-peer";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createDb, type Db } from "@codex-fleet/db/client";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { ThreadDetailSchema, ThreadListSchema } from "@codex-fleet/protocol/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningCollector, startCollector } from "./support/collector.ts";

let db: TestDatabase;
let pool: Db;
let peer: ScriptedPeer;
let collector: RunningCollector;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = createDb({ url: db.url, poolMax: 1 });
  peer = await startScriptedPeer({
    script: (c) => {
      const now = Math.floor(Date.now() / 1000);
      const thread = (id: string, status: unknown) => ({
        id,
        model: "gpt-5.4",
        createdAt: now,
        updatedAt: now,
        status,
      });
      c.send({
        method: "thread/started",
        params: { thread: thread("th-new", { type: "active", activeFlags: [] }) },
      });
      c.send({
        method: "turn/started",
        params: { threadId: "th-new", turn: { id: "tu-1", status: "inProgress" } },
      });
      c.send({
        id: 1,
        method: "mcpServer/elicitation/request",
        params: { threadId: "th-new", turnId: "tu-1" },
      });
      c.send({
        id: 2,
        method: "item/tool/call",
        params: { threadId: "th-new", turnId: "tu-1", callId: "c-1" },
      });
      c.send({ id: 3, method: "brand/newRequest", params: { threadId: "th-new", turnId: "tu-1" } });
      c.send({ method: "thread/status/changed", params: { threadId: "th-new", status: { type: "paused" } } });
      c.send({
        method: "turn/completed",
        params: { threadId: "th-new", turn: { id: "tu-1", status: "cancelled", completedAt: now } },
      });
      c.send({ method: "thread/started", params: { thread: thread("th-idle", { type: "idle" }) } });
    },
  });
  collector = await startCollector({
    dbUrl: db.url,
    poolMax: db.poolMax,
    targets: [{ name: "newer", team: "core", url: peer.url, token: "t" }],
  });
}, 60_000);

afterAll(async () => {
  await collector?.stop().catch(() => {});
  await peer?.close();
  await pool?.close();
  await db?.drop();
}, 30_000);

describe("a newer app-server's unknown variants", () => {
  it("are kept, stored, listed, filterable and counted; no request is answered", async () => {
    const c = collector;
    await waitUntil("both threads seen", () => c.fleet.threads.get("th-idle") !== undefined);
    await c.fleet.flush();

    const state = c.fleet.threads.get("th-new");
    expect(state).toMatchObject({
      status: "unknown:paused",
      lastTurnId: "tu-1",
      lastTurnStatus: "unknown:cancelled",
    });
    // The turn ended (turn/completed) but cleared only its own requests: the three were on tu-1.
    expect(state?.currentTurnId).toBeNull();

    const all = ThreadListSchema.parse(await c.get("/api/v1/threads"));
    expect(all.find((t) => t.id === "th-new")).toMatchObject({
      status: "unknown:paused",
      lastTurnStatus: "unknown:cancelled",
    });
    const paused = ThreadListSchema.parse(await c.get("/api/v1/threads?status=unknown:paused"));
    expect(paused.map((t) => t.id)).toEqual(["th-new"]);
    const idle = ThreadListSchema.parse(await c.get("/api/v1/threads?status=idle"));
    expect(idle.map((t) => t.id)).toEqual(["th-idle"]);
    const both = ThreadListSchema.parse(await c.get("/api/v1/threads?status=idle,unknown:paused"));
    expect(both.map((t) => t.id).sort()).toEqual(["th-idle", "th-new"]);
    for (const bad of ["paused", "unknown:", `unknown:${"x".repeat(101)}`]) {
      const r = await c.app.inject({
        method: "GET",
        url: `/api/v1/threads?status=${encodeURIComponent(bad)}`,
      });
      expect(r.statusCode).toBe(400);
    }

    const detail = ThreadDetailSchema.parse(await c.get("/api/v1/threads/th-new"));
    expect(detail.turns.map((t) => t.status)).toEqual(["unknown:cancelled"]);

    const { rows } = await pool.pool.query(
      `SELECT th.status, th.last_turn_status, tu.status AS turn_status, tu.end_counted
       FROM thread th JOIN turn tu ON tu.thread_id = th.id WHERE th.id = 'th-new'`,
    );
    expect(rows).toEqual([
      {
        status: "unknown:paused",
        last_turn_status: "unknown:cancelled",
        turn_status: "unknown:cancelled",
        end_counted: false,
      },
    ]);

    const metrics = (await c.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toContain('codex_fleet_unknown_variants_total{field="threadStatus",value="paused"} 1');
    expect(metrics).toContain('codex_fleet_unknown_variants_total{field="turnStatus",value="cancelled"} 1');
    expect(metrics).toContain(
      'codex_fleet_unknown_variants_total{field="requestKind",value="brand/newRequest"} 1',
    );
    expect(metrics).not.toContain('value="elicitation"');
    expect(peer.responsesFromClient()).toEqual([]);
  }, 60_000);

  it("records every server request under its own kind", async () => {
    const c = collector;
    // A fresh thread whose requests stay pending (no turn/completed for them).
    peer.connections[0]?.send({
      id: 10,
      method: "item/tool/call",
      params: { threadId: "th-idle", turnId: "tu-9" },
    });
    peer.connections[0]?.send({
      id: 11,
      method: "mcpServer/elicitation/request",
      params: { threadId: "th-idle" },
    });
    peer.connections[0]?.send({
      id: 12,
      method: "applyPatchApproval",
      params: { conversationId: "th-idle" },
    });
    await waitUntil(
      "requests recorded",
      () => (c.fleet.threads.get("th-idle")?.pendingRequests.length ?? 0) === 3,
    );
    expect(c.fleet.threads.get("th-idle")?.pendingRequests.map((r) => r.requestKind)).toEqual([
      "toolCall",
      "elicitation",
      "fileChangeApproval",
    ]);
    expect(peer.responsesFromClient()).toEqual([]);
  }, 30_000);
});
