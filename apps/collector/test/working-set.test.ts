/**
 * The working set (issue 13): a collector holds the threads that are loaded in an app-server, owed
 * a total, or heard from within `retention.threadMemoryDays` (default 7), of targets still enabled;
 * the rest is history, in the database. A real collector on a real Postgres, its sweep run at
 * chosen times: what a restart loads, what the minute sweep forgets, what the API and the live feed
 * say about it.
 */
import { type ScriptedPeer, startScriptedPeer } from "@codex-fleet/codex-fakes/scripted-peer";
import { createDb, type Db } from "@codex-fleet/db/client";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { TargetView, ThreadDetail } from "@codex-fleet/protocol/api";
import { type LiveMessage, parseLiveMessage } from "@codex-fleet/protocol/live";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type RunningCollector, startCollector } from "./support/collector.ts";

const DAY = 86_400_000;
const START = Date.now();

let testDb: TestDatabase;
let db: Db;
let collector: RunningCollector;
let peer: ScriptedPeer;

const ago = (days: number) => new Date(START - days * DAY).toISOString();

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
  await db.pool.query(
    `INSERT INTO target (id, team, url, enabled) VALUES ('dev', 'core', 'ws://127.0.0.1:9', true),
       ('gone', 'core', 'ws://127.0.0.1:9', false)`,
  );
  const rows: [string, string, string, number, boolean][] = [
    ["recent", "dev", "notLoaded", 1, false],
    ["old", "dev", "notLoaded", 30, false],
    ["old-idle", "dev", "idle", 30, false],
    ["old-owed", "dev", "notLoaded", 30, true],
    ["gone-recent", "gone", "notLoaded", 1, false],
  ];
  for (const [id, target, status, days, owed] of rows)
    await db.pool.query(
      `INSERT INTO thread (id, target_id, status, status_since, last_event_at, model, owed_since, owed_at, owed_reason)
       VALUES ($1, $2, $3, $4::timestamptz AT TIME ZONE 'UTC', $4::timestamptz AT TIME ZONE 'UTC', 'gpt-5.5',
         CASE WHEN $5 THEN $4::timestamptz AT TIME ZONE 'UTC' END, CASE WHEN $5 THEN $4::timestamptz AT TIME ZONE 'UTC' END,
         CASE WHEN $5 THEN 'loadedAtContact' END)`,
      [id, target, status, ago(days), owed],
    );
  // The target's app-server: a scripted peer (empty thread lists), whose frames the test sends.
  peer = await startScriptedPeer({});
  collector = await startCollector({
    dbUrl: testDb.url,
    targets: [{ name: "dev", url: peer.url, token: "t" }],
  });
}, 120_000);

afterAll(async () => {
  await collector?.stop();
  await peer?.close();
  await db?.close();
  await testDb?.drop();
});

const held = () => [...collector.fleet.threads.keys()].sort();
const listed = async () => {
  const res = await fetch(`${collector.baseUrl}/api/v1/threads`);
  return {
    total: res.headers.get("x-total-count"),
    ids: ((await res.json()) as { id: string }[]).map((t) => t.id),
  };
};
const threadsOfDev = async () =>
  (await collector.get<TargetView[]>("/api/v1/targets")).find((t) => t.name === "dev")?.threads;

