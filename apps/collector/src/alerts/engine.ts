/**
 * The thin scheduler around the pure parts: on a tick and on fleet changes (debounced) it builds a
 * snapshot, evaluates every rule, steps every alert identity through the state machine, persists
 * the outcome with the notifications it owes in one transaction, then updates memory, the live
 * feed and the dispatcher. Evaluations, acknowledgements and silence changes run one at a time.
 * Nothing here may crash the collector: every failure is caught, logged and retried next tick.
 */
import { randomUUID } from "node:crypto";
import type { DbPool } from "@codex-fleet/db/client";
import {
  acknowledgeAlert,
  ensureGroups,
  failOrphanedNotifications,
  type GroupMark,
  getAlert,
  listDueGroups,
  listOpenAlerts,
  listSilences,
  nextGroupFlushMs,
  pruneAlertHistory,
  saveAlertChanges,
} from "@codex-fleet/db/repositories/alerts-repository";
import type { LeaseFence } from "@codex-fleet/db/repositories/lease-repository";
import type { AlertView } from "@codex-fleet/protocol/api";
import type { Config } from "../config/schema.ts";
import type { Fleet } from "../fleet/fleet.ts";
import { errText } from "../lib/err-text.ts";
import type { Logger } from "../logger.ts";
import { Dispatcher, type DispatcherOptions } from "./dispatcher.ts";
import { evaluateRule } from "./evaluate.ts";
import { flushDueGroups } from "./grouping/flusher.ts";
import { type InhibitRule, inhibitedIds, inhibitRules } from "./grouping/inhibit.ts";
import {
  groupKeyFor,
  groupLabelsOf,
  type ResolvedRoute,
  resolveRoute,
  routeAlert,
} from "./grouping/route.ts";
import { SnapshotInputs } from "./inputs.ts";
import { alertLabels } from "./labels.ts";
import type { ConfiguredNotifier } from "./notifiers/create.ts";
import { effectiveRules } from "./rules.ts";
import { isSilenced } from "./silences.ts";
import { SnapshotIndex } from "./snapshot-index.ts";
import { acknowledge, apply, hold, type Transition } from "./state-machine.ts";
import { fromRow, silenceFromRow, toRow } from "./store.ts";
import type { AckIdentity, AlertRecord, Condition, EffectiveRule, RuleEvaluation, Silence } from "./types.ts";
import { identityKey, subjectKey } from "./types.ts";
import { alertView } from "./views.ts";

const PRUNE_EVERY_MS = 3_600_000;

export interface AlertEngineOptions {
  fleet: Fleet;
  pool: DbPool;
  config: Config;
  log: Logger;
  /** Base of dashboard links in notifications. */
  publicUrl: string | (() => string);
  notifiers: readonly ConfiguredNotifier[];
  now?: () => number;
  newId?: () => string;
  /** false: no timers and no fleet-triggered runs; the caller calls `evaluate()` (fake-clock tests). */
  timers?: boolean;
  /** Delay that coalesces fleet changes into one evaluation. */
  debounceMs?: number;
  dispatcher?: Partial<Pick<DispatcherOptions, "sleep" | "random" | "pollMs">>;
  /** Counts each notification's outcome per receiver (`/metrics`). */
  onDelivered?: DispatcherOptions["onOutcome"];
}

/** Acknowledgement outcome. */
export type AckResult = { ok: true; alert: AlertView } | { ok: false; reason: "not-found" | "resolved" };

