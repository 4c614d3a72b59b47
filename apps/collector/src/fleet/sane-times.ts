/**
 * Bounds the times and sizes one target reports before they reach the fleet's state, the writer and
 * the API. The wire schema accepts any finite number (the server's clock is its own business), but
 * `emittedAtMs: 1e300` makes `new Date(…).toISOString()` throw in every view of that thread, and
 * `durationMs: 1e300` or a year-300000 timestamp is refused by Postgres (int4 / timestamp range):
 * one broken or hostile app-server must not be able to break the API or the write path for all.
 */
import type { FleetEvent, ThreadInfo, TurnInfo } from "@codex-fleet/protocol/events";

/** A server clock this far ahead of ours is wrong, not skewed. */
const MAX_FUTURE_MS = 86_400_000;
/** Postgres `int` columns (duration_ms, model_context_window). */
const MAX_INT4 = 2_147_483_647;

/** A plausible time (ms since 1970, at most a day ahead of `nowMs`), else null. */
function time(ms: number | null, nowMs: number): number | null {
  return ms !== null && Number.isFinite(ms) && ms >= 0 && ms <= nowMs + MAX_FUTURE_MS ? ms : null;
}

function int4(n: number | null): number | null {
  return n !== null && Number.isFinite(n) && n >= 0 && n <= MAX_INT4 ? Math.round(n) : null;
}

function thread(t: ThreadInfo, nowMs: number): ThreadInfo {
  const createdAtMs = time(t.createdAtMs, nowMs);
  const updatedAtMs = time(t.updatedAtMs, nowMs);
  return createdAtMs === t.createdAtMs && updatedAtMs === t.updatedAtMs
    ? t
    : { ...t, createdAtMs, updatedAtMs };
}

function turn(t: TurnInfo, nowMs: number): TurnInfo {
  const startedAtMs = time(t.startedAtMs, nowMs);
  const completedAtMs = time(t.completedAtMs, nowMs);
  const durationMs = int4(t.durationMs);
  return startedAtMs === t.startedAtMs && completedAtMs === t.completedAtMs && durationMs === t.durationMs
    ? t
    : { ...t, startedAtMs, completedAtMs, durationMs };
}

/** The event with implausible times replaced (`atMs` by `nowMs`, others by null). Returns `e` itself when all is well. */
export function saneTimes(e: FleetEvent, nowMs: number): FleetEvent {
  const atMs = time(e.atMs, nowMs) ?? nowMs;
  switch (e.kind) {
    case "threadStarted":
    case "threadMetadata": {
      const t = thread(e.thread, nowMs);
      return atMs === e.atMs && t === e.thread ? e : { ...e, atMs, thread: t };
    }
    case "turnStarted":
    case "turnCompleted": {
      const t = turn(e.turn, nowMs);
      return atMs === e.atMs && t === e.turn ? e : { ...e, atMs, turn: t };
    }
    case "tokenUsage": {
      const modelContextWindow = int4(e.modelContextWindow);
      return atMs === e.atMs && modelContextWindow === e.modelContextWindow
        ? e
        : { ...e, atMs, modelContextWindow };
    }
    default:
      return atMs === e.atMs ? e : { ...e, atMs };
  }
}
