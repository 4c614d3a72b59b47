/**
 * A writer thread that dies (here: past a 16 MB heap, on a post carrying 40 MB of turn error
 * messages) is replaced, and the posts it had not written reach Postgres through its successor —
 * every token once. One that keeps dying on the same post is given up after three deaths: the
 * supervisor says so (`failed`), later posts are dropped and flushes reject.
 */
import { execFileSync } from "node:child_process";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WriteOp } from "../src/ingest/thread-state.ts";
import { IngestWriter } from "../src/ingest/writer.ts";
import { type SupervisedWriterThread, superviseWriterThread } from "../src/ingest/writer-supervisor.ts";
import { startWriterThread } from "../src/ingest/writer-thread.ts";
import { testPrice as price, REPORT_AT, usage } from "./support/writer-ops.ts";

/** 40 failed turns of thread `big`, each with a 1 MB error message: far past a 16 MB heap. */
const heavy = (): WriteOp[] =>
  Array.from({ length: 40 }, (_, i) => ({
    op: "turn",
    patch: {
      id: `big-turn-${i}`,
      threadId: "big",
      targetId: "t",
      status: "failed",
      errorMessage: `${i}:${"x".repeat(1 << 20)}`,
      startedAtMs: REPORT_AT,
      completedAtMs: REPORT_AT + 1000,
    },
  }));
const THREADS = ["a", "b", "c", "d", "e"];

const sql = (url: string, q: string) => execFileSync("psql", [url, "-Atc", q], { encoding: "utf8" }).trim();

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase({ fallbackToEmbedded: false });
  sql(testDb.url, "INSERT INTO target (id, url) VALUES ('t', 'ws://127.0.0.1:1')");
}, 60_000);
afterAll(async () => {
  await testDb?.drop();
});

/** A writer thread whose heap is 16 MB (`small`) or the default. */
const thread = (small: boolean) =>
  startWriterThread({
    url: testDb.url,
    poolMax: 1,
    overrides: [],
    tuning: { flushIntervalMs: 5 },
    ...(small ? { resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 } } : {}),
  });

function writerOn(supervised: SupervisedWriterThread): IngestWriter {
  return new IngestWriter({
    price,
    write: () => Promise.reject(new Error("the thread writes, not this one")),
    sink: {
      post: (ops, seq) => supervised.post(ops, seq),
      flush: () => supervised.flushBuffer(),
      close: (ms) => supervised.closeBuffer(ms),
      listen: (f) => supervised.listen(f),
    },
  });
}

describe("writer thread supervisor", () => {
  it("replaces a thread that died and writes what it held through the new one, every token once", async () => {
    let started = 0;
    const deaths: { restarting: boolean; reposted: number }[] = [];
    const supervised = superviseWriterThread({
      start: () => thread(started++ === 0),
      onDeath: (_err, info) => deaths.push(info),
    });
    const writer = writerOn(supervised);
    writer.enqueue(THREADS.map((t) => usage(t, 10)));
    await writer.settled();
    expect(sql(testDb.url, "SELECT count(*) FROM usage_event")).toBe("5");

    // One tick: the totals move on, and the turns that kill the first thread.
    writer.enqueue([...THREADS.map((t) => usage(t, 25)), usage("big", 1), ...heavy()]);
    await writer.flush();
    await writer.settled();

    expect(deaths).toEqual([{ restarting: true, reposted: 1 }]);
    expect(supervised.restarts).toBe(1);
    expect(supervised.failed).toBe(false);
    // Each thread's ledger sums to its last cumulative total: nothing lost, nothing twice.
    expect(
      sql(
        testDb.url,
        "SELECT string_agg(thread_id || '=' || s, ',' ORDER BY thread_id) FROM (SELECT thread_id, sum(total_tokens) s FROM usage_event GROUP BY 1) x",
      ),
    ).toBe("a=50,b=50,big=2,c=50,d=50,e=50");
    expect(
      sql(
        testDb.url,
        "SELECT count(*) || ',' || min(length(error_message)) FROM turn WHERE thread_id = 'big' AND status = 'failed'",
      ),
    ).toBe(`40,${(1 << 20) + 2}`);

    // The new thread goes on writing, and a close is not a death.
    writer.enqueue([usage("a", 30)]);
    await writer.close(10_000);
    await supervised.close();
    expect(sql(testDb.url, "SELECT sum(total_tokens) FROM usage_event WHERE thread_id = 'a'")).toBe("60");
    expect(deaths).toHaveLength(1);
  }, 120_000);

  it("gives up on a post that kills every thread: failed, later posts dropped, flushes rejected", async () => {
    const deaths: { restarting: boolean; reposted: number }[] = [];
    const supervised = superviseWriterThread({
      start: () => thread(true),
      onDeath: (_err, info) => deaths.push(info),
    });
    const writer = writerOn(supervised);
    writer.enqueue(heavy());
    await expect(writer.flush()).rejects.toThrow(/keeps dying/);
    expect(deaths).toEqual([
      { restarting: true, reposted: 1 },
      { restarting: true, reposted: 1 },
      { restarting: false, reposted: 0 },
    ]);
    expect(supervised.failed).toBe(true);
    writer.enqueue([usage("z", 1)]);
    await expect(writer.flush()).rejects.toThrow(/keeps dying/);
    expect(writer.pendingSinceMs).not.toBeNull(); // "last contact" stays before what was not written
    expect(sql(testDb.url, "SELECT count(*) FROM usage_event WHERE thread_id = 'z'")).toBe("0");
    await supervised.close();
  }, 120_000);
});
