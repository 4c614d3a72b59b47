/**
 * Issue 11, sub-agents, against a real `codex app-server` 0.169.0 with `[features] multi_agent =
 * true` and the model stand-in: the model answers the developer's turn with a `spawn_agent` call
 * (namespace `multi_agent_v1`, as the server offers it), codex starts a child thread and runs it
 * against the same stand-in. The collector — which never sees a `thread/started` for the child
 * (codex sends none to other connections: measured) — learns the child from its status and usage,
 * reads its lineage with `thread/read` (`source: {subAgent: {thread_spawn: {parent_thread_id,
 * depth: 1, …}}}`), and rolls it up: thread detail shows the tree and its total, usage groups by
 * root thread, both exact to what the stand-in served.
 */
import { type AppServer, startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient, type DevClient } from "@codex-fleet/codex-fakes/dev-client";
import { type MockModel, startMockModel } from "@codex-fleet/codex-fakes/mock-model";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { ThreadDetailSchema, UsageResponseSchema } from "@codex-fleet/protocol/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningCollector, startCollector } from "./support/collector.ts";

let mock: MockModel;
let server: AppServer;
let db: TestDatabase;
let dev: DevClient;
let collector: RunningCollector;

beforeAll(async () => {
  mock = await startMockModel();
  server = await startAppServer({
    modelUrl: mock.baseUrl,
    name: "subagents",
    features: { multi_agent: true },
  });
  dev = await connectDevClient({ url: server.url, token: server.token, name: "codex_vscode" });
  db = await createTestDatabase();
  collector = await startCollector({
    dbUrl: db.url,
    poolMax: db.poolMax,
    targets: [{ name: "alice", team: "core", url: server.url, token: server.token }],
  });
  const c = collector;
  await waitUntil("target open", () => [...c.fleet.targets.values()].every((t) => t.status.state === "open"));
}, 60_000);

afterAll(async () => {
  await collector?.stop().catch(() => {});
  await dev?.close().catch(() => {});
  await server?.dispose();
  await mock?.close();
  await db?.drop();
}, 30_000);

