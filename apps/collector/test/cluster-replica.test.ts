/**
 * Replication between two in-process collectors on one real Postgres database (issue 12): only
 * A follows the simulated target (the test-only `follow` override stands in for leases); B sees
 * its threads and state in /api/v1/threads, /api/v1/targets and its live feed, never connects to
 * the target, and after its LISTEN connection is reset (a TCP proxy in front of Postgres, for B's
 * listener only) it re-reads the database and converges on what it missed. API-managed target
 * changes and silences made on B reach A.
 */

import {
  type PeerConnection,
  type ScriptedPeer,
  startScriptedPeer,
} from "@codex-fleet/codex-fakes/scripted-peer";
import { startTcpProxy, type TcpProxy, throughProxy } from "@codex-fleet/codex-fakes/tcp-proxy";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { TargetView, ThreadView } from "@codex-fleet/protocol/api";
import type { LimitRow } from "@codex-fleet/protocol/limits";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type RunningCollector, startCollector } from "./support/collector.ts";
import { removeScratchDirs } from "./support/config-files.ts";

let testDb: TestDatabase;
let peer: ScriptedPeer;
let proxy: TcpProxy;
let a: RunningCollector;
let b: RunningCollector;
let live: WebSocket;
const frames: { type: string; thread?: ThreadView; target?: TargetView; row?: LimitRow }[] = [];
const conns: PeerConnection[] = [];

const nowS = () => Math.floor(Date.now() / 1000);
const threadStarted = (id: string, extra: Record<string, unknown> = {}) => ({
  method: "thread/started",
  params: {
    thread: {
      id,
      model: "gpt-5-codex",
      cwd: "/home/dev/app",
      status: { type: "active", activeFlags: [] },
      createdAt: nowS(),
      updatedAt: nowS(),
      ...extra,
    },
  },
});

beforeAll(async () => {
  testDb = await createTestDatabase({ fallbackToEmbedded: false });
  peer = await startScriptedPeer({ script: (c) => void conns.push(c) });
  proxy = await startTcpProxy({ targetPort: Number(new URL(testDb.url).port || 5432) });
  const targets = [{ name: "sim", url: peer.url, token: null }];
  a = await startCollector({ dbUrl: testDb.url, targets, overrides: { follow: () => true } });
  b = await startCollector({
    dbUrl: testDb.url,
    targets,
    // B's LISTEN connection goes through the proxy; its pool does not.
    overrides: {
      follow: () => false,
      replica: { url: throughProxy(testDb.url, proxy), minBackoffMs: 50, maxBackoffMs: 200 },
    },
  });
  live = new WebSocket(`${b.baseUrl.replace("http", "ws")}/api/v1/live`);
  live.on("message", (data) => frames.push(JSON.parse(String(data))));
  await new Promise((resolve, reject) => {
    live.once("open", resolve);
    live.once("error", reject);
  });
}, 120_000);

afterAll(async () => {
  live?.close();
  await b?.stop();
  await a?.stop();
  await proxy?.close();
  await peer?.close();
  await testDb?.drop();
  await removeScratchDirs();
});

const threadsOn = (c: RunningCollector) => c.get<{ items?: ThreadView[] } | ThreadView[]>("/api/v1/threads");
async function threadOn(c: RunningCollector, id: string): Promise<ThreadView | undefined> {
  const body = await threadsOn(c);
  const items = Array.isArray(body) ? body : (body.items ?? []);
  return items.find((t) => t.id === id);
}
async function targetOn(c: RunningCollector, name: string): Promise<TargetView | undefined> {
  const body = await c.get<TargetView[] | { items: TargetView[] }>("/api/v1/targets");
  return (Array.isArray(body) ? body : body.items).find((t) => t.name === name);
}

