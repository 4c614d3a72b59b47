import { createDb } from "@codex-fleet/db/client";
import { writeIngestBatch } from "@codex-fleet/db/repositories/ingest-repository";
import type { BatchResult, PriceFn } from "@codex-fleet/db/repositories/ingest-types";
import { createTestDatabase } from "@codex-fleet/db/testing";
import type { TokenCounts } from "@codex-fleet/protocol/events";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  emptyThread,
  type ThreadState,
  type TurnPatch,
  type UsageReport,
  type WriteOp,
} from "../../../src/ingest/thread-state.ts";
import { IngestWriter, mergeTurn, type WriterOptions } from "../../../src/ingest/writer.ts";

type Batch = Parameters<WriterOptions["write"]>[0];

const T = Date.UTC(2026, 10, 21, 10, 0, 0);
const RESULT: BatchResult = { counted: [], echoes: 0, decreased: [], endedTurns: 0 };
const price: PriceFn = (_model, _atMs, t) => ({
  costUsd: t.totalTokens / 1000,
  unpricedTokens: 0,
  priceVersion: "test",
});

const tok = (n: number): TokenCounts => ({
  inputTokens: 8 * n,
  cachedInputTokens: 2 * n,
  outputTokens: 2 * n,
  reasoningOutputTokens: n,
  totalTokens: 10 * n,
});

const thread = (id: string, name: string): WriteOp => ({
  op: "thread",
  state: { ...emptyThread(id, "alice", T), name },
});
const turn = (patch: Omit<TurnPatch, "threadId" | "targetId">): WriteOp => ({
  op: "turn",
  patch: { threadId: "th-1", targetId: "alice", ...patch },
});
const usage = (threadId: string, n: number, turnId: string | null = null, targetId = "alice"): WriteOp => ({
  op: "usage",
  report: {
    threadId,
    turnId,
    targetId,
    model: "gpt-test",
    repo: "",
    atMs: T + n,
    total: tok(n),
    last: tok(1),
  },
});
const reportsOf = (ops: WriteOp[]) => ops.flatMap((o) => (o.op === "usage" ? [o.report] : []));

