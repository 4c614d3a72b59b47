/**
 * Recovery obligations (DESIGN "What is owed is persistent"; issue: a thread's total lost across
 * a SIGKILL): set by a mark, kept across a reload, cleared only in the transaction that counts a
 * total received at or after the mark, never by anything else.
 */
import type { TokenCounts } from "@codex-fleet/protocol/events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import { writeIngestBatch } from "../src/repositories/ingest-repository.ts";
import type { OwedMark, PriceFn, ThreadSnapshot, UsageReportRow } from "../src/repositories/ingest-types.ts";
import { countOwedThreads, loadThreads, readThread } from "../src/repositories/threads-repository.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

let testDb: TestDatabase;
let db: Db;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
}, 60_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

const T0 = Date.UTC(2026, 11, 6, 9, 0, 0);
const price: PriceFn = () => ({ costUsd: null, unpricedTokens: 0, priceVersion: "unpriced" });

function tok(n: number): TokenCounts {
  return {
    inputTokens: 8 * n,
    cachedInputTokens: 2 * n,
    outputTokens: 2 * n,
    reasoningOutputTokens: n,
    totalTokens: 10 * n,
  };
}

let seq = 0;
async function fresh(): Promise<{ threadId: string; targetId: string }> {
  seq++;
  const targetId = `owed-tgt-${seq}`;
  await db.pool.query("INSERT INTO target (id, team, url) VALUES ($1, $2, 'ws://127.0.0.1:1')", [
    targetId,
    `owed-team-${seq}`,
  ]);
  return { threadId: `owed-th-${seq}`, targetId };
}

const mark = (
  s: { threadId: string; targetId: string },
  atMs: number,
  reason: OwedMark["reason"] = "loadedAtContact",
): OwedMark => ({
  ...s,
  reason,
  atMs,
});

const report = (
  s: { threadId: string; targetId: string },
  n: number,
  receivedAtMs: number | undefined,
): UsageReportRow => ({
  ...s,
  turnId: null,
  model: "m",
  repo: "",
  atMs: receivedAtMs ?? T0,
  total: tok(n),
  last: tok(n),
  ...(receivedAtMs === undefined ? {} : { receivedAtMs }),
});

async function write(batch: { owed?: OwedMark[]; usage?: UsageReportRow[]; threads?: ThreadSnapshot[] }) {
  return writeIngestBatch({
    pool: db.pool,
    threads: batch.threads ?? [],
    turns: [],
    usage: batch.usage ?? [],
    owed: batch.owed ?? [],
    price,
  });
}

async function owed(threadId: string) {
  const t = await readThread({ pool: db.pool, id: threadId });
  return (
    t && { since: t.owedSinceMs, at: t.owedAtMs, reason: t.owedReason, total: Number(t.countedTotalTokens) }
  );
}

