/**
 * Replication between collectors on one database (issue 12). The instance that follows a target
 * publishes that target's changes — thread states, target state, counted usage — over Postgres
 * NOTIFY, coalesced per tick like the live hub (one message per thing per tick, newest state
 * wins, packed into few payloads, one statement per tick). Every instance LISTENs on a dedicated
 * connection and applies what others publish to its Fleet (`applyRemote*`: only for targets it
 * does not follow; never written to the database), so the API, the live feed and the alert
 * engine see the whole fleet everywhere.
 *
 * NOTIFY is not durable: a listener that loses its connection misses what was sent meanwhile.
 * So after every (re)connect the replica re-reads the state from the database (target rows,
 * thread rows, managed targets, alerts) instead of trusting that nothing was missed.
 *
 * Not used on embedded PGlite (a single session, a single instance: nothing to replicate).
 */
import { randomUUID } from "node:crypto";
import type { DbPool } from "@codex-fleet/db/client";
import { type Listener, listen, NOTIFY_MAX_BYTES, notifyAll } from "@codex-fleet/db/notify";
import { listTargetRows, type TargetRow } from "@codex-fleet/db/repositories/targets-repository";
import { readThread } from "@codex-fleet/db/repositories/threads-repository";
import type { Fleet, RemoteTargetState, TargetRuntime } from "../fleet/fleet.ts";
import type { LimitChange } from "../fleet/plan-limits.ts";
import { type ThreadState, threadFromStored } from "../ingest/thread-state.ts";
import { backoffDelayMs } from "../lib/backoff.ts";
import { errText } from "../lib/err-text.ts";
import type { Logger } from "../logger.ts";
import {
  failedTurnMessage,
  oversized,
  packMessages,
  type ReplicaMessage,
  readPayload,
  rereadForm,
} from "./replica-messages.ts";

/** The one channel every collector of a database publishes and listens on. */
export const REPLICA_CHANNEL = "codex_fleet_replica";

export interface ReplicaOptions {
  fleet: Fleet;
  pool: DbPool;
  /** The database URL, for the dedicated LISTEN connection. */
  url: string;
  log: Logger;
  /** Tells this instance's own payloads apart (default: a random id per process). */
  instanceId?: string;
  /** Coalescing interval of published changes (default 20 ms, like the live hub). */
  tickMs?: number;
  /** Reconnect delays of the LISTEN connection (default 100 ms … 5 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Another instance changed API-managed targets (and after every reconnect): reload them. */
  onManaged?: () => Promise<void>;
  /** Another instance changed alert state in the database (and after every reconnect). */
  onAlerts?: () => Promise<void>;
  /** Another instance changed the price overrides stored in the database (and after every reconnect). */
  onPrices?: () => Promise<void>;
  channel?: string;
}

/** What another instance is told to reload. */
type ControlKind = "managed" | "alerts" | "prices";

/** Publishes this instance's changes and applies everyone else's. */
export class Replica {
  readonly instanceId: string;
  private readonly channel: string;
  private readonly log: Logger;
  private readonly tickMs: number;
  /** Changes since the last tick, newest per key. */
  private threads = new Map<string, ThreadState>();
  private targets = new Map<string, TargetRuntime>();
  /** Counted usage and failed turns: events, not states (bounded, in order). */
  private usage: ReplicaMessage[] = [];
  /** Plan-limit rows since the last tick, newest per target and limit. */
  private limits = new Map<string, LimitChange>();
  private control = new Set<ControlKind>();
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<void> | null = null;
  /**
   * "Re-read the row" notices (of states too large for a payload), keyed by thing, waiting for
   * the writer to have stored the rows. Sent on a chain of their own, so that waiting for the
   * writer never holds up the small messages behind them.
   */
  private rereadsPending = new Map<string, ReplicaMessage>();
  private rereadsSending: Promise<void> | null = null;
  private listener: Listener | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private stopped = false;
  private unsubscribe: (() => void) | null = null;
  /** Completed (re)connects, each followed by a re-read (tests, metrics). */
  connects = 0;
  /** Re-reads finished (tests: "B has converged"). */
  rereads = 0;
  /** Payloads received from other instances and applied. */
  received = 0;
  /** Payloads published (re-read notices included). */
  published = 0;
  /** "Re-read the row" notices published (states too large for one payload). */
  rereadNotices = 0;

