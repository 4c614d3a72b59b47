/**
 * Issue "Hostile input, round two", findings 2 and 3, against a real Postgres and a real collector.
 *
 * Finding 3: one target ("flood") has 50,001 thread rows, all newer than the one thread of another
 * target ("quiet"), which carries full metadata. After a restart the quiet thread must be in memory
 * (threads load per target, never under a fleet-wide limit) and answer 200; a status-only event for
 * it — even reduced from nothing, as for a thread the collector does not hold — must not erase its
 * model, cwd, name, repo, branch or last turn outcome in the row. A flood thread beyond its
 * target's in-memory bound is still answered from the database.
 *
 * Finding 2: GET /api/v1/threads is paged (limit, cursor) with bounded answers, and the live
 * snapshot carries at most MAX_SNAPSHOT_THREADS threads plus `threadsTotal`.
 */
import { createDb, type Db } from "@codex-fleet/db/client";
import { writeIngestBatch } from "@codex-fleet/db/repositories/ingest-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { ThreadDetail, ThreadView } from "@codex-fleet/protocol/api";
import { type LiveMessage, parseLiveMessage } from "@codex-fleet/protocol/live";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { MAX_THREADS_PER_TARGET } from "../src/fleet/fleet.ts";
import { reduce, type ThreadState, type WriteOp } from "../src/ingest/thread-state.ts";
import { MAX_SNAPSHOT_THREADS } from "../src/live/snapshot.ts";
import { type RunningCollector, startCollector } from "./support/collector.ts";

const FLOOD = MAX_THREADS_PER_TARGET + 1;
const QUIET_ID = "quiet-thread";
const OLDEST_FLOOD_ID = "flood-000001";
const NOW = Date.UTC(2026, 11, 6, 12);

let testDb: TestDatabase;
let db: Db;
let collector: RunningCollector;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
  await db.pool.query(
    `INSERT INTO target (id, team, url) VALUES ('flood', 'core', 'ws://127.0.0.1:9'), ('quiet', 'core', 'ws://127.0.0.1:9')`,
  );
  // The flood: every row newer than the quiet thread (set-based: 50,001 rows in one statement).
  await db.pool.query(
    `INSERT INTO thread (id, target_id, status, last_event_at, model)
     SELECT 'flood-' || lpad(g::text, 6, '0'), 'flood', 'idle', timestamp '2026-12-06 10:00' + g * interval '1 second', 'm'
     FROM generate_series(1, $1::int) g`,
    [FLOOD],
  );
  await db.pool.query(
    `INSERT INTO thread (id, target_id, status, last_event_at, model, model_provider, cwd, name, repo, git_branch,
        git_origin, cli_version, last_turn_id, last_turn_status, last_error_message, context_tokens, model_context_window)
     VALUES ($1, 'quiet', 'idle', timestamp '2026-12-01 09:00', 'gpt-5.5', 'openai', '/home/q/web', 'Fix the login',
        'acme/web', 'main', 'git@github.com:acme/web.git', '0.171.0', 'turn-9', 'failed', 'boom', 1200, 272000)`,
    [QUIET_ID],
  );
  collector = await startCollector({
    dbUrl: testDb.url,
    targets: [
      { name: "flood", url: "ws://127.0.0.1:9", token: null },
      { name: "quiet", url: "ws://127.0.0.1:9", token: null },
    ],
  });
}, 120_000);

afterAll(async () => {
  await collector?.stop();
  await db?.close();
  await testDb?.drop();
});

const row = async (id: string) =>
  (
    await db.pool.query(
      `SELECT model, model_provider, cwd, name, repo, git_branch, git_origin, cli_version, last_turn_id,
          last_turn_status, status, context_tokens, model_context_window FROM thread WHERE id = $1`,
      [id],
    )
  ).rows[0];

const QUIET_METADATA = {
  model: "gpt-5.5",
  model_provider: "openai",
  cwd: "/home/q/web",
  name: "Fix the login",
  repo: "acme/web",
  git_branch: "main",
  git_origin: "git@github.com:acme/web.git",
  cli_version: "0.171.0",
  last_turn_id: "turn-9",
  last_turn_status: "failed",
  context_tokens: 1200,
  model_context_window: 272000,
};

