/** Pure reducer for the live fleet state: snapshot replaces, upserts merge, buffers stay bounded. */
import type { AlertView, TargetView, ThreadView } from "@codex-fleet/protocol/api";
import type { LimitRow, LimitsResponse } from "@codex-fleet/protocol/limits";
import type { LiveMessage } from "@codex-fleet/protocol/live";

/** A `usage` tick from the live feed (tokens were counted for a thread). */
export type UsageTick = Extract<LiveMessage, { type: "usage" }>;

/** Caps that keep a long-open tab's memory flat whatever the collector sends. */
export type LiveLimits = {
  maxThreads: number;
  maxAlerts: number;
  maxUsageTicks: number;
  /** Plan-limit rows (one per target and limit id); a new key past it is ignored. */
  maxLimitRows: number;
};

export const DEFAULT_LIVE_LIMITS: LiveLimits = {
  maxThreads: 5000,
  maxAlerts: 1000,
  maxUsageTicks: 200,
  maxLimitRows: 5000,
};

/** What the dashboard knows of plan limits (GET /api/v1/limits, then live `limits` rows). */
export type LimitsData = {
  /** `none`: not asked yet; `loaded`: answered; `absent`: this collector has no limits API (404). */
  status: "none" | "loaded" | "absent";
  /** By {@link limitKey}. */
  rows: Map<string, LimitRow>;
  unavailable: LimitsResponse["unavailable"];
};

/** Everything the live pages render. Maps are replaced (never mutated) on change. */
export type LiveData = {
  /** Where the current data came from: nothing yet, the live snapshot, or the REST fallback. */
  source: "none" | "snapshot" | "rest";
  /** Client time when the snapshot or fallback arrived. */
  loadedAtMs: number | null;
  /** Server clock − client clock, from the snapshot/pings (corrects "time in status"). */
  serverOffsetMs: number;
  targets: Map<string, TargetView>;
  threads: Map<string, ThreadView>;
  /**
   * How many threads the collector holds, when the live snapshot said so: more than `threads`
   * holds when the snapshot was capped (the fleet page says "showing N of M threads").
   */
  threadsTotal: number | null;
  alerts: Map<string, AlertView>;
  /** Most recent usage ticks, newest last, at most `maxUsageTicks`. */
  usageTicks: UsageTick[];
  /** Increments on every usage tick: usage views refetch when it moves. */
  usageVersion: number;
  limits: LimitsData;
};

export type LiveAction =
  | { type: "message"; message: LiveMessage; nowMs: number }
  | { type: "rest"; targets: TargetView[]; threads: ThreadView[]; alerts: AlertView[]; nowMs: number }
  /** GET /api/v1/limits answered (null: the collector has no such endpoint). */
  | { type: "limits"; response: LimitsResponse | null };

/** State before anything arrived. */
export function emptyLiveData(): LiveData {
  return {
    source: "none",
    loadedAtMs: null,
    serverOffsetMs: 0,
    targets: new Map(),
    threads: new Map(),
    threadsTotal: null,
    alerts: new Map(),
    usageTicks: [],
    usageVersion: 0,
    limits: { status: "none", rows: new Map(), unavailable: [] },
  };
}

/** The key of a plan-limit row: one per target and limit id. */
export function limitKey(row: Pick<LimitRow, "target" | "limitId">): string {
  return JSON.stringify([row.target, row.limitId]);
}