describe("the working set", () => {
  it("holds at start what is loaded, owed or recent, of enabled targets; history is answered from the database", async () => {
    expect(held()).toEqual(["old-idle", "old-owed", "recent"]);
    // (Order aside: the connect may already have marked "old-idle" unloaded, heard from now.)
    const first = await listed();
    expect({ ...first, ids: first.ids.sort() }).toEqual({
      total: "3",
      ids: ["old-idle", "old-owed", "recent"],
    });
    expect(await threadsOfDev()).toBe(3);
    for (const id of ["old", "gone-recent"]) {
      const detail = await collector.get<ThreadDetail>(`/api/v1/threads/${id}`);
      expect(detail).toMatchObject({ id, model: "gpt-5.5", status: "notLoaded" });
    }
  });

  it("forgets a thread once it has not been heard from for threadMemoryDays, and tells live clients", async () => {
    const ws = new WebSocket(`${collector.baseUrl.replace(/^http/, "ws")}/api/v1/live`);
    const messages: LiveMessage[] = [];
    ws.on("message", (data) => {
      const m = parseLiveMessage(String(data));
      if (m) messages.push(m);
    });
    await waitFor(() => messages.some((m) => m.type === "snapshot"));
    // 6 days after "recent" was last heard from: still held.
    expect(collector.fleet.forgetCold(START + 5 * DAY)).toBe(0);
    // Past 7 days: history. Loaded and owed threads stay, however old.
    expect(collector.fleet.forgetCold(START + 6 * DAY + 1000)).toBe(1);
    expect(held()).toEqual(["old-idle", "old-owed"]);
    await waitFor(() => messages.some((m) => m.type === "threadRemoved"));
    expect(messages.filter((m) => m.type === "threadRemoved")).toEqual([
      { type: "threadRemoved", threadId: "recent" },
    ]);
    ws.close();
    expect(await listed()).toEqual({ total: "2", ids: ["old-idle", "old-owed"] });
    expect(await threadsOfDev()).toBe(2);
    expect(await collector.get<ThreadDetail>("/api/v1/threads/recent")).toMatchObject({ id: "recent" });
  });

  it("reads a thread heard from again back from the database before changing it: its usage keeps its model", async () => {
    expect(collector.fleet.threads.has("recent")).toBe(false);
    await waitFor(() => collector.fleet.targets.get("dev")?.status.state === "open");
    const conn = peer.connections.at(-1);
    const usage = {
      totalTokens: 1500,
      inputTokens: 1000,
      cachedInputTokens: 0,
      outputTokens: 500,
      reasoningOutputTokens: 0,
    };
    conn?.send({
      method: "thread/status/changed",
      params: { threadId: "recent", status: { type: "active", activeFlags: [] } },
    });
    conn?.send({
      method: "turn/started",
      params: { threadId: "recent", turn: { id: "turn-again", status: "inProgress" } },
    });
    conn?.send({
      method: "thread/tokenUsage/updated",
      params: { threadId: "recent", turnId: "turn-again", tokenUsage: { total: usage, last: usage } },
    });
    await waitFor(() => collector.fleet.threads.get("recent")?.countedTotalTokens === 1500);
    await collector.fleet.flush();
    const { rows } = await db.pool.query(
      "SELECT model, total_tokens::int AS total FROM usage_event WHERE thread_id = 'recent'",
    );
    // From nothing, the thread's model would be unknown here and its tokens unpriced.
    expect(rows).toEqual([{ model: "gpt-5.5", total: 1500 }]);
    // A thread never stored goes through the same read-back (it finds nothing) and is counted.
    conn?.send({
      method: "thread/tokenUsage/updated",
      params: { threadId: "brand-new", turnId: "turn-new", tokenUsage: { total: usage, last: usage } },
    });
    await waitFor(() => collector.fleet.threads.get("brand-new")?.countedTotalTokens === 1500);
    expect(collector.fleet.threads.get("recent")).toMatchObject({ model: "gpt-5.5", status: "active" });
    const metrics = await (await fetch(`${collector.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^codex_fleet_threads_read_back_total 1$/m);
    expect(metrics).toMatch(/^codex_fleet_threads_forgotten_total 1$/m);
    expect(metrics).toMatch(/^codex_fleet_threads_held 4$/m); // old-idle, old-owed, recent, brand-new
  });

  it("keeps a removed (paused, redefined) target's threads; forgets a deleted target's; loads them when added again", async () => {
    const config = collector.fleet.targets.get("dev")?.config;
    const before = held();
    expect(before).toEqual(["brand-new", "old-idle", "old-owed", "recent"]);
    expect(collector.fleet.removeTarget("dev")).toBe(true);
    expect(held()).toEqual(before);
    collector.fleet.forgetThreadsOf("dev");
    expect(held()).toEqual([]);
    // Added again (a resume, a re-add): its stored working set, the owed thread first of all,
    // is in memory before it connects (the observer re-arms recovery from memory at connect).
    if (!config) throw new Error("no config");
    collector.fleet.addTarget(config);
    await waitFor(() => collector.fleet.threads.has("old-owed"));
    expect(held()).toEqual(before);
    expect(collector.fleet.threads.threadsOf("dev")).toBe(before.length);
    await waitFor(() => collector.fleet.targets.get("dev")?.status.state === "open");
  });
});

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}