async function write(ops: WriteOp[]): Promise<void> {
  const threads = ops.flatMap((o) => (o.op === "thread" ? [o.state] : []));
  await writeIngestBatch({
    pool: db.pool,
    threads,
    turns: [],
    usage: [],
    price: () => ({ costUsd: 0, unpricedTokens: 0, priceVersion: "t" }),
  });
}

describe("finding 3: one target's flood neither hides nor erases another target's threads", () => {
  it("loads threads per target: the quiet target's thread is in memory after a restart and answers 200", async () => {
    expect(collector.fleet.threads.get(QUIET_ID)?.model).toBe("gpt-5.5");
    let flood = 0;
    for (const t of collector.fleet.threads.values()) if (t.targetId === "flood") flood++;
    expect(flood).toBe(MAX_THREADS_PER_TARGET);
    const detail = await collector.get<ThreadDetail>(`/api/v1/threads/${QUIET_ID}`);
    expect(detail).toMatchObject({
      id: QUIET_ID,
      target: "quiet",
      model: "gpt-5.5",
      cwd: "/home/q/web",
      name: "Fix the login",
      repo: "acme/web",
      gitBranch: "main",
      lastTurnStatus: "failed",
    });
  });

  it("answers a thread beyond its target's in-memory bound from the database", async () => {
    expect(collector.fleet.threads.has(OLDEST_FLOOD_ID)).toBe(false);
    const detail = await collector.get<ThreadDetail>(`/api/v1/threads/${OLDEST_FLOOD_ID}`);
    expect(detail).toMatchObject({ id: OLDEST_FLOOD_ID, target: "flood", model: "m", turns: [] });
    const missing = await fetch(`${collector.baseUrl}/api/v1/threads/no-such-thread`);
    expect(missing.status).toBe(404);
  });

  it("a status-only event never replaces known metadata with unknown", async () => {
    const event = {
      kind: "threadStatus" as const,
      atMs: NOW,
      threadId: QUIET_ID,
      status: { type: "active" as const, activeFlags: [] },
    };
    // From the collector's loaded state, as the fleet reduces it.
    const loaded = collector.fleet.threads.get(QUIET_ID) as ThreadState;
    await write(reduce(loaded, "quiet", event, NOW).ops);
    expect(await row(QUIET_ID)).toMatchObject({ ...QUIET_METADATA, status: "active" });
    // From nothing (a thread the collector does not hold): the snapshot knows no metadata at all.
    const fromNothing = reduce(
      undefined,
      "quiet",
      { ...event, status: { type: "idle", activeFlags: [] } },
      NOW,
    );
    expect(fromNothing.state?.model).toBeNull();
    await write(fromNothing.ops);
    expect(await row(QUIET_ID)).toMatchObject({ ...QUIET_METADATA, status: "idle" });
  });
});

