/**
 * TargetObserver over a real TargetConnection to a scripted peer (127.0.0.1:0): after a
 * reconnect, which threads it recovers token totals for. A warm resume replays nothing (facts §2),
 * so a loaded thread updated while the collector was away must be cold-resumed when it unloads,
 * unless a live total arrived first.
 */

import {
  type PeerConnection,
  type ScriptedPeer,
  startScriptedPeer,
  waitFor,
} from "@codex-fleet/codex-fakes/scripted-peer";
import { afterEach, describe, expect, it } from "vitest";
import type { TargetConnection } from "../../../src/fleet/connection.ts";
import { type TargetObserver, THREAD_SOURCE_KINDS } from "../../../src/fleet/observer.ts";
import { observeOverPeer } from "../../support/observer-peer.ts";

const NOW = Date.now();
const LAST_CONTACT = NOW - 10_000;

const thread = (id: string, updatedAtMs: number, status = "idle") => ({
  id,
  status: { type: status, ...(status === "active" ? { activeFlags: [] } : {}) },
  createdAt: Math.floor((updatedAtMs - 60_000) / 1000),
  updatedAt: Math.floor(updatedAtMs / 1000),
});

const tokens = (n: number) => ({
  totalTokens: n,
  inputTokens: n,
  cachedInputTokens: 0,
  outputTokens: 0,
  reasoningOutputTokens: 0,
});

const usage = (threadId: string, n: number) => ({
  method: "thread/tokenUsage/updated",
  params: { threadId, turnId: "turn-1", tokenUsage: { total: tokens(n), last: tokens(n) } },
});

const unloaded = (threadId: string) => [
  { method: "thread/status/changed", params: { threadId, status: { type: "notLoaded" } } },
  { method: "thread/closed", params: { threadId } },
];

let peer: ScriptedPeer | null = null;
let conn: TargetConnection | null = null;
/** How many frames the peer had received when it sent a thread's replayed total. */
const usageSentAt = new Map<string, number>();
/** How often the peer refused to resume a thread for want of a rollout. */
const rolloutRefusals = new Map<string, number>();

afterEach(async () => {
  conn?.stop();
  await peer?.close();
  peer = conn = null;
});

/**
 * A peer holding `threads` loaded; `thread/resume` succeeds and replays the total like 0.169.0
 * (but "silent" resumes without a replay). `whileListing` is sent before the `thread/list` answer.
 */