export class AlertEngine {
  readonly rules: readonly EffectiveRule[];
  /** Replaced at each `start()` (an instance can lose and regain alert leadership). */
  dispatcher: Dispatcher;
  /** The alert leader's lease: every transition is written under it (several collectors). */
  private fence: LeaseFence | null = null;
  private started = false;
  /**
   * Between `start()` and `stop()`: this instance runs the rules. Otherwise (another collector
   * holds the `alerts` lease) `open` mirrors the database, re-read on every change the leader
   * publishes, and acknowledgements are written to the database for the leader to re-read.
   */
  private leading = false;
  private readonly inputs: SnapshotInputs;
  private readonly now: () => number;
  private readonly newId: () => string;
  /** Open (pending/firing) alerts by identity key (a mirror of the database when not leading). */
  private readonly open = new Map<string, AlertRecord>();
  private silences: Silence[] = [];
  private loaded = false;
  private chain: Promise<unknown> = Promise.resolve();
  private queuedEvaluation: Promise<void> | null = null;
  private readonly listeners = new Set<(view: AlertView) => void>();
  private unsubscribe: (() => void) | null = null;
  private tick: NodeJS.Timeout | null = null;
  private prune: NodeJS.Timeout | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Where each alert's notifications go (alerts.route; every receiver when omitted). */
  readonly route: ResolvedRoute;
  private readonly inhibitRules: InhibitRule[];
  /** Ids of open alerts an inhibit rule mutes now. */
  private inhibitedNow = new Set<string>();

  constructor(private readonly opts: AlertEngineOptions) {
    this.now = opts.now ?? Date.now;
    this.newId = opts.newId ?? randomUUID;
    this.rules = effectiveRules(opts.config.alerts);
    this.route = resolveRoute(
      opts.config.alerts,
      opts.notifiers.map((n) => n.notifier.name),
    );
    this.inhibitRules = inhibitRules(opts.config.alerts);
    this.inputs = new SnapshotInputs({
      fleet: opts.fleet,
      pool: opts.pool,
      rules: this.rules,
      settleMs: opts.config.alerts.settleMs,
      log: opts.log,
      budgets: opts.config.budgets,
    });
    this.dispatcher = this.newDispatcher();
  }

  private newDispatcher(): Dispatcher {
    const { opts } = this;
    return new Dispatcher({
      pool: opts.pool,
      notifiers: opts.notifiers,
      log: opts.log,
      now: this.now,
      flush: () => this.flushGroups(),
      onOutcome: opts.onDelivered,
      ...opts.dispatcher,
    });
  }

  /** The view of an alert, with whether an inhibit rule mutes it. */
  private view(a: AlertRecord): AlertView {
    return { ...alertView(a), inhibited: this.inhibitedNow.has(a.id) };
  }

  /** The inhibited ids among `alerts` (open ones). */
  private computeInhibited(alerts: Iterable<AlertRecord>): Set<string> {
    const list = [...alerts].map((a) => ({
      id: a.id,
      labels: alertLabels(alertView(a)),
      firing: a.state === "firing",
    }));
    return inhibitedIds(list, this.inhibitRules);
  }

  /**
   * The groups an alert belongs to, as marks for the transaction of its transition. A rule's own
   * `repeatIntervalMs` times its groups' repeats when the route sets none and groups by ruleId
   * (so a group holds that rule's alerts only) — the per-rule setting from before grouping.
   */
  private groupMarks(a: AlertRecord, atMs: number): GroupMark[] {
    const labels = alertLabels(alertView(a));
    const ruleRepeatMs = this.opts.config.alerts.rules.find((r) => r.id === a.ruleId)?.repeatIntervalMs;
    return routeAlert(this.route, labels).map((r) => ({
      receiver: r.receiver,
      groupKey: groupKeyFor(r, labels),
      labels: groupLabelsOf(labels, r.groupBy),
      groupWaitMs: r.timings.groupWaitMs,
      groupIntervalMs: r.timings.groupIntervalMs,
      repeatIntervalMs:
        !r.repeatSet && ruleRepeatMs !== undefined && r.groupBy.includes("ruleId")
          ? ruleRepeatMs
          : r.timings.repeatIntervalMs,
      atMs,
    }));
  }

