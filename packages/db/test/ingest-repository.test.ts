import type { TokenCounts } from "@codex-fleet/protocol/events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import { writeIngestBatch } from "../src/repositories/ingest-repository.ts";
import type {
  ActivitySpanRow,
  PriceFn,
  ThreadSnapshot,
  TurnPatchRow,
  UsageReportRow,
} from "../src/repositories/ingest-types.ts";
import { loadThreads, readThread } from "../src/repositories/threads-repository.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";
import { threadSnapshot } from "./support/thread-snapshot.ts";

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

const T0 = Date.UTC(2026, 10, 21, 10, 0, 0);
const FIELDS = [
  "inputTokens",
  "cachedInputTokens",
  "outputTokens",
  "reasoningOutputTokens",
  "totalTokens",
] as const;

/** `n` units of usage; tok(a) − tok(b) = tok(a − b), so deltas and sums stay readable. */
function tok(n: number): TokenCounts {
  return {
    inputTokens: 8 * n,
    cachedInputTokens: 2 * n,
    outputTokens: 2 * n,
    reasoningOutputTokens: n,
    totalTokens: 10 * n,
  };
}

/** Counts as accounting returns them: with the cache-write counter (0 when none were reported). */
const withCacheWrites = (t: TokenCounts, cacheWriteInputTokens = 0): TokenCounts => ({
  ...t,
  cacheWriteInputTokens,
});

const PRICED = "gpt-test";
/** $1 per 1000 tokens for PRICED; everything else is unpriced (null, never $0). */
const price: PriceFn = (model, _atMs, t) =>
  model === PRICED
    ? { costUsd: t.totalTokens / 1000, unpricedTokens: 0, priceVersion: `test:${model}` }
    : { costUsd: null, unpricedTokens: t.totalTokens, priceVersion: "unpriced" };

interface Subject {
  threadId: string;
  targetId: string;
}

let seq = 0;
/** A thread on a target of its own, so the target's rollup rows belong to this test alone. */
async function freshThread(): Promise<Subject> {
  seq++;
  const targetId = `tgt-${seq}`;
  await db.pool.query("INSERT INTO target (id, team, url) VALUES ($1, $2, 'ws://127.0.0.1:1')", [
    targetId,
    `team-${seq}`,
  ]);
  return { threadId: `th-${seq}`, targetId };
}

interface Step {
  n: number;
  turn: string | null;
  /** `last` in units (default: the whole delta since the previous step, like a real response). */
  last?: number;
  model?: string;
  atMs?: number;
}

/** Turn ids are global primary keys: scope them to the test's thread. */
function turnId(s: Subject, short: string): string {
  return `${s.threadId}/${short}`;
}

function report(s: Subject, step: Step): UsageReportRow {
  return {
    ...s,
    turnId: step.turn === null ? null : turnId(s, step.turn),
    model: step.model ?? PRICED,
    repo: "github.com/acme/api",
    atMs: step.atMs ?? T0,
    total: tok(step.n),
    last: tok(step.last ?? step.n),
  };
}

function write(usage: UsageReportRow[], turns: TurnPatchRow[] = []) {
  return writeIngestBatch({ pool: db.pool, threads: [], turns, usage, price });
}

