/**
 * The money side of issue 14 end to end against a real `codex app-server` 0.169.0: a model
 * stand-in that refuses with HTTP 429 and `x-codex-rate-limit-reached-type` (facts "Rate limits
 * and credits": the turn fails with `usageLimitExceeded`) raises the `limitReached` alert for the
 * developer; the next turn, answered (with rate-limit headers, so a stored `rateLimitReachedType`
 * would clear too), resolves it. The answered turn's usage (the stand-in's model has no price)
 * shows in GET /api/v1/budgets as unpriced tokens: the spend is a lower bound.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type AppServer, startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient, type DevClient } from "@codex-fleet/codex-fakes/dev-client";
import { type MockModel, startMockModel } from "@codex-fleet/codex-fakes/mock-model";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createDb, type Db } from "@codex-fleet/db/client";
import { listOpenAlerts } from "@codex-fleet/db/repositories/alerts-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { type BudgetsResponse, BudgetsResponseSchema } from "@codex-fleet/protocol/budgets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningCollector, startCollector } from "./support/collector.ts";

let mock: MockModel;
let gate: Server;
let refuse = true;
let server: AppServer;
let db: TestDatabase;
let pool: Db;
let collector: RunningCollector;
let dev: DevClient;

/**
 * In front of the model stand-in: while `refuse`, every model call is refused (the member's
 * credits are spent); otherwise it is forwarded, and the answer carries codex's rate-limit headers.
 */
async function startGate(target: string): Promise<Server> {
  const s = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const path = (req.url ?? "").split("?")[0] ?? "";
      if (refuse && req.method === "POST" && path.endsWith("/responses")) {
        // A real refusal comes after a round trip to OpenAI. Without one the turn can end before
        // the collector's subscription (sent when the new thread turns active, facts §2) is
        // answered on a loaded machine, and the collector, not subscribed yet, hears nothing of it.
        await new Promise((r) => setTimeout(r, 1_500));
        res.writeHead(429, {
          "content-type": "application/json",
          "x-codex-rate-limit-reached-type": "workspace_member_credits_depleted",
        });
        res.end(JSON.stringify({ error: { message: "credits depleted", type: "usage_limit_reached" } }));
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (typeof v === "string" && k !== "host" && k !== "content-length") headers[k] = v;
      const answer = await fetch(`${target}${req.url?.replace(/^\/v1/, "")}`, {
        method: req.method,
        headers,
        body: req.method === "GET" ? undefined : Buffer.concat(chunks),
      });
      const out: Record<string, string> = {
        "content-type": answer.headers.get("content-type") ?? "text/plain",
      };
      if (path.endsWith("/responses")) {
        out["x-codex-primary-used-percent"] = "12";
        out["x-codex-primary-window-minutes"] = "300";
        out["x-codex-primary-reset-at"] = String(Math.floor(Date.now() / 1000) + 3600);
      }
      res.writeHead(answer.status, out);
      res.end(Buffer.from(await answer.arrayBuffer()));
    });
  });
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  return s;
}

beforeAll(async () => {
  mock = await startMockModel();
  gate = await startGate(mock.baseUrl);
  const { port } = gate.address() as AddressInfo;
  server = await startAppServer({ modelUrl: `http://127.0.0.1:${port}/v1`, name: "money" });
  db = await createTestDatabase();
  pool = createDb({ url: db.url, poolMax: 2 });
  collector = await startCollector({
    dbUrl: db.url,
    poolMax: db.poolMax,
    targets: [{ name: "alice", team: "payments", url: server.url, token: server.token }],
    extraYaml: [
      "budgets:",
      "  - { id: alice-day, scope: developer, subject: alice, unit: usd, period: day, amount: 5 }",
      "alerts:",
      "  evaluateIntervalMs: 200",
      "  settleMs: 0",
      "  rules:",
      "    - { id: stopped, kind: limitReached }",
    ].join("\n"),
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
  await new Promise<void>((resolve) => (gate ? gate.close(() => resolve()) : resolve()));
  await mock?.close();
  await pool?.close();
  await db?.drop();
});

const stopped = async () => (await listOpenAlerts({ pool: pool.pool })).filter((a) => a.ruleId === "stopped");

describe("money against the real app-server", () => {
  it("does raise limitReached when a turn is refused for spent credits, and resolve it when the next turn runs", async () => {
    const threadId = await dev.startThread({ cwd: server.cwd });
    const failed = await dev.waitForTurnCompleted(threadId, await dev.startTurn(threadId, "work"), 60_000);
    expect(failed.turn.status).toBe("failed");
    expect(JSON.stringify(failed.turn.error)).toContain("usageLimitExceeded");
    await waitUntil(
      "limitReached firing",
      async () => (await stopped()).some((a) => a.state === "firing"),
      30_000,
    );
    const [alert] = await stopped();
    expect(alert).toMatchObject({
      subjectType: "developer",
      subjectId: "alice",
      team: "payments",
      targetId: "alice",
    });
    expect(alert?.summary).toContain("alice is stopped by a limit (usageLimitExceeded");

    refuse = false;
    const ok = await dev.waitForTurnCompleted(threadId, await dev.startTurn(threadId, "again"), 60_000);
    expect(ok.turn.status).toBe("completed");
    await waitUntil("limitReached resolved", async () => (await stopped()).length === 0, 30_000);
    // Its own waits go up to 60 s (codex retries a refused request with backoff on a busy machine).
  }, 180_000);

  it("does show the unpriced usage of the answered turn on the developer's budget", async () => {
    let body: BudgetsResponse | undefined;
    await waitUntil(
      "the usage is counted",
      async () => {
        body = BudgetsResponseSchema.parse(await collector.get("/api/v1/budgets"));
        return (body.rows[0]?.unpricedTokens ?? 0) > 0;
      },
      30_000,
    );
    expect(body?.rows[0]).toMatchObject({
      id: "alice-day",
      spent: 0,
      unpricedTokens: mock.served.totalTokens,
    });
    expect(body?.rows[0]?.detail).toContain("tokens have no price: the spend is a lower bound.");
  }, 60_000);
});
