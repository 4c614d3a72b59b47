/**
 * Threads that unloaded (or were archived) while the collector was away: their `notLoaded` went to
 * nobody, and `thread/list` skips a thread last updated before the cutoff. At each connect the
 * observer marks every thread the collector holds as loaded but the server no longer lists in
 * `thread/loaded/list` as `notLoaded`, so its stored systemError / active / waiting status cannot
 * keep an alert firing forever (issue 16). Over a real TargetConnection to a scripted peer.
 */
import { type ScriptedPeer, startScriptedPeer } from "@codex-fleet/codex-fakes/scripted-peer";
import type { FleetEvent } from "@codex-fleet/protocol/events";
import { afterEach, describe, expect, it } from "vitest";
import { TargetConnection } from "../../../src/fleet/connection.ts";
import { TargetObserver } from "../../../src/fleet/observer.ts";

const NOW = Date.now();

let peer: ScriptedPeer | null = null;
let conn: TargetConnection | null = null;

afterEach(async () => {
  conn?.stop();
  await peer?.close();
  peer = conn = null;
});

/**
 * Connect once to a peer that lists `loaded` as loaded (one page, or `pages` pages) and nothing in
 * `thread/list`; the collector holds `held` as loaded. Returns the events the observer emitted.
 */
async function connectOnce(
  held: string[],
  loaded: string[],
  opts: { endlessPaging?: boolean; whileListing?: Record<string, unknown>[] } = {},
): Promise<FleetEvent[]> {
  const emitted: FleetEvent[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => {
    done = r;
  });
  peer = await startScriptedPeer({
    answer: (method, _params, c) => {
      if (method === "thread/loaded/list") {
        for (const f of opts.whileListing ?? []) c.send(f);
        return { result: { data: loaded, nextCursor: opts.endlessPaging ? "more" : null } };
      }
      if (method === "thread/list") return { result: { data: [], nextCursor: null } };
      return undefined;
    },
  });
  let observer!: TargetObserver;
  conn = new TargetConnection(
    {
      url: peer.url,
      token: null,
      connectTimeoutMs: 2000,
      pingIntervalMs: 600_000,
      minBackoffMs: 50,
      maxBackoffMs: 100,
      stableAfterMs: 1000,
      maxPayloadBytes: 64 * 1024,
      requestTimeoutMs: 2000,
      clientVersion: "test",
    },
    {
      onOpen: () => void observer.onOpen().then(done),
      onEvent: (e) => observer.onEvent(e),
      onStatus: () => {},
    },
  );
  observer = new TargetObserver(
    conn,
    { idleUnsubscribeMs: 60_000, backfillLookbackMs: 86_400_000, coldResumeWaitMs: 200 },
    {
      now: () => NOW,
      lastContactAtMs: () => NOW - 10_000,
      emit: (e) => emitted.push(e),
      log: () => {},
      heldLoaded: () => held,
    },
  );
  conn.start();
  await finished;
  return emitted;
}

const unloadedIds = (events: FleetEvent[]): string[] =>
  events.flatMap((e) => (e.kind === "threadStatus" && e.status.type === "notLoaded" ? [e.threadId] : []));

describe("TargetObserver and threads that unloaded while the collector was away", () => {
  it("does mark every held thread the server no longer lists as loaded notLoaded", async () => {
    const events = await connectOnce(
      ["failed-then-unloaded", "archived", "still-loaded"],
      ["still-loaded", "new"],
    );
    expect(unloadedIds(events).sort()).toEqual(["archived", "failed-then-unloaded"]);
    expect(events.find((e) => e.kind === "threadStatus")).toMatchObject({
      atMs: NOW,
      status: { type: "notLoaded", activeFlags: [] },
    });
  });

  it("does mark nothing when every held thread is still loaded", async () => {
    expect(unloadedIds(await connectOnce(["a", "b"], ["a", "b"]))).toEqual([]);
  });

  it("does not mark a thread heard from on this connection while the list was on its way", async () => {
    const busy = {
      method: "thread/status/changed",
      params: { threadId: "busy", status: { type: "active", activeFlags: [] } },
    };
    expect(unloadedIds(await connectOnce(["busy", "gone"], [], { whileListing: [busy] }))).toEqual(["gone"]);
  });

  it("does mark nothing when the loaded list was cut short by its paging bound", async () => {
    expect(unloadedIds(await connectOnce(["a", "b"], ["a"], { endlessPaging: true }))).toEqual([]);
  });
});