/** A stand-in for writeIngestBatch: records every attempt; fails while `down`. */
function fakeDb() {
  const attempts: Batch[] = [];
  const written: Batch[] = [];
  const db = {
    attempts,
    written,
    down: false,
    write: async (batch: Batch): Promise<BatchResult> => {
      attempts.push(batch);
      if (db.down) throw new Error("database down");
      written.push(batch);
      return RESULT;
    },
    usage: () => written.flatMap((b) => b.usage),
  };
  return db;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("IngestWriter batching", () => {
  it("writes one batch with the latest state per thread when ops arrive in one tick", async () => {
    vi.useFakeTimers();
    const db = fakeDb();
    const w = new IngestWriter({ write: db.write, price });
    w.enqueue([thread("th-1", "v1"), thread("th-2", "other")]);
    w.enqueue([thread("th-1", "v2")]);
    await vi.advanceTimersByTimeAsync(24);
    expect(db.attempts).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(db.written.map((b) => b.threads.map((t: ThreadState) => [t.id, t.name]))).toEqual([
      [
        ["th-1", "v2"],
        ["th-2", "other"],
      ],
    ]);
    expect(db.written[0]?.price).toBe(price);
  });

  it("merges a turn's patches into one when they arrive in one batch", async () => {
    const db = fakeDb();
    const w = new IngestWriter({ write: db.write, price });
    w.enqueue([
      turn({ id: "u1", status: "inProgress", model: "gpt-5.4", startedAtMs: T }),
      turn({ id: "u1", contextTokens: 1234 }),
      turn({ id: "u1", status: "failed", errorMessage: "boom", completedAtMs: T + 5 }),
      turn({ id: "u1", status: "inProgress" }), // a stale patch: a terminal status is final
    ]);
    await w.flush();
    expect(db.written.flatMap((b) => b.turns)).toEqual([
      {
        id: "u1",
        threadId: "th-1",
        targetId: "alice",
        model: "gpt-5.4",
        status: "failed",
        startedAtMs: T,
        contextTokens: 1234,
        errorMessage: "boom",
        completedAtMs: T + 5,
      },
    ]);
  });

  it("keeps usage reports in arrival order when threads interleave", async () => {
    const db = fakeDb();
    const w = new IngestWriter({ write: db.write, price });
    const ops = [usage("th-1", 1), usage("th-2", 5), usage("th-1", 3), usage("th-1", 3), usage("th-2", 9)];
    w.enqueue(ops);
    await w.flush();
    expect(db.usage()).toEqual(reportsOf(ops));
  });

  it("splits usage into batches of maxBatchReports when the backlog is larger", async () => {
    const db = fakeDb();
    const w = new IngestWriter({ write: db.write, price, maxBatchReports: 2 });
    const ops = [1, 2, 3, 4, 5].map((n) => usage("th-1", n));
    w.enqueue(ops);
    await w.flush();
    expect(db.written.map((b) => b.usage.map((r: UsageReport) => r.total.totalTokens / 10))).toEqual([
      [1, 2],
      [3, 4],
      [5],
    ]);
  });

  it("does not write an empty batch when a flush already wrote everything", async () => {
    vi.useFakeTimers();
    const db = fakeDb();
    const w = new IngestWriter({ write: db.write, price });
    w.enqueue([usage("th-1", 1)]);
    await w.flush();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(db.attempts).toHaveLength(1);
  });
});

describe("mergeTurn", () => {
  const base = { id: "u1", threadId: "th-1", targetId: "alice" };
  it.each<{ name: string; older: Partial<TurnPatch>; newer: Partial<TurnPatch>; merged: Partial<TurnPatch> }>(
    [
      {
        name: "takes the newer status when a turn ends",
        older: { status: "inProgress" },
        newer: { status: "completed" },
        merged: { status: "completed" },
      },
      {
        name: "keeps the terminal status when an inProgress patch follows",
        older: { status: "interrupted" },
        newer: { status: "inProgress" },
        merged: { status: "interrupted" },
      },
      {
        name: "keeps older fields when the newer patch lacks them",
        older: { status: "failed", model: "m" },
        newer: { contextTokens: 7 },
        merged: { status: "failed", model: "m", contextTokens: 7 },
      },
      {
        name: "takes the newer model when a reroute arrives",
        older: { model: "a" },
        newer: { model: "b" },
        merged: { model: "b" },
      },
    ],
  )("$name", ({ older, newer, merged }) => {
    expect(mergeTurn({ ...base, ...older }, { ...base, ...newer })).toEqual({ ...base, ...merged });
  });

  it("returns the one patch there is when the other is missing", () => {
    expect(mergeTurn(undefined, { ...base, status: "completed" })).toEqual({ ...base, status: "completed" });
    expect(mergeTurn({ ...base, status: "completed" }, undefined)).toEqual({ ...base, status: "completed" });
  });
});

describe("IngestWriter failures", () => {
  it("retries with backoff and writes everything once when the database comes back", async () => {
    vi.useFakeTimers();
    const db = fakeDb();
    db.down = true;
    const errors: number[] = [];
    const w = new IngestWriter({ write: db.write, price, onError: (_err, attempt) => errors.push(attempt) });
    const first = [
      thread("th-1", "v1"),
      turn({ id: "u1", status: "inProgress" }),
      usage("th-1", 1, "u1"),
      usage("th-2", 4),
    ];
    w.enqueue(first);
    await vi.advanceTimersByTimeAsync(25);
    expect([db.attempts.length, db.written.length]).toEqual([1, 0]);

    const second = [thread("th-1", "v2"), turn({ id: "u1", status: "completed" }), usage("th-1", 2, "u1")];
    w.enqueue(second); // arrives while the database is down
    await vi.advanceTimersByTimeAsync(199); // the first retry waits at least 200 ms
    expect(db.attempts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(201);
    expect(db.attempts).toHaveLength(2);

    db.down = false;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(errors).toEqual([1, 2]);
    expect(db.written).toHaveLength(1);
    expect(db.usage()).toEqual(reportsOf([...first, ...second]));
    expect(db.written[0]?.threads.map((t: ThreadState) => t.name)).toEqual(["v2"]);
    expect(db.written[0]?.turns.map((t: TurnPatch) => t.status)).toEqual(["completed"]);
    expect(w.backlog).toBe(0);
  });

  it("puts a failed batch back before what arrived during its write", async () => {
    const db = fakeDb();
    const w = new IngestWriter({ write: db.write, price, flushIntervalMs: 3_600_000 });
    db.down = true;
    w.enqueue([
      thread("th-1", "old"),
      turn({ id: "u1", status: "completed" }),
      usage("th-1", 1),
      usage("th-1", 2),
    ]);
    const failing = w.flush();
    // during the write:
    w.enqueue([
      thread("th-1", "new"),
      turn({ id: "u1", status: "inProgress", contextTokens: 5 }),
      usage("th-1", 3),
    ]);
    await expect(failing).rejects.toThrow(/still buffered/);
    db.down = false;
    await w.close();
    expect(db.usage().map((r) => r.total.totalTokens)).toEqual([10, 20, 30]);
    expect(db.written.flatMap((b) => b.threads.map((t: ThreadState) => t.name))).toEqual(["new"]);
    expect(db.written.flatMap((b) => b.turns)).toEqual([
      { id: "u1", threadId: "th-1", targetId: "alice", status: "completed", contextTokens: 5 },
    ]);
  });

  it("keeps only the newest report per thread when the backlog passes maxBufferedReports", async () => {
    const db = fakeDb();
    const w = new IngestWriter({ write: db.write, price, maxBufferedReports: 4, flushIntervalMs: 3_600_000 });
    for (let n = 1; n <= 6; n++) w.enqueue([usage("th-1", n), usage("th-2", 10 + n), usage("th-3", 20 + n)]);
    expect(w.compacted).toBeGreaterThan(0);
    await w.close();
    const last = new Map(db.usage().map((r) => [r.threadId, r.total.totalTokens / 10]));
    expect(Object.fromEntries(last)).toEqual({ "th-1": 6, "th-2": 16, "th-3": 26 });
    expect(db.usage().length).toBeLessThanOrEqual(6);
  });
});

describe("IngestWriter.flush", () => {
  it("resolves only when every write has finished, including ops enqueued meanwhile", async () => {
    const releases: (() => void)[] = [];
    const written: Batch[] = [];
    const write = (batch: Batch) =>
      new Promise<BatchResult>((resolve) => {
        releases.push(() => {
          written.push(batch);
          resolve(RESULT);
        });
      });
    const w = new IngestWriter({ write, price, flushIntervalMs: 3_600_000 });
    let done = false;
    w.enqueue([usage("th-1", 1)]);
    const flushed = w.flush().then(() => {
      done = true;
    });
    await vi.waitFor(() => expect(releases).toHaveLength(1));
    w.enqueue([usage("th-1", 2)]);
    releases[0]?.();
    await vi.waitFor(() => expect(releases).toHaveLength(2));
    expect(done).toBe(false);
    releases[1]?.();
    await flushed;
    expect(written.flatMap((b) => b.usage.map((r: UsageReport) => r.total.totalTokens))).toEqual([10, 20]);
    expect(w.backlog).toBe(0);
    await w.close();
  });

  it("rejects and keeps the data when the database is down, then writes it once when it is back", async () => {
    const db = fakeDb();
    const w = new IngestWriter({ write: db.write, price, flushIntervalMs: 3_600_000 });
    db.down = true;
    w.enqueue([usage("th-1", 1), usage("th-1", 2)]);
    await expect(w.flush()).rejects.toThrow(/still buffered/);
    expect(w.backlog).toBe(2);
    db.down = false;
    await w.close();
    expect(db.usage().map((r) => r.total.totalTokens)).toEqual([10, 20]);
  });
});

describe("IngestWriter with the real accounting", () => {
  it("counts each thread's latest total exactly when compaction dropped reports during an outage", async () => {
    const testDb = await createTestDatabase();
    const db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
    try {
      await db.pool.query(
        "INSERT INTO target (id, team, url) VALUES ('alice', 'payments', 'ws://127.0.0.1:1')",
      );
      let down = true;
      const w = new IngestWriter({
        price,
        flushIntervalMs: 3_600_000, // driven by flush() below, not by the timer
        maxBufferedReports: 8,
        maxBatchReports: 5,
        write: (batch) =>
          down ? Promise.reject(new Error("database down")) : writeIngestBatch({ pool: db.pool, ...batch }),
      });
      const n = [0, 0, 0];
      for (let i = 0; i < 90; i++) {
        const k = (i * 7) % 3;
        if (i % 5 !== 4) n[k] = (n[k] ?? 0) + 1 + (i % 4); // every fifth report is an echo
        const turnId = `th-${k}/u${Math.floor(i / 6)}`;
        w.enqueue([usage(`th-${k}`, n[k] ?? 0, turnId), turn({ id: turnId, status: "inProgress" })]);
        if (i % 7 === 6) await w.flush().catch(() => {}); // fails: the batch goes back into the buffer
        if (i === 40) {
          down = false; // a short recovery, then down again
          await w.flush();
          down = true;
        }
      }
      expect(w.compacted).toBeGreaterThan(0);
      down = false;
      await w.close();
      const { rows } = await db.pool.query<{ id: string; counted: number; ledger: number }>(
        `SELECT th.id, th.counted_total_tokens::float8 AS counted,
           (SELECT COALESCE(sum(total_tokens), 0)::float8 FROM usage_event e WHERE e.thread_id = th.id) AS ledger
         FROM thread th ORDER BY th.id`,
      );
      expect(rows).toEqual(n.map((x, k) => ({ id: `th-${k}`, counted: 10 * x, ledger: 10 * x })));
      const hourly = await db.pool.query("SELECT sum(total_tokens)::float8 AS total FROM usage_hourly");
      expect(hourly.rows[0].total).toBe(10 * n.reduce((a, x) => a + x, 0));
    } finally {
      await db.close();
      await testDb.drop();
    }
  });
});

describe("IngestWriter and recovery marks (DESIGN 'What is owed is persistent')", () => {
  const owed = (threadId: string, atMs: number): WriteOp => ({
    op: "owed",
    mark: { threadId, targetId: "alice", reason: "loadedAtContact", atMs },
  });

  it("keeps every thread's first and latest mark through an outage and past the buffer bound", async () => {
    vi.useFakeTimers();
    const db = fakeDb();
    db.down = true;
    const w = new IngestWriter({ write: db.write, price, maxBufferedReports: 2 });
    w.enqueue([owed("th-1", T + 5), owed("th-2", T), owed("th-1", T + 1), owed("th-1", T + 9)]);
    for (let i = 1; i <= 10; i++) w.enqueue([usage("th-1", i)]); // compaction
    await vi.advanceTimersByTimeAsync(2000);
    expect(w.compacted).toBeGreaterThan(0);
    db.down = false;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(db.written.flatMap((b) => b.owed).map((m) => `${m.threadId}@${m.atMs - T}`)).toEqual([
      "th-1@1",
      "th-1@9",
      "th-2@0",
    ]);
  });

  it("settled() resolves only once what was enqueued before it is written, waiting through failures", async () => {
    const db = fakeDb();
    db.down = true;
    const w = new IngestWriter({ write: db.write, price, flushIntervalMs: 1 });
    w.enqueue([owed("th-1", T)]);
    let settled = false;
    const p = w.settled().then(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
    db.down = false;
    await p;
    expect(db.written.flatMap((b) => b.owed)).toHaveLength(1);
    await expect(w.settled()).resolves.toBeUndefined();
  });
});
