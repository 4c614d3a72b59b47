/** Builders for alert unit tests: snapshots, rules and conditions with sensible defaults. */
import type { FleetEvent } from "@codex-fleet/protocol/events";
import type { GroupNotification } from "../../src/alerts/notifiers/group-payload.ts";
import type {
  AlertRecord,
  Condition,
  EffectiveRule,
  FleetSnapshot,
  TargetSnapshot,
  ThreadSnapshot,
} from "../../src/alerts/types.ts";
import { type NotificationPayload, notificationPayload } from "../../src/alerts/views.ts";
import { AlertRuleSchema } from "../../src/config/alerts-schema.ts";
import type { ConnectionStatus } from "../../src/fleet/connection.ts";
import type { Fleet, FleetListener, TargetRuntime } from "../../src/fleet/fleet.ts";
import { emptyThread, type ThreadState } from "../../src/ingest/thread-state.ts";

export const MIN = 60_000;
export const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

/** A rule parsed like the config parses it (defaults applied). */
export function rule(input: Record<string, unknown>, repeatIntervalMs = 3_600_000): EffectiveRule {
  const parsed = AlertRuleSchema.parse({ id: `r-${String(input.kind)}`, ...input });
  return { ...parsed, repeatIntervalMs: parsed.repeatIntervalMs ?? repeatIntervalMs, source: "config" };
}

/** An open, settled target. */
export function target(patch: Partial<TargetSnapshot> = {}): TargetSnapshot {
  return {
    id: "alice",
    team: "payments",
    state: "open",
    connectedSinceMs: T0 - 60 * MIN,
    down: null,
    ...patch,
  };
}

/** An idle thread on alice. */
export function thread(patch: Partial<ThreadSnapshot> = {}): ThreadSnapshot {
  return {
    id: "01a1fcf8-d0ac-7651-84b2-b24f772ded0b",
    targetId: "alice",
    name: null,
    repo: "acme/pay",
    status: "idle",
    activeFlags: [],
    statusSinceMs: T0 - 30 * MIN,
    lastEventAtMs: T0 - 30 * MIN,
    lastCodexErrorInfo: null,
    lastErrorMessage: null,
    contextTokens: null,
    modelContextWindow: null,
    pendingRequests: [],
    currentTurnId: null,
    lastTurnId: null,
    ...patch,
  };
}

/** A snapshot with one open target and no threads. */
export function snapshot(patch: Partial<FleetSnapshot> = {}): FleetSnapshot {
  return {
    targets: [target()],
    threads: [],
    failures: [],
    spend: { dayStartMs: T0 - 12 * 60 * MIN, byTarget: [] },
    settleMs: 15_000,
    ...patch,
  };
}

/** A condition of `ruleId` on a thread subject. */
export function cond(ruleId: string, sinceMs: number, patch: Partial<Condition> = {}): Condition {
  return {
    ruleId,
    subject: { type: "thread", id: "th-1", group: "", targetId: "alice", threadId: "th-1", team: "payments" },
    sinceMs,
    summary: "thread th-1 on alice is waiting on an approval",
    value: null,
    details: {},
    ...patch,
  };
}

/** A firing alert record on thread th-1 of alice. */
export function firingAlert(patch: Partial<AlertRecord> = {}): AlertRecord {
  return {
    id: "al-1",
    ruleId: "approval-wait",
    kind: "waitingOnApproval",
    severity: "warning",
    subject: { type: "thread", id: "th-1", group: "", targetId: "alice", threadId: "th-1", team: "payments" },
    state: "firing",
    summary: "thread th-1 (acme/pay) on alice is waiting on an approval",
    value: null,
    details: {},
    pendingSinceMs: T0 - 300_000,
    firingSinceMs: T0,
    resolvedAtMs: null,
    lastNotifiedAtMs: T0,
    ackBy: null,
    ackRole: null,
    ackAtMs: null,
    silenced: false,
    updatedAtMs: T0,
    ...patch,
  };
}

/** The firing notification of `firingAlert()`. */
export function firingNotification(patch: Partial<AlertRecord> = {}): NotificationPayload {
  return notificationPayload(firingAlert(patch), "firing", T0, "https://fleet.example.com/");
}

/**
 * The parts of `Fleet` the alert engine reads (threads, targets, subscribe), driven by hand:
 * engine tests set states and emit the listener calls the real fleet would.
 */
export class FakeFleet {
  readonly threads = new Map<string, ThreadState>();
  readonly targets = new Map<string, TargetRuntime>();
  private readonly listeners = new Set<FleetListener>();

  subscribe(listener: FleetListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** As the engine sees it. */
  get fleet(): Fleet {
    return this as unknown as Fleet;
  }

  /** Set a target's connection status (and connectedSince while open). */
  target(
    name: string,
    team: string,
    status: Partial<ConnectionStatus> & { sinceMs: number },
    connectedSinceMs: number | null = null,
  ): void {
    const prev = this.targets.get(name);
    const rt = {
      config: { name, team },
      status: {
        state: "open",
        reason: null,
        error: null,
        attempt: 0,
        nextAttemptAtMs: null,
        userAgent: null,
        ...prev?.status,
        ...status,
      },
      connectedSinceMs,
    } as unknown as TargetRuntime;
    this.targets.set(name, rt);
    for (const l of this.listeners) l.targetChanged?.(rt);
  }

  /** Upsert a thread's state. */
  thread(id: string, patch: Partial<ThreadState>): void {
    const next = { ...(this.threads.get(id) ?? emptyThread(id, "alice", T0)), ...patch };
    this.threads.set(id, next);
    for (const l of this.listeners) l.threadChanged?.(next);
  }

  /** Deliver a domain event to listeners. */
  event(targetId: string, event: FleetEvent): void {
    for (const l of this.listeners) l.event?.(targetId, event);
  }

  usageCounted(): void {
    for (const l of this.listeners)
      l.usageCounted?.({ threadId: "x", targetId: "alice", atMs: T0, totalTokens: 1 });
  }
}

/** One alert's event in a group message: `firing` for a new member, `repeat` for one still firing. */
export interface GroupEvent {
  /** The message's notification id. */
  id: string;
  alertId: string;
  ruleId: string;
  subjectId: string;
  event: "firing" | "repeat" | "resolved";
}

/**
 * The alert events of a group message (issue 16): a webhook body or an outbox payload, i.e. a
 * GroupNotification (the webhook adds `sentAt`).
 */
export function groupEvents(message: string | GroupNotification): GroupEvent[] {
  const n = typeof message === "string" ? (JSON.parse(message) as GroupNotification) : message;
  return n.members.map((m) => ({
    id: n.id,
    alertId: m.alert.id,
    ruleId: m.alert.ruleId,
    subjectId: m.alert.subjectId,
    event: m.change === "new" ? "firing" : m.change === "firing" ? "repeat" : "resolved",
  }));
}
