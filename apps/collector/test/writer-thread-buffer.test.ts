/**
 * The write buffer on the writer thread (writer.ts WriterSink, writer-thread.ts): operations
 * enqueued on the main thread reach Postgres while the main thread's event loop is busy — as it
 * is for seconds while a burst of frames is read (bench scenario 2). A flush timer on the main
 * loop could not fire until the block ends; here the rows appear during it.
 */
import { execFileSync } from "node:child_process";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IngestWriter } from "../src/ingest/writer.ts";
import { startWriterThread, type WriterThread } from "../src/ingest/writer-thread.ts";
import { testPrice as price, usage } from "./support/writer-ops.ts";

/** Rows of `threadId` in usage_event, read synchronously (this thread's event loop stays blocked). */
const countSync = (url: string, threadId: string) =>
  Number(
    execFileSync("psql", [url, "-Atc", `SELECT count(*) FROM usage_event WHERE thread_id = '${threadId}'`], {
      encoding: "utf8",
    }).trim(),
  );

let testDb: TestDatabase;
let thread: WriterThread;

beforeAll(async () => {
  testDb = await createTestDatabase({ fallbackToEmbedded: false });
  execFileSync("psql", [testDb.url, "-c", "INSERT INTO target (id, url) VALUES ('t', 'ws://127.0.0.1:1')"]);
  thread = startWriterThread({ url: testDb.url, poolMax: 1, overrides: [], tuning: { flushIntervalMs: 5 } });
  // Started (its modules loaded, its pool connected) before the test blocks this thread.
  await thread.write({ threads: [], turns: [], usage: [], owed: [], spans: [], waits: [] });
}, 60_000);
afterAll(async () => {
  await thread?.close();
  await testDb?.drop();
});

describe("write buffer on the writer thread", () => {
  it("does write while the main thread's event loop is blocked, and reports it once free", async () => {
    const counted: number[] = [];
    const writer = new IngestWriter({
      price,
      write: () => Promise.reject(new Error("the thread writes, not this one")),
      sink: {
        post: (ops, seq) => thread.post(ops, seq),
        flush: () => thread.flushBuffer(),
        close: (ms) => thread.closeBuffer(ms),
        listen: (f) => thread.listen(f),
      },
      onWritten: (r) => counted.push(...r.counted.map((c) => c.cumulative.totalTokens)),
    });
    writer.enqueue([usage("blocked", 5)]);
    await Promise.resolve(); // the tick ends: its operations are posted
    // Block this event loop (no timer, no message can run) until the row is in the database.
    const deadline = Date.now() + 30_000;
    let rows = 0;
    while (rows === 0 && Date.now() < deadline) rows = countSync(testDb.url, "blocked");
    expect(rows).toBe(1);
    expect(writer.pendingSinceMs).not.toBeNull(); // the report has not been read yet
    await writer.settled();
    expect(writer.pendingSinceMs).toBeNull();
    expect(counted).toEqual([10]);
    writer.enqueue([usage("blocked", 7)]);
    await writer.flush();
    expect(countSync(testDb.url, "blocked")).toBe(2);
    expect(counted).toEqual([10, 14]);
    expect(writer.dropped).toBe(0);
    await writer.close(1000);
  });
});
