/**
 * Issue "Hostile input, round two", finding 1: a batch Postgres refuses for its content — whatever
 * the SQLSTATE class — must never hold up other targets' writes. A row whose key is too large for
 * its btree index (54000, measured with a 6,000-character thread id and a 4,000-character model)
 * is isolated and dropped; everything else in the batch, and everything after it, is written.
 */
import { randomBytes } from "node:crypto";
import { createDb, type Db } from "@codex-fleet/db/client";
import { writeIngestBatch } from "@codex-fleet/db/repositories/ingest-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emptyThread, type WriteOp } from "../src/ingest/thread-state.ts";
import { IngestWriter, isRejectedData } from "../src/ingest/writer.ts";

const err = (code: string) => Object.assign(new Error(code), { code });

describe("isRejectedData: refused for its content unless the class is about the server", () => {
  it.each([
    ["22003", true], // numeric value out of range
    ["23505", true], // unique violation
    ["54000", true], // index row size exceeds btree maximum (the measured stall)
    ["21000", true], // ON CONFLICT row affected twice
    ["P0001", true], // raised by a trigger
    ["2201X", true],
    ["08006", false], // connection failure
    ["40001", false], // serialization failure
    ["40P01", false], // deadlock
    ["53100", false], // disk full
    ["55P03", false], // lock not available
    ["57P01", false], // admin shutdown
    ["57014", false], // query canceled
    ["42P01", false], // undefined table: a deployment problem, not the rows
    ["XX000", false],
    ["EPIPE", false], // Node's, not a SQLSTATE
    ["ECONNRESET", false],
  ])("%s → %s", (code, rejected) => {
    expect(isRejectedData(err(code))).toBe(rejected);
  });

  it("retries errors without a code", () => {
    expect(isRejectedData(new Error("database writer thread exited (1)"))).toBe(false);
    expect(isRejectedData(null)).toBe(false);
  });
});

describe("a refused row among good ones, against a real Postgres", () => {
  let testDb: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
    await db.pool.query(
      "INSERT INTO target (id, team, url) VALUES ('good', 'a', 'ws://127.0.0.1:1'), ('evil', 'b', 'ws://127.0.0.1:2')",
    );
  });
  afterAll(async () => {
    await db?.close();
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
  const thread = (id: string, targetId: string, model: string | null): WriteOp => ({
    op: "thread",
    state: { ...emptyThread(id, targetId, T), model },
  });
  const usage = (threadId: string, targetId: string, model: string, n: number): WriteOp => ({
    op: "usage",
    report: {
      threadId,
      turnId: null,
      targetId,
      model,
      repo: "",
      atMs: T + n,
      total: counts(n),
      last: counts(n),
    },
  });

  it("writes the good target's totals and drops only the oversize rows", async () => {
    const dropped: WriteOp[] = [];
    const errors: unknown[] = [];
    const writer = new IngestWriter({
      price: () => ({ costUsd: 0, unpricedTokens: 0, priceVersion: "t" }),
      flushIntervalMs: 3_600_000,
      write: (batch) => writeIngestBatch({ pool: db.pool, ...batch }),
      onDropped: (op) => dropped.push(op),
      onError: (e) => errors.push(e),
    });
    // Random (incompressible) text: Postgres compresses a repetitive key below the index limit.
    const longId = randomBytes(4500).toString("base64");
    const longModel = randomBytes(3000).toString("base64");
    writer.enqueue([
      thread("th-good", "good", "gpt-5"),
      thread(longId, "evil", "gpt-5"),
      usage("th-good", "good", "gpt-5", 100),
      usage("th-evil", "evil", longModel, 50),
      usage(longId, "evil", "gpt-5", 70),
    ]);
    await writer.flush();
    // The next batch of the good target is not held up either.
    writer.enqueue([usage("th-good", "good", "gpt-5", 250)]);
    await writer.flush();
    expect(errors).toEqual([]);
    expect(writer.backlog).toBe(0);
    expect(writer.dropped).toBe(dropped.length);
    const droppedIds = dropped.map((o) =>
      o.op === "thread" ? o.state.id : o.op === "usage" ? o.report.threadId : "",
    );
    expect(droppedIds).toContain(longId);
    expect(droppedIds).toContain("th-evil");
    expect(droppedIds).not.toContain("th-good");
    const { rows } = await db.pool.query<{ counted: number }>(
      "SELECT counted_total_tokens::float8 AS counted FROM thread WHERE id = 'th-good'",
    );
    expect(rows[0]?.counted).toBe(250);
    const hourly = await db.pool.query<{ total: number }>(
      "SELECT sum(total_tokens)::float8 AS total FROM usage_hourly WHERE target_id = 'good'",
    );
    expect(hourly.rows[0]?.total).toBe(250);
    await writer.close();
  });
});
