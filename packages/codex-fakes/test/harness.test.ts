import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type AppServer, startAppServer } from "../src/app-server.ts";
import { connectDevClient, type DevClient } from "../src/dev-client.ts";
import { type MockModel, startMockModel, type UsageTotals, zeroTotals } from "../src/mock-model.ts";

type TokenUsageParams = {
  threadId: string;
  turnId: string;
  tokenUsage: { total: UsageTotals; last: UsageTotals };
};

let mock: MockModel;
let servers: AppServer[] = [];
const clients: DevClient[] = [];

beforeAll(async () => {
  mock = await startMockModel();
  servers = await Promise.all([
    startAppServer({ modelUrl: mock.baseUrl, name: "harness-a" }),
    startAppServer({ modelUrl: mock.baseUrl, name: "harness-b" }),
  ]);
}, 30_000);

afterEach((ctx) => {
  // Print the app-servers' logs when a test fails: they are the only clue to a hang.
  if (ctx.task.result?.state === "fail") for (const s of servers) console.error(s.stderr());
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.dispose()));
  await mock.close();
}, 15_000);

async function dev(server: AppServer): Promise<DevClient> {
  const c = await connectDevClient({ url: server.url, token: server.token, name: "codex_vscode" });
  clients.push(c);
  return c;
}

/** Latest `total` per thread of the `thread/tokenUsage/updated` notifications, summed over threads. */
function reportedTotals(clientsToSum: DevClient[]): UsageTotals {
  const sum = zeroTotals();
  for (const c of clientsToSum) {
    const latest = new Map<string, UsageTotals>();
    for (const f of c.notifications("thread/tokenUsage/updated")) {
      const p = f.params as unknown as TokenUsageParams;
      latest.set(p.threadId, p.tokenUsage.total);
    }
    for (const t of latest.values()) {
      for (const k of Object.keys(sum) as Array<keyof UsageTotals>) sum[k] += t[k];
    }
  }
  return sum;
}

describe("real codex app-server harness", () => {
  it("does plain and tool-call turns on two servers with token totals equal to what the mock served", async () => {
    const [a, b] = servers as [AppServer, AppServer];
    const [devA, devB] = await Promise.all([dev(a), dev(b)]);

    const threadA = await devA.startThread({ cwd: a.cwd, approvalPolicy: "never" });
    mock.push({ kind: "reply", usage: { input: 1000, cached: 400, output: 40, reasoning: 8 } });
    const turnA = await devA.startTurn(threadA, "hello");
    expect((await devA.waitForTurnCompleted(threadA, turnA)).turn.status).toBe("completed");

    const threadB = await devB.startThread({ cwd: b.cwd, approvalPolicy: "never" });
    mock.push(
      {
        kind: "toolCall",
        command: "touch made-by-tool",
        usage: { input: 700, cached: 0, output: 30, reasoning: 4 },
      },
      { kind: "reply", usage: { input: 900, cached: 650, output: 25, reasoning: 0 } },
    );
    const turnB = await devB.startTurn(threadB, "run a tool");
    expect((await devB.waitForTurnCompleted(threadB, turnB)).turn.status).toBe("completed");

    // The follow-up request of a tool call carries the tool's output (facts: "Running … offline").
    const followUp = mock.requests.filter((r) => r.threadId === threadB).at(-1)?.body as {
      input: Array<{ type: string }>;
    };
    expect(followUp.input.some((i) => i.type === "function_call_output")).toBe(true);

    expect(devB.notifications("thread/tokenUsage/updated", threadB)).toHaveLength(2);
    expect(reportedTotals([devA, devB])).toEqual(mock.served);
    expect(mock.servedByThread.get(threadA)).toEqual(reportedTotals([devA]));
    expect(mock.servedByThread.get(threadB)).toEqual(reportedTotals([devB]));
    expect(mock.servedByTurn.get(turnB)).toEqual(mock.servedByThread.get(threadB));
  }, 30_000);

  it("does keep the thread in thread/list when the server restarts", async () => {
    const a = servers[0] as AppServer;
    const before = await dev(a);
    const threadId = await before.startThread({ cwd: a.cwd });
    const turnId = await before.startTurn(threadId, "persist me");
    await before.waitForTurnCompleted(threadId, turnId);

    await a.restart();
    const after = await dev(a);
    const list = await after.request<{ data: Array<{ id: string; status: { type: string } }> }>(
      "thread/list",
      {
        limit: 50,
      },
    );
    expect(list.data.find((t) => t.id === threadId)?.status).toEqual({ type: "notLoaded" });
    expect(await after.request("thread/loaded/list", {})).toMatchObject({ data: [] });
  }, 30_000);

  it("does refuse the WebSocket upgrade when the bearer token is wrong", async () => {
    const a = servers[0] as AppServer;
    await expect(connectDevClient({ url: a.url, token: "wrong" })).rejects.toThrow("HTTP 401");
  });
});
