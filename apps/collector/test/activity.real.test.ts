/**
 * Issue 15 against the real `codex app-server` 0.169.0: an approval the developer answers after a
 * known delay shows as that much waiting time (within the receive-time precision) and one
 * answered wait; one nobody answers, interrupted after a known time, as that much more waiting
 * time and one unanswered wait; the turns' outcomes count. Read through GET /api/v1/activity.
 */
import { type AppServer, startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient, type DevClient, type ServerRequest } from "@codex-fleet/codex-fakes/dev-client";
import { type MockModel, startMockModel } from "@codex-fleet/codex-fakes/mock-model";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { type ActivityResponse, ActivityResponseSchema } from "@codex-fleet/protocol/activity";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningCollector, startCollector } from "./support/collector.ts";

let mock: MockModel;
let server: AppServer;
let db: TestDatabase;
let dev: DevClient;
let collector: RunningCollector;

beforeAll(async () => {
  mock = await startMockModel();
  server = await startAppServer({ modelUrl: mock.baseUrl, name: "activity" });
  dev = await connectDevClient({ url: server.url, token: server.token, name: "codex_vscode" });
  db = await createTestDatabase();
  collector = await startCollector({
    dbUrl: db.url,
    poolMax: db.poolMax,
    targets: [{ name: "alice", team: "core", url: server.url, token: server.token }],
  });
  const c = collector;
  await waitUntil("target open", () => c.fleet.targets.get("alice")?.status.state === "open");
}, 60_000);

afterAll(async () => {
  await collector?.stop().catch(() => {});
  await dev?.close().catch(() => {});
  await server?.dispose();
  await mock?.close();
  await db?.drop();
}, 30_000);

async function activity(): Promise<ActivityResponse> {
  await collector.fleet.flush();
  const day = 86_400_000;
  const range = `from=${new Date(Date.now() - day).toISOString()}&to=${new Date(Date.now() + day).toISOString()}`;
  return ActivityResponseSchema.parse(await collector.get(`/api/v1/activity?${range}`));
}

/** Receive-time precision: the two status changes reach the collector a little after the developer. */
const SLACK_MS = 1500;

describe("activity against a real app-server", () => {
  it("an approval answered after a known delay is that much waiting time and one answered wait", async () => {
    const DELAY = 3000;
    const thread = await dev.startThread({ cwd: server.cwd, approvalPolicy: "untrusted" });
    let askedAt = 0;
    let answeredAt = 0;
    dev.onServerRequest(async (req: ServerRequest) => {
      if (req.method !== "item/commandExecution/requestApproval") return undefined;
      askedAt = Date.now();
      await new Promise((r) => setTimeout(r, DELAY));
      answeredAt = Date.now();
      return { decision: "accept" };
    });
    mock.push(
      {
        kind: "toolCall",
        command: "touch answered.txt",
        usage: { input: 800, cached: 0, output: 30, reasoning: 0 },
      },
      { kind: "reply", usage: { input: 900, cached: 800, output: 25, reasoning: 0 } },
    );
    const turn = await dev.startTurn(thread, "answered after a known delay");
    expect((await dev.waitForTurnCompleted(thread, turn, 60_000)).turn.status).toBe("completed");
    dev.onServerRequest(() => undefined);
    const c = collector;
    await waitUntil("the thread idle again", () => c.fleet.threads.get(thread)?.status === "idle");

    const a = await activity();
    const waited = answeredAt - askedAt;
    expect(waited).toBeGreaterThanOrEqual(DELAY);
    expect(a.totals).toMatchObject({ approvalWaits: 1, answeredWaits: 1, inputWaits: 0, turnsCompleted: 1 });
    expect(a.totals.waitingOnApprovalMs).toBeGreaterThanOrEqual(waited - SLACK_MS);
    expect(a.totals.waitingOnApprovalMs).toBeLessThanOrEqual(waited + SLACK_MS);
    // 3 s falls in the first time-to-answer bucket (≤ 10 s): the estimate stays inside it.
    expect(a.totals.timeToAnswerP50Ms).toBeGreaterThan(0);
    expect(a.totals.timeToAnswerP50Ms).toBeLessThanOrEqual(10_000);
    expect(a.totals.workingMs).toBeGreaterThan(0);
  }, 90_000);

  it("an approval nobody answers, interrupted after a known time, is that much more waiting and one unanswered wait", async () => {
    const before = await activity();
    const WAIT = 2500;
    const thread = await dev.startThread({ cwd: server.cwd, approvalPolicy: "untrusted" });
    mock.push({
      kind: "toolCall",
      command: "touch nobody-answers.txt",
      usage: { input: 700, cached: 0, output: 20, reasoning: 0 },
    });
    const turn = await dev.startTurn(thread, "nobody answers");
    const c = collector;
    await waitUntil("waiting on approval", () =>
      (c.fleet.threads.get(thread)?.activeFlags ?? []).includes("waitingOnApproval"),
    );
    const since = Date.now();
    await new Promise((r) => setTimeout(r, WAIT));
    await dev.interrupt(thread, turn);
    expect((await dev.waitForTurnCompleted(thread, turn)).turn.status).toBe("interrupted");
    await waitUntil("the thread idle again", () => c.fleet.threads.get(thread)?.status === "idle");
    const waited = Date.now() - since;

    const after = await activity();
    expect(after.totals.approvalWaits - before.totals.approvalWaits).toBe(1);
    expect(after.totals.answeredWaits - before.totals.answeredWaits).toBe(0);
    expect(after.totals.turnsInterrupted - before.totals.turnsInterrupted).toBe(1);
    const more = after.totals.waitingOnApprovalMs - before.totals.waitingOnApprovalMs;
    expect(more).toBeGreaterThanOrEqual(WAIT - SLACK_MS);
    expect(more).toBeLessThanOrEqual(waited + SLACK_MS);
    // Grouped by developer: the same figures on alice's row.
    const byTarget = ActivityResponseSchema.parse(
      await collector.get(
        `/api/v1/activity?from=${new Date(Date.now() - 86_400_000).toISOString()}&groupBy=target`,
      ),
    );
    expect(byTarget.rows.map((r) => [r.target, r.approvalWaits, r.waitingOnApprovalMs])).toEqual([
      ["alice", after.totals.approvalWaits, after.totals.waitingOnApprovalMs],
    ]);
  }, 90_000);
});
