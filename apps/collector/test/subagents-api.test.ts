/**
 * Issue 11, sub-agents, through the API: a scripted peer sends threads shaped like a real 0.169.0
 * app-server's (`source: {subAgent: {thread_spawn: {parent_thread_id, depth, …}}}` and
 * `parentThreadId`, as `thread/read` of a spawned agent returned them), the child's usage before
 * its parent is known, a review sub-agent, and hostile lineage (a self-parent, an unknown kind, an
 * over-long parent id, a cycle). Thread detail shows the tree and its total; usage groups by root.
 */
import { type ScriptedPeer, startScriptedPeer } from "@codex-fleet/codex-fakes/scripted-peer";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { ThreadDetailSchema, UsageResponseSchema } from "@codex-fleet/protocol/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningCollector, startCollector } from "./support/collector.ts";

let db: TestDatabase;
let peer: ScriptedPeer;
let collector: RunningCollector;

const now = Math.floor(Date.now() / 1000);
const thread = (id: string, over: Record<string, unknown>) => ({
  id,
  parentThreadId: null,
  model: "gpt-5.4",
  modelProvider: "openai",
  createdAt: now,
  updatedAt: now,
  status: { type: "idle" },
  source: "vscode",
  ...over,
});
const spawn = (parent: string, depth: number) => ({
  subAgent: {
    thread_spawn: {
      parent_thread_id: parent,
      depth,
      agent_path: null,
      agent_nickname: "Poincare",
      agent_role: null,
    },
  },
});
const usage = (threadId: string, turnId: string, n: number) => ({
  method: "thread/tokenUsage/updated",
  params: {
    threadId,
    turnId,
    tokenUsage: {
      total: {
        totalTokens: 12 * n,
        inputTokens: 10 * n,
        cachedInputTokens: n,
        cacheWriteInputTokens: 0,
        outputTokens: 2 * n,
        reasoningOutputTokens: 0,
      },
      last: {
        totalTokens: 12 * n,
        inputTokens: 10 * n,
        cachedInputTokens: n,
        cacheWriteInputTokens: 0,
        outputTokens: 2 * n,
        reasoningOutputTokens: 0,
      },
      modelContextWindow: 258400,
    },
  },
});

beforeAll(async () => {
  db = await createTestDatabase();
  peer = await startScriptedPeer({
    script: (c) => {
      // The child reports usage before anything names its parent (a real spawned thread sends no
      // thread/started to other connections: measured), then its metadata arrives.
      c.send(usage("child", "child-t1", 3));
      c.send({
        method: "thread/started",
        params: { thread: thread("child", { parentThreadId: "root", source: spawn("root", 1) }) },
      });
      c.send({
        method: "thread/started",
        params: { thread: thread("grandchild", { parentThreadId: null, source: spawn("child", 2) }) },
      });
      c.send(usage("grandchild", "grandchild-t1", 1));
      c.send({ method: "thread/started", params: { thread: thread("root", {}) } });
      c.send(usage("root", "root-t1", 5));
      c.send({
        method: "thread/started",
        params: { thread: thread("review", { parentThreadId: "root", source: { subAgent: "review" } }) },
      });
      c.send(usage("review", "review-t1", 2));
      // Hostile lineage.
      c.send({
        method: "thread/started",
        params: { thread: thread("selfish", { parentThreadId: "selfish", source: spawn("selfish", 1) }) },
      });
      c.send({
        method: "thread/started",
        params: {
          thread: thread("odd", {
            parentThreadId: "x".repeat(201),
            source: { subAgent: { brand_new: { depth: 1e12 } } },
          }),
        },
      });
      c.send({ method: "thread/started", params: { thread: thread("cyc-a", { parentThreadId: "cyc-b" }) } });
      c.send({ method: "thread/started", params: { thread: thread("cyc-b", { parentThreadId: "cyc-a" }) } });
      c.send(usage("cyc-a", "cyc-a-t1", 1));
      c.send(usage("cyc-b", "cyc-b-t1", 1));
    },
  });
  collector = await startCollector({
    dbUrl: db.url,
    poolMax: db.poolMax,
    targets: [{ name: "dev", team: "core", url: peer.url, token: "t" }],
  });
}, 60_000);

