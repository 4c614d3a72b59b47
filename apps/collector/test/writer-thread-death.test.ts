/**
 * A writer thread that dies (here: past its heap limit) says so once through onDeath — a closed
 * one does not — so the collector starts another instead of failing every later write for good.
 */
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WriteOp } from "../src/ingest/thread-state.ts";
import { startWriterThread } from "../src/ingest/writer-thread.ts";

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase({ fallbackToEmbedded: false });
}, 60_000);
afterAll(async () => {
  await testDb?.drop();
});

const empty = { threads: [], turns: [], usage: [], owed: [], spans: [], waits: [] };

describe("writer thread death", () => {
  it("reports a death once, fails later writes at once, and reports nothing for a close", async () => {
    const thread = startWriterThread({
      url: testDb.url,
      poolMax: 1,
      overrides: [],
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    const deaths: Error[] = [];
    thread.onDeath((err) => deaths.push(err));
    await thread.write(empty);
    // Posts the thread must hold in its buffer until it cannot: far past a 16 MB heap.
    const big = "x".repeat(1 << 20);
    const died = new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (deaths.length > 0) {
          clearInterval(timer);
          resolve();
        }
      }, 20);
    });
    for (let i = 0; i < 200 && deaths.length === 0; i++) {
      const ops: WriteOp[] = Array.from({ length: 8 }, (_, j) => ({
        op: "usage",
        report: {
          threadId: `t-${i}-${j}-${big}`,
          turnId: "turn",
          targetId: "t",
          model: "m",
          repo: "",
          atMs: 0,
          total: {
            inputTokens: 1,
            cachedInputTokens: 0,
            outputTokens: 0,
            reasoningOutputTokens: 0,
            totalTokens: 1,
          },
          last: {
            inputTokens: 1,
            cachedInputTokens: 0,
            outputTokens: 0,
            reasoningOutputTokens: 0,
            totalTokens: 1,
          },
        },
      }));
      thread.post(ops, i);
      await new Promise((r) => setTimeout(r, 5));
    }
    await died;
    expect(deaths).toHaveLength(1);
    await expect(thread.write(empty)).rejects.toThrow();
    // A handler set after the death still hears of it.
    const late: Error[] = [];
    thread.onDeath((err) => late.push(err));
    expect(late).toHaveLength(1);

    const healthy = startWriterThread({ url: testDb.url, poolMax: 1, overrides: [] });
    const none: Error[] = [];
    healthy.onDeath((err) => none.push(err));
    await healthy.write(empty);
    await healthy.close();
    expect(none).toEqual([]);
  }, 60_000);
});