describe("recovery obligations", () => {
  it("are set by a mark (creating the thread row), keep the first since and reason, move owed_at to the latest", async () => {
    const s = await fresh();
    await write({ owed: [mark(s, T0 + 2000, "activeBeforeSubscribe"), mark(s, T0, "loadedAtContact")] });
    expect(await owed(s.threadId)).toEqual({ since: T0, at: T0 + 2000, reason: "loadedAtContact", total: 0 });
    await write({ owed: [mark(s, T0 + 5000, "updatedWhileAway")] });
    expect(await owed(s.threadId)).toEqual({ since: T0, at: T0 + 5000, reason: "loadedAtContact", total: 0 });
  });

  it("survive a restart: loadThreads returns them, and a thread snapshot upsert never clears them", async () => {
    const s = await fresh();
    await write({ owed: [mark(s, T0)] });
    const [stored] = (
      await loadThreads({ pool: db.pool, perTarget: 10, targetIds: [s.targetId], heldSinceMs: 0 })
    ).filter((t) => t.id === s.threadId);
    expect(stored?.owedSinceMs).toBe(T0);
    // Past the per-target limit of newest threads, an owed thread is still loaded.
    const other = { threadId: `${s.threadId}-newer`, targetId: s.targetId };
    await write({ usage: [report(other, 1, T0 + 60_000)] });
    await db.pool.query("UPDATE thread SET last_event_at = now() WHERE id = $1", [other.threadId]);
    const one = await loadThreads({ pool: db.pool, perTarget: 1, targetIds: [s.targetId], heldSinceMs: 0 });
    expect(one.filter((t) => t.targetId === s.targetId).map((t) => t.id)).toEqual(
      expect.arrayContaining([s.threadId, other.threadId]),
    );
    // The collector rewrites the thread's snapshot on every event: that must never touch the mark.
    await write({ threads: [{ ...(stored as ThreadSnapshot), status: "idle", lastEventAtMs: T0 + 9000 }] });
    expect((await owed(s.threadId))?.since).toBe(T0);
  });

  it("are cleared with the total in the same transaction: a counted report received after the mark", async () => {
    const s = await fresh();
    await write({ usage: [report(s, 10, T0 - 1000)] });
    await write({ owed: [mark(s, T0)] });
    const res = await write({ usage: [report(s, 15, T0 + 1000)] });
    expect(res.cleared).toEqual([{ threadId: s.threadId, receivedAtMs: T0 + 1000 }]);
    expect(await owed(s.threadId)).toEqual({ since: null, at: null, reason: null, total: 150 });
  });

  it("are cleared by an echo equal to the counted baseline received after the mark (the total was already in)", async () => {
    const s = await fresh();
    await write({ usage: [report(s, 10, T0 - 1000)] });
    await write({ owed: [mark(s, T0)] });
    const res = await write({ usage: [report(s, 10, T0 + 1)] });
    expect(res.counted).toEqual([]);
    expect(res.cleared).toHaveLength(1);
    expect((await owed(s.threadId))?.since).toBeNull();
  });

  it("in one batch: the mark first, then a report received after it clears it; one received before does not", async () => {
    const s = await fresh();
    const before = await write({ owed: [mark(s, T0)], usage: [report(s, 5, T0 - 1)] });
    expect(before.cleared).toEqual([]);
    expect(await owed(s.threadId)).toMatchObject({ since: T0, total: 50 });
    await write({ owed: [mark(s, T0 + 100)], usage: [report(s, 6, T0 + 100)] });
    expect(await owed(s.threadId)).toMatchObject({ since: null, total: 60 });
  });

  it("are not cleared by a report received before a later mark, by a stale total, or by one without a receive time", async () => {
    const s = await fresh();
    await write({ usage: [report(s, 10, T0 - 5000)] });
    await write({ owed: [mark(s, T0), mark(s, T0 + 3000)] });
    await write({ usage: [report(s, 11, T0 + 2000)] }); // received after the first mark, before the latest
    expect(await owed(s.threadId)).toMatchObject({ since: T0, total: 110 });
    await write({ usage: [report(s, 9, T0 + 4000)] }); // below the baseline: a stale replay
    expect(await owed(s.threadId)).toMatchObject({ since: T0, total: 110 });
    await write({ usage: [report(s, 12, undefined)] });
    expect(await owed(s.threadId)).toMatchObject({ since: T0, total: 120 });
  });

  it("are never cleared without the total: a batch that fails rolls the clear back with the count", async () => {
    const s = await fresh();
    await write({ owed: [mark(s, T0)] });
    // A second report with a counter past int8 fails the counted write after the clear has run.
    const huge = { ...report(s, 4, T0 + 20), total: { ...tok(4), totalTokens: 1e20 } };
    await expect(write({ usage: [report(s, 3, T0 + 10), huge] })).rejects.toThrow();
    expect(await owed(s.threadId)).toMatchObject({ since: T0, total: 0 });
  });

  it("are counted per usage filter (pendingThreads)", async () => {
    const a = await fresh();
    const b = await fresh();
    await write({ owed: [mark(a, T0), mark(b, T0)] });
    expect(await countOwedThreads({ pool: db.pool, filters: { target: [a.targetId] } })).toBe(1);
    expect(await countOwedThreads({ pool: db.pool, filters: { target: [a.targetId, b.targetId] } })).toBe(2);
    expect(await countOwedThreads({ pool: db.pool, filters: { team: [`owed-team-${seq}`] } })).toBe(1);
    await write({ usage: [report(a, 1, T0 + 1)] });
    expect(await countOwedThreads({ pool: db.pool, filters: { target: [a.targetId, b.targetId] } })).toBe(1);
  });
});
