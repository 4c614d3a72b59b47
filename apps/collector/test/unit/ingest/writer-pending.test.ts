/**
 * IngestWriter.pendingSinceMs — when the oldest operation not yet in the database arrived — and
 * its handling of batches the database refuses as data. The fleet never stores a "last contact"
 * later than pendingSinceMs, so that a collector killed with writes in memory backfills them after
 * its restart; and one refused value must not hold up every other write.
 */
import type { BatchResult } from "@codex-fleet/db/repositories/ingest-types";
import { describe, expect, it } from "vitest";
import { emptyThread, type WriteOp } from "../../../src/ingest/thread-state.ts";
import { IngestWriter, isRejectedData, type WriterOptions } from "../../../src/ingest/writer.ts";

const RESULT: BatchResult = { counted: [], echoes: 0, decreased: [], endedTurns: 0 };
type Batch = Parameters<WriterOptions["write"]>[0];

const counts = (n: number) => ({
  inputTokens: n,
  cachedInputTokens: 0,
  outputTokens: 0,
  reasoningOutputTokens: 0,
  totalTokens: n,
});
const usage = (threadId: string, n: number): WriteOp => ({
  op: "usage",
  report: {
    threadId,
    turnId: null,
    targetId: "alice",
    model: "m",
    repo: "",
    atMs: n,
    total: counts(n),
    last: counts(n),
  },
});
const threadOp = (id: string, contextTokens: number): WriteOp => ({
  op: "thread",
  state: { ...emptyThread(id, "alice", 0), contextTokens },
});

/** A writer on a settable clock whose writes wait for the test to settle them. */
function harness(opts: Partial<WriterOptions> = {}) {
  let clock = 1000;
  const calls: { batch: Batch; settle(err?: unknown): void }[] = [];
  const writer = new IngestWriter({
    flushIntervalMs: 60_000,
    price: () => ({ costUsd: 0, unpricedTokens: 0, priceVersion: "t" }),
    now: () => clock,
    write: (batch) =>
      new Promise<BatchResult>((resolve, reject) => {
        calls.push({ batch, settle: (err) => (err ? reject(err) : resolve(RESULT)) });
      }),
    ...opts,
  });
  const settleNext = async (err?: unknown) => {
    while (calls.length === 0) await new Promise((r) => setImmediate(r));
    calls.shift()?.settle(err);
    await new Promise((r) => setImmediate(r));
  };
  return { writer, calls, settleNext, at: (ms: number) => (clock = ms) };
}

describe("IngestWriter.pendingSinceMs", () => {
  it("is null when nothing waits, the first enqueue time until a write covers it, then null again", async () => {
    const h = harness();
    expect(h.writer.pendingSinceMs).toBeNull();
    h.at(1000);
    h.writer.enqueue([usage("a", 1)]);
    h.at(1500);
    h.writer.enqueue([usage("a", 2)]);
    expect(h.writer.pendingSinceMs).toBe(1000);
    const flushed = h.writer.flush().catch(() => "failed");
    await h.settleNext(new Error("connection reset"));
    expect(await flushed).toBe("failed");
    expect(h.writer.pendingSinceMs).toBe(1000);
    const again = h.writer.flush();
    await h.settleNext();
    await again;
    expect(h.writer.pendingSinceMs).toBeNull();
  });

  it("moves to the time a batch was taken when more arrived while it was written", async () => {
    const h = harness();
    h.at(1000);
    h.writer.enqueue([usage("a", 1)]);
    h.at(2000);
    const flushed = h.writer.flush();
    while (h.calls.length === 0) await new Promise((r) => setImmediate(r));
    h.at(2500);
    h.writer.enqueue([usage("a", 2)]);
    await h.settleNext();
    expect(h.writer.pendingSinceMs).toBe(2000);
    await h.settleNext();
    await flushed;
    expect(h.writer.pendingSinceMs).toBeNull();
  });

  it("stays at the oldest enqueue while a batch left reports behind (maxBatchReports)", async () => {
    const h = harness({ maxBatchReports: 1 });
    h.at(1000);
    h.writer.enqueue([usage("a", 1), usage("a", 2)]);
    h.at(3000);
    const flushed = h.writer.flush();
    await h.settleNext();
    expect(h.writer.pendingSinceMs).toBe(1000);
    await h.settleNext();
    await flushed;
    expect(h.writer.pendingSinceMs).toBeNull();
  });
});

describe("IngestWriter with data the database refuses", () => {
  const outOfRange = Object.assign(new Error('value "1e+300" is out of range for type integer'), {
    code: "22003",
  });

  it.each([
    { err: outOfRange, rejected: true },
    { err: Object.assign(new Error("timestamp out of range"), { code: "22008" }), rejected: true },
    { err: Object.assign(new Error("null value in column"), { code: "23502" }), rejected: true },
    { err: Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }), rejected: false },
    { err: Object.assign(new Error("terminating connection"), { code: "57P01" }), rejected: false },
    { err: new Error("baseline of thread x moved concurrently"), rejected: false },
  ])("treats $err.message as refused data: $rejected", ({ err, rejected }) => {
    expect(isRejectedData(err)).toBe(rejected);
  });

  it("writes the rest of a refused batch one operation at a time and drops only what is refused", async () => {
    const written: WriteOp["op"][] = [];
    const dropped: WriteOp[] = [];
    const writer = new IngestWriter({
      price: () => ({ costUsd: 0, unpricedTokens: 0, priceVersion: "t" }),
      onDropped: (op) => dropped.push(op),
      write: async (b) => {
        if (b.threads.some((t) => (t.contextTokens ?? 0) > 2 ** 31)) throw outOfRange;
        written.push(...b.threads.map(() => "thread" as const), ...b.usage.map(() => "usage" as const));
        return RESULT;
      },
    });
    writer.enqueue([threadOp("good", 10), threadOp("evil", 1e300), usage("good", 5), usage("evil", 7)]);
    await writer.flush();
    expect(dropped.map((o) => (o.op === "thread" ? o.state.id : o.op))).toEqual(["evil"]);
    expect(written).toEqual(["thread", "usage", "usage"]);
    expect(writer.dropped).toBe(1);
    expect(writer.backlog).toBe(0);
    expect(writer.pendingSinceMs).toBeNull();
  });
});
