/**
 * Sends what the outbox (`notification_delivery`) owes: first flushes the alert groups that are
 * due (the engine's `flush` hook writes their messages into the outbox), then claims due rows,
 * delivers each through its notifier with retries (notifiers/deliver.ts), logs every attempt, and
 * marks rows delivered or failed. Rows are leased while in flight and released at shutdown, so
 * after a restart (or by another collector) each owed notification is sent — and a delivered one
 * never again.
 */

import type { DbPool } from "@codex-fleet/db/client";
import {
  type ClaimedNotification,
  claimDueNotifications,
  failNotification,
  nextNotificationDueMs,
  recordDeliveryAttempt,
} from "@codex-fleet/db/repositories/alerts-repository";
import { errText } from "../lib/err-text.ts";
import type { Logger } from "../logger.ts";
import type { ConfiguredNotifier } from "./notifiers/create.ts";
import { deliver, sleep as realSleep } from "./notifiers/deliver.ts";
import type { GroupNotification } from "./notifiers/group-payload.ts";

export interface DispatcherOptions {
  pool: DbPool;
  notifiers: readonly ConfiguredNotifier[];
  log: Logger;
  now: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  /** Re-check the outbox at least this often (other collectors may have queued rows). */
  pollMs?: number;
  /** Deliveries in flight at once. */
  concurrency?: number;
  /** Flush due alert groups into the outbox; returns when the next group is due (null: none). */
  flush?: () => Promise<number | null>;
  /** Each notification's final outcome per receiver (`/metrics`). */
  onOutcome?: (receiver: string, outcome: "sent" | "failed") => void;
}

/** Extra lease beyond one attempt and one backoff. */
const LEASE_SLACK_MS = 30_000;

/** How long shutdown waits for requests already on the wire before aborting them. */
const SEND_GRACE_MS = 2000;

export class Dispatcher {
  private readonly byName: Map<string, ConfiguredNotifier>;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  /** Aborts requests on the wire; fired only after SEND_GRACE_MS of shutdown. */
  private readonly sendAbort = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private pumping: Promise<void> | null = null;
  private again = false;
  private stopped = true;

  constructor(private readonly opts: DispatcherOptions) {
    this.byName = new Map(opts.notifiers.map((n) => [n.notifier.name, n]));
  }

  /** Names of the configured notifiers. */
  get names(): string[] {
    return [...this.byName.keys()];
  }

  start(): void {
    if (this.byName.size === 0) return;
    this.stopped = false;
    this.kick();
  }

  /** Look at the outbox now (new notifications were queued). */
  kick(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Resolves when nothing is in flight (tests). */
  async idle(): Promise<void> {
    while (this.pumping || this.inFlight.size > 0) {
      await this.pumping;
      await Promise.all([...this.inFlight]);
    }
  }

  /**
   * Abort retry waits, give requests already on the wire up to SEND_GRACE_MS to finish (so a
   * delivery the receiver accepted is recorded, not re-sent by the next collector), then abort
   * the rest and release their leases.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    await this.pumping;
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.inFlight]),
      new Promise<void>((r) => {
        grace = setTimeout(r, SEND_GRACE_MS);
      }),
    ]);
    clearTimeout(grace);
    this.sendAbort.abort();
    await Promise.all([...this.inFlight]);
  }

  private leaseMs(n: ConfiguredNotifier): number {
    return n.timeoutMs + n.policy.maxBackoffMs + LEASE_SLACK_MS;
  }

  private async pump(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    const { pool, now, log } = this.opts;
    try {
      const groupDue = await this.flushGroups();
      const free = (this.opts.concurrency ?? 8) - this.inFlight.size;
      if (free > 0) {
        const maxLease = Math.max(...[...this.byName.values()].map((n) => this.leaseMs(n)));
        const rows = await claimDueNotifications({
          pool,
          nowMs: now(),
          leaseUntilMs: now() + maxLease,
          notifiers: this.names,
          limit: free,
        });
        for (const row of rows) this.track(this.send(row));
      }
      const rowDue = await nextNotificationDueMs({ pool, notifiers: this.names });
      const due = rowDue === null ? groupDue : groupDue === null ? rowDue : Math.min(rowDue, groupDue);
      this.schedule(due === null ? null : due - now());
    } catch (err) {
      log.error({ err: errText(err) }, "alerts: could not read the notification outbox");
      this.schedule(5_000);
    }
  }

  /** Flush due groups; a failure is logged and retried soon, and never stops deliveries. */
  private async flushGroups(): Promise<number | null> {
    if (!this.opts.flush) return null;
    try {
      return await this.opts.flush();
    } catch (err) {
      this.opts.log.error({ err: errText(err) }, "alerts: could not flush alert groups");
      return this.opts.now() + 5_000;
    }
  }

  private schedule(inMs: number | null): void {
    if (this.stopped) return;
    const poll = this.opts.pollMs ?? 30_000;
    const delay = Math.max(50, Math.min(poll, inMs ?? poll));
    this.timer = setTimeout(() => this.kick(), delay);
    this.timer.unref();
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => {
      this.inFlight.delete(p);
      this.kick();
    });
  }

  private async send(row: ClaimedNotification): Promise<void> {
    const { pool, now, log } = this.opts;
    const configured = this.byName.get(row.notifier);
    if (!configured) return;
    const lease = this.leaseMs(configured);
    const nlog = log.child({ notifier: row.notifier, alertId: row.alertId, event: row.event });
    try {
      if ((row.payload as { version?: unknown } | null)?.version !== 2) {
        // A per-alert message queued before grouping (issue 16), still pending at upgrade: the
        // receivers now take group messages only. Failed with a clear reason, never half-sent.
        await failNotification({
          pool,
          id: row.id,
          error: "per-alert notification from before grouped notifications: not sent",
          atMs: now(),
        });
        nlog.warn("alerts: a notification queued before the upgrade to grouped notifications was not sent");
        this.opts.onOutcome?.(row.notifier, "failed");
        return;
      }
      const outcome = await deliver(
        configured.notifier,
        // Until the notifiers take a GroupNotification (issue 16, H-recv), the one cast between them.
        row.payload as GroupNotification,
        configured.policy,
        {
          now,
          sleep: this.opts.sleep ?? realSleep,
          random: this.opts.random,
          signal: this.abort.signal,
          sendSignal: this.sendAbort.signal,
          previousAttempts: row.attempt,
          onAttempt: async (attempt, final) => {
            if (!attempt.ok)
              nlog.warn(
                { attempt: attempt.attempt, status: attempt.status, error: attempt.error, final },
                "alerts: notification attempt failed",
              );
            await recordDeliveryAttempt({
              pool,
              id: row.id,
              attempt,
              outcome: attempt.ok ? "delivered" : final ? "failed" : "pending",
              nextAttemptAtMs: now() + lease,
            });
          },
        },
      );
      if (outcome.aborted) {
        await recordDeliveryAttempt({
          pool,
          id: row.id,
          attempt: null,
          outcome: "pending",
          nextAttemptAtMs: now(),
        });
      } else {
        this.opts.onOutcome?.(row.notifier, outcome.ok ? "sent" : "failed");
      }
      if (!outcome.aborted && !outcome.ok) {
        nlog.error(
          { attempts: outcome.attempts, error: outcome.last.error },
          "alerts: gave up delivering a notification",
        );
      }
    } catch (err) {
      // The row stays leased and is retried when the lease ends.
      nlog.error({ err: errText(err) }, "alerts: could not record a delivery attempt");
    }
  }
}