  constructor(private readonly opts: ReplicaOptions) {
    this.instanceId = opts.instanceId ?? randomUUID();
    this.channel = opts.channel ?? REPLICA_CHANNEL;
    this.log = opts.log.child({ module: "replica" });
    this.tickMs = opts.tickMs ?? 20;
  }

  /** Publish this instance's changes and listen for the others'; resolves after the first re-read. */
  async start(): Promise<void> {
    const { fleet } = this.opts;
    const followed = (targetId: string) => fleet.targets.get(targetId)?.followed === true;
    this.unsubscribe = fleet.subscribe({
      threadChanged: (t) => {
        if (!followed(t.targetId)) return; // a replica of someone else's: theirs to publish
        this.threads.set(t.id, t);
        this.schedule();
      },
      targetChanged: (rt) => {
        if (!rt.followed) return;
        this.targets.set(rt.config.name, rt);
        this.schedule();
      },
      event: (targetId, event) => {
        if (!followed(targetId)) return;
        const failed = failedTurnMessage(targetId, event);
        if (failed === null || this.usage.length >= 1000) return;
        this.usage.push(failed);
        this.schedule();
      },
      limitsChanged: (change) => {
        if (!followed(change.target)) return;
        this.limits.set(change.key, change);
        this.schedule();
      },
      usageCounted: (u) => {
        if (!followed(u.targetId)) return;
        // Bounded like the hub's: past it, counted usage still reaches others through the rows.
        if (this.usage.length < 1000) this.usage.push({ k: "usage", ...u });
        this.schedule();
      },
    });
    await this.connect();
  }

  /** Tell every other instance to reload managed targets, alert state or price overrides. */
  publish(kind: ControlKind): void {
    this.control.add(kind);
    this.schedule();
  }

  /** Send what is pending, stop listening. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.timer = null;
    // Best effort, bounded: a database that does not answer must not hold up shutdown.
    await withinMs(
      STOP_WAIT_MS,
      (async () => {
        await this.sending;
        await this.flush().catch(() => {});
        await this.rereadsSending;
      })(),
    );
    const listener = this.listener;
    this.listener = null;
    if (listener) await withinMs(STOP_WAIT_MS, listener.close());
  }

  // ── publishing ────────────────────────────────────────────────────────────────────────────

  private schedule(delayMs = this.tickMs): void {
    if (this.timer || this.sending || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.sending = this.flush()
        .catch((err) => {
          this.log.warn({ err: errText(err) }, "could not publish changes to the other collectors; retrying");
          return "retry" as const;
        })
        .then((outcome) => {
          this.sending = null;
          if (this.hasPending()) this.schedule(outcome === "retry" ? 1000 : this.tickMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  private hasPending(): boolean {
    return (
      this.threads.size + this.targets.size + this.usage.length + this.limits.size + this.control.size > 0
    );
  }

  /** One NOTIFY statement with everything pending; on failure it stays pending (newest wins). */
  private async flush(): Promise<void> {
    if (!this.hasPending()) return;
    const threads = this.threads;
    const targets = this.targets;
    const usage = this.usage;
    const control = this.control;
    const limits = this.limits;
    this.limits = new Map();
    this.threads = new Map();
    this.targets = new Map();
    this.usage = [];
    this.control = new Set();
    const messages: ReplicaMessage[] = [
      ...[...targets.values()].map(
        (rt): ReplicaMessage => ({ k: "target", name: rt.config.name, state: remoteStateOf(rt) }),
      ),
      ...[...threads.values()].map((state): ReplicaMessage => ({ k: "thread", state })),
      ...usage,
      ...[...limits.values()].map((c): ReplicaMessage => ({ k: "limits", row: c.row() })),
      ...[...control].map((k): ReplicaMessage => ({ k })),
    ];
    // A state too large for a payload goes as "re-read the row": only once the row is written.
    const big = messages.filter((m) => oversized(this.instanceId, m, NOTIFY_MAX_BYTES));
    const whole = big.length === 0 ? messages : messages.filter((m) => !big.includes(m));
    if (big.length > 0) this.queueRereads(big.map(rereadForm));
    try {
      const payloads = packMessages(this.instanceId, whole, NOTIFY_MAX_BYTES);
      await notifyAll({ pool: this.opts.pool, channel: this.channel, payloads });
      this.published += payloads.length;
    } catch (err) {
      // Put back what newer changes have not superseded.
      for (const [k, v] of threads) if (!this.threads.has(k)) this.threads.set(k, v);
      for (const [k, v] of targets) if (!this.targets.has(k)) this.targets.set(k, v);
      for (const [k, v] of limits) if (!this.limits.has(k)) this.limits.set(k, v);
      this.usage = [...usage, ...this.usage].slice(0, 1000);
      for (const k of control) this.control.add(k);
      throw err;
    }
  }