describe("a sub-agent spawned by a real app-server", () => {
  it("rolls up to its parent: tree, tree total and usage by root equal what the model served", async () => {
    const parent = await dev.startThread({ cwd: server.cwd });
    mock.push(
      {
        kind: "functionCall",
        name: "spawn_agent",
        namespace: "multi_agent_v1",
        arguments: { message: "do a subtask" },
        usage: { input: 700, cached: 100, output: 30, reasoning: 5 },
      },
      // The parent's follow-up and the child's first response, in either order; slow enough for
      // the collector to subscribe to the child once it turns active.
      { kind: "reply", usage: { input: 400, cached: 0, output: 20, reasoning: 0 }, delayMs: 1500 },
      { kind: "reply", usage: { input: 300, cached: 50, output: 10, reasoning: 0 }, delayMs: 1500 },
    );
    await dev.waitForTurnCompleted(parent, await dev.startTurn(parent, "split this"), 60_000);
    await waitUntil("the child was served", () => mock.servedByThread.size === 2, 30_000);
    const childId = [...mock.servedByThread.keys()].find((k) => k !== parent) as string;
    const served = (id: string) => mock.servedByThread.get(id)?.totalTokens ?? -1;

    const c = collector;
    await waitUntil(
      "child counted and its lineage read",
      () =>
        c.fleet.threads.get(childId)?.countedTotalTokens === served(childId) &&
        c.fleet.threads.get(childId)?.parentThreadId === parent &&
        c.fleet.threads.get(parent)?.countedTotalTokens === served(parent),
      60_000,
    );
    await c.fleet.flush();

    const child = ThreadDetailSchema.parse(await c.get(`/api/v1/threads/${childId}`));
    expect(child).toMatchObject({
      parentThreadId: parent,
      rootThreadId: parent,
      subAgent: { kind: "thread_spawn", depth: 1 },
    });
    const root = ThreadDetailSchema.parse(await c.get(`/api/v1/threads/${parent}`));
    expect(root.tree?.nodes.map((n) => [n.id, n.totalTokens])).toEqual([
      [parent, served(parent)],
      [childId, served(childId)],
    ]);
    expect(root.tree?.totals.totalTokens).toBe(mock.served.totalTokens);
    expect(root.tree?.totals.inputTokens).toBe(mock.served.inputTokens);

    const day = 86_400_000;
    const range = `from=${new Date(Date.now() - day).toISOString()}&to=${new Date(Date.now() + day).toISOString()}`;
    const byRoot = UsageResponseSchema.parse(await c.get(`/api/v1/usage?${range}&groupBy=rootThread`));
    expect(byRoot.rows.map((r) => [r.rootThread, r.totalTokens, r.turns])).toEqual([
      [parent, mock.served.totalTokens, 2],
    ]);
  });

  it("is found and counted when it ran while no collector was connected and its app-server restarted", async () => {
    // A second developer, never observed while working: thread/list must be asked for sub-agent
    // threads (sourceKinds), or the unloaded child is never listed and its tokens never counted.
    const mock2 = await startMockModel();
    const server2 = await startAppServer({
      modelUrl: mock2.baseUrl,
      name: "subagents-away",
      features: { multi_agent: true },
    });
    const db2 = await createTestDatabase();
    let later: RunningCollector | null = null;
    try {
      const dev2 = await connectDevClient({ url: server2.url, token: server2.token, name: "codex_vscode" });
      const parent = await dev2.startThread({ cwd: server2.cwd });
      mock2.push(
        {
          kind: "functionCall",
          name: "spawn_agent",
          namespace: "multi_agent_v1",
          arguments: { message: "do a subtask" },
          usage: { input: 650, cached: 50, output: 25, reasoning: 5 },
        },
        { kind: "reply", usage: { input: 410, cached: 0, output: 15, reasoning: 0 } },
        { kind: "reply", usage: { input: 320, cached: 40, output: 12, reasoning: 0 } },
      );
      await dev2.waitForTurnCompleted(parent, await dev2.startTurn(parent, "split this"), 60_000);
      await waitUntil("the child was served", () => mock2.servedByThread.size === 2, 30_000);
      const childId = [...mock2.servedByThread.keys()].find((k) => k !== parent) as string;
      // The child runs on its own: "served" means the stand-in answered, not that codex has
      // persisted the turn and its total yet. Restarting the app-server before then loses that total
      // in codex itself (nothing left to recover, measured: its cold resume replays no total).
      await waitUntil(
        "the child's turn persisted",
        async () => {
          const res = await dev2.request<{ data: { status: string }[] }>("thread/turns/list", {
            threadId: childId,
            limit: 10,
          });
          return res.data.some((t) => t.status === "completed");
        },
        30_000,
        100,
      );
      await dev2.close();
      // A child stays loaded as long as its app-server runs (measured: idle > 120 s after its parent
      // unloaded), so it is found through thread/loaded/list. After the app-server restarts (an
      // update, a reboot) nothing is loaded: only thread/list can find the child, and only when
      // asked for sub-agent threads (sourceKinds).
      await server2.restart();
      later = await startCollector({
        dbUrl: db2.url,
        poolMax: db2.poolMax,
        targets: [{ name: "bob", team: "core", url: server2.url, token: server2.token }],
      });
      const c = later;
      const served = (id: string) => mock2.servedByThread.get(id)?.totalTokens ?? -1;
      const counted = (id: string) => c.fleet.threads.get(id)?.countedTotalTokens;
      await waitUntil(
        () =>
          `both recovered exactly: child ${counted(childId)} of ${served(childId)}, parent ${counted(parent)} ` +
          `of ${served(parent)}; observer: ${c.logs.filter((l) => /cold|subscribe|scan|backfill/.test(l)).join("")}`,
        () => counted(childId) === served(childId) && counted(parent) === served(parent),
        60_000,
      );
      await c.fleet.flush();
      const day = 86_400_000;
      const range = `from=${new Date(Date.now() - day).toISOString()}&to=${new Date(Date.now() + day).toISOString()}`;
      const usage = UsageResponseSchema.parse(await c.get(`/api/v1/usage?${range}`));
      expect(usage.totals.totalTokens).toBe(mock2.served.totalTokens);
    } finally {
      await later?.stop().catch(() => {});
      await server2.dispose();
      await mock2.close();
      await db2.drop();
    }
  }, 240_000);
});