const SUMS = FIELDS.map((f) => `COALESCE(sum(${snake(f)}), 0)::float8 AS "${f}"`).join(", ");
function snake(f: string): string {
  return f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Every place a counted token lands, read back for one thread/target. */
async function books(s: Subject) {
  const q = async (sql: string, id: string) => (await db.pool.query(sql, [id])).rows[0];
  const thread = await q(
    `SELECT ${FIELDS.map((f) => `counted_${snake(f)}::float8 AS "${f}"`).join(", ")} FROM thread WHERE id = $1`,
    s.threadId,
  );
  const ledger = await q(
    `SELECT ${SUMS}, count(*)::int AS rows, COALESCE(min(LEAST(input_tokens, cached_input_tokens, output_tokens,
       reasoning_output_tokens, total_tokens)), 0)::float8 AS "minField", COALESCE(sum(cost_usd), 0)::float8 AS "costUsd",
       COALESCE(sum(unpriced_tokens), 0)::float8 AS "unpricedTokens" FROM usage_event WHERE thread_id = $1`,
    s.threadId,
  );
  const turns = await q(`SELECT ${SUMS} FROM turn WHERE thread_id = $1`, s.threadId);
  const hourly = await q(
    `SELECT ${SUMS}, COALESCE(sum(turns), 0)::int AS turns, COALESCE(sum(failed_turns), 0)::int AS "failedTurns",
       COALESCE(sum(cost_usd), 0)::float8 AS "costUsd", COALESCE(sum(unpriced_tokens), 0)::float8 AS "unpricedTokens"
     FROM usage_hourly WHERE target_id = $1`,
    s.targetId,
  );
  const pick = (r: Record<string, number>): TokenCounts => ({
    inputTokens: Number(r.inputTokens),
    cachedInputTokens: Number(r.cachedInputTokens),
    outputTokens: Number(r.outputTokens),
    reasoningOutputTokens: Number(r.reasoningOutputTokens),
    totalTokens: Number(r.totalTokens),
  });
  return {
    thread: pick(thread),
    ledger: pick(ledger),
    ledgerRow: ledger,
    turns: pick(turns),
    hourly: pick(hourly),
    hourlyRow: hourly,
  };
}

/** The DESIGN invariant: counted = ledger sum = turn counters = rollup, never a negative row. */
async function expectBooksAt(s: Subject, n: number) {
  const b = await books(s);
  expect(b.thread).toEqual(tok(n));
  expect(b.ledger).toEqual(tok(n));
  expect(b.turns).toEqual(tok(n));
  expect(b.hourly).toEqual(tok(n));
  expect(b.ledgerRow.minField).toBeGreaterThanOrEqual(0);
  return b;
}

describe("writeIngestBatch accounting", () => {
  it.each<{
    name: string;
    batches: Step[][];
    counted: number;
    rows: number;
    echoes: number;
    decreases: number;
  }>([
    {
      name: "counts the latest total when totals grow one batch at a time",
      batches: [[{ n: 1, turn: "a" }], [{ n: 3, turn: "b" }], [{ n: 7, turn: "c" }]],
      counted: 7,
      rows: 3,
      echoes: 0,
      decreases: 0,
    },
    {
      name: "counts every step when one batch carries several reports",
      batches: [
        [
          { n: 2, turn: "a" },
          { n: 4, turn: "a" },
          { n: 9, turn: "b" },
        ],
      ],
      counted: 9,
      rows: 3,
      echoes: 0,
      decreases: 0,
    },
    {
      name: "ignores an echo when a failed turn repeats the previous total under a new turnId",
      batches: [[{ n: 5, turn: "a" }], [{ n: 5, turn: "b-failed", last: 5 }], [{ n: 9, turn: "c" }]],
      counted: 9,
      rows: 2,
      echoes: 1,
      decreases: 0,
    },
    {
      name: "counts nothing twice when a reconnect replays the current total and a lagging batch replays old ones",
      batches: [
        [{ n: 2, turn: "a" }],
        [{ n: 5, turn: "b" }],
        [{ n: 8, turn: "c" }],
        [{ n: 8, turn: "c" }], // cold-resume replay of the current total (facts §5)
        [{ n: 5, turn: "b" }], // an older-than-current total arrives late
        [
          { n: 2, turn: "a" },
          { n: 5, turn: "b" },
          { n: 8, turn: "c" },
        ], // another collector's stale buffer
        [{ n: 11, turn: "d" }],
      ],
      counted: 11,
      rows: 4,
      echoes: 2,
      decreases: 3,
    },
    {
      name: "never counts negative tokens when the total decreases and grows again",
      batches: [
        [
          { n: 10, turn: "a" },
          { n: 30, turn: "b" },
        ],
        [{ n: 5, turn: "c" }],
        [{ n: 8, turn: "c" }],
        [{ n: 32, turn: "d" }],
      ],
      counted: 32,
      rows: 3,
      echoes: 0,
      decreases: 2,
    },
  ])("$name", async ({ batches, counted, rows, echoes, decreases }) => {
    const s = await freshThread();
    let seenEchoes = 0;
    let seenDecreases = 0;
    for (const batch of batches) {
      const result = await write(
        batch.map((step, i) => report(s, { ...step, last: step.last ?? 1, atMs: T0 + i })),
      );
      seenEchoes += result.echoes;
      seenDecreases += result.decreased.length;
    }
    const b = await expectBooksAt(s, counted);
    expect(b.ledgerRow.rows).toBe(rows);
    expect(seenEchoes).toBe(echoes);
    expect(seenDecreases).toBe(decreases);
  });

  it("logs a decrease with from and to and leaves the baseline where it was", async () => {
    const s = await freshThread();
    await write([report(s, { n: 30, turn: "a", last: 30 })]);
    const result = await write([report(s, { n: 12, turn: "b", last: 1 })]);
    expect(result.decreased).toEqual([{ threadId: s.threadId, from: withCacheWrites(tok(30)), to: tok(12) }]);
    expect(result.counted).toEqual([]);
    await expectBooksAt(s, 30);
  });

  it("counts only the counters that grew when some counters fell and others grew", async () => {
    const s = await freshThread();
    const r = (total: TokenCounts, turnId: string): UsageReportRow => ({
      ...report(s, { n: 0, turn: turnId }),
      total,
      last: total,
    });
    const first = {
      inputTokens: 100,
      cachedInputTokens: 50,
      outputTokens: 20,
      reasoningOutputTokens: 5,
      totalTokens: 120,
    };
    const mixed = {
      inputTokens: 150,
      cachedInputTokens: 40,
      outputTokens: 30,
      reasoningOutputTokens: 5,
      totalTokens: 180,
    };
    await write([r(first, "a")]);
    const result = await write([r(mixed, "b")]);
    expect(result.counted.map((c) => c.delta)).toEqual([
      withCacheWrites({
        inputTokens: 50,
        cachedInputTokens: 0,
        outputTokens: 10,
        reasoningOutputTokens: 0,
        totalTokens: 60,
      }),
    ]);
    expect(result.decreased).toHaveLength(1);
    const b = await books(s);
    const max = { ...mixed, cachedInputTokens: 50 };
    expect(b.thread).toEqual(max);
    expect(b.ledger).toEqual(max);
    expect(b.hourly).toEqual(max);
  });

  it.each([
    {
      name: "flags backfill when a thread is first seen mid-life",
      first: { n: 40, last: 4 },
      backfill: true,
    },
    {
      name: "does not flag backfill when the first report is the thread's first response",
      first: { n: 4, last: 4 },
      backfill: false,
    },
  ])("$name", async ({ first, backfill }) => {
    const s = await freshThread();
    const r1 = await write([report(s, { ...first, turn: "a" })]);
    const r2 = await write([report(s, { n: first.n + 3, last: 3, turn: "b" })]);
    expect(r1.counted.map((c) => [c.delta, c.backfill])).toEqual([[withCacheWrites(tok(first.n)), backfill]]);
    expect(r2.counted.map((c) => [c.delta, c.backfill])).toEqual([[withCacheWrites(tok(3)), false]]);
    const { rows } = await db.pool.query("SELECT id, backfill FROM turn WHERE thread_id = $1 ORDER BY id", [
      s.threadId,
    ]);
    expect(rows).toEqual([
      { id: turnId(s, "a"), backfill },
      { id: turnId(s, "b"), backfill: false },
    ]);
    await expectBooksAt(s, first.n + 3);
  });

  it("attributes each delta to its turn, model and hour", async () => {
    const s = await freshThread();
    await write([
      report(s, { n: 2, turn: "a", atMs: T0 + 10 }),
      report(s, { n: 5, turn: "a", atMs: T0 + 20 }),
      report(s, { n: 6, turn: "b", atMs: T0 + 3_600_000, model: "mystery-model" }),
    ]);
    const { rows: turns } = await db.pool.query(
      "SELECT id, model, total_tokens::float8 AS total FROM turn WHERE thread_id = $1 ORDER BY id",
      [s.threadId],
    );
    expect(turns).toEqual([
      { id: turnId(s, "a"), model: PRICED, total: 50 },
      { id: turnId(s, "b"), model: "mystery-model", total: 10 },
    ]);
    const { rows: hours } = await db.pool.query(
      `SELECT to_char(hour, 'HH24:MI') AS h, model, total_tokens::float8 AS total FROM usage_hourly
       WHERE target_id = $1 ORDER BY hour`,
      [s.targetId],
    );
    expect(hours).toEqual([
      { h: "10:00", model: PRICED, total: 50 },
      { h: "11:00", model: "mystery-model", total: 10 },
    ]);
  });
});

describe("writeIngestBatch costs", () => {
  it("prices known models and keeps unknown ones unpriced rather than $0", async () => {
    const s = await freshThread();
    const result = await write([
      report(s, { n: 100, turn: "priced" }), // 1000 tokens → $1
      report(s, { n: 130, turn: "unknown", model: "mystery-model" }), // 300 unpriced tokens
      report(s, { n: 150, turn: "unknown", model: "mystery-model" }), // 200 more
    ]);
    expect(result.counted.map((c) => c.costUsd)).toEqual([1, null, null]);
    const b = await expectBooksAt(s, 150);
    expect(b.ledgerRow.costUsd).toBeCloseTo(1, 10);
    expect(b.ledgerRow.unpricedTokens).toBe(500);
    expect(b.hourlyRow.costUsd).toBeCloseTo(1, 10);
    expect(b.hourlyRow.unpricedTokens).toBe(500);
    const { rows } = await db.pool.query(
      `SELECT id, cost_usd::float8 AS cost, unpriced_tokens::float8 AS unpriced, price_version AS v FROM turn
       WHERE thread_id = $1 ORDER BY id`,
      [s.threadId],
    );
    expect(rows).toEqual([
      { id: turnId(s, "priced"), cost: 1, unpriced: 0, v: "test:gpt-test" },
      { id: turnId(s, "unknown"), cost: 0, unpriced: 500, v: "unpriced" },
    ]);
  });

  it("prices only the delta, not the cumulative total", async () => {
    const s = await freshThread();
    await write([report(s, { n: 100, turn: "a" })]);
    const result = await write([report(s, { n: 120, turn: "b" })]);
    expect(result.counted.map((c) => c.costUsd)).toEqual([0.2]);
  });
});

describe("writeIngestBatch cache writes and the request that decides the tier", () => {
  /** Records what pricing was asked, and prices as `price` does. */
  const asked: { tokens: TokenCounts; request: unknown }[] = [];
  const recording: PriceFn = (model, atMs, t, request) => {
    asked.push({ tokens: t, request });
    return price(model, atMs, t, request);
  };
  const withWrites = (s: Subject, n: number, last: number, cw: number, cwLast: number): UsageReportRow => ({
    ...report(s, { n, last, turn: "a" }),
    total: withCacheWrites(tok(n), cw),
    last: withCacheWrites(tok(last), cwLast),
  });
  const rows = async (s: Subject) =>
    (
      await db.pool.query(
        `SELECT input_tokens::float8 AS input, cache_write_input_tokens::float8 AS cw,
                request_input_tokens::float8 AS req, backfill
         FROM usage_event WHERE thread_id = $1 ORDER BY id`,
        [s.threadId],
      )
    ).rows;

  it("does store each response's cache writes and price it as one request", async () => {
    const s = await freshThread();
    asked.length = 0;
    await writeIngestBatch({
      pool: db.pool,
      threads: [],
      turns: [],
      usage: [withWrites(s, 4, 4, 5, 5)],
      price: recording,
    });
    await writeIngestBatch({
      pool: db.pool,
      threads: [],
      turns: [],
      usage: [withWrites(s, 7, 3, 9, 4)],
      price: recording,
    });
    expect(await rows(s)).toEqual([
      { input: 32, cw: 5, req: 32, backfill: false },
      { input: 24, cw: 4, req: 24, backfill: false },
    ]);
    expect(asked.map((a) => a.request)).toEqual([
      { requestInputTokens: 32, merged: false },
      { requestInputTokens: 24, merged: false },
    ]);
    expect(asked.map((a) => a.tokens.cacheWriteInputTokens)).toEqual([5, 4]);
    const { rows: t } = await db.pool.query(
      "SELECT counted_cache_write_input_tokens::float8 AS cw FROM thread WHERE id = $1",
      [s.threadId],
    );
    expect(t).toEqual([{ cw: 9 }]);
  });

  it("does price a delta of several responses by its last response, marked merged", async () => {
    const s = await freshThread();
    asked.length = 0;
    // First sight mid-life: 40 units counted, the last response was 4 of them.
    await writeIngestBatch({
      pool: db.pool,
      threads: [],
      turns: [],
      usage: [withWrites(s, 40, 4, 10, 1)],
      price: recording,
    });
    expect(asked.map((a) => a.request)).toEqual([{ requestInputTokens: 32, merged: true }]);
    expect(await rows(s)).toEqual([{ input: 320, cw: 10, req: 32, backfill: true }]);
  });

  it("does bound a cache-write delta by the delta's uncached input (a baseline from before the column)", async () => {
    const s = await freshThread();
    await write([report(s, { n: 10, last: 10, turn: "a" })]); // counted, cache writes 0
    // The server's cumulative cache writes are far above what this one response could hold.
    await writeIngestBatch({
      pool: db.pool,
      threads: [],
      turns: [],
      usage: [withWrites(s, 11, 1, 500, 2)],
      price,
    });
    // Δinput 8, Δcached 2: at most 6 of it can be cache writes.
    expect((await rows(s)).map((r) => r.cw)).toEqual([0, 6]);
    await expectBooksAt(s, 11);
  });
});

describe("writeIngestBatch turn ends", () => {
  const patch = (s: Subject, id: string, status: string): TurnPatchRow => ({
    id: turnId(s, id),
    threadId: s.threadId,
    targetId: s.targetId,
    status,
    startedAtMs: T0,
    completedAtMs: status === "inProgress" ? null : T0 + 1000,
  });

  it.each([
    {
      name: "counts a turn end once when the terminal patch arrives in two batches",
      batches: [["completed"], ["completed"]],
      turns: 1,
      failed: 0,
    },
    {
      name: "counts a turn end once when the terminal patch arrives twice in one batch",
      batches: [["failed", "failed"]],
      turns: 1,
      failed: 1,
    },
    {
      name: "counts the end when a turn started in one batch and failed in the next",
      batches: [["inProgress"], ["failed"]],
      turns: 1,
      failed: 1,
    },
    {
      name: "keeps the terminal status when a stale inProgress patch follows it",
      batches: [["interrupted"], ["inProgress"]],
      turns: 1,
      failed: 0,
    },
    {
      name: "keeps the first terminal status when another terminal patch follows",
      batches: [["completed"], ["failed"]],
      turns: 1,
      failed: 0,
    },
    {
      name: "counts nothing while a turn is in progress",
      batches: [["inProgress"], ["inProgress"]],
      turns: 0,
      failed: 0,
    },
  ])("$name", async ({ batches, turns, failed }) => {
    const s = await freshThread();
    let ended = 0;
    for (const statuses of batches) {
      const result = await write(
        [],
        statuses.map((st) => patch(s, "t1", st)),
      );
      ended += result.endedTurns;
    }
    const b = await books(s);
    expect(ended).toBe(turns);
    expect([b.hourlyRow.turns, b.hourlyRow.failedTurns]).toEqual([turns, failed]);
    const { rows } = await db.pool.query("SELECT status FROM turn WHERE id = $1", [turnId(s, "t1")]);
    expect(rows[0]?.status).toBe(
      batches
        .flat()
        .filter((st) => st !== "inProgress")
        .at(0) ?? "inProgress",
    );
  });
});

describe("writeIngestBatch with two collectors", () => {
  /** mulberry32: a seeded PRNG, so a failing interleaving can be replayed. */
  function rng(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** One collector's view: the same server stream, its own batching, and stale replays now and then. */
  function collectorBatches(
    stream: UsageReportRow[],
    random: () => number,
    staleRate: number,
  ): UsageReportRow[][] {
    const batches: UsageReportRow[][] = [];
    for (let i = 0; i < stream.length; ) {
      const size = 1 + Math.floor(random() * 6);
      const batch = stream.slice(i, i + size);
      if (random() < staleRate && i > 0) batch.push(stream[Math.floor(random() * i)] as UsageReportRow);
      batches.push(batch);
      i += size;
    }
    return batches;
  }

  it.for([1, 2, 3, 4, 5, 6])(
    "counts each thread's latest total exactly once when two collectors write the same stream in parallel (seed %i)",
    async (seed, ctx) => {
      if (testDb.kind === "embedded") ctx.skip(); // PGlite is one session: no concurrent transactions
      const random = rng(seed);
      const threads = [await freshThread(), await freshThread(), await freshThread()];
      const targetId = (threads[0] as Subject).targetId;
      const subjects = threads.map((t) => ({ ...t, targetId })); // one target: contended rollup rows
      const n = subjects.map(() => 0);
      const stream: UsageReportRow[] = [];
      for (let i = 0; i < 120; i++) {
        const k = Math.floor(random() * subjects.length);
        if (random() > 0.15) n[k] = (n[k] ?? 0) + 1 + Math.floor(random() * 5); // else an echo
        stream.push(
          report(subjects[k] as Subject, {
            n: n[k] ?? 0,
            turn: `t${Math.floor(i / 4)}`,
            atMs: T0 + i,
            last: 1,
          }),
        );
      }
      // deadlock_timeout 50 ms: two collectors may lock threads in different orders; the writer retries.
      const url = new URL(testDb.url);
      url.searchParams.set("options", "-c deadlock_timeout=50");
      const collectors = [
        createDb({ url: url.toString(), poolMax: 2 }),
        createDb({ url: url.toString(), poolMax: 2 }),
      ];
      let retries = 0;
      const writeRetrying = async (pool: Db["pool"], usage: UsageReportRow[]) => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await writeIngestBatch({ pool, threads: [], turns: [], usage, price });
          } catch (err) {
            if ((err as { code?: string }).code !== "40P01" || attempt > 20) throw err;
            retries++;
          }
        }
      };
      try {
        const plans = collectors.map((_, i) => collectorBatches(stream, random, i === 0 ? 0 : 0.3));
        const rounds = Math.max(...plans.map((p) => p.length));
        for (let round = 0; round < rounds; round++) {
          await Promise.all(
            collectors.map((c, i) => {
              const batch = plans[i]?.[round];
              return batch ? writeRetrying(c.pool, batch) : undefined;
            }),
          );
        }
      } finally {
        await Promise.all(collectors.map((c) => c.close()));
      }
      for (const [k, s] of subjects.entries()) {
        const b = await books(s);
        expect(b.thread).toEqual(tok(n[k] ?? 0));
        expect(b.ledger).toEqual(tok(n[k] ?? 0));
        expect(b.turns).toEqual(tok(n[k] ?? 0));
      }
      const total = n.reduce((a, x) => a + x, 0);
      expect((await books(subjects[0] as Subject)).hourly).toEqual(tok(total));
      expect(retries).toBeLessThan(200);
    },
  );
});