async function observe(
  threads: ReturnType<typeof thread>[],
  extra: Partial<ConstructorParameters<typeof TargetObserver>[2]> = {},
  whileListing: Record<string, unknown>[] = [],
  peerOpts: { refuseSourceKinds?: boolean; activeWhileUnsubscribing?: string } = {},
  observerOpts: { idleUnsubscribeMs?: number } = {},
): Promise<{ peer: ScriptedPeer; c: PeerConnection; observer: TargetObserver }> {
  rolloutRefusals.clear();
  peer = await startScriptedPeer({
    answer: (method, params, c) => {
      if (method === "thread/loaded/list") {
        const loaded = threads.filter((t) => t.status.type !== "notLoaded").map((t) => t.id);
        return { result: { data: loaded, nextCursor: null } };
      }
      if (method === "thread/list") {
        // As 0.150.0 … 0.171.0 answer a kind they do not know.
        if (peerOpts.refuseSourceKinds && (params as { sourceKinds?: unknown }).sourceKinds !== undefined)
          return { error: { code: -32600, message: "Invalid request: unknown variant `subAgentX`" } };
        for (const f of whileListing) c.send(f);
        return { result: { data: threads, nextCursor: null } };
      }
      if (method === "thread/turns/list") {
        const id = (params as { threadId: string }).threadId;
        const at = Math.floor(Date.now() / 1000);
        // A failure whose end the server has not written yet (0.169.0 between the thread's
        // systemError and turn/completed): listed as interrupted without completedAt, here for the
        // first two reads ("ending") or for good ("cutoff", a turn a crash cut off).
        const reads = (peer?.requests("thread/turns/list") ?? []).filter(
          (r) => (r.params as { threadId: string }).threadId === id,
        ).length;
        if (id === "cutoff" || (id === "ending" && reads <= 2))
          return {
            result: {
              data: [{ id: `${id}-turn-2`, status: "interrupted", startedAt: at, completedAt: null }],
              nextCursor: null,
            },
          };
        // Newest first, as 0.169.0: the failed turn, and one that ended long before.
        return {
          result: {
            data: [
              {
                id: `${id}-turn-2`,
                status: "failed",
                error: { message: "unexpected status 500", codexErrorInfo: "internalServerError" },
                startedAt: at,
                completedAt: at,
              },
              { id: `${id}-turn-1`, status: "completed", startedAt: at - 3600, completedAt: at - 3600 },
            ],
            nextCursor: null,
          },
        };
      }
      if (method === "thread/unsubscribe") {
        const id = (params as { threadId: string }).threadId;
        // The developer starts a turn while the unsubscribe is on its way: the status change
        // arrives before the answer (a loaded server, or requests queued behind a backfill).
        if (id === peerOpts.activeWhileUnsubscribing)
          c.send({
            method: "thread/status/changed",
            params: { threadId: id, status: { type: "active", activeFlags: [] } },
          });
        return { result: { status: "unsubscribed" } };
      }
      if (method === "thread/resume") {
        const id = (params as { threadId: string }).threadId;
        // The marker never has a rollout (a brand-new thread): its resumes fail and replay nothing.
        if (id === "marker")
          return { error: { code: -32600, message: `no rollout found for thread id ${id}` } };
        if (id === "silent") return { result: { thread: thread(id, NOW) } };
        // A busy server that takes longer to load the rollout than the observer waits for a total:
        // the answer comes after 800 ms (coldResumeWaitMs is 500), the replayed total 10 ms later.
        if (id === "slowload") {
          setTimeout(() => {
            const req = peer
              ?.requests("thread/resume")
              .find((r) => (r.params as { threadId: string }).threadId === id);
            c.send({ id: req?.id, result: { thread: thread(id, NOW) } });
            setTimeout(() => {
              usageSentAt.set(id, peer?.received.length ?? 0);
              c.send(usage(id, 500));
            }, 10);
          }, 800);
          return "silent";
        }
        // A brand-new thread whose rollout is written a moment after it turned active.
        if (id === "fresh" && (rolloutRefusals.get(id) ?? 0) < 2) {
          rolloutRefusals.set(id, (rolloutRefusals.get(id) ?? 0) + 1);
          return { error: { code: -32600, message: `no rollout found for thread id ${id}` } };
        }
        setTimeout(() => c.send(usage(id, 500)), 10);
        return { result: { thread: thread(id, NOW) } };
      }
      return undefined;
    },
  });
  const started = observeOverPeer(
    peer.url,
    {
      idleUnsubscribeMs: observerOpts.idleUnsubscribeMs ?? 60_000,
      backfillLookbackMs: 86_400_000,
      coldResumeWaitMs: 500,
    },
    { now: Date.now, lastContactAtMs: () => LAST_CONTACT, emit: () => {}, log: () => {}, ...extra },
  );
  conn = started.conn;
  const { observer } = started;
  await started.scanned;
  const p = peer;
  return { peer: p, c: p.connections[0] as PeerConnection, observer };
}

const resumed = (p: ScriptedPeer) =>
  p.requests("thread/resume").map((r) => (r.params as { threadId: string }).threadId);

/**
 * A marker thread turns active unsubscribed, then unloads: its cold resume queues behind any
 * other (one at a time), so once it was sent, every unload sent before had its chance.
 */
async function markerResumed(p: ScriptedPeer, c: PeerConnection): Promise<void> {
  c.send({
    method: "thread/status/changed",
    params: { threadId: "marker", status: { type: "active", activeFlags: [] } },
  });
  for (const f of unloaded("marker")) c.send(f);
  await waitFor("the marker's cold resume", () => resumed(p).filter((id) => id === "marker").length === 2);
}