  /** Live-feed hook: called with every changed alert. */
  onChange(listener: (view: AlertView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Open alerts as views (the live snapshot). */
  openViews(): AlertView[] {
    return [...this.open.values()].map((a) => this.view(a));
  }

  /** Whether an inhibit rule mutes this open alert now (false for any other id). */
  isInhibited(id: string): boolean {
    return this.inhibitedNow.has(id);
  }

  /** Active silences (as loaded and changed through this engine). */
  activeSilences(): Silence[] {
    const now = this.now();
    return this.silences.filter((s) => s.endsAtMs > now);
  }

  /** Start after `fleet.start()`, which loads the thread state the rules read. */
  async start(fence: LeaseFence | null = null): Promise<void> {
    const timers = this.opts.timers ?? true;
    // Leading again after a stop: reload what the previous leader persisted, with a new dispatcher.
    if (this.started) this.dispatcher = this.newDispatcher();
    this.started = true;
    this.leading = true;
    this.stopped = false;
    this.loaded = false;
    this.fence = fence;
    this.unsubscribe = this.opts.fleet.subscribe({
      threadChanged: () => timers && this.soon(),
      targetChanged: (rt) => {
        this.inputs.targetChanged(rt);
        if (timers) this.soon();
      },
      usageCounted: () => {
        this.inputs.usageCounted();
        if (timers) this.soon();
      },
      event: (targetId, event) => {
        if (this.inputs.event(targetId, event) && timers) this.soon();
      },
    });
    await this.evaluate();
    this.dispatcher.start();
    if (!timers) return;
    this.tick = setInterval(() => void this.evaluate(), this.opts.config.alerts.evaluateIntervalMs);
    this.tick.unref();
    this.prune = setInterval(() => void this.pruneHistory(), PRUNE_EVERY_MS);
    this.prune.unref();
  }

  /** Stop timers, finish the running step, release undelivered notifications. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.leading = false;
    this.unsubscribe?.();
    for (const t of [this.tick, this.prune]) if (t) clearInterval(t);
    if (this.debounce) clearTimeout(this.debounce);
    await this.chain;
    await this.dispatcher.stop();
  }

  /** Evaluate now (coalesced with a run already waiting). Never rejects. */
  evaluate(): Promise<void> {
    if (this.queuedEvaluation) return this.queuedEvaluation;
    const run = this.serial(async () => {
      this.queuedEvaluation = null;
      await this.evaluateOnce();
    }).catch((err) => this.opts.log.error({ err: errText(err) }, "alerts: evaluation failed"));
    this.queuedEvaluation = run;
    return run;
  }

  /** Acknowledge an open alert as `by` (the signed-in identity, or the free-text name with auth off). */
  acknowledge(id: string, by: AckIdentity): Promise<AckResult> {
    return this.serial(async () => {
      if (!this.leading) return this.acknowledgeInDatabase(id, by);
      const entry = [...this.open.entries()].find(([, a]) => a.id === id);
      if (!entry) {
        const stored = await getAlert({ pool: this.opts.pool, id });
        return { ok: false, reason: stored === null ? "not-found" : "resolved" } as const;
      }
      const [key, prev] = entry;
      const next = acknowledge(prev, by, this.now());
      await saveAlertChanges({
        pool: this.opts.pool,
        upserts: [toRow(next)],
        deletes: [],
        notifications: [],
        fence: this.fence,
      });
      this.open.set(key, next);
      this.publish(next);
      this.storedChanged();
      return { ok: true, alert: this.view(next) } as const;
    });
  }

  /** Not leading: one conditioned statement; the leader re-reads it when told (storedChanged). */
  private async acknowledgeInDatabase(id: string, by: AckIdentity): Promise<AckResult> {
    const { pool } = this.opts;
    const row = await acknowledgeAlert({ pool, id, by: by.name, role: by.role, atMs: this.now() });
    if (row === null) {
      const stored = await getAlert({ pool, id });
      return { ok: false, reason: stored === null ? "not-found" : "resolved" };
    }
    const next = fromRow(row);
    this.open.set(identityKey(next.ruleId, next.subject), next);
    this.publish(next);
    this.storedChanged();
    return { ok: true, alert: this.view(next) };
  }

  /** A silence was created or ended: apply it to the alerts right away. */
  async silencesChanged(silence: Silence): Promise<void> {
    // One step: an evaluation queued earlier must not answer for this one without the silence.
    await this.serial(async () => {
      this.silences = [...this.silences.filter((s) => s.id !== silence.id), silence];
      this.storedChanged();
      await this.evaluateOnce();
    }).catch((err) => this.opts.log.error({ err: errText(err) }, "alerts: evaluation failed"));
  }

  // ── Several collectors on one database (cluster/replica.ts) ────────────────────────────────

  private readonly storedChangeListeners = new Set<() => void>();

  /**
   * Called after alert state changed in the database through this instance: an evaluation's
   * transitions (leader), an acknowledgement or a silence change (any instance). The replica
   * tells the others, which re-read it (`reloadFromDatabase`).
   */
  onStoredChange(listener: () => void): () => void {
    this.storedChangeListeners.add(listener);
    return () => this.storedChangeListeners.delete(listener);
  }

  private storedChanged(): void {
    for (const l of this.storedChangeListeners) {
      try {
        l();
      } catch (err) {
        this.opts.log.error({ err: errText(err) }, "alerts: change listener failed");
      }
    }
  }

  /** True while this instance runs the rules (holds the `alerts` lease, or alone). */
  get isLeading(): boolean {
    return this.leading;
  }

  /**
   * Another collector changed alert state in the database. Leading: re-read open alerts and
   * silences (an acknowledgement or silence made elsewhere), then evaluate. Not leading: mirror
   * the open alerts, so the API, the live feed and /metrics here show what the leader decided.
   * In turn with evaluations, so a stale in-memory alert never overwrites the stored acknowledgement.
   */
  reloadFromDatabase(): Promise<void> {
    return this.serial(async () => {
      if (!this.leading) return this.mirror();
      if (!this.loaded) return;
      const before = new Map([...this.open.values()].map((a) => [a.id, JSON.stringify(a)]));
      this.loaded = false;
      await this.load(this.now());
      // The live feed here shows the acknowledgement made elsewhere.
      for (const a of this.open.values()) if (before.get(a.id) !== JSON.stringify(a)) this.publish(a);
      await this.evaluateOnce();
    }).catch((err) => this.opts.log.error({ err: errText(err) }, "alerts: reload failed"));
  }

  /** Not leading: replace `open` with the stored open alerts; publish what changed or closed. */
  private async mirror(): Promise<void> {
    const { pool } = this.opts;
    const now = this.now();
    const [rows, silences] = await Promise.all([
      listOpenAlerts({ pool }),
      listSilences({ pool, activeAtMs: now }),
    ]);
    const before = new Map(this.open);
    this.open.clear();
    for (const row of rows) {
      const record = fromRow(row);
      this.open.set(identityKey(record.ruleId, record.subject), record);
    }
    this.silences = silences.map(silenceFromRow);
    this.inhibitedNow = this.computeInhibited(this.open.values());
    for (const [key, a] of this.open) {
      const prev = before.get(key);
      if (!prev || JSON.stringify(prev) !== JSON.stringify(a)) this.publish(a);
    }
    for (const [key, prev] of before) {
      if (this.open.get(key)?.id === prev.id) continue;
      // Resolved (its row says when), or a pending alert dropped (its row is gone).
      const row = await getAlert({ pool, id: prev.id });
      this.publish(
        row && row.state === "resolved"
          ? fromRow(row)
          : { ...prev, state: "resolved", resolvedAtMs: now, updatedAtMs: now },
      );
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => {});
    return run;
  }

  private soon(): void {
    if (this.debounce || this.stopped) return;
    this.debounce = setTimeout(() => {
      this.debounce = null;
      void this.evaluate();
    }, this.opts.debounceMs ?? 250);
    this.debounce.unref();
  }

  private async load(now: number): Promise<void> {
    const { pool, log } = this.opts;
    const [rows, silences] = await Promise.all([
      listOpenAlerts({ pool }),
      listSilences({ pool, activeAtMs: now }),
    ]);
    this.open.clear();
    for (const row of rows) {
      const record = fromRow(row);
      this.open.set(identityKey(record.ruleId, record.subject), record);
    }
    this.silences = silences.map(silenceFromRow);
    this.inhibitedNow = this.computeInhibited(this.open.values());
    const orphaned = await failOrphanedNotifications({ pool, notifiers: this.dispatcher.names, atMs: now });
    if (orphaned > 0)
      log.warn({ orphaned }, "alerts: notifications for notifiers no longer configured marked failed");
    // Firing alerts without a group (notified one by one before grouping, or routed anew by a
    // changed alerts.route) get one: announced after groupWait, and their resolve heard later.
    const created = await ensureGroups({
      pool,
      marks: [...this.open.values()]
        .filter((a) => a.state === "firing")
        .flatMap((a) => this.groupMarks(a, now)),
      fence: this.fence,
    });
    if (created > 0) log.info({ groups: created }, "alerts: groups created for firing alerts");
    this.loaded = true;
    log.info(
      { open: rows.length, silences: silences.length, rules: this.rules.length },
      "alerts: state loaded",
    );
  }

  private async evaluateOnce(): Promise<void> {
    const { pool, log, config, fleet } = this.opts;
    if (!this.leading || !config.alerts.enabled) return;
    const now = this.now();
    if (!this.loaded) await this.load(now);
    // Before fleet.start() no target is known and every thread alert would resolve.
    if (fleet.targets.size === 0 && config.targets.length > 0) return;
    this.silences = this.silences.filter((s) => s.endsAtMs > now);
    const snap = await this.inputs.snapshot(now);

    const steps: { key: string; t: Transition }[] = [];
    const visited = new Set<string>();
    const step = (
      key: string,
      prev: AlertRecord | null,
      cond: Condition | null,
      rule: EffectiveRule | null,
      ev: RuleEvaluation | null,
    ) => {
      visited.add(key);
      const probe = prev ?? {
        ruleId: rule?.id ?? "",
        kind: rule?.kind ?? "",
        subject: (cond as Condition).subject,
      };
      const silenced = isSilenced(this.silences, probe, now);
      const held =
        prev !== null &&
        cond === null &&
        ev !== null &&
        (ev.heldAll || ev.held.has(subjectKey(prev.subject)));
      const t = held
        ? hold(prev, { nowMs: now, silenced })
        : apply(prev, cond, rule, { nowMs: now, silenced, newId: this.newId });
      if (t.change !== "none") steps.push({ key, t });
    };
    // What the rules derive from the snapshot (targets' teams, the threads they see), derived once.
    const index = new SnapshotIndex(snap, now);
    for (const rule of this.rules) {
      const ev = evaluateRule(rule, snap, now, index);
      const conds = new Map(ev.conditions.map((c) => [identityKey(rule.id, c.subject), c]));
      for (const [key, c] of conds) step(key, this.open.get(key) ?? null, c, rule, ev);
      for (const [key, prev] of this.open)
        if (prev.ruleId === rule.id && !conds.has(key)) step(key, prev, null, rule, ev);
    }
    // Alerts of rules no longer configured resolve.
    for (const [key, prev] of this.open) if (!visited.has(key)) step(key, prev, null, null, null);
    if (steps.length === 0) return;

    // Notifications go out per group (grouping/groups.ts): a transition a receiver must hear of
    // marks the alert's groups due, in the same transaction; the flusher builds the message later.
    const nextOpen = new Map(this.open);
    for (const { key, t } of steps) {
      const next = t.next as AlertRecord;
      if (next.state === "resolved") nextOpen.delete(key);
      else nextOpen.set(key, next);
    }
    const inhibitedAfter = this.computeInhibited(nextOpen.values());
    const inhibitionChanged = [...nextOpen.values()].filter(
      (a) => inhibitedAfter.has(a.id) !== this.inhibitedNow.has(a.id),
    );
    const marks = [
      ...steps.flatMap(({ t }) =>
        t.next && (t.emit === "firing" || t.emit === "resolved") ? this.groupMarks(t.next, now) : [],
      ),
      // An alert no longer inhibited is news to its groups; one newly inhibited is dropped from them.
      ...inhibitionChanged.filter((a) => a.state === "firing").flatMap((a) => this.groupMarks(a, now)),
    ];
    await saveAlertChanges({
      pool,
      upserts: steps
        .filter(({ t }) => t.change !== "dropped" && t.next)
        .map(({ t }) => toRow(t.next as AlertRecord)),
      deletes: steps
        .filter(({ t }) => t.change === "dropped" && t.next)
        .map(({ t }) => (t.next as AlertRecord).id),
      notifications: [],
      groups: marks,
      fence: this.fence,
    });
    this.inhibitedNow = inhibitedAfter;
    const stepped = new Set(steps.map(({ t }) => (t.next as AlertRecord).id));
    for (const a of inhibitionChanged) if (!stepped.has(a.id)) this.publish(a);
    for (const { key, t } of steps) {
      const next = t.next as AlertRecord;
      if (next.state === "resolved") this.open.delete(key);
      else this.open.set(key, next);
      this.publish(next);
      if (t.emit)
        log.info(
          { alertId: next.id, rule: next.ruleId, subject: next.subject.id, event: t.emit },
          `alert ${t.emit}`,
        );
    }
    if (marks.length > 0) this.dispatcher.kick();
    this.storedChanged();
  }

  private publish(alert: AlertRecord): void {
    const view = this.view(alert);
    for (const l of this.listeners) {
      try {
        l(view);
      } catch (err) {
        this.opts.log.error({ err: errText(err) }, "alerts: live listener failed");
      }
    }
  }

  /**
   * Flush the alert groups that are due (called by the dispatcher's pump, on the alert leader, in
   * turn with evaluations): each group's message is decided from the alerts as they are now and
   * written with the group's advance in one fenced transaction conditioned on the group's `seq`.
   * Returns when the next group is due (null: none scheduled).
   */
  flushGroups(): Promise<number | null> {
    return this.serial(async () => {
      if (!this.leading || !this.loaded) return null;
      const { pool } = this.opts;
      const now = this.now();
      const due = await listDueGroups({ pool, nowMs: now });
      if (due.length > 0) {
        const open = [...this.open.values()];
        const queued = await flushDueGroups({
          pool,
          fence: this.fence,
          log: this.opts.log,
          route: this.route,
          receivers: new Set(this.dispatcher.names),
          baseUrl: typeof this.opts.publicUrl === "string" ? this.opts.publicUrl : this.opts.publicUrl(),
          nowMs: now,
          due,
          firing: open
            .filter((a) => a.state === "firing")
            .map((a) => ({
              alert: this.view(a),
              silenced: a.silenced,
              inhibited: this.inhibitedNow.has(a.id),
              acked: a.ackBy !== null,
            })),
          openIds: new Set(open.map((a) => a.id)),
        });
        if (queued > 0) this.dispatcher.kick();
      }
      return nextGroupFlushMs({ pool });
    });
  }

  private async pruneHistory(): Promise<void> {
    try {
      const removed = await pruneAlertHistory({
        pool: this.opts.pool,
        beforeMs: this.now() - this.opts.config.alerts.retentionMs,
      });
      if (removed > 0) this.opts.log.info({ removed }, "alerts: pruned old alerts, deliveries and silences");
    } catch (err) {
      this.opts.log.warn({ err: errText(err) }, "alerts: pruning failed");
    }
  }
}