describe("thread upsert and load (issue 'Hostile input, round two', finding 3)", () => {
  const snapshot = (s: Subject, over: Partial<ThreadSnapshot> = {}): ThreadSnapshot =>
    threadSnapshot(s.threadId, s.targetId, T0, over);
  const write = (threads: ThreadSnapshot[]) =>
    writeIngestBatch({ pool: db.pool, threads, turns: [], usage: [], price });

  it("never replaces a known metadata value with an unknown one; the current turn and last error may clear", async () => {
    const s = await freshThread();
    const known = {
      model: "gpt-5.5",
      modelProvider: "openai",
      cwd: "/w",
      repo: "acme/web",
      gitBranch: "main",
      gitOrigin: "git@x:acme/web.git",
      source: "cli",
      name: "n",
      cliVersion: "0.171.0",
      lastTurnId: "t1",
      lastTurnStatus: "failed" as const,
      contextTokens: 10,
      modelContextWindow: 100,
      currentTurnId: "t2",
      currentTurnStartedAtMs: T0,
      lastErrorMessage: "boom",
      lastCodexErrorInfo: "other",
    };
    await write([snapshot(s, known)]);
    await write([snapshot(s, { status: "active", lastEventAtMs: T0 + 1 })]);
    const [stored] = await loadThreads({
      pool: db.pool,
      perTarget: 10,
      targetIds: [s.targetId],
      heldSinceMs: 0,
    }).then((all) => all.filter((t) => t.id === s.threadId));
    expect(stored).toMatchObject({
      ...known,
      status: "active",
      currentTurnId: null,
      currentTurnStartedAtMs: null,
      lastErrorMessage: null,
      lastCodexErrorInfo: null,
    });
    await write([snapshot(s, { model: "gpt-6" })]);
    expect((await readThread({ pool: db.pool, id: s.threadId }))?.model).toBe("gpt-6");
  });

  it("loads the newest threads of each target, never a fleet-wide limit", async () => {
    const flood = await freshThread();
    const quiet = await freshThread();
    await db.pool.query(
      `INSERT INTO thread (id, target_id, last_event_at)
       SELECT $1 || '-' || g, $2, timestamp '2026-12-06' + g * interval '1 second' FROM generate_series(1, 20) g`,
      [flood.threadId, flood.targetId],
    );
    await write([snapshot(quiet, { lastEventAtMs: T0, model: "m" })]);
    const loaded = await loadThreads({
      pool: db.pool,
      perTarget: 5,
      targetIds: [flood.targetId, quiet.targetId],
      heldSinceMs: 0,
    });
    const ofFlood = loaded.filter((t) => t.targetId === flood.targetId).map((t) => t.id);
    expect(ofFlood).toEqual([16, 17, 18, 19, 20].map((g) => `${flood.threadId}-${g}`).reverse());
    expect(loaded.filter((t) => t.targetId === quiet.targetId).map((t) => t.id)).toEqual([quiet.threadId]);
  });
});