describe("TargetObserver after a reconnect", () => {
  it.each([
    {
      case: "updated while away, then unloads",
      updatedAtMs: NOW - 2000,
      liveTotal: false,
      coldResumed: true,
    },
    {
      case: "updated within a second of the last contact",
      updatedAtMs: LAST_CONTACT - 500,
      liveTotal: false,
      coldResumed: true,
    },
    {
      case: "not updated since the last contact",
      updatedAtMs: LAST_CONTACT - 5000,
      liveTotal: false,
      coldResumed: false,
    },
    {
      case: "updated while away, but a live total arrived first",
      updatedAtMs: NOW - 2000,
      liveTotal: true,
      coldResumed: false,
    },
  ])(
    "cold-resumes a warm idle thread when it was $case: $coldResumed",
    async ({ updatedAtMs, liveTotal, coldResumed }) => {
      const { peer: p, c } = await observe([thread("warm", updatedAtMs)]);
      // Backfill found it loaded and idle: no resume yet (warm resumes replay nothing, and pin it).
      expect(resumed(p)).toEqual([]);
      if (liveTotal) c.send(usage("warm", 700));
      for (const f of unloaded("warm")) c.send(f);
      // A marker thread that turned active unsubscribed, then unloaded: its cold resume queues behind
      // any for "warm" (one at a time), so once it was sent, "warm" had its chance.
      c.send({
        method: "thread/status/changed",
        params: { threadId: "marker", status: { type: "active", activeFlags: [] } },
      });
      for (const f of unloaded("marker")) c.send(f);
      await waitFor(
        "the marker's cold resume",
        () => resumed(p).filter((id) => id === "marker").length === 2,
      );
      expect(resumed(p).filter((id) => id === "warm")).toEqual(coldResumed ? ["warm"] : []);
      for (const r of p.requests("thread/resume")) expect(r.params).toMatchObject({ excludeTurns: true });
    },
  );

  it("cold-resumes at once an unloaded thread updated within a second of the last contact", async () => {
    const { peer: p } = await observe([
      thread("edge", LAST_CONTACT - 500, "notLoaded"),
      thread("old", LAST_CONTACT - 5000, "notLoaded"),
    ]);
    expect(resumed(p)).toEqual(["edge"]);
  });
});

describe("TargetObserver's cold resume on a slow server", () => {
  it("waits for the replayed total from the resume's answer, not from the request", async () => {
    const { peer: p } = await observe([thread("slowload", NOW - 2000, "notLoaded")]);
    await waitFor("the cold resume's unsubscribe", () => p.requests("thread/unsubscribe").length === 1, 5000);
    // Unsubscribing before the total came would leave it unread on this connection.
    const unsubscribedAt = p.received.findIndex((f) => f.frame?.method === "thread/unsubscribe");
    expect(usageSentAt.get("slowload")).toBeLessThanOrEqual(unsubscribedAt);
  });
});

describe("TargetObserver and a thread already active at connect", () => {
  it("cold-resumes it at its unload when its turn ended before our subscription took effect", async () => {
    // Active since before the last contact (updatedAt moves only when a turn completes), and its
    // warm resume replays nothing ("silent"): the total of the running turn reached nobody.
    const { peer: p, c } = await observe([thread("silent", LAST_CONTACT - 5000, "active")]);
    await waitFor("the subscription", () => resumed(p).includes("silent"));
    c.send({ method: "thread/status/changed", params: { threadId: "silent", status: { type: "idle" } } });
    for (const f of unloaded("silent")) c.send(f);
    await markerResumed(p, c);
    expect(resumed(p).filter((id) => id === "silent")).toEqual(["silent", "silent"]);
  });
});

describe("TargetObserver and a brand-new thread", () => {
  it("asks again soon while it is active and its rollout does not exist yet, not only at its next status change", async () => {
    const { peer: p, c } = await observe([]);
    c.send({
      method: "thread/status/changed",
      params: { threadId: "fresh", status: { type: "active", activeFlags: [] } },
    });
    // Refused twice ("no rollout found"), then subscribed — with no further status change.
    await waitFor("the third resume", () => resumed(p).filter((id) => id === "fresh").length === 3);
    await new Promise((r) => setTimeout(r, 300));
    expect(resumed(p).filter((id) => id === "fresh")).toHaveLength(3);
  });

  it("stops asking once the thread is no longer active", async () => {
    const { peer: p, c } = await observe([]);
    c.send({
      method: "thread/status/changed",
      params: { threadId: "marker", status: { type: "active", activeFlags: [] } },
    });
    c.send({ method: "thread/status/changed", params: { threadId: "marker", status: { type: "idle" } } });
    await new Promise((r) => setTimeout(r, 1000));
    expect(resumed(p).filter((id) => id === "marker").length).toBeLessThanOrEqual(2);
  });
});