  /**
   * Publish "re-read the row" notices once the writer has stored what was enqueued before them.
   * Measured (issue 12, bench cluster-live): awaiting the writer inside the flush held every
   * message behind it — usage frames included — for a whole write cycle. Order against the small
   * messages does not matter: a receiver never applies a row older than what it already has.
   */
  private queueRereads(messages: readonly ReplicaMessage[]): void {
    for (const m of messages) this.rereadsPending.set(rereadKey(m), m);
    this.sendRereads();
  }

  private sendRereads(): void {
    if (this.rereadsSending !== null || this.rereadsPending.size === 0 || this.stopped) return;
    this.rereadsSending = this.rereadLoop().finally(() => {
      this.rereadsSending = null;
      this.sendRereads(); // what arrived while the loop was finishing
    });
  }

  private async rereadLoop(): Promise<void> {
    while (this.rereadsPending.size > 0) {
      await this.opts.fleet.writer.settled();
      const batch = [...this.rereadsPending.values()];
      this.rereadsPending = new Map();
      try {
        const payloads = packMessages(this.instanceId, batch, NOTIFY_MAX_BYTES);
        await notifyAll({ pool: this.opts.pool, channel: this.channel, payloads });
        this.published += payloads.length;
        this.rereadNotices += batch.length;
      } catch (err) {
        this.log.warn(
          { err: errText(err) },
          "could not publish re-read notices to the other collectors; retrying",
        );
        for (const m of batch)
          if (!this.rereadsPending.has(rereadKey(m))) this.rereadsPending.set(rereadKey(m), m);
        if (this.stopped) return;
        await new Promise((resolve) => setTimeout(resolve, 1000).unref());
      }
    }
  }

  // ── listening ─────────────────────────────────────────────────────────────────────────────

  /** Connect and LISTEN, then re-read; on failure, try again with backoff. */
  private async connect(): Promise<void> {
    if (this.stopped) return;
    try {
      const listener = await listen({
        url: this.opts.url,
        channel: this.channel,
        onMessage: (payload) => this.receive(payload),
        onEnd: (err) => {
          this.listener = null;
          if (this.stopped) return;
          this.log.warn(
            { err: err ? errText(err) : null },
            "lost the LISTEN connection: reconnecting, then re-reading the state from the database",
          );
          this.reconnectLater();
        },
      });
      if (this.stopped) {
        await listener.close();
        return;
      }
      this.listener = listener;
      this.connects++;
      // Listening first, then reading: a change made meanwhile arrives as a message too.
      await this.reread();
      this.attempt = 0;
    } catch (err) {
      this.log.warn(
        { err: errText(err), attempt: this.attempt },
        "could not listen for other collectors' changes",
      );
      if (this.listener) {
        const l = this.listener;
        this.listener = null;
        await l.close();
      }
      this.reconnectLater();
    }
  }