/** Applies one action; returns the same object when nothing changed. */
export function liveReducer(
  state: LiveData,
  action: LiveAction,
  limits: LiveLimits = DEFAULT_LIVE_LIMITS,
): LiveData {
  if (action.type === "limits")
    return { ...state, limits: limitsLoaded(state.limits, action.response, limits.maxLimitRows) };
  if (action.type === "rest") {
    // The REST fallback only fills in while the live feed has never delivered a snapshot.
    if (state.source === "snapshot") return state;
    return {
      ...state,
      source: "rest",
      loadedAtMs: action.nowMs,
      threadsTotal: null,
      targets: byKey(action.targets, (target) => target.name),
      threads: capThreads(
        byKey(action.threads, (thread) => thread.id),
        limits.maxThreads,
      ),
      alerts: capAlerts(
        byKey(action.alerts, (alert) => alert.id),
        limits.maxAlerts,
      ),
    };
  }
  const { message, nowMs } = action;
  switch (message.type) {
    case "snapshot":
      return {
        ...state,
        source: "snapshot",
        loadedAtMs: nowMs,
        serverOffsetMs: message.serverTimeMs - nowMs,
        threadsTotal: message.threadsTotal ?? null,
        targets: byKey(message.targets, (target) => target.name),
        threads: capThreads(
          byKey(message.threads, (thread) => thread.id),
          limits.maxThreads,
        ),
        alerts: capAlerts(
          byKey(message.alerts, (alert) => alert.id),
          limits.maxAlerts,
        ),
      };
    case "target":
      return { ...state, targets: upsert(state.targets, message.target.name, message.target) };
    case "thread":
      return {
        ...state,
        threads: capThreads(upsert(state.threads, message.thread.id, message.thread), limits.maxThreads),
      };
    case "threadRemoved": {
      if (!state.threads.has(message.threadId)) return state;
      const threads = new Map(state.threads);
      threads.delete(message.threadId);
      return { ...state, threads };
    }
    case "alert":
      return {
        ...state,
        alerts: capAlerts(upsert(state.alerts, message.alert.id, message.alert), limits.maxAlerts),
      };
    case "usage": {
      const ticks = [...state.usageTicks, message];
      if (ticks.length > limits.maxUsageTicks) ticks.splice(0, ticks.length - limits.maxUsageTicks);
      return { ...state, usageTicks: ticks, usageVersion: state.usageVersion + 1 };
    }
    case "limits": {
      const rows = upsertLimit(state.limits.rows, message.row, limits.maxLimitRows);
      return rows === state.limits.rows ? state : { ...state, limits: { ...state.limits, rows } };
    }
    case "ping":
      return { ...state, serverOffsetMs: message.serverTimeMs - nowMs };
  }
}

const observedMs = (row: LimitRow) => Date.parse(row.observedAt);

/** A live row replaces the stored one unless that one was observed later (messages may cross a fetch). */
function upsertLimit(rows: Map<string, LimitRow>, row: LimitRow, max: number): Map<string, LimitRow> {
  const key = limitKey(row);
  const known = rows.get(key);
  if (known ? observedMs(known) > observedMs(row) : rows.size >= max) return rows;
  return upsert(rows, key, row);
}

/**
 * The REST answer replaces the rows (it is fetched after every snapshot, so a reconnect drops
 * rows of targets that are gone), except a row a live message brought that is newer than the
 * answer's: the answer may have been read before that change.
 */
function limitsLoaded(previous: LimitsData, response: LimitsResponse | null, max: number): LimitsData {
  if (response === null) return { status: "absent", rows: new Map(), unavailable: [] };
  // The answer is most urgent first: over the cap, the least urgent rows are the ones left out.
  const rows = new Map(response.rows.slice(0, max).map((row) => [limitKey(row), row]));
  for (const [key, row] of previous.rows) {
    const answered = rows.get(key);
    if (answered && observedMs(answered) < observedMs(row)) rows.set(key, row);
  }
  return { status: "loaded", rows, unavailable: response.unavailable.slice(0, max) };
}

function byKey<T>(items: T[], key: (item: T) => string): Map<string, T> {
  return new Map(items.map((item) => [key(item), item]));
}

function upsert<T>(map: Map<string, T>, key: string, value: T): Map<string, T> {
  const next = new Map(map);
  next.set(key, value);
  return next;
}

/** An unknown status (`unknown:<name>`) ranks like idle. */
const evictionRank: Record<string, number> = {
  notLoaded: 0,
  idle: 1,
  systemError: 2,
  active: 3,
};

/** Over the cap, drop the least interesting threads: unloaded, then idle, oldest event first. */
function capThreads(threads: Map<string, ThreadView>, max: number): Map<string, ThreadView> {
  if (threads.size <= max) return threads;
  const victims = [...threads.values()]
    .sort(
      (a, b) =>
        (evictionRank[a.status] ?? 1) - (evictionRank[b.status] ?? 1) ||
        (a.lastEventAt ?? "").localeCompare(b.lastEventAt ?? ""),
    )
    .slice(0, threads.size - max);
  const next = new Map(threads);
  for (const victim of victims) next.delete(victim.id);
  return next;
}

/** Over the cap, drop resolved alerts first, oldest first. */
function capAlerts(alerts: Map<string, AlertView>, max: number): Map<string, AlertView> {
  if (alerts.size <= max) return alerts;
  const victims = [...alerts.values()]
    .sort(
      (a, b) =>
        Number(b.state === "resolved") - Number(a.state === "resolved") ||
        a.pendingSince.localeCompare(b.pendingSince),
    )
    .slice(0, alerts.size - max);
  const next = new Map(alerts);
  for (const victim of victims) next.delete(victim.id);
  return next;
}
