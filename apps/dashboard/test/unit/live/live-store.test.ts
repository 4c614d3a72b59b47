import type { TargetView } from "@codex-fleet/protocol/api";
import { describe, expect, it } from "vitest";
import { emptyLiveData, liveReducer } from "../../../src/live/live-store.ts";
import { ALERTS, NOW, snapshotMessage, TARGETS, THREADS, thread } from "../../fixtures.ts";

const limits = { maxThreads: 3, maxAlerts: 2, maxUsageTicks: 2 };

describe("liveReducer", () => {
  it("does set the server clock offset when a snapshot or ping arrives", () => {
    const state = liveReducer(emptyLiveData(), {
      type: "message",
      message: snapshotMessage({ serverTimeMs: NOW + 1500 }),
      nowMs: NOW,
    });
    expect(state.serverOffsetMs).toBe(1500);
    const pinged = liveReducer(state, {
      type: "message",
      message: { type: "ping", serverTimeMs: NOW - 200 },
      nowMs: NOW,
    });
    expect(pinged.serverOffsetMs).toBe(-200);
  });

  it("does ignore the REST fallback when a snapshot already arrived", () => {
    const live = liveReducer(emptyLiveData(), { type: "message", message: snapshotMessage(), nowMs: NOW });
    const after = liveReducer(live, { type: "rest", targets: [], threads: [], alerts: [], nowMs: NOW });
    expect(after).toBe(live);
  });

  it("does evict unloaded, then idle threads, oldest first, when over maxThreads", () => {
    const threads = [
      thread({ id: "active", status: "active", lastEventAt: "2026-11-21T10:00:00Z" }),
      thread({ id: "idle-old", status: "idle", lastEventAt: "2026-11-21T09:00:00Z" }),
      thread({ id: "idle-new", status: "idle", lastEventAt: "2026-11-21T13:00:00Z" }),
      thread({ id: "unloaded", status: "notLoaded", lastEventAt: "2026-11-21T14:00:00Z" }),
      thread({ id: "error", status: "systemError", lastEventAt: "2026-11-21T08:00:00Z" }),
    ];
    const state = liveReducer(
      emptyLiveData(),
      { type: "message", message: snapshotMessage({ threads }), nowMs: NOW },
      limits,
    );
    expect([...state.threads.keys()].sort()).toEqual(["active", "error", "idle-new"]);
  });

  it("does drop resolved alerts first when over maxAlerts", () => {
    const state = liveReducer(
      emptyLiveData(),
      { type: "message", message: snapshotMessage({ alerts: ALERTS }), nowMs: NOW },
      limits,
    );
    expect([...state.alerts.keys()].sort()).toEqual(["al-1", "al-2"]);
  });

  it("does not mutate the previous state when an upsert arrives", () => {
    const before = liveReducer(emptyLiveData(), { type: "message", message: snapshotMessage(), nowMs: NOW });
    const after = liveReducer(before, {
      type: "message",
      message: { type: "target", target: { ...(TARGETS[0] as TargetView), state: "backoff" } },
      nowMs: NOW,
    });
    expect(before.targets.get("alice")?.state).toBe("open");
    expect(after.targets.get("alice")?.state).toBe("backoff");
    expect(after.threads).toBe(before.threads);
    expect(after.threads.size).toBe(THREADS.length);
  });
});
