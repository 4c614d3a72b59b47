/** Coloured status pills for threads, targets, turns and alerts. */
import type { AlertView, TargetView, TurnView } from "@codex-fleet/protocol/api";
import { isUnknownVariant } from "@codex-fleet/protocol/status";
import {
  TARGET_STATE_LABEL,
  type ThreadDisplayStatus,
  threadStatusLabel,
  turnStatusLabel,
} from "../lib/status.ts";

/** Tone of a status this version does not know (`unknown:<name>`): plain, never "ok". */
const UNKNOWN_TONE = "plain unknown";

const threadTone: Record<string, string> = {
  waitingOnApproval: "warn pulse",
  waitingOnUserInput: "asking pulse",
  active: "ok pulse",
  systemError: "err",
  idle: "",
  notLoaded: "plain",
};

/** A thread's display status; an unknown one reads "unknown: <name>". */
export function ThreadStatusPill({ status, testId }: { status: ThreadDisplayStatus; testId?: string }) {
  const tone = isUnknownVariant(status) ? UNKNOWN_TONE : (threadTone[status] ?? UNKNOWN_TONE);
  return (
    <span className={`pill ${tone}`} data-testid={testId} data-status={status} title={status}>
      {threadStatusLabel(status)}
    </span>
  );
}

const targetTone: Record<TargetView["state"], string> = {
  open: "ok",
  connecting: "info pulse",
  backoff: "err",
  stopped: "",
};

/** A target's connection state. */
export function TargetStatePill({ state, testId }: { state: TargetView["state"]; testId?: string }) {
  return (
    <span className={`pill ${targetTone[state]}`} data-testid={testId} data-state={state}>
      {TARGET_STATE_LABEL[state]}
    </span>
  );
}

const turnTone: Record<string, string> = {
  completed: "ok",
  failed: "err",
  interrupted: "warn",
  inProgress: "info pulse",
};

/** A turn's outcome; an unknown one reads "unknown: <name>". */
export function TurnStatusPill({ status }: { status: TurnView["status"] }) {
  const tone = isUnknownVariant(status) ? UNKNOWN_TONE : (turnTone[status] ?? UNKNOWN_TONE);
  return (
    <span className={`pill ${tone}`} data-status={status}>
      {turnStatusLabel(status)}
    </span>
  );
}

const severityTone: Record<AlertView["severity"], string> = {
  critical: "err",
  warning: "warn",
  info: "info",
};

/** An alert's severity. */
export function SeverityPill({ severity }: { severity: AlertView["severity"] }) {
  return <span className={`pill ${severityTone[severity]}`}>{severity}</span>;
}
