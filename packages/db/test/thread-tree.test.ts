import type { TokenCounts } from "@codex-fleet/protocol/events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import { queryUsage } from "../src/queries/usage.ts";
import { writeIngestBatch } from "../src/repositories/ingest-repository.ts";
import type { PriceFn, ThreadSnapshot } from "../src/repositories/ingest-types.ts";
import { MAX_TREE_DEPTH, readThreadTree } from "../src/repositories/thread-tree.ts";
import { readThread } from "../src/repositories/threads-repository.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";
import { threadSnapshot } from "./support/thread-snapshot.ts";

let testDb: TestDatabase;
let db: Db;
const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);
const HOUR = 3_600_000;
const MODEL = "gpt-test";
const price: PriceFn = (_model, _atMs, t) => ({
  costUsd: t.totalTokens / 1000,
  unpricedTokens: 0,
  priceVersion: "test",
});

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
  await db.pool.query("INSERT INTO target (id, team, url) VALUES ('tgt', 'team', 'ws://127.0.0.1:1')");
}, 60_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

const tok = (n: number): TokenCounts => ({
  inputTokens: 10 * n,
  cachedInputTokens: n,
  outputTokens: 2 * n,
  reasoningOutputTokens: 0,
  totalTokens: 12 * n,
});

function snapshot(id: string, parent: string | null, over: Partial<ThreadSnapshot> = {}): ThreadSnapshot {
  return threadSnapshot(id, "tgt", T0, {
    model: MODEL,
    repo: "github.com/acme/api",
    source: parent ? "subAgent" : "vscode",
    parentThreadId: parent,
    subAgentKind: parent ? "thread_spawn" : null,
    subAgentDepth: parent ? 1 : null,
    ...over,
  });
}

/** A thread written through the real ingest path, with one ended turn that used `n` units. */
async function thread(id: string, parent: string | null, n: number, atMs = T0): Promise<void> {
  await writeIngestBatch({
    pool: db.pool,
    threads: [snapshot(id, parent)],
    turns: [
      {
        id: `${id}/t1`,
        threadId: id,
        targetId: "tgt",
        status: "completed",
        startedAtMs: atMs,
        completedAtMs: atMs,
      },
    ],
    usage: [
      {
        threadId: id,
        turnId: `${id}/t1`,
        targetId: "tgt",
        model: MODEL,
        repo: "github.com/acme/api",
        atMs,
        total: tok(n),
        last: tok(n),
      },
    ],
    price,
  });
}

describe("readThreadTree (root resolved at read time)", () => {
  it("rolls a child written before its parent up to the parent, and the tree total is every thread's", async () => {
    await thread("a-child", "a-root", 2);
    // The parent is not known yet: the child is rooted at the id it names.
    let tree = await readThreadTree({ pool: db.pool, threadId: "a-child" });
    expect(tree.rootThreadId).toBe("a-root");
    expect(tree.nodes.map((x) => [x.id, x.known])).toEqual([
      ["a-root", false],
      ["a-child", true],
    ]);

    await thread("a-root", null, 5);
    await thread("a-grandchild", "a-child", 1);
    await thread("a-sibling", "a-root", 3);
    tree = await readThreadTree({ pool: db.pool, threadId: "a-grandchild" });
    expect(tree.rootThreadId).toBe("a-root");
    expect(tree.ancestors).toEqual(["a-root", "a-child"]);
    expect(tree.nodes.map((x) => [x.id, x.depth, x.totalTokens])).toEqual([
      ["a-root", 0, 60],
      ["a-child", 1, 24],
      ["a-sibling", 1, 36],
      ["a-grandchild", 2, 12],
    ]);
    expect(tree.totals).toMatchObject({ threads: 4, totalTokens: 12 * 11, inputTokens: 110, costUsd: 0.132 });
    expect(tree.truncated).toBe(false);
    const fromRoot = await readThreadTree({ pool: db.pool, threadId: "a-root" });
    expect(fromRoot.ancestors).toEqual([]);
    expect(fromRoot.totals).toEqual(tree.totals);
  });

  it("keeps an orphan's missing parent as the root its siblings share", async () => {
    await thread("o-1", "o-elsewhere", 1);
    await thread("o-2", "o-elsewhere", 1);
    const tree = await readThreadTree({ pool: db.pool, threadId: "o-2" });
    expect(tree.rootThreadId).toBe("o-elsewhere");
    expect(tree.nodes[0]).toMatchObject({ id: "o-elsewhere", known: false, totalTokens: 0 });
    expect(tree.totals.threads).toBe(3);
    expect(tree.totals.totalTokens).toBe(24);
  });

  it("never re-parents a thread: the first parent reported stays", async () => {
    await thread("p-child", "p-first", 1);
    for (const again of [snapshot("p-child", "p-second"), snapshot("p-child", null)])
      await writeIngestBatch({ pool: db.pool, threads: [again], turns: [], usage: [], price });
    expect((await readThread({ pool: db.pool, id: "p-child" }))?.parentThreadId).toBe("p-first");
  });

  it("ends the walk at a cycle (a hostile server), and every thread still has one root", async () => {
    await thread("c-a", "c-b", 1);
    await thread("c-b", "c-c", 1);
    await thread("c-c", "c-a", 1);
    const tree = await readThreadTree({ pool: db.pool, threadId: "c-a" });
    // Walking up from c-a: c-b, c-c, then c-a again — the walk stops at c-c.
    expect(tree.rootThreadId).toBe("c-c");
    expect(tree.ancestors).toEqual(["c-c", "c-b"]);
    expect(new Set(tree.nodes.map((x) => x.id))).toEqual(new Set(["c-a", "c-b", "c-c"]));
    expect(tree.totals.threads).toBe(3);
  });

  it("stops walking after MAX_TREE_DEPTH hops (an absurdly deep chain)", async () => {
    const n = MAX_TREE_DEPTH + 8;
    const id = (i: number) => `d-${String(i).padStart(3, "0")}`;
    await writeIngestBatch({
      pool: db.pool,
      threads: Array.from({ length: n }, (_, i) => snapshot(id(i), i === 0 ? null : id(i - 1))),
      turns: [],
      usage: [],
      price,
    });
    const deepest = await readThreadTree({ pool: db.pool, threadId: id(n - 1) });
    expect(deepest.ancestors).toHaveLength(MAX_TREE_DEPTH);
    expect(deepest.rootThreadId).toBe(id(n - 1 - MAX_TREE_DEPTH));
    const top = await readThreadTree({ pool: db.pool, threadId: id(0) });
    expect(top.totals.threads).toBe(MAX_TREE_DEPTH + 1);
  });

  it("answers for a thread id it has never seen: a tree of one", async () => {
    const tree = await readThreadTree({ pool: db.pool, threadId: "nobody" });
    expect(tree).toMatchObject({ rootThreadId: "nobody", ancestors: [], truncated: false });
    expect(tree.totals.threads).toBe(1);
  });
});

