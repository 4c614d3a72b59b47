/**
 * Issue 11: a recovery obligation through every failure path of the write side, against a real
 * Postgres (DESIGN "What is owed is persistent": set by the observer through the writer, cleared
 * only in the transaction that counts a total received after it). Postgres sits behind a TCP
 * proxy that is cut for the outages. For each path: the mark is never lost while the total it
 * waits for is not counted, and it is never cleared without that total.
 *
 * - a report Postgres refuses for its content (isolated and dropped) does not clear the mark;
 * - a batch that fails on the connection commits neither the count nor the clear, and is written
 *   whole once Postgres is back;
 * - past the buffer bound (reports compacted to the newest per thread) the mark survives and the
 *   latest total both counts exactly and clears it;
 * - a shutdown whose grace runs out loses the buffered mark, but `pendingSinceMs` stays at or
 *   before it, so "last contact" (Fleet.persistTarget) is never stored past it and the next
 *   process's scan finds the thread again.
 */

import { startTcpProxy, type TcpProxy, throughProxy } from "@codex-fleet/codex-fakes/tcp-proxy";
import { createDb, type Db } from "@codex-fleet/db/client";
import { writeIngestBatch } from "@codex-fleet/db/repositories/ingest-repository";
import type { OwedReason } from "@codex-fleet/db/repositories/ingest-types";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { WriteOp } from "../src/ingest/thread-state.ts";
import { IngestWriter, type WriterOptions } from "../src/ingest/writer.ts";

let testDb: TestDatabase;
let direct: Db;
let proxied: Db;
let proxy: TcpProxy;
let seq = 0;

beforeAll(async () => {
  testDb = await createTestDatabase();
  direct = createDb({ url: testDb.url, poolMax: 2 });
  proxy = await startTcpProxy({ targetPort: Number(new URL(testDb.url).port || 5432) });
  proxied = createDb({ url: throughProxy(testDb.url, proxy), poolMax: 2 });
  await direct.pool.query("INSERT INTO target (id, team, url) VALUES ('alice', 'a', 'ws://127.0.0.1:1')");
});

afterEach(() => proxy.restore());

afterAll(async () => {
  await proxied?.close().catch(() => {});
  await direct?.close();
  await proxy?.close();
  await testDb?.drop();
});

const T = Date.UTC(2026, 11, 6, 10);
const counts = (n: number) => ({
  inputTokens: n,
  cachedInputTokens: 0,
  outputTokens: 0,
  reasoningOutputTokens: 0,
  totalTokens: n,
});
const mark = (threadId: string, atMs: number, reason: OwedReason = "loadedAtContact"): WriteOp => ({
  op: "owed",
  mark: { threadId, targetId: "alice", reason, atMs },
});
const report = (threadId: string, total: number, receivedAtMs: number): WriteOp => ({
  op: "usage",
  report: {
    threadId,
    turnId: null,
    targetId: "alice",
    model: "gpt-5",
    repo: "",
    atMs: receivedAtMs,
    total: counts(total),
    last: counts(total),
    receivedAtMs,
  },
});

function writer(tuning: Partial<Omit<WriterOptions, "write">> = {}) {
  const dropped: WriteOp[] = [];
  const w = new IngestWriter({
    price: () => ({ costUsd: 0, unpricedTokens: 0, priceVersion: "t" }),
    flushIntervalMs: 5,
    ...tuning,
    write: (batch) => writeIngestBatch({ pool: proxied.pool, ...batch }),
    onDropped: (op) => dropped.push(op),
  });
  return { w, dropped };
}

async function stored(id: string) {
  const { rows } = await direct.pool.query<{ owed: Date | null; counted: number; ledger: number }>(
    `SELECT th.owed_since AS owed, th.counted_total_tokens::float8 AS counted,
            (SELECT coalesce(sum(total_tokens), 0)::float8 FROM usage_event WHERE thread_id = th.id) AS ledger
     FROM thread th WHERE th.id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

const newThread = () => `owed-w-${++seq}`;

describe("an obligation through the writer's failure paths (real Postgres)", () => {
  it("a report Postgres refuses for its content is dropped without clearing the mark; the next total clears it", async () => {
    const id = newThread();
    const { w, dropped } = writer();
    // One batch: the mark, then a total past int8 (refused inside the counting statement, after
    // the clear ran in the same transaction). Isolated: the mark is written, the report dropped.
    w.enqueue([mark(id, T), report(id, 2 ** 64, T + 10)]);
    await w.flush();
    expect(dropped.map((o) => o.op)).toEqual(["usage"]);
    expect((await stored(id))?.owed).not.toBeNull();
    expect((await stored(id))?.counted).toBe(0);
    w.enqueue([report(id, 1500, T + 20)]);
    await w.flush();
    expect(await stored(id)).toEqual({ owed: null, counted: 1500, ledger: 1500 });
    await w.close();
  });

  it("a batch that fails on the connection commits neither count nor clear, then is written whole", async () => {
    const id = newThread();
    const { w } = writer();
    w.enqueue([mark(id, T)]);
    await w.flush();
    proxy.cut();
    w.enqueue([report(id, 800, T + 10)]);
    await expect(w.flush()).rejects.toThrow(/still buffered/);
    expect(await stored(id)).toEqual({ owed: expect.any(Date), counted: 0, ledger: 0 });
    proxy.restore();
    await w.close(10_000);
    expect(await stored(id)).toEqual({ owed: null, counted: 800, ledger: 800 });
  });

  it("past the buffer bound the mark survives compaction and the latest total counts exactly and clears it", async () => {
    const id = newThread();
    const other = newThread();
    const { w } = writer({ maxBufferedReports: 3 });
    proxy.cut();
    w.enqueue([mark(id, T), mark(other, T + 1, "updatedWhileAway")]);
    for (let i = 1; i <= 20; i++) w.enqueue([report(id, 100 * i, T + 10 + i)]);
    // `other` has a report received before its mark only: it must stay owed.
    w.enqueue([report(other, 50, T)]);
    expect(w.compacted).toBeGreaterThan(0);
    await expect(w.flush()).rejects.toThrow(/still buffered/);
    proxy.restore();
    await w.close(10_000);
    expect(await stored(id)).toEqual({ owed: null, counted: 2000, ledger: 2000 });
    expect(await stored(other)).toEqual({ owed: expect.any(Date), counted: 50, ledger: 50 });
  });

  it("a shutdown whose grace runs out keeps pendingSinceMs at or before the unwritten mark", async () => {
    const id = newThread();
    let now = T;
    const { w } = writer({ now: () => now });
    proxy.cut();
    now = T + 100;
    w.enqueue([mark(id, now)]);
    now = T + 60_000;
    await expect(w.close(300)).rejects.toThrow(/still buffered/);
    expect(w.pendingSinceMs).toBe(T + 100);
    expect(w.backlog).toBe(1);
    expect(await stored(id)).toBeNull();
  });
});