describe("two collectors, one follows the target", () => {
  it("does show A's target and threads on B (API and live feed), with B never connecting", async () => {
    await waitUntil(
      "A follows sim",
      () => conns.length === 1 && a.fleet.targets.get("sim")?.status.state === "open",
    );
    await waitUntil("B shows sim open", async () => (await targetOn(b, "sim"))?.state === "open");
    expect(b.fleet.targets.get("sim")?.followed).toBe(false);

    conns[0]?.send(threadStarted("th-1"));
    conns[0]?.send({
      method: "turn/started",
      params: { threadId: "th-1", turn: { id: "tu-1", status: "inProgress" } },
    });
    await waitUntil("th-1 active on B", async () => (await threadOn(b, "th-1"))?.status === "active");
    const onA = await threadOn(a, "th-1");
    const onB = await threadOn(b, "th-1");
    expect(onB).toEqual(onA);
    await waitUntil("th-1 in B's live feed", () =>
      frames.some((f) => f.type === "thread" && f.thread?.id === "th-1" && f.thread.status === "active"),
    );
    expect((await targetOn(b, "sim"))?.threads).toBe(1);

    // B follows nothing: one connection to the target in all (A's), and nothing sent by B.
    expect(peer.upgrades).toHaveLength(1);
    expect(b.sent.get("sim") ?? []).toEqual([]);
  }, 60_000);

  it("does not carry A's observed activity to B: only the follower observes (issue 15)", async () => {
    // A observes th-1 working since its status; B's copy starts observing only if B ever follows
    // the target, at the status it is then told — never from A's span (no invented handover time).
    expect(a.fleet.threads.get("th-1")?.activity?.kind).toBe("working");
    expect(b.fleet.threads.get("th-1")?.status).toBe("active");
    expect(b.fleet.threads.get("th-1")?.activity).toBeNull();
    expect(b.fleet.threads.get("th-1")?.wait).toBeNull();
  });

  it("does send a thread too large for one NOTIFY as 're-read', and B reads the row", async () => {
    const cwd = `/home/${"é".repeat(4000)}`; // ~8 KB of UTF-8: over the payload limit
    conns[0]?.send(threadStarted("th-big", { cwd }));
    await a.fleet.flush();
    await waitUntil(
      "th-big on B",
      () => b.fleet.threads.get("th-big")?.cwd === a.fleet.threads.get("th-big")?.cwd,
    );
    expect(b.fleet.threads.get("th-big")?.cwd?.length).toBeGreaterThan(4000);
  }, 60_000);

  it("does show a plan-limit change of A's target in B's live feed (issue 14)", async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 3_600;
    conns[0]?.send({
      method: "account/rateLimits/updated",
      params: {
        rateLimits: {
          limitId: "codex",
          limitName: null,
          primary: { usedPercent: 64, windowDurationMins: 300, resetsAt },
          secondary: null,
          credits: null,
          planType: null,
          rateLimitReachedType: null,
        },
      },
    });
    await waitUntil("the limits row in B's live feed", () =>
      frames.some((f) => f.type === "limits" && f.row?.target === "sim" && f.row.primary?.usedPercent === 64),
    );
    const row = frames.find((f) => f.type === "limits" && f.row?.target === "sim")?.row;
    expect(row?.primary?.resetsAt).toBe(new Date(resetsAt * 1000).toISOString());
  }, 60_000);

  it("does not hold small changes behind a 're-read' notice while A's writer is busy", async () => {
    // The writer cannot be made to stay busy on demand: hold its settled() for this test. The
    // re-read notice must wait for it (the row is not written yet), the small change must not.
    const writer = a.fleet.writer;
    const settled = writer.settled.bind(writer);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    writer.settled = () => held.then(settled);
    try {
      const notices = a.collector.replica?.rereadNotices ?? 0;
      conns[0]?.send(threadStarted("th-big-2", { cwd: `/home/${"é".repeat(4000)}` }));
      await waitUntil("th-big-2 on A", () => a.fleet.threads.has("th-big-2"));
      await new Promise((resolve) => setTimeout(resolve, 200)); // A's publish tick (20 ms) has run
      conns[0]?.send(threadStarted("th-small", { cwd: "/home/dev/small" }));
      await waitUntil("th-small on B", () => b.fleet.threads.get("th-small")?.cwd === "/home/dev/small");
      expect(b.fleet.threads.get("th-big-2")).toBeUndefined();
      expect(a.collector.replica?.rereadNotices).toBe(notices);
      release();
      await waitUntil("th-big-2 on B", () => (b.fleet.threads.get("th-big-2")?.cwd?.length ?? 0) > 4000);
      expect(a.collector.replica?.rereadNotices).toBeGreaterThan(notices);
      const metrics = await (await fetch(`${a.baseUrl}/metrics`)).text();
      expect(metrics).toContain("# TYPE codex_fleet_replica_reread_notices_total counter");
      expect(metrics).toContain(
        `codex_fleet_replica_reread_notices_total ${a.collector.replica?.rereadNotices}`,
      );
      expect(metrics).toMatch(/codex_fleet_replica_payloads_total\{direction="published"\} [1-9]/);
    } finally {
      release();
      writer.settled = settled;
    }
  }, 60_000);

  it("does lose nothing when B's LISTEN connection is reset: B re-reads and converges", async () => {
    const replica = b.collector.replica;
    expect(replica).not.toBeNull();
    const connects = replica?.connects ?? 0;
    const rereads = replica?.rereads ?? 0;
    proxy.cut();
    // While B cannot listen, A's target changes: th-1 goes idle, th-2 appears.
    conns[0]?.send({
      method: "turn/completed",
      params: { threadId: "th-1", turn: { id: "tu-1", status: "completed", items: [], error: null } },
    });
    conns[0]?.send({
      method: "thread/status/changed",
      params: { threadId: "th-1", status: { type: "idle" } },
    });
    conns[0]?.send(threadStarted("th-2"));
    await waitUntil("A sees th-2", () => a.fleet.threads.has("th-2"));
    await a.fleet.flush();
    // The messages went out while B was deaf: B has not seen them.
    expect(b.fleet.threads.has("th-2")).toBe(false);
    proxy.restore();
    await waitUntil("B reconnected and re-read", () => (replica?.rereads ?? 0) > rereads, 30_000);
    expect(replica?.connects).toBeGreaterThan(connects);
    await waitUntil("B converged", async () => {
      const [a1, b1, a2, b2] = await Promise.all([
        threadOn(a, "th-1"),
        threadOn(b, "th-1"),
        threadOn(a, "th-2"),
        threadOn(b, "th-2"),
      ]);
      return (
        b2 !== undefined &&
        JSON.stringify(a1) === JSON.stringify(b1) &&
        JSON.stringify(a2) === JSON.stringify(b2)
      );
    });
    expect((await threadOn(b, "th-1"))?.status).toBe("idle");
    // And the feed goes on after the reconnect.
    conns[0]?.send(threadStarted("th-3"));
    await waitUntil("th-3 in B's live feed", () =>
      frames.some((f) => f.type === "thread" && f.thread?.id === "th-3"),
    );
  }, 60_000);

  it("does reach A with targets added and removed through B's API", async () => {
    const post = await fetch(`${b.baseUrl}/api/v1/targets`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "via-b", team: "core", url: peer.url, labels: {} }),
    });
    expect(post.status).toBe(201);
    // B registered it but does not follow it; A does, and connects.
    await waitUntil("A follows via-b", () => a.fleet.targets.get("via-b")?.status.state === "open");
    expect(b.fleet.targets.get("via-b")?.followed).toBe(false);
    await waitUntil("B shows via-b open", async () => (await targetOn(b, "via-b"))?.state === "open");
    const del = await fetch(`${b.baseUrl}/api/v1/targets/via-b`, { method: "DELETE" });
    expect(del.status).toBe(204);
    await waitUntil("A dropped via-b", () => !a.fleet.targets.has("via-b"));
  }, 60_000);

  it("does tell B's listeners (the alert rules) about a failed turn on A's target", async () => {
    const seen: string[] = [];
    const off = b.fleet.subscribe({
      event: (target, e) => {
        if (e.kind === "turnCompleted") seen.push(`${target}/${e.threadId}/${e.turn.id}/${e.turn.status}`);
      },
    });
    conns[0]?.send({
      method: "turn/started",
      params: { threadId: "th-3", turn: { id: "tu-f", status: "inProgress" } },
    });
    conns[0]?.send({
      method: "turn/completed",
      params: {
        threadId: "th-3",
        turn: {
          id: "tu-f",
          status: "failed",
          items: [],
          error: { message: "stream disconnected", codexErrorInfo: "internalServerError" },
        },
      },
    });
    await waitUntil("B heard of the failed turn", () => seen.includes("sim/th-3/tu-f/failed"));
    off();
  }, 60_000);

  it("does leave every write to A: B ran no ingest transaction", async () => {
    const count = async (c: RunningCollector) => {
      const text = await (await fetch(`${c.baseUrl}/metrics`)).text();
      return Number(/^codex_fleet_db_write_ms_count (\d+)$/m.exec(text)?.[1]);
    };
    expect(await count(a)).toBeGreaterThan(0);
    expect(await count(b)).toBe(0);
  });

  it("does report per-target gauges only on the instance that follows the target", async () => {
    const scrape = async (c: RunningCollector) => (await fetch(`${c.baseUrl}/metrics`)).text();
    const sum = (text: string, name: string) =>
      [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, "gm"))].reduce(
        (s, m) => s + Number(m[1]),
        0,
      );
    // A reports the version once its connection to sim has completed the handshake.
    let onA = "";
    await waitUntil("A reports sim's codex version", async () => {
      onA = await scrape(a);
      return sum(onA, "codex_fleet_targets_by_codex_version") === 1;
    });
    const onB = await scrape(b);
    // B holds sim's threads (replica) but does not follow it: Prometheus sums over instances.
    expect(b.fleet.targets.get("sim")?.followed).toBe(false);
    expect(onA).toMatch(/^codex_fleet_threads_pending_recovery\{target="sim"\} \d+$/m);
    expect(onB).not.toMatch(/codex_fleet_threads_pending_recovery\{target="sim"\}/);
    expect(sum(onA, "codex_fleet_targets_by_codex_version")).toBe(1);
    expect(sum(onB, "codex_fleet_targets_by_codex_version")).toBe(0);
    expect(sum(onB, "codex_fleet_targets_below_codex_floor")).toBe(0);
  }, 60_000);

  it("does apply a silence created on B to A's alert engine", async () => {
    const res = await fetch(`${b.baseUrl}/api/v1/silences`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        matchers: { target: "sim" },
        comment: "maintenance",
        createdBy: "test",
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await waitUntil("A's engine has the silence", () =>
      (a.collector.alerts.engine?.activeSilences() ?? []).some((s) => s.id === id),
    );
  }, 60_000);
});