describe("queryUsage grouped by rootThread", () => {
  it("sums each tree under its root, and the rows add up to the ungrouped totals", async () => {
    const from = T0 + 24 * HOUR;
    const at = from + 2 * HOUR + 5 * 60_000;
    await thread("u-child", "u-root", 4, at);
    await thread("u-root", null, 1, at + HOUR);
    await thread("u-grand", "u-child", 2, at);
    await thread("u-alone", null, 3, at);
    await thread("u-orphan", "u-gone", 5, at);
    const to = from + 10 * HOUR;
    const byRoot = await queryUsage({
      pool: db.pool,
      fromMs: from,
      toMs: to,
      groupBy: ["rootThread"],
      filters: {},
    });
    const plain = await queryUsage({ pool: db.pool, fromMs: from, toMs: to, groupBy: [], filters: {} });
    expect(byRoot.rows.map((r) => [r.rootThread, r.totalTokens, r.turns])).toEqual([
      ["u-alone", 36, 1],
      ["u-gone", 60, 1],
      ["u-root", 84, 3],
    ]);
    expect(byRoot.totals).toEqual(plain.totals);
    expect(plain.totals.totalTokens).toBe(12 * 15);

    const byHour = await queryUsage({
      pool: db.pool,
      fromMs: from,
      toMs: to,
      groupBy: ["rootThread", "hour"],
      filters: { model: [MODEL] },
    });
    expect(byHour.rows.filter((r) => r.rootThread === "u-root").map((r) => [r.hour, r.totalTokens])).toEqual([
      [new Date(from + 2 * HOUR).toISOString().replace(".000Z", "Z"), 72],
      [new Date(from + 3 * HOUR).toISOString().replace(".000Z", "Z"), 12],
    ]);
    const other = await queryUsage({
      pool: db.pool,
      fromMs: from,
      toMs: to,
      groupBy: ["rootThread"],
      filters: { model: ["other-model"] },
    });
    expect(other.rows).toEqual([]);

    // top: the largest tree keeps its rows, the other two are one `other` row per hour.
    const top = await queryUsage({
      pool: db.pool,
      fromMs: from,
      toMs: to,
      groupBy: ["hour", "rootThread"],
      filters: {},
      sort: "tokens",
      top: 1,
    });
    const hour = (h: number) => new Date(from + h * HOUR).toISOString().replace(".000Z", "Z");
    expect(top.rows.map((r) => [r.hour, r.rootThread, r.other, r.totalTokens])).toEqual([
      [hour(2), "u-root", undefined, 72],
      [hour(2), undefined, true, 36 + 60],
      [hour(3), "u-root", undefined, 12],
    ]);
    expect(top.totals).toEqual(plain.totals);
  });
});
