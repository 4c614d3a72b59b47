/**
 * Failure reasons end to end (issue 11), against a real `codex app-server` 0.169.0: the model
 * stand-in answers HTTP 429 with `x-codex-rate-limit-reached-type: workspace_member_credits_depleted`
 * (facts "Rate limits and credits": the turn fails with `usageLimitExceeded`), and the collector's
 * GET /api/v1/usage/failures counts that failure under usageLimitExceeded for the developer and
 * model, the same figure as /usage's failedTurns.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type AppServer, startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient, type DevClient } from "@codex-fleet/codex-fakes/dev-client";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { FailuresResponse, UsageResponse } from "@codex-fleet/protocol/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningCollector, startCollector } from "./support/collector.ts";

let model: Server;
let server: AppServer;
let db: TestDatabase;
let collector: RunningCollector;
let dev: DevClient;
let responsesServed = 0;

beforeAll(async () => {
  // A Responses stand-in whose every model call is refused: the workspace member's credits are spent.
  model = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.method === "POST" && (req.url ?? "").split("?")[0]?.endsWith("/responses")) {
        responsesServed++;
        res.writeHead(429, {
          "content-type": "application/json",
          "x-codex-rate-limit-reached-type": "workspace_member_credits_depleted",
        });
        res.end(JSON.stringify({ error: { message: "credits depleted", type: "usage_limit_reached" } }));
        return;
      }
      if (req.method === "GET" && (req.url ?? "").includes("/models")) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ models: [] }));
        return;
      }
      res.writeHead(404);
      res.end();
    });
  });
  await new Promise<void>((resolve) => model.listen(0, "127.0.0.1", resolve));
  const { port } = model.address() as AddressInfo;
  server = await startAppServer({ modelUrl: `http://127.0.0.1:${port}/v1`, name: "failures" });
  db = await createTestDatabase();
  collector = await startCollector({
    dbUrl: db.url,
    poolMax: db.poolMax,
    targets: [{ name: "alice", team: "payments", url: server.url, token: server.token }],
  });
  await waitUntil("target open", () =>
    [...collector.fleet.targets.values()].every((t) => t.status.state === "open"),
  );
  dev = await connectDevClient({ url: server.url, token: server.token, name: "codex_vscode" });
}, 120_000);

afterAll(async () => {
  await dev?.close();
  await collector?.stop();
  await server?.dispose();
  await new Promise<void>((resolve) => (model ? model.close(() => resolve()) : resolve()));
  await db?.drop();
});

describe("failure reasons against the real app-server", () => {
  it("does count a turn refused with credits depleted under usageLimitExceeded", async () => {
    const threadId = await dev.startThread({ cwd: server.cwd });
    const completed = await dev.waitForTurnCompleted(threadId, await dev.startTurn(threadId, "work"), 60_000);
    expect(completed.turn.status).toBe("failed");
    expect(JSON.stringify(completed.turn.error)).toContain("usageLimitExceeded");
    expect(responsesServed).toBeGreaterThan(0);

    const day = 86_400_000;
    const range = `from=${new Date(Date.now() - day).toISOString()}&to=${new Date(Date.now() + day).toISOString()}`;
    let answer: FailuresResponse | undefined;
    await waitUntil(
      "the failure is counted",
      async () => {
        answer = await collector.get<FailuresResponse>(
          `/api/v1/usage/failures?${range}&groupBy=target,model`,
        );
        return answer.failedTurns === 1;
      },
      30_000,
    );
    expect(answer?.rows).toEqual([
      { target: "alice", model: "mock-model", kind: "usageLimitExceeded", failedTurns: 1 },
    ]);
    expect(answer?.kinds).toEqual([{ kind: "usageLimitExceeded", failedTurns: 1 }]);
    const usage = await collector.get<UsageResponse>(`/api/v1/usage?${range}`);
    expect(usage.totals.failedTurns).toBe(1);
  });
});
