/**
 * When did a target go down, and why: a pure fold over its connection statuses. The connection
 * cycles backoff → connecting → backoff while it retries, and each status has its own `sinceMs`,
 * so "down for 2 minutes" has to be remembered across those cycles rather than read from one status.
 */
import type { TargetState } from "@codex-fleet/protocol/status";
import type { TargetSnapshot } from "./types.ts";

/** The parts of a connection status (fleet/connection.ts ConnectionStatus) this needs. */
export interface StatusLike {
  state: TargetState;
  reason: string | null;
  error: string | null;
  sinceMs: number;
}

export type DownState = NonNullable<TargetSnapshot["down"]>;

/** HTTP 401/403 on the upgrade: waiting will not fix it, so it is its own rule. */
const AUTH_REASONS = new Set(["unauthorized", "forbidden"]);

/**
 * Next down state after `status`. Up (`open`) or deliberately `stopped` → null. A `backoff`
 * starts (or continues) an outage; a change between unreachable and unauthorized restarts its
 * clock, since the two are separate rules. `connecting` continues an outage already seen; a first
 * attempt (no reason yet) is not an outage.
 */
export function nextDownState(prev: DownState | null, status: StatusLike): DownState | null {
  if (status.state === "open" || status.state === "stopped") return null;
  if (status.state === "connecting" && status.reason === null && prev === null) return null;
  const reason = status.reason ?? prev?.reason ?? null;
  const cls = reason !== null && AUTH_REASONS.has(reason) ? "unauthorized" : "unreachable";
  const error = status.error ?? prev?.error ?? null;
  if (prev !== null && prev.cls === cls)
    return prev.reason === reason && prev.error === error ? prev : { ...prev, reason, error };
  return { cls, sinceMs: status.sinceMs, reason, error };
}