afterAll(async () => {
  await collector?.stop().catch(() => {});
  await peer?.close();
  await db?.drop();
}, 30_000);

describe("sub-agent trees in the API", () => {
  it("thread detail shows the parent, the root, the tree and the tree's total", async () => {
    const c = collector;
    await waitUntil("every thread seen", () => c.fleet.threads.get("cyc-b")?.countedTotalTokens === 12);
    await c.fleet.flush();

    const grand = ThreadDetailSchema.parse(await c.get("/api/v1/threads/grandchild"));
    expect(grand).toMatchObject({
      parentThreadId: "child",
      rootThreadId: "root",
      subAgent: { kind: "thread_spawn", depth: 2 },
    });
    expect(grand.tree?.ancestors).toEqual(["root", "child"]);
    expect(grand.tree?.nodes.map((n) => [n.id, n.depth, n.totalTokens, n.subAgentKind])).toEqual([
      ["root", 0, 60, null],
      ["child", 1, 36, "thread_spawn"],
      ["review", 1, 24, "review"],
      ["grandchild", 2, 12, "thread_spawn"],
    ]);
    expect(grand.tree?.totals).toMatchObject({ threads: 4, totalTokens: 132, inputTokens: 110 });

    const root = ThreadDetailSchema.parse(await c.get("/api/v1/threads/root"));
    expect(root).toMatchObject({ parentThreadId: null, rootThreadId: "root", subAgent: null });
    expect(root.tree?.totals).toEqual(grand.tree?.totals);
  });

  it("refuses hostile lineage without losing the thread", async () => {
    const c = collector;
    const selfish = ThreadDetailSchema.parse(await c.get("/api/v1/threads/selfish"));
    expect(selfish).toMatchObject({ parentThreadId: null, rootThreadId: "selfish" });
    const odd = ThreadDetailSchema.parse(await c.get("/api/v1/threads/odd"));
    expect(odd).toMatchObject({ parentThreadId: null, subAgent: { kind: "unknown:brand_new", depth: null } });
    const cyc = ThreadDetailSchema.parse(await c.get("/api/v1/threads/cyc-a"));
    expect(cyc.tree?.nodes.map((n) => n.id).sort()).toEqual(["cyc-a", "cyc-b"]);
  });

  it("usage groups by root thread; the groups add up to the totals", async () => {
    const c = collector;
    const from = new Date((now - 3600) * 1000).toISOString();
    const to = new Date((now + 3600) * 1000).toISOString();
    const byRoot = UsageResponseSchema.parse(
      await c.get(`/api/v1/usage?from=${from}&to=${to}&groupBy=rootThread`),
    );
    const plain = UsageResponseSchema.parse(await c.get(`/api/v1/usage?from=${from}&to=${to}`));
    const root = byRoot.rows.find((r) => r.rootThread === "root");
    expect(root?.totalTokens).toBe(132);
    expect(byRoot.rows.reduce((a, r) => a + r.totalTokens, 0)).toBe(plain.totals.totalTokens);
    expect(byRoot.totals.totalTokens).toBe(plain.totals.totalTokens);
    // Each thread of the cycle has exactly one root: its usage is counted once.
    const cycle = byRoot.rows.filter((r) => r.rootThread?.startsWith("cyc-"));
    expect(cycle.reduce((a, r) => a + r.totalTokens, 0)).toBe(24);
    const csv = await c.app.inject({
      method: "GET",
      url: `/api/v1/usage?from=${from}&to=${to}&groupBy=rootThread,model&format=csv`,
    });
    expect(csv.statusCode).toBe(200);
    expect(csv.body.split("\n")[0]).toMatch(/^rootThread,model,turns/);
  });
});
