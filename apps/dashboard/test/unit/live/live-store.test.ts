import type { TargetView } from "@codex-fleet/protocol/api";
import { describe, expect, it } from "vitest";
import { emptyLiveData, limitKey, liveReducer } from "../../../src/live/live-store.ts";
import {
  ALERTS,
  LIMIT_ROWS,
  LIMITS_RESPONSE,
  limitRow,
  NOW,
  snapshotMessage,
  TARGETS,
  THREADS,
  thread,
} from "../../fixtures.ts";

const limits = { maxThreads: 3, maxAlerts: 2, maxUsageTicks: 2, maxLimitRows: 3 };

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

  it("does drop a thread the collector no longer holds (threadRemoved), and ignores an unknown id", () => {
    const threads = [thread({ id: "kept" }), thread({ id: "history" })];
    const state = liveReducer(emptyLiveData(), {
      type: "message",
      message: snapshotMessage({ threads }),
      nowMs: NOW,
    });
    const after = liveReducer(state, {
      type: "message",
      message: { type: "threadRemoved", threadId: "history" },
      nowMs: NOW,
    });
    expect([...after.threads.keys()]).toEqual(["kept"]);
    const again = liveReducer(after, {
      type: "message",
      message: { type: "threadRemoved", threadId: "history" },
      nowMs: NOW,
    });
    expect(again).toBe(after);
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

  describe("plan limits", () => {
    const loaded = () => liveReducer(emptyLiveData(), { type: "limits", response: LIMITS_RESPONSE });
    const keys = (state: ReturnType<typeof loaded>) => [...state.limits.rows.keys()];

    it("does hold the REST answer's rows and unavailable targets, and remember a collector without them", () => {
      const state = loaded();
      expect(state.limits.status).toBe("loaded");
      expect(keys(state)).toEqual(LIMIT_ROWS.map(limitKey));
      expect(state.limits.unavailable.map((u) => u.target)).toEqual(["dave"]);
      const absent = liveReducer(state, { type: "limits", response: null });
      expect(absent.limits).toEqual({ status: "absent", rows: new Map(), unavailable: [] });
    });

    it("does update a row by target and limit id, and insert a new one, from a live message", () => {
      const state = loaded();
      const newer = limitRow({ target: "alice", team: "payments", observedAt: new Date(NOW).toISOString() });
      const other = limitRow({
        target: "alice",
        team: "payments",
        limitId: "codex_other",
        observedAt: newer.observedAt,
      });
      const after = [newer, other].reduce(
        (s, row) => liveReducer(s, { type: "message", message: { type: "limits", row }, nowMs: NOW }),
        state,
      );
      expect(after.limits.rows.get(limitKey(newer))).toBe(newer);
      expect(after.limits.rows.get(limitKey(other))).toBe(other);
      expect(after.limits.rows.size).toBe(LIMIT_ROWS.length + 1);
      expect(state.limits.rows.get(limitKey(newer))).not.toBe(newer);
    });

    it("does ignore a live row older than the one it holds", () => {
      const state = loaded();
      const older = limitRow({
        target: "alice",
        team: "payments",
        observedAt: new Date(NOW - 3_600_000).toISOString(),
      });
      const after = liveReducer(state, {
        type: "message",
        message: { type: "limits", row: older },
        nowMs: NOW,
      });
      expect(after).toBe(state);
    });

    it("does keep a live row newer than a REST answer that crossed it", () => {
      const live = limitRow({ target: "bob", team: "payments", observedAt: new Date(NOW).toISOString() });
      const before = liveReducer(emptyLiveData(), {
        type: "message",
        message: { type: "limits", row: live },
        nowMs: NOW,
      });
      const after = liveReducer(before, { type: "limits", response: LIMITS_RESPONSE });
      expect(after.limits.rows.get(limitKey(live))).toBe(live);
      expect(after.limits.rows.get(limitKey(LIMIT_ROWS[1] as (typeof LIMIT_ROWS)[number]))).toBe(
        LIMIT_ROWS[1],
      );
    });

    it("does keep at most maxLimitRows rows, the most urgent of an answer, and no new key past it", () => {
      const state = liveReducer(emptyLiveData(), { type: "limits", response: LIMITS_RESPONSE }, limits);
      expect(keys(state)).toEqual(LIMIT_ROWS.slice(0, 3).map(limitKey));
      const extra = limitRow({ target: "zed", team: "x", observedAt: new Date(NOW).toISOString() });
      const after = liveReducer(
        state,
        { type: "message", message: { type: "limits", row: extra }, nowMs: NOW },
        limits,
      );
      expect(after).toBe(state);
    });
  });
});