describe("TargetObserver and a turn whose end nobody heard", () => {
  type Emitted = { kind: string; threadId?: string; turn?: { id: string; status: string } };
  const status = (c: PeerConnection, threadId: string, type: string) =>
    c.send({
      method: "thread/status/changed",
      params: { threadId, status: { type, ...(type === "active" ? { activeFlags: [] } : {}) } },
    });
  /** A thread turns active unsubscribed, then leaves active (`left`): what the observer emits. */
  async function turnEnds(threadId: string, left: string) {
    const emitted: Emitted[] = [];
    const { peer: p, c } = await observe([], { emit: (e) => emitted.push(e as Emitted) });
    status(c, threadId, "active");
    status(c, threadId, left);
    return { p, c, emitted };
  }

  it("reads back the turn of a thread that could not be subscribed (a brand-new thread's first turn): its failure is not lost", async () => {
    // The marker's rollout never exists: every resume is refused, so no turn/completed can reach us.
    const { p, emitted } = await turnEnds("marker", "systemError");
    await waitFor("the read-back", () => emitted.some((e) => e.kind === "turnCompleted"));
    expect(p.requests("thread/turns/list").map((r) => r.params)).toEqual([{ threadId: "marker", limit: 5 }]);
    // Only the turn that ended since the thread turned active, with its outcome and error.
    expect(emitted.filter((e) => e.kind === "turnCompleted")).toMatchObject([
      {
        threadId: "marker",
        turn: { id: "marker-turn-2", status: "failed", error: { codexErrorInfo: "internalServerError" } },
      },
    ]);
  });

  it("reads the list again while it shows the turn over without an end time, and takes the outcome it ends with", async () => {
    const { p, emitted } = await turnEnds("ending", "systemError");
    await waitFor("the read-back", () => emitted.some((e) => e.kind === "turnCompleted"));
    expect(p.requests("thread/turns/list")).toHaveLength(3);
    // Not the interrupted of the first two reads: a turn's first terminal status is final.
    expect(emitted.filter((e) => e.kind === "turnCompleted")).toMatchObject([
      { threadId: "ending", turn: { id: "ending-turn-2", status: "failed" } },
    ]);
  });

  it("takes a turn that never gets an end time as listed, after asking again for about 2 s", async () => {
    const { p, emitted } = await turnEnds("cutoff", "idle");
    await waitFor("the read-back", () => emitted.some((e) => e.kind === "turnCompleted"), 5000);
    expect(p.requests("thread/turns/list")).toHaveLength(5);
    expect(emitted.filter((e) => e.kind === "turnCompleted")).toMatchObject([
      { threadId: "cutoff", turn: { id: "cutoff-turn-2", status: "interrupted", completedAtMs: null } },
    ]);
  });

  it("stops reading when the turn's end is heard live while it waits for the list to show it", async () => {
    const { p, c, emitted } = await turnEnds("cutoff", "systemError");
    await waitFor("the first read", () => p.requests("thread/turns/list").length === 1);
    c.send({
      method: "turn/completed",
      params: { threadId: "cutoff", turn: { id: "cutoff-turn-2", status: "failed", items: [] } },
    });
    await new Promise((r) => setTimeout(r, 2500));
    expect(p.requests("thread/turns/list").length).toBeLessThanOrEqual(2);
    expect(emitted.filter((e) => e.kind === "turnCompleted")).toEqual([]);
  });

  it("reads back nothing when the turn's end was heard live", async () => {
    const emitted: Emitted[] = [];
    const { peer: p, c } = await observe([], { emit: (e) => emitted.push(e as Emitted) });
    status(c, "busy", "active");
    await waitFor("the subscription", () => resumed(p).includes("busy"));
    // The server's order: the status change, then turn/completed (facts §1).
    status(c, "busy", "idle");
    c.send({
      method: "turn/completed",
      params: { threadId: "busy", turn: { id: "busy-turn-2", status: "completed", items: [] } },
    });
    // A later thread that is read back: once its read-back was answered, "busy"'s would have been too.
    status(c, "marker", "active");
    status(c, "marker", "idle");
    await waitFor("the marker's read-back", () => p.requests("thread/turns/list").length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    const reads = (peer?.requests("thread/turns/list") ?? []).map(
      (r) => (r.params as { threadId: string }).threadId,
    );
    // "busy" turned active unsubscribed, so its read-back may go out; it emits nothing that was heard.
    expect(reads).toContain("marker");
    expect(emitted.filter((e) => e.kind === "turnCompleted" && e.threadId === "busy")).toEqual([]);
  });

  it("does not read back a thread that was subscribed when it turned active", async () => {
    const { peer: p, c } = await observe([]);
    status(c, "busy", "active");
    await waitFor("the subscription", () => resumed(p).includes("busy"));
    status(c, "busy", "idle");
    c.send({
      method: "turn/completed",
      params: { threadId: "busy", turn: { id: "busy-turn-2", status: "completed", items: [] } },
    });
    status(c, "busy", "active");
    status(c, "busy", "idle");
    status(c, "marker", "active");
    status(c, "marker", "idle");
    await waitFor("the marker's read-back", () => p.requests("thread/turns/list").length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    // The second turn of "busy" began subscribed: its end comes live, no read-back is needed.
    const reads = (peer?.requests("thread/turns/list") ?? []).map(
      (r) => (r.params as { threadId: string }).threadId,
    );
    expect(reads.filter((id) => id === "busy").length).toBeLessThanOrEqual(1);
  });
});

describe("TargetObserver and a thread that turns active while it unsubscribes", () => {
  it("subscribes again once the unsubscribe is answered: the turn's total would otherwise reach nobody", async () => {
    const { peer: p, c } = await observe(
      [],
      {},
      [],
      { activeWhileUnsubscribing: "busy" },
      { idleUnsubscribeMs: 50 },
    );
    const turn = (type: "active" | "idle") =>
      c.send({
        method: "thread/status/changed",
        params: { threadId: "busy", status: { type, ...(type === "active" ? { activeFlags: [] } : {}) } },
      });
    turn("active");
    await waitFor("the subscription", () => resumed(p).length === 1);
    turn("idle");
    // Idle for idleUnsubscribeMs: unsubscribed — and the next turn begins before the answer.
    await waitFor("the unsubscribe", () => p.requests("thread/unsubscribe").length === 1);
    await waitFor("a subscription for the running turn", () => resumed(p).length === 2);
    expect(resumed(p)).toEqual(["busy", "busy"]);
  });
});

describe("TargetObserver lists every kind of thread", () => {
  it("asks thread/list for every source kind (sub-agent threads are left out by default)", async () => {
    const { peer: p } = await observe([thread("sub", NOW - 2000, "notLoaded")]);
    const lists = p.requests("thread/list");
    expect(lists.length).toBeGreaterThan(0);
    for (const r of lists) expect(r.params).toMatchObject({ sourceKinds: [...THREAD_SOURCE_KINDS] });
    expect(THREAD_SOURCE_KINDS).toContain("subAgentThreadSpawn");
    expect(resumed(p)).toEqual(["sub"]);
  });

  it("lists without sourceKinds when the server refuses them, still recovering what it lists", async () => {
    const logged: string[] = [];
    const { peer: p } = await observe(
      [thread("plain", NOW - 2000, "notLoaded")],
      { log: (_level, msg) => logged.push(msg) },
      [],
      { refuseSourceKinds: true },
    );
    const lists = p.requests("thread/list").map((r) => r.params as { sourceKinds?: unknown });
    expect(lists[0]?.sourceKinds).toBeDefined();
    expect(lists.slice(1).every((l) => l.sourceKinds === undefined)).toBe(true);
    expect(lists.length).toBe(2);
    expect(logged).toContain("thread/list refused sourceKinds; listing interactive threads only");
    expect(resumed(p)).toEqual(["plain"]);
  });
});

describe("TargetObserver and persisted recovery obligations (DESIGN 'What is owed is persistent')", () => {
  it("re-arms an owed loaded thread though last contact moved past its update: cold-resumed when it unloads", async () => {
    const { peer: p, c } = await observe([thread("warm", LAST_CONTACT - 60_000)], {
      owedThreads: () => ["warm"],
    });
    expect(resumed(p)).toEqual([]);
    for (const f of unloaded("warm")) c.send(f);
    await waitFor("the owed thread's cold resume", () => resumed(p).includes("warm"));
    expect(p.requests("thread/resume")[0]?.params).toMatchObject({ threadId: "warm", excludeTurns: true });
  });

  it("cold-resumes at once an owed notLoaded thread not updated since the last contact (nor listed)", async () => {
    const { peer: p } = await observe([thread("old", LAST_CONTACT - 5000, "notLoaded")], {
      owedThreads: () => ["old", "unlisted"],
    });
    expect(resumed(p)).toEqual(["old", "unlisted"]);
  });

  it("marks what it finds owed before it reports the scan done, and each thread that turns active unsubscribed", async () => {
    const log: string[] = [];
    const { c } = await observe(
      [
        thread("warm", NOW - 2000),
        thread("away", NOW - 2000, "notLoaded"),
        thread("quiet", LAST_CONTACT - 5000),
      ],
      {
        markOwed: (id, reason) => log.push(`${id}:${reason}`),
        scanned: () => log.push("scanned"),
      },
    );
    expect(log).toEqual(["warm:loadedAtContact", "away:updatedWhileAway", "scanned"]);
    c.send({
      method: "thread/status/changed",
      params: { threadId: "quiet", status: { type: "active", activeFlags: [] } },
    });
    await waitFor("the active thread's mark", () => log.includes("quiet:activeBeforeSubscribe"));
  });

  it("recovers an owed thread that unloads while the scan runs (before it is re-armed)", async () => {
    const owed = ["warm"];
    // The peer lists it loaded, but sends its unload before answering thread/list.
    const { peer: p } = await observe(
      [thread("warm", LAST_CONTACT - 60_000)],
      { owedThreads: () => owed, isOwed: (id) => owed.includes(id) },
      unloaded("warm"),
    );
    await waitFor("the owed thread's cold resume", () => resumed(p).includes("warm"));
    expect(resumed(p)).toEqual(["warm"]);
  });

  it("re-arms an owed thread whose cold resume brought no total once per connection, at its next unload", async () => {
    const owed = ["silent"];
    const {
      peer: p,
      c,
      observer,
    } = await observe([thread("silent", LAST_CONTACT - 60_000)], {
      owedThreads: () => owed,
      isOwed: (id) => owed.includes(id),
    });
    // Missed at the scan; its unload brings a cold resume that replays nothing (still owed).
    for (const f of unloaded("silent")) c.send(f);
    await waitFor("the first cold resume", () => resumed(p).length === 1);
    await waitFor("its unsubscribe", () => p.requests("thread/unsubscribe").length === 1);
    // Finished (the unsubscribe answered): an app-server unloads the thread only after that.
    await waitFor("the recovery done", () => observer.recoveringThreads.length === 0);
    // The thread, loaded by that resume, unloads again: the obligation re-arms it once …
    for (const f of unloaded("silent")) c.send(f);
    await waitFor("the second cold resume", () => resumed(p).length === 2);
    await waitFor("its unsubscribe", () => p.requests("thread/unsubscribe").length === 2);
    await waitFor("the recovery done", () => observer.recoveringThreads.length === 0);
    // … and not again on this connection (a thread that never replays a total is not pinned in a loop).
    for (const f of unloaded("silent")) c.send(f);
    await markerResumed(p, c);
    expect(resumed(p).filter((id) => id === "silent")).toEqual(["silent", "silent"]);
  });

  it("never cold-resumes an unloading thread that is not owed and was not missed", async () => {
    const { peer: p, c } = await observe([thread("quiet", LAST_CONTACT - 60_000)], {
      owedThreads: () => [],
      isOwed: () => false,
    });
    for (const f of unloaded("quiet")) c.send(f);
    await markerResumed(p, c);
    expect(resumed(p).filter((id) => id === "quiet")).toEqual([]);
  });
});
