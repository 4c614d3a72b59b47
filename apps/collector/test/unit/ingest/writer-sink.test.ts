/**
 * The main thread's side of a write buffer that lives elsewhere (writer.ts WriterSink): one post
 * per tick with a thread's latest snapshot only, and "written", "settled", "pending since" and the
 * callbacks driven by the owner's reports.
 */
import type { BatchResult, PriceFn } from "@codex-fleet/db/repositories/ingest-types";
import { describe, expect, it } from "vitest";
import { emptyThread, type WriteOp } from "../../../src/ingest/thread-state.ts";
import { IngestWriter, type SinkReport, type WriterSink } from "../../../src/ingest/writer.ts";

const T = Date.UTC(2026, 11, 7, 1, 0, 0);
const price: PriceFn = () => ({ costUsd: 0, unpricedTokens: 0, priceVersion: "test" });
const RESULT: BatchResult = { counted: [], echoes: 0, decreased: [], endedTurns: 0 };
const tok = (n: number) => ({
  inputTokens: n,
  cachedInputTokens: 0,
  outputTokens: 0,
  reasoningOutputTokens: 0,
  totalTokens: n,
});
const thread = (id: string, name: string): WriteOp => ({
  op: "thread",
  state: { ...emptyThread(id, "alice", T), name },
});
const usage = (n: number): WriteOp => ({
  op: "usage",
  report: {
    threadId: "th-1",
    turnId: null,
    targetId: "alice",
    model: "m",
    repo: "",
    atMs: T + n,
    total: tok(n),
    last: tok(1),
  },
});

function fakeSink() {
  const posts: { ops: WriteOp[]; seq: number }[] = [];
  let report: (r: SinkReport) => void = () => {};
  const sink: WriterSink = {
    post: (ops, seq) => posts.push({ ops, seq }),
    flush: async () => {},
    close: async () => {},
    listen: (f) => {
      report = f;
    },
  };
  return { sink, posts, report: (r: SinkReport) => report(r) };
}

const state = { backlog: 0, compacted: 0, dropped: 0 };

describe("IngestWriter with a sink", () => {
  it("does post once per tick, a thread's latest snapshot only, in order", async () => {
    const { sink, posts } = fakeSink();
    const writer = new IngestWriter({ price, sink, write: () => Promise.reject(new Error("unused")) });
    writer.enqueue([thread("th-1", "a"), usage(1)]);
    writer.enqueue([thread("th-1", "b"), thread("th-2", "c"), usage(2)]);
    expect(posts).toEqual([]);
    expect(writer.backlog).toBe(5);
    await Promise.resolve();
    expect(posts).toEqual([{ seq: 0, ops: [usage(1), thread("th-1", "b"), thread("th-2", "c"), usage(2)] }]);
    writer.enqueue([usage(3)]);
    await Promise.resolve();
    expect(posts.map((p) => p.seq)).toEqual([0, 1]);
  });

  it("does settle, clear pending and call back only once the owner reports the posts written", async () => {
    const { sink, report } = fakeSink();
    const written: BatchResult[] = [];
    const failed: unknown[] = [];
    let now = T;
    const writer = new IngestWriter({
      price,
      sink,
      now: () => now,
      write: () => Promise.reject(new Error("unused")),
      onWritten: (r) => written.push(r),
      onError: (err) => failed.push(err),
    });
    expect(writer.pendingSinceMs).toBeNull();
    await writer.settled();
    writer.enqueue([usage(1)]);
    now = T + 5;
    writer.enqueue([usage(2)]);
    await Promise.resolve();
    now = T + 10;
    writer.enqueue([usage(3)]);
    await Promise.resolve();
    expect(writer.pendingSinceMs).toBe(T);
    let settled = false;
    void writer.settled().then(() => {
      settled = true;
    });
    report({ ...state, writtenUpTo: -1, kind: "failed", err: new Error("down"), attempt: 1 });
    report({ ...state, backlog: 3, writtenUpTo: 0, kind: "written", result: RESULT, ms: 4 });
    await Promise.resolve();
    expect(settled).toBe(false);
    expect(writer.pendingSinceMs).toBe(T + 10);
    expect(writer.backlog).toBe(3);
    report({ ...state, writtenUpTo: 1, kind: "state" });
    await Promise.resolve();
    expect(settled).toBe(true);
    expect(writer.pendingSinceMs).toBeNull();
    expect(written).toEqual([RESULT]);
    expect(failed).toHaveLength(1);
  });
});
