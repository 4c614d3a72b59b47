/**
 * Issue 12, "the whole fleet from any collector", for alerts: two in-process collectors on one
 * real Postgres, both on leases (no follow override), a scripted app-server and a real webhook
 * receiver. Only the holder of the `alerts` lease runs the engine; the other serves alerts from
 * the database, refreshed on the leader's NOTIFY: its API, live feed and /metrics list the alert
 * the leader fired. An acknowledgement made through the other instance is honoured by the
 * leader: no repeat notification after it, and the leader's own state shows who acknowledged.
 */

import { startTestReceiver, type TestReceiver } from "@codex-fleet/codex-fakes/notification-receiver";
import {
  type PeerConnection,
  type ScriptedPeer,
  startScriptedPeer,
} from "@codex-fleet/codex-fakes/scripted-peer";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { AlertView, ClusterView } from "@codex-fleet/protocol/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { GroupNotification } from "../src/alerts/notifiers/group-payload.ts";
import { type RunningCollector, startCollector } from "./support/collector.ts";
import { removeScratchDirs } from "./support/config-files.ts";

const REPEAT_MS = 300;
let testDb: TestDatabase;
let peer: ScriptedPeer;
let hook: TestReceiver;
let leader: RunningCollector;
let other: RunningCollector;
let live: WebSocket;
const frames: { type: string; alert?: AlertView }[] = [];
const conns: PeerConnection[] = [];

const nowS = () => Math.floor(Date.now() / 1000);
/** Group messages the leader queued, as `firing` / `repeat` / `resolved` (the outbox, issue 16). */
let queued: string[] = [];
async function readQueued(): Promise<string[]> {
  const { rows } = await leader.collector.database.pool.query<{ payload: GroupNotification }>(
    "SELECT payload FROM notification_delivery ORDER BY id",
  );
  queued = rows.map(({ payload: p }) =>
    p.status === "resolved" ? "resolved" : p.members.some((m) => m.change === "new") ? "firing" : "repeat",
  );
  return queued;
}
const events = () => queued;
const alertsOn = (c: RunningCollector, query = "") => c.get<AlertView[]>(`/api/v1/alerts${query}`);

const extraYaml = (name: string) =>
  [
    `cluster: { instanceName: ${name}, leaseTtlMs: 3000 }`,
    "alerts:",
    "  settleMs: 0",
    "  evaluateIntervalMs: 100",
    "  rules:",
    "    - { id: approval-wait, kind: waitingOnApproval, forMs: 0 }",
    `  route: { receiver: hook, groupWaitMs: 0, groupIntervalMs: 1, repeatIntervalMs: ${REPEAT_MS} }`,
    "  notify:",
    `    - { type: webhook, name: hook, url: '${hook.url}', minBackoffMs: 10, maxBackoffMs: 20 }`,
  ].join("\n");

beforeAll(async () => {
  testDb = await createTestDatabase({ fallbackToEmbedded: false });
  peer = await startScriptedPeer({ script: (c) => void conns.push(c) });
  hook = await startTestReceiver();
  const targets = [{ name: "sim", url: peer.url, token: null }];
  // The first one alone takes every lease, the alert lease included.
  leader = await startCollector({ dbUrl: testDb.url, targets, extraYaml: extraYaml("first") });
  other = await startCollector({ dbUrl: testDb.url, targets, extraYaml: extraYaml("second") });
  live = new WebSocket(`${other.baseUrl.replace("http", "ws")}/api/v1/live`);
  live.on("message", (data) => frames.push(JSON.parse(String(data))));
  await new Promise((resolve, reject) => {
    live.once("open", resolve);
    live.once("error", reject);
  });
}, 120_000);

afterAll(async () => {
  live?.close();
  await other?.stop();
  await leader?.stop();
  await hook?.close();
  await peer?.close();
  await testDb?.drop();
  await removeScratchDirs();
});