describe("writeIngestBatch writes each turn row and each hourly row once per batch", () => {
  const patch = (s: Subject, id: string, over: Partial<TurnPatchRow> = {}): TurnPatchRow => ({
    id: turnId(s, id),
    threadId: s.threadId,
    targetId: s.targetId,
    status: "inProgress",
    startedAtMs: T0,
    ...over,
  });
  const activity = async (s: Subject) =>
    (
      await db.pool.query(
        `SELECT COALESCE(sum(turns_started), 0)::int AS started, COALESCE(sum(turns_completed), 0)::int AS completed
         FROM activity_hourly WHERE target_id = $1`,
        [s.targetId],
      )
    ).rows[0];

  it("writes a patched and reported turn's row once, and its hour's usage row once", async () => {
    // Counts every row write (insert or update) of turn and usage_hourly.
    await db.pool.query(`
      CREATE TABLE IF NOT EXISTS row_writes (tbl text, id text);
      CREATE OR REPLACE FUNCTION turn_written() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN INSERT INTO row_writes VALUES ('turn', NEW.id); RETURN NULL; END $$;
      CREATE OR REPLACE FUNCTION hourly_written() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN INSERT INTO row_writes VALUES ('usage_hourly', NEW.target_id); RETURN NULL; END $$;
      CREATE OR REPLACE TRIGGER turn_written AFTER INSERT OR UPDATE ON turn
        FOR EACH ROW EXECUTE FUNCTION turn_written();
      CREATE OR REPLACE TRIGGER hourly_written AFTER INSERT OR UPDATE ON usage_hourly
        FOR EACH ROW EXECUTE FUNCTION hourly_written();`);
    const writes = async (tbl: string, id: string) =>
      Number(
        (await db.pool.query("SELECT count(*) AS n FROM row_writes WHERE tbl = $1 AND id = $2", [tbl, id]))
          .rows[0].n,
      );
    try {
      const s = await freshThread();
      await db.pool.query("INSERT INTO thread (id, target_id, repo) VALUES ($1, $2, $3)", [
        s.threadId,
        s.targetId,
        "github.com/acme/api",
      ]);
      // Started, reported twice and completed in one batch (the turn keyed by the reports' model).
      await write(
        [report(s, { n: 3, turn: "t1" }), report(s, { n: 5, turn: "t1" })],
        [patch(s, "t1"), patch(s, "t1", { model: PRICED, status: "completed", completedAtMs: T0 + 1000 })],
      );
      // Patched twice in one batch: one statement per patch of a turn, each writing it once.
      expect(await writes("turn", turnId(s, "t1"))).toBe(2);
      expect(await writes("usage_hourly", s.targetId)).toBe(2);
      // Started, reported and completed in one batch, patched once: one write of each row.
      await write(
        [report(s, { n: 9, turn: "t2" })],
        [patch(s, "t2", { status: "completed", completedAtMs: T0 + 1000 })],
      );
      expect(await writes("turn", turnId(s, "t2"))).toBe(1);
      expect(await writes("usage_hourly", s.targetId)).toBe(3);
      const b = await expectBooksAt(s, 9);
      expect([b.hourlyRow.turns, b.hourlyRow.failedTurns]).toEqual([2, 0]);
      expect(await activity(s)).toEqual({ started: 2, completed: 2 });
    } finally {
      await db.pool.query("DROP TRIGGER turn_written ON turn; DROP TRIGGER hourly_written ON usage_hourly");
    }
  });

  it("writes a thread row once for its baseline move and activity marks, and an hour's activity row once", async () => {
    await db.pool.query(`
      CREATE TABLE IF NOT EXISTS row_writes (tbl text, id text);
      CREATE OR REPLACE FUNCTION thread_written() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN INSERT INTO row_writes VALUES ('thread', NEW.id); RETURN NULL; END $$;
      CREATE OR REPLACE FUNCTION activity_written() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN INSERT INTO row_writes VALUES ('activity_hourly', NEW.target_id); RETURN NULL; END $$;
      CREATE OR REPLACE TRIGGER thread_written AFTER UPDATE ON thread
        FOR EACH ROW EXECUTE FUNCTION thread_written();
      CREATE OR REPLACE TRIGGER activity_written AFTER INSERT OR UPDATE ON activity_hourly
        FOR EACH ROW EXECUTE FUNCTION activity_written();`);
    const writes = async (tbl: string, id: string) =>
      Number(
        (await db.pool.query("SELECT count(*) AS n FROM row_writes WHERE tbl = $1 AND id = $2", [tbl, id]))
          .rows[0].n,
      );
    try {
      const s = await freshThread();
      await db.pool.query("INSERT INTO thread (id, target_id, repo, model) VALUES ($1, $2, $3, $4)", [
        s.threadId,
        s.targetId,
        "github.com/acme/api",
        PRICED,
      ]);
      const span = (fromMs: number, toMs: number): ActivitySpanRow => ({
        ...s,
        kind: "working",
        model: PRICED,
        repo: "github.com/acme/api",
        fromMs,
        toMs,
      });
      const batch = (n: number, fromMs: number, toMs: number, turn: string) =>
        writeIngestBatch({
          pool: db.pool,
          threads: [],
          turns: [patch(s, turn, { model: PRICED, status: "completed", completedAtMs: T0 + 1000 })],
          usage: [report(s, { n, turn })],
          spans: [span(fromMs, toMs)],
          price,
        });
      // Reported, worked and completed in one batch: the thread row, the activity row written once.
      await batch(3, T0, T0 + 1000, "t1");
      expect(await writes("thread", s.threadId)).toBe(1);
      expect(await writes("activity_hourly", s.targetId)).toBe(1);
      // Again, overlapping the time counted before: counted past it only.
      await batch(5, T0 + 500, T0 + 2000, "t2");
      expect(await writes("thread", s.threadId)).toBe(2);
      expect(await writes("activity_hourly", s.targetId)).toBe(2);
      await expectBooksAt(s, 5);
      const { rows } = await db.pool.query(
        `SELECT sum(working_ms)::int AS working, sum(turns_started)::int AS started, sum(turns_completed)::int AS completed
         FROM activity_hourly WHERE target_id = $1`,
        [s.targetId],
      );
      expect(rows[0]).toEqual({ working: 2000, started: 2, completed: 2 });
    } finally {
      await db.pool.query(
        "DROP TRIGGER thread_written ON thread; DROP TRIGGER activity_written ON activity_hourly",
      );
    }
  });

  it("counts a turn the reports create as started once when a later patch of the batch names it", async () => {
    const s = await freshThread();
    // Patches of A, B, A, C: C comes after A's second patch, and the reports create C too.
    await write(
      [report(s, { n: 2, turn: "c" }), report(s, { n: 4, turn: "a" })],
      [
        patch(s, "a"),
        patch(s, "b"),
        patch(s, "a", { status: "completed", completedAtMs: T0 + 1 }),
        patch(s, "c"),
      ],
    );
    await expectBooksAt(s, 4);
    expect(await activity(s)).toEqual({ started: 3, completed: 1 });
    // A turn only the reports name is created, not started.
    await write([report(s, { n: 6, turn: "d" })]);
    await expectBooksAt(s, 6);
    expect(await activity(s)).toEqual({ started: 3, completed: 1 });
  });

  it("keeps the patch's model, else the stored one, else the reports'", async () => {
    const s = await freshThread();
    const model = async (id: string) =>
      (await db.pool.query("SELECT model FROM turn WHERE id = $1", [turnId(s, id)])).rows[0]?.model;
    await write([], [patch(s, "stored-null")]);
    await write([report(s, { n: 1, turn: "stored-null", model: "m-report" })], [patch(s, "stored-null")]);
    expect(await model("stored-null")).toBe("m-report");
    await write([report(s, { n: 2, turn: "stored-null", model: "m-other" })], [patch(s, "stored-null")]);
    expect(await model("stored-null")).toBe("m-report");
    await write(
      [report(s, { n: 3, turn: "patched", model: "m-report" })],
      [patch(s, "patched", { model: "m-patch" })],
    );
    expect(await model("patched")).toBe("m-patch");
    await write([report(s, { n: 4, turn: "new", model: "m-report" })], [patch(s, "new")]);
    expect(await model("new")).toBe("m-report");
  });
});
