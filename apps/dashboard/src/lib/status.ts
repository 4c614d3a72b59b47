/** Pure mappings from API state to what the dashboard shows: display status, labels, hints. */
import {
  type AlertView,
  SEVERITY_ORDER,
  type TargetView,
  type ThreadView,
  type TurnView,
} from "@codex-fleet/protocol/api";
import { isWaitingOn } from "@codex-fleet/protocol/events";
import {
  type KnownThreadStatusType,
  type KnownTurnStatus,
  type ThreadStatusType,
  unknownVariantName,
} from "@codex-fleet/protocol/status";

/**
 * A thread's status as a person reads it: active threads split by what they wait for. A status
 * a newer app-server sent that this version does not know stays `unknown:<name>`.
 */
export type ThreadDisplayStatus = ThreadStatusType | "waitingOnApproval" | "waitingOnUserInput";
export type KnownThreadDisplayStatus = KnownThreadStatusType | "waitingOnApproval" | "waitingOnUserInput";

/** Display order: what needs a human first (unknown statuses rank after these). */
export const THREAD_STATUS_ORDER: KnownThreadDisplayStatus[] = [
  "waitingOnApproval",
  "waitingOnUserInput",
  "systemError",
  "active",
  "idle",
  "notLoaded",
];

export const THREAD_STATUS_LABEL: Record<KnownThreadDisplayStatus, string> = {
  waitingOnApproval: "Waiting on approval",
  waitingOnUserInput: "Waiting on input",
  active: "Active",
  systemError: "System error",
  idle: "Idle",
  notLoaded: "Not loaded",
};

/** `unknown:paused` → "unknown: paused"; null for a known value. */
function unknownLabel(value: string): string | null {
  const name = unknownVariantName(value);
  return name === null ? null : `unknown: ${name}`;
}

/** The label of any thread display status, an unknown one included ("unknown: paused"). */
export function threadStatusLabel(status: ThreadDisplayStatus): string {
  return unknownLabel(status) ?? THREAD_STATUS_LABEL[status as KnownThreadDisplayStatus] ?? status;
}

/**
 * Active threads carry `activeFlags` (app-server 0.169.0 sends `["waitingOnApproval"]`; the
 * input flag is `waitingOnUserInput`), or a pending server request of an approval or
 * requestUserInput kind: an approval wait outranks an input wait.
 */
export function threadDisplayStatus(
  thread: Pick<ThreadView, "status" | "activeFlags"> & Partial<Pick<ThreadView, "pendingRequests">>,
): ThreadDisplayStatus {
  if (thread.status !== "active") return thread.status;
  const t = { ...thread, pendingRequests: thread.pendingRequests ?? [] };
  if (isWaitingOn(t, "waitingOnApproval")) return "waitingOnApproval";
  if (isWaitingOn(t, "waitingOnUserInput")) return "waitingOnUserInput";
  return "active";
}

/** True when a person has to act: approval/input waits and system errors. */
export function needsAttention(status: ThreadDisplayStatus): boolean {
  return status === "waitingOnApproval" || status === "waitingOnUserInput" || status === "systemError";
}

/** What each server request kind asks for; an unknown kind reads "unknown: <method>". */
export const REQUEST_KIND_LABEL: Record<string, string> = {
  commandApproval: "Command approval",
  fileChangeApproval: "File change approval",
  permissionsApproval: "Permissions approval",
  userInput: "User input",
  elicitation: "MCP elicitation",
  toolCall: "Tool call",
};

export function requestKindLabel(kind: string): string {
  return (
    unknownLabel(kind) ?? (Object.hasOwn(REQUEST_KIND_LABEL, kind) ? REQUEST_KIND_LABEL[kind] : kind) ?? kind
  );
}

/** A target is down whenever the collector has no open session with it. */
export function isTargetDown(target: Pick<TargetView, "state">): boolean {
  return target.state !== "open";
}

export const TARGET_STATE_LABEL: Record<TargetView["state"], string> = {
  connecting: "Connecting",
  open: "Connected",
  backoff: "Retrying",
  stopped: "Stopped",
};

/** What a connection failure reason means and what to check; unknown reasons pass through. */
export function targetReasonHint(reason: string | null): { label: string; hint: string } | null {
  if (!reason) return null;
  const known: Record<string, { label: string; hint: string }> = {
    refused: {
      label: "Refused",
      hint: "Nothing listens at the URL: is `codex app-server --listen` running?",
    },
    unreachable: { label: "Unreachable", hint: "Host or network unreachable from the collector." },
    unauthorized: {
      label: "Unauthorized (401)",
      hint: "Bearer token missing or wrong: check tokenFile/tokenEnv.",
    },
    forbidden: {
      label: "Forbidden (403)",
      hint: "The app-server rejected the upgrade (e.g. an Origin header).",
    },
    timeout: { label: "Timeout", hint: "No answer in time: firewall, tunnel or an overloaded server." },
    dropped: { label: "Dropped", hint: "The socket closed unexpectedly (server restart, code 1006)." },
    protocol: { label: "Protocol error", hint: "The server answered something the collector cannot parse." },
    insecure: {
      label: "Insecure",
      hint: "Token over plain ws:// to a non-loopback host: use wss:// or allowInsecure.",
    },
    config: {
      label: "Config error",
      hint: "The target's configuration is invalid (token file unreadable?).",
    },
  };
  return known[reason] ?? { label: reason, hint: "" };
}

/** `codexErrorInfo` as sent (a string, or JSON of `{variant:{httpStatusCode}}`) → short label. */
export function codexErrorLabel(info: string | null): string | null {
  if (!info) return null;
  const trimmed = info.trim();
  if (trimmed.startsWith("{")) {
    try {
      const parsed = JSON.parse(trimmed) as Record<string, unknown>;
      const [variant, detail] = Object.entries(parsed)[0] ?? [];
      if (variant) {
        const status = (detail as { httpStatusCode?: unknown } | null)?.httpStatusCode;
        return typeof status === "number" ? `${variant} (HTTP ${status})` : variant;
      }
    } catch {
      // not JSON after all: show it verbatim
    }
  }
  return trimmed;
}

export const TURN_STATUS_LABEL: Record<KnownTurnStatus, string> = {
  completed: "Completed",
  failed: "Failed",
  interrupted: "Interrupted",
  inProgress: "In progress",
};

/** The label of any turn status, an unknown one included ("unknown: cancelled"). */
export function turnStatusLabel(status: TurnView["status"] | string): string {
  return unknownLabel(status) ?? TURN_STATUS_LABEL[status as KnownTurnStatus] ?? status;
}

/** Firing alerts that concern `threadId`, most severe first. */
export function firingAlertsFor(alerts: AlertView[], threadId: string): AlertView[] {
  return alerts
    .filter((alert) => alert.threadId === threadId && alert.state === "firing")
    .sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
}

/** Context used / model context window, or null when either is unknown. */
export function contextShare(contextTokens: number | null, window: number | null): number | null {
  if (contextTokens == null || window == null || window <= 0) return null;
  return contextTokens / window;
}
