/**
 * Issue 12: one alert engine and one dispatcher at a time, elected through the `alerts` lease.
 * Two compiled collectors on one Postgres and a real `codex app-server` 0.169.0: the first holds
 * the target and the alert lease; an approval nobody answers goes pending; the leader is SIGKILLed
 * before the alert fires; the other instance takes the target and the alert lease over, loads the
 * persisted alert, fires it once and resolves it once when the developer interrupts — a real
 * webhook receiver counts every delivery.
 */
import { type AppServer, startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient, type DevClient } from "@codex-fleet/codex-fakes/dev-client";
import { type MockModel, startMockModel } from "@codex-fleet/codex-fakes/mock-model";
import { startTestReceiver, type TestReceiver } from "@codex-fleet/codex-fakes/notification-receiver";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createDb, type Db } from "@codex-fleet/db/client";
import { listOpenAlerts } from "@codex-fleet/db/repositories/alerts-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { ClusterView, TargetView } from "@codex-fleet/protocol/api";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type CollectorProcess, launchCollector, writeConfigFile } from "../src/launch.ts";
import { groupEvents } from "./support/alert-fixtures.ts";
import { approvalWaitAlerts, leaveApprovalWaiting } from "./support/cluster.ts";
import { TEST_OBSERVER } from "./support/collector.ts";

const TTL_MS = 3000;
let db: TestDatabase;
let sql: Db;
let mock: MockModel;
let real: AppServer;
let dev: DevClient;
let hook: TestReceiver;
let configFile: string;
const children: CollectorProcess[] = [];

const launch = async () => {
  const c = await launchCollector({
    configFile,
    env: { ...process.env, HOOK_SECRET: "s" },
    timeoutMs: 60_000,
  });
  children.push(c);
  return c;
};
const cluster = (c: CollectorProcess) => c.get<ClusterView>("/api/v1/cluster");
const received = () =>
  hook.received
    .flatMap((r) => groupEvents(r.body))
    .filter((e) => e.event !== "repeat")
    .map((e) => [e.ruleId, e.subjectId, e.event]);

beforeAll(async () => {
  mock = await startMockModel();
  [real, db, hook] = await Promise.all([
    startAppServer({ modelUrl: mock.baseUrl, name: "cluster-alerts" }),
    createTestDatabase(),
    startTestReceiver(),
  ]);
  sql = createDb({ url: db.url, poolMax: 2 });
  dev = await connectDevClient({ url: real.url, token: real.token, name: "codex_vscode" });
  configFile = writeConfigFile({
    server: { host: "127.0.0.1", port: 0 },
    database: { url: db.url },
    targets: [{ name: "alice", team: "payments", url: real.url, token: real.token }],
    observer: TEST_OBSERVER,
    cluster: { leaseTtlMs: TTL_MS },
    alerts: approvalWaitAlerts(hook.url, 8000),
  });
}, 90_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail")
    for (const c of children) console.error(`--- ${c.pid}\n${c.output().slice(-5000)}`);
});

afterAll(async () => {
  await Promise.all(children.map((c) => c.stop(5000).catch(() => {})));
  await dev?.close().catch(() => {});
  await Promise.all([real?.dispose(), mock?.close(), hook?.close()]);
  await sql?.close();
  await db?.drop();
}, 60_000);

describe("the alert leader fails over", () => {
  it("an approval left waiting fires exactly once and resolves once across a SIGKILL of the leader", async () => {
    const first = await launch();
    await waitUntil("alice open at the first instance", async () =>
      (await first.get<TargetView[]>("/api/v1/targets")).some(
        (t) => t.name === "alice" && t.state === "open",
      ),
    );
    const second = await launch();
    const view = await cluster(second);
    const firstName = view.instances.find((i) => !i.self)?.name;
    expect(view.alertLeader).toBe(firstName);
    expect(view.instances.find((i) => i.self)?.alertLeader).toBe(false);

    const { thread, turn } = await leaveApprovalWaiting(dev, mock, real.cwd, sql);
    const pending = (await listOpenAlerts({ pool: sql.pool })).find((a) => a.subjectId === thread);
    // The thread's waiting request is in its row (what the next holder loads) before the kill.
    await waitUntil("the waiting approval written", async () => {
      const { rows } = await sql.pool.query<{ n: number }>(
        "SELECT jsonb_array_length(pending_requests)::int AS n FROM thread WHERE id = $1",
        [thread],
      );
      return (rows[0]?.n ?? 0) > 0;
    });
    first.kill("SIGKILL");
    await first.exited;
    await waitUntil(
      "the second instance leads alerts and follows alice",
      async () => {
        const v = await cluster(second);
        const t = (await second.get<TargetView[]>("/api/v1/targets")).find((x) => x.name === "alice");
        return v.instances.find((i) => i.self)?.alertLeader === true && t?.state === "open";
      },
      2 * TTL_MS + 10_000,
      100,
    );
    await waitUntil("fired once", () => received().length >= 1, 30_000);
    const firing = (await listOpenAlerts({ pool: sql.pool })).find((a) => a.subjectId === thread);
    // The same alert, pending since the same moment: loaded, not re-created.
    expect([firing?.id, firing?.pendingSinceMs, firing?.state]).toEqual([
      pending?.id,
      pending?.pendingSinceMs,
      "firing",
    ]);
    await dev.interrupt(thread, turn);
    await dev.waitForTurnCompleted(thread, turn);
    await waitUntil("resolved notified", () => received().length >= 2, 30_000);
    expect(received()).toEqual([
      ["approval-wait", thread, "firing"],
      ["approval-wait", thread, "resolved"],
    ]);
    // The outbox agrees: two deliveries, each recorded delivered once.
    await waitUntil("both deliveries recorded", async () => {
      const { rows } = await sql.pool.query<{ state: string; attempt: number }>(
        "SELECT state, attempt FROM notification_delivery ORDER BY id",
      );
      return rows.length === 2 && rows.every((r) => r.state === "delivered" && r.attempt === 1);
    });
    expect(hook.received).toHaveLength(2);
    const metrics = await fetch(`${second.baseUrl}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/codex_fleet_lease_failovers_total\{kind="alerts"\} 1/);
    expect(metrics).toMatch(/codex_fleet_leases_held\{kind="alerts"\} 1/);
  }, 120_000);
});