  private reconnectLater(): void {
    if (this.stopped || this.reconnectTimer) return;
    const delay = backoffDelayMs(this.attempt++, {
      minBackoffMs: this.opts.minBackoffMs ?? 100,
      maxBackoffMs: this.opts.maxBackoffMs ?? 5000,
    });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, delay);
    this.reconnectTimer.unref();
  }

  private receive(payload: string): void {
    const read = readPayload(payload);
    if (read === null) {
      this.log.warn({ bytes: payload.length }, "ignored a malformed replication payload");
      return;
    }
    if (read.from === this.instanceId) return;
    this.received++;
    const { fleet } = this.opts;
    for (const m of read.messages) {
      switch (m.k) {
        case "thread":
          fleet.applyRemoteThread(m.state);
          break;
        case "thread?":
          void this.rereadThread(m.id);
          break;
        case "target":
          fleet.applyRemoteTarget(m.name, m.state);
          break;
        case "target?":
          void this.rereadTargets();
          break;
        case "usage":
          fleet.applyRemoteUsage(m);
          break;
        case "limits":
          fleet.applyRemoteLimits(m.row);
          break;
        case "failed":
          fleet.applyRemoteEvent(m.targetId, m.event);
          break;
        case "managed":
          void this.run("reload managed targets", this.opts.onManaged);
          break;
        case "alerts":
          void this.run("reload alert state", this.opts.onAlerts);
          break;
        case "prices":
          void this.run("reload price overrides", this.opts.onPrices);
          break;
      }
    }
  }

  /**
   * Everything others follow, from the database: target rows, then thread rows (a row older than
   * what a message already brought is skipped), managed targets and alerts.
   */
  private async reread(): Promise<void> {
    await this.rereadTargets();
    const { fleet } = this.opts;
    // The working set as stored (applyStored refuses the threads of targets this instance follows).
    const stored = await fleet.loadHeld();
    for (const s of stored) this.applyStored(threadFromStored(s));
    await this.run("reload managed targets", this.opts.onManaged);
    await this.run("reload alert state", this.opts.onAlerts);
    await this.run("reload price overrides", this.opts.onPrices);
    this.rereads++;
    this.log.debug({ threads: stored.length, targets: fleet.targets.size }, "re-read the fleet's state");
  }

  private async rereadTargets(): Promise<void> {
    const rows = await listTargetRows({ pool: this.opts.pool });
    for (const row of rows) {
      const rt = this.opts.fleet.targets.get(row.id);
      if (rt && !rt.followed) this.opts.fleet.applyRemoteTarget(row.id, remoteStateOfRow(row, rt));
    }
  }

  private async rereadThread(id: string): Promise<void> {
    try {
      const s = await readThread({ pool: this.opts.pool, id });
      if (s) this.applyStored(threadFromStored(s));
    } catch (err) {
      this.log.warn(
        { err: errText(err), threadId: id },
        "could not re-read a thread another collector changed",
      );
    }
  }

  /** A row may lag a message (the follower writes in batches): never go back in time. */
  private applyStored(state: ThreadState): void {
    const current = this.opts.fleet.threads.get(state.id);
    if (current && (current.lastEventAtMs ?? 0) > (state.lastEventAtMs ?? 0)) return;
    this.opts.fleet.applyRemoteThread({
      ...state,
      // Not stored: keep what the follower's messages said.
      reroutedTurnId: current?.reroutedTurnId ?? null,
      reroutedModel: current?.reroutedModel ?? null,
    });
  }

  private async run(what: string, fn: (() => Promise<void>) | undefined): Promise<void> {
    if (!fn) return;
    try {
      await fn();
    } catch (err) {
      this.log.warn({ err: errText(err) }, `could not ${what} after another collector's change`);
    }
  }
}

/** One pending re-read notice per thing. */
function rereadKey(m: ReplicaMessage): string {
  if (m.k === "thread?") return `thread:${m.id}`;
  if (m.k === "target?") return `target:${m.name}`;
  return m.k;
}

/** What replicates of a followed target. */
function remoteStateOf(rt: TargetRuntime): RemoteTargetState {
  return {
    status: rt.status,
    lastEventAtMs: rt.lastEventAtMs,
    lastContactAtMs: rt.lastContactAtMs,
    connectedSinceMs: rt.connectedSinceMs,
    lastInvalid: rt.lastInvalid,
  };
}

/** A target row as replicated state (the row has no attempt count or invalid-frame note). */
function remoteStateOfRow(row: TargetRow, rt: TargetRuntime): RemoteTargetState {
  return {
    status: {
      state: row.state,
      reason: row.stateReason,
      error: row.lastError,
      sinceMs: row.stateSinceMs,
      attempt: rt.status.attempt,
      nextAttemptAtMs: rt.status.nextAttemptAtMs,
      userAgent: row.userAgent,
    },
    lastEventAtMs: row.lastEventAtMs,
    lastContactAtMs: row.lastContactAtMs,
    connectedSinceMs: row.connectedSinceMs,
    lastInvalid: rt.lastInvalid,
  };
}

/** How long stop() waits for the last publish and for closing the LISTEN connection. */
const STOP_WAIT_MS = 1000;

function withinMs(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return Promise.race([work.then(() => {}), timeout]).finally(() => clearTimeout(timer));
}
