/** Coloured status pills for threads, targets, turns and alerts. */
import type { AlertView, TargetView, TurnView } from "@codex-fleet/protocol/api";
import {
  TARGET_STATE_LABEL,
  THREAD_STATUS_LABEL,
  type ThreadDisplayStatus,
  TURN_STATUS_LABEL,
} from "../lib/status.ts";

const threadTone: Record<ThreadDisplayStatus, string> = {
  waitingOnApproval: "warn pulse",
  waitingOnUserInput: "asking pulse",
  active: "ok pulse",
  systemError: "err",
  idle: "",
  notLoaded: "plain",
};

/** A thread's display status. */
export function ThreadStatusPill({ status, testId }: { status: ThreadDisplayStatus; testId?: string }) {
  return (
    <span className={`pill ${threadTone[status]}`} data-testid={testId} data-status={status}>
      {THREAD_STATUS_LABEL[status]}
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

const turnTone: Record<TurnView["status"], string> = {
  completed: "ok",
  failed: "err",
  interrupted: "warn",
  inProgress: "info pulse",
};

/** A turn's outcome. */
export function TurnStatusPill({ status }: { status: TurnView["status"] }) {
  return <span className={`pill ${turnTone[status]}`}>{TURN_STATUS_LABEL[status]}</span>;
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
