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
import type { TargetConnection } from "../../../src/fleet/connection.ts";
import { observeOverPeer } from "../../support/observer-peer.ts";

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
  const started = observeOverPeer(
    peer.url,
    { idleUnsubscribeMs: 60_000, backfillLookbackMs: 86_400_000, coldResumeWaitMs: 200 },
    {
      now: () => NOW,
      lastContactAtMs: () => NOW - 10_000,
      emit: (e) => emitted.push(e),
      log: () => {},
      heldLoaded: () => held,
    },
  );
  conn = started.conn;
  await started.scanned;
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