describe("alerts from any instance", () => {
  it("does list the leader's alert on the other instance, and honours an ack made there", async () => {
    const cluster = await other.get<ClusterView>("/api/v1/cluster");
    expect(cluster.alertLeader).toBe("first");
    expect(leader.collector.alerts.engine?.isLeading).toBe(true);
    expect(other.collector.alerts.engine?.isLeading).toBe(false);

    await waitUntil("sim connected", () => conns.length >= 1);
    await waitUntil("sim open on both", () =>
      [leader, other].every((c) => c.fleet.targets.get("sim")?.status.state === "open"),
    );
    const conn = conns.at(-1);
    conn?.send({
      method: "thread/started",
      params: {
        thread: {
          id: "th-wait",
          model: "gpt-5-codex",
          cwd: "/home/dev/app",
          status: { type: "active", activeFlags: ["waitingOnApproval"] },
          createdAt: nowS(),
          updatedAt: nowS(),
        },
      },
    });

    // Fired by the leader and repeated while nobody acknowledges it.
    await waitUntil("firing, then a repeat", async () => (await readQueued()).includes("repeat"), 20_000);
    expect(events()[0]).toBe("firing");

    // The other instance: API (from the database), its engine's mirror (live snapshot, /metrics), live feed.
    const listed = (await alertsOn(other, "?state=firing")).filter((a) => a.threadId === "th-wait");
    expect(listed).toHaveLength(1);
    const id = listed[0]?.id as string;
    await waitUntil("mirrored on the other instance", () =>
      other.collector.alerts.openViews().some((a) => a.id === id && a.state === "firing"),
    );
    await waitUntil("in the other instance's live feed", () =>
      frames.some((f) => f.type === "alert" && f.alert?.id === id && f.alert.state === "firing"),
    );
    const metrics = await (await fetch(`${other.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^codex_fleet_alerts\{state="firing"\} 1$/m);
    expect(metrics).toMatch(/^codex_fleet_alerts_by_rule\{rule_id="approval-wait",state="firing"\} 1$/m);
    expect(metrics).toMatch(/^codex_fleet_alerts_inhibited 0$/m);

    // Acknowledge through the other instance.
    const res = await fetch(`${other.baseUrl}/api/v1/alerts/${id}/ack`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ by: "dana" }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as AlertView).ackBy).toBe("dana");
    await waitUntil("the leader holds the acknowledgement", () =>
      leader.collector.alerts.openViews().some((a) => a.id === id && a.ackBy === "dana"),
    );
    await waitUntil("the ack in the other's live feed", () =>
      frames.some((f) => f.type === "alert" && f.alert?.id === id && f.alert.ackBy === "dana"),
    );
    // No repeat after the ack: let several repeat intervals and evaluations pass.
    await leader.collector.alerts.engine?.dispatcher.idle();
    const delivered = (await readQueued()).length;
    await new Promise((r) => setTimeout(r, REPEAT_MS * 5));
    await leader.collector.alerts.engine?.evaluate();
    await leader.collector.alerts.engine?.dispatcher.idle();
    expect((await readQueued()).length).toBe(delivered);
    expect((await alertsOn(leader, "?state=firing")).find((a) => a.id === id)?.ackBy).toBe("dana");

    // Resolved by the leader (the approval is answered): resolved on the other instance too,
    // and an ack there is now refused as on the leader.
    conn?.send({
      method: "thread/status/changed",
      params: { threadId: "th-wait", status: { type: "idle" } },
    });
    await waitUntil("resolved notification", async () => (await readQueued()).includes("resolved"), 20_000);
    await waitUntil("gone from the other's open alerts", () =>
      other.collector.alerts.openViews().every((a) => a.id !== id),
    );
    await waitUntil("resolved in the other's live feed", () =>
      frames.some((f) => f.type === "alert" && f.alert?.id === id && f.alert.state === "resolved"),
    );
    const again = await fetch(`${other.baseUrl}/api/v1/alerts/${id}/ack`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ by: "dana" }),
    });
    expect(again.status).toBe(409);
    const unknown = await fetch(`${other.baseUrl}/api/v1/alerts/no-such-alert/ack`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ by: "dana" }),
    });
    expect(unknown.status).toBe(404);
    expect(events().filter((e) => e === "firing")).toHaveLength(1);
    expect(events().filter((e) => e === "resolved")).toHaveLength(1);
  }, 90_000);
});