describe("finding 2: bounded answers", () => {
  it("pages GET /api/v1/threads with limit and cursor, in a stable order, without gaps or repeats", async () => {
    const first = await fetch(`${collector.baseUrl}/api/v1/threads`);
    expect(first.status).toBe(200);
    const body = await first.text();
    expect((JSON.parse(body) as ThreadView[]).length).toBe(500);
    expect(body.length).toBeLessThan(1024 * 1024);
    expect(first.headers.get("x-total-count")).toBe(String(MAX_THREADS_PER_TARGET + 1));
    expect(first.headers.get("x-next-cursor")).toBeTruthy();

    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    let previous: ThreadView | undefined;
    do {
      const query: string = `limit=5000${cursor ? `&cursor=${cursor}` : ""}`;
      const res = await fetch(`${collector.baseUrl}/api/v1/threads?${query}`);
      expect(res.status).toBe(200);
      const rows = (await res.json()) as ThreadView[];
      expect(rows.length).toBeLessThanOrEqual(5000);
      for (const r of rows) {
        expect(seen.has(r.id)).toBe(false);
        seen.add(r.id);
        if (previous) expect((previous.lastEventAt ?? "") >= (r.lastEventAt ?? "")).toBe(true);
        previous = r;
      }
      cursor = res.headers.get("x-next-cursor");
      pages++;
    } while (cursor && pages < 20);
    expect(cursor).toBeNull();
    expect(seen.size).toBe(MAX_THREADS_PER_TARGET + 1);
    expect(pages).toBe(11);
    // The quiet thread is the oldest in memory: the last row of the last page.
    expect(previous?.id).toBe(QUIET_ID);
  });

  it("filters then pages (the cursor works with filters)", async () => {
    const res = await fetch(`${collector.baseUrl}/api/v1/threads?target=flood&limit=2`);
    const rows = (await res.json()) as ThreadView[];
    expect(rows.map((r) => r.id)).toEqual(["flood-050001", "flood-050000"]);
    const next = await fetch(
      `${collector.baseUrl}/api/v1/threads?target=flood&limit=2&cursor=${res.headers.get("x-next-cursor")}`,
    );
    expect(((await next.json()) as ThreadView[]).map((r) => r.id)).toEqual(["flood-049999", "flood-049998"]);
  });

  it.each([
    ["limit=0", "limit"],
    ["limit=5001", "limit"],
    ["limit=ten", "limit"],
    ["cursor=not-a-cursor!", "cursor"],
    [`cursor=${Buffer.from("[1,2]").toString("base64url")}`, "cursor"],
    [`cursor=${Buffer.from("{}").toString("base64url")}`, "cursor"],
    ["cursor=x&cursor=y", "cursor"],
  ])("answers 400 naming the parameter for %s", async (query, param) => {
    const res = await fetch(`${collector.baseUrl}/api/v1/threads?${query}`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message.startsWith(`${param}:`)).toBe(true);
  });

  it("caps the live snapshot and says how many threads there are in all", async () => {
    // Make the quiet thread the most relevant: active, so it must be in the capped snapshot.
    const quiet = collector.fleet.threads.get(QUIET_ID) as ThreadState;
    collector.fleet.threads.set(QUIET_ID, { ...quiet, status: "active", activeFlags: ["waitingOnApproval"] });
    const { raw, snap } = await liveSnapshot();
    expect(snap?.type).toBe("snapshot");
    expect(snap.threads.length).toBe(MAX_SNAPSHOT_THREADS);
    expect(snap.threadsTotal).toBe(MAX_THREADS_PER_TARGET + 1);
    expect(snap.threads[0]?.id).toBe(QUIET_ID);
    expect(snap.threads[1]?.id).toBe("flood-050001");
    expect(raw.length).toBeLessThan(16 * 1024 * 1024);
  });

  it("carries a thread's new view in the next snapshot after it changed (views are kept per state)", async () => {
    const snapshot = async () => (await liveSnapshot()).snap.threads.find((t) => t.id === QUIET_ID);
    const before = collector.fleet.threads.get(QUIET_ID) as ThreadState;
    collector.fleet.threads.set(QUIET_ID, {
      ...before,
      status: "active",
      activeFlags: ["waitingOnApproval"],
      name: "first",
    });
    expect((await snapshot())?.name).toBe("first");
    // Twice from the same state: the same view.
    expect((await snapshot())?.name).toBe("first");
    const first = collector.fleet.threads.get(QUIET_ID) as ThreadState;
    collector.fleet.threads.set(QUIET_ID, { ...first, name: "renamed", activeFlags: ["waitingOnUserInput"] });
    const after = await snapshot();
    expect(after?.name).toBe("renamed");
    expect(after?.activeFlags).toEqual(["waitingOnUserInput"]);
  });
});

/** The first frame of a new /api/v1/live connection: the snapshot, raw and parsed. */
async function liveSnapshot(): Promise<{ raw: string; snap: Extract<LiveMessage, { type: "snapshot" }> }> {
  const ws = new WebSocket(`${collector.baseUrl.replace(/^http/, "ws")}/api/v1/live`);
  const raw = await new Promise<string>((resolve, reject) => {
    ws.once("message", (data) => resolve(String(data)));
    ws.once("error", reject);
  });
  ws.close();
  return { raw, snap: parseLiveMessage(raw) as Extract<LiveMessage, { type: "snapshot" }> };
}
