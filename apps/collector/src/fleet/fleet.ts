/**
 * The fleet: one connection and one observer per target, the in-memory state of every thread,
 * and the writer that persists it. Events flow one way: connection → reducer → writer, observer,
 * listeners (live feed, alerts, metrics). A misbehaving target only ever changes its own state.
 */

import type { DbPool } from "@codex-fleet/db/client";
import { sampleActivityPeak } from "@codex-fleet/db/repositories/activity-peak";
import { writeIngestBatch } from "@codex-fleet/db/repositories/ingest-repository";
import type { OwedReason } from "@codex-fleet/db/repositories/ingest-types";
import { listTargetRows, syncTargets } from "@codex-fleet/db/repositories/targets-repository";
import {
  isHeldThread,
  loadThreads,
  readThreads,
  type StoredThread,
} from "@codex-fleet/db/repositories/threads-repository";
import type { FleetEvent } from "@codex-fleet/protocol/events";
import type { LimitRow } from "@codex-fleet/protocol/limits";
import type { Config, TargetConfig } from "../config/schema.ts";
import {
  checkpointActivity,
  emptyThread,
  reduce,
  stopObserving,
  type ThreadState,
  threadFromStored,
} from "../ingest/thread-state.ts";
import { IngestWriter, type WriterOptions, type WriterSink, type WriterTuning } from "../ingest/writer.ts";
import { errText } from "../lib/err-text.ts";
import { debugEnabled, type Logger } from "../logger.ts";
import type { Metrics } from "../metrics.ts";
import { type ConnectionStatus, TargetConnection } from "./connection.ts";
import { HandshakeGate } from "./handshake-gate.ts";
import { TargetObserver } from "./observer.ts";
import { PlanLimitLoader } from "./plan-limit-loader.ts";
import { PlanLimitTracker } from "./plan-limit-tracker.ts";
import { PlanLimitWriter } from "./plan-limit-writer.ts";
import { type LimitChange, limitChange } from "./plan-limits.ts";
import { saneTimes } from "./sane-times.ts";
import { TargetStateWriter } from "./target-state-writer.ts";
import { ThreadTable } from "./thread-table.ts";

export interface TargetRuntime {
  config: TargetConfig;
  connection: TargetConnection;
  observer: TargetObserver;
  status: ConnectionStatus;
  lastEventAtMs: number | null;
  lastContactAtMs: number | null;
  connectedSinceMs: number | null;
  invalidFrames: number;
  lastInvalid: string | null;
  /** Counts of the unknown methods seen (null until the first: most targets never send one). */
  unknownMethods: Map<string, number> | null;
  /** Threads whose metadata was read back after a turn (at most once each, bounded; null: none yet). */
  metadataRead: Set<string> | null;
  /**
   * The observer's scan after the current open has marked every obligation it found: until then
   * "last contact" stays where it was (a crash mid-scan must find the same threads again).
   */
  contactScanned: boolean;
  /**
   * This instance follows the target (socket open, database writes): it holds the target's lease.
   * Otherwise its state is a replica of the follower's, applied by cluster/replica.ts through
   * applyRemote*.
   */
  followed: boolean;
  /** The instance (its name) that follows the target, as last known; null: nobody. */
  followedBy: string | null;
  /** Threads whose activity this instance observes on the current connection (issue 15). */
  observing: Set<string>;
  /** Plan windows and credits (issue 14): read, merged, stored and announced while followed. */
  planLimits: PlanLimitTracker;
}

export interface FleetListener {
  threadChanged?(thread: ThreadState): void;
  targetChanged?(target: TargetRuntime): void;
  usageCounted?(u: { threadId: string; targetId: string; atMs: number; totalTokens: number }): void;
  /**
   * The fleet no longer holds this thread (it left the working set, or its target was removed):
   * it stays in the database, history. A later event brings it back as a change.
   */
  threadForgotten?(thread: ThreadState): void;
  event?(targetId: string, event: FleetEvent): void;
  /** A plan limit of a target this instance follows changed (issue 14): its row, with forecast. */
  limitsChanged?(change: LimitChange): void;
}

export interface FleetOptions {
  config: Config;
  pool: DbPool;
  price: import("@codex-fleet/db/repositories/ingest-types").PriceFn;
  log: Logger;
  metrics: Metrics;
  version: string;
  now?: () => number;
  /** Batching and buffer bounds of the database writer (defaults in writer.ts). */
  writer?: WriterTuning;
  /** Where the write buffer lives instead of here (writer.ts WriterSink; main.ts: the writer thread). */
  writerSink?: WriterSink;
  /** Writes a batch (default: writeIngestBatch on `pool`, in this thread; main.ts uses writer-thread.ts). */
  writeBatch?: WriterOptions["write"];
  /** Tests: observe every frame the collector sends. */
  onSent?(targetId: string, frame: Record<string, unknown>): void;
  /**
   * TEST ONLY, until target leases decide it: whether this instance follows a target (default:
   * every target). An unfollowed target is registered but never connected; its state comes from
   * the instance that follows it (cluster/replica.ts).
   */
  follow?: (targetName: string) => boolean;
}

/** Owns every target connection and the live thread state. */
export class Fleet {
  /** Every held thread by id, with each target's counts kept as they change (thread-table.ts). */
  readonly threads = new ThreadTable();
  readonly targets = new Map<string, TargetRuntime>();
  readonly writer: IngestWriter;
  /** Opening handshakes in flight at once, across every target (handshake-gate.ts). */
  private readonly handshakeGate = new HandshakeGate(HANDSHAKE_GATE);
  /** Target rows, written in batches (target-state-writer.ts). */
  private readonly targetStates: TargetStateWriter;
  /** Plan-limit states, samples and read outcomes, written off the socket's path. */
  readonly planLimitWriter: PlanLimitWriter;
  /** Stored plan-limit states, loaded for the targets that open together in one query. */
  private readonly planLimitLoader: PlanLimitLoader;
  private listeners = new Set<FleetListener>();
  private readonly now: () => number;
  private contactTimer: NodeJS.Timeout | null = null;
  private peakTimer: NodeJS.Timeout | null = null;
  /** Threads forgotten (left the working set, or their target deleted) since start (/metrics). */
  threadsForgotten = 0;
  /** Threads read back from the database because they were heard from again (/metrics). */
  threadsReadBack = 0;
  /** stop() was called: nothing starts following any more. */
  private stopped = false;
  /** Follow every target at start and when added (one collector); false: the lease keeper decides. */
  private followAll = true;
  /** Called when a target is added or removed (the lease keeper looks at once). */
  membershipChanged: (() => void) | null = null;
  /**
   * Changes whenever a target is added or removed, or starts or stops being followed here: the
   * lease keeper plans its share again only then, or when the leases or instances change.
   */
  targetsVersion = 0;

  /** Targets on an older codex are flagged below the supported floor (config `codexVersionFloor`). */
  get codexVersionFloor(): string {
    return this.opts.config.codexVersionFloor;
  }

  constructor(private readonly opts: FleetOptions) {
    this.now = opts.now ?? Date.now;
    const { pool, log, metrics } = opts;
    this.targetStates = new TargetStateWriter({ pool, log });
    this.planLimitLoader = new PlanLimitLoader({ pool, now: this.now });
    this.planLimitWriter = new PlanLimitWriter({
      pool,
      onError: (err, attempt) => {
        metrics.dbWriteErrors.inc();
        if (attempt === 1 || attempt % 10 === 0)
          log.error({ err: errText(err), attempt }, "plan-limit write failed; buffering");
      },
      onDropped: (what, err) => {
        metrics.dbWriteErrors.inc();
        log.error(
          { err: errText(err), what },
          "the database refused this plan limit for its content: dropped it",
        );
      },
    });
    this.writer = new IngestWriter({
      ...opts.writer,
      now: this.now,
      price: opts.price,
      write: opts.writeBatch ?? ((batch) => writeIngestBatch({ pool, ...batch })),
      ...(opts.writerSink ? { sink: opts.writerSink } : {}),
      onWritten: (result, ms) => {
        metrics.dbWriteMs.observe(ms);
        for (const r of result.decreased)
          log.warn(
            { threadId: r.threadId, counted: r.from.totalTokens, reported: r.to.totalTokens },
            "token total below the counted baseline (stale replay or rewritten history): counted only growth",
          );
        for (const c of result.cleared ?? []) {
          const t = this.threads.get(c.threadId);
          // A mark enqueued after that report (not yet written, or written later) keeps it owed.
          if (t && t.owedAtMs !== null && t.owedAtMs <= c.receivedAtMs) {
            const next = { ...t, owedSinceMs: null, owedAtMs: null, owedReason: null };
            this.threads.set(c.threadId, next);
            this.notify((l) => l.threadChanged?.(next));
          }
        }
        if (debugEnabled(log))
          for (const c of result.counted)
            log.debug(
              { threadId: c.threadId, target: c.targetId, total: c.cumulative.totalTokens },
              "usage counted",
            );
        for (const c of result.counted) {
          const t = this.threads.get(c.threadId);
          if (t && c.cumulative.totalTokens > t.countedTotalTokens) {
            const next = { ...t, countedTotalTokens: c.cumulative.totalTokens };
            this.threads.set(c.threadId, next);
            this.notify((l) => l.threadChanged?.(next));
          }
          metrics.ingestLagMs.observe(Math.max(0, this.now() - c.atMs));
          this.notify((l) =>
            l.usageCounted?.({
              threadId: c.threadId,
              targetId: c.targetId,
              atMs: c.atMs,
              totalTokens: c.cumulative.totalTokens,
            }),
          );
        }
      },
      onDropped: (op, err) => {
        metrics.dbWriteErrors.inc();
        const { threadId, targetId } =
          op.op === "thread"
            ? { threadId: op.state.id, targetId: op.state.targetId }
            : op.op === "turn"
              ? op.patch
              : op.op === "owed"
                ? op.mark
                : op.op === "span"
                  ? op.span
                  : op.op === "waitEnd"
                    ? op.wait
                    : op.report;
        log.error(
          { err: errText(err), op: op.op, threadId, target: targetId },
          "the database refused this data for its content: dropped it so that other writes go on",
        );
      },
      onError: (err, attempt) => {
        metrics.dbWriteErrors.inc();
        if (attempt === 1 || attempt % 10 === 0)
          log.error(
            { err: errText(err), attempt, backlog: this.writer.backlog },
            "database write failed; buffering",
          );
      },
    });
  }

  subscribe(listener: FleetListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Load state from the database, register targets, connect to every target. `managed` are the
   * targets added through the admin API (targets/managed-targets.ts loads them): synced with the
   * config's so that neither set marks the other disabled.
   */
  async start(
    managed: readonly TargetConfig[] = [],
    options: { follow?: "all" | "leased" } = {},
  ): Promise<void> {
    this.followAll = options.follow !== "leased";
    const { pool, config } = this.opts;
    const all = [...config.targets, ...managed];
    await syncTargets({
      pool,
      targets: all.map((t) => ({ id: t.name, team: t.team, url: t.url, labels: { ...t.labels } })),
    });
    const stored = await this.loadHeld();
    for (const s of stored) this.threads.set(s.id, threadFromStored(s));
    const storedTargets = await listTargetRows({ pool });
    const lastContact = new Map(storedTargets.map((t) => [t.id, t.lastContactAtMs]));
    for (const tc of all) this.register(tc, lastContact.get(tc.name) ?? null);
    if (this.followAll)
      for (const rt of this.targets.values())
        if (this.opts.follow?.(rt.config.name) ?? true) this.startFollowing(rt, null);
    // Keep "last contact" fresh while connected: it bounds the next backfill after an outage.
    this.contactTimer = setInterval(() => {
      this.touchContacts();
      this.checkpointObserved();
      this.forgetCold();
    }, 60_000);
    this.contactTimer.unref();
    // The most threads active at once (issue 15), sampled from the shared thread table: every
    // instance may sample (the table keeps the greatest), so a cluster needs no leader for it.
    this.peakTimer = setInterval(() => this.samplePeak(), PEAK_SAMPLE_MS);
    this.peakTimer.unref();
  }

  private samplePeak(): void {
    if (![...this.targets.values()].some((rt) => rt.followed)) return;
    sampleActivityPeak({ pool: this.opts.pool, atMs: this.now() }).catch((err: unknown) =>
      this.opts.log.debug({ err: errText(err) }, "could not sample active threads"),
    );
  }

  /**
   * Close every connection and write what is buffered, retrying failed writes for up to
   * `flushTimeoutMs`; rejects (after logging what is lost) if the database never took it.
   */
  async stop(flushTimeoutMs = 0): Promise<void> {
    this.stopped = true;
    if (this.contactTimer) clearInterval(this.contactTimer);
    if (this.peakTimer) clearInterval(this.peakTimer);
    // An unfollowed target's connection never started: stopping it would write "stopped" over
    // the follower's state. Stopping an open one ends the observed activity (onStatus).
    for (const rt of this.targets.values()) if (rt.followed) rt.connection.stop();
    await this.targetStates.flush().catch(() => {}); // logged by the writer; the next holder writes its own
    await this.loaded(); // events waiting for a thread's read-back reach the writer before it closes
    try {
      await Promise.all([
        this.writer.close(flushTimeoutMs),
        this.planLimitWriter.close(flushTimeoutMs).catch((err: unknown) => {
          this.opts.log.error(
            { err: errText(err), backlog: this.planLimitWriter.backlog },
            "plan limits could not reach the database before exit; they are lost",
          );
        }),
      ]);
    } catch (err) {
      this.opts.log.error(
        { err: errText(err), backlog: this.writer.backlog },
        "buffered writes could not reach the database before exit; they are lost",
      );
      throw err;
    }
  }

  /** Threads heard from since then are held in memory (threads-repository.ts isHeldThread). */
  heldSinceMs(atMs = this.now()): number {
    return atMs - this.opts.config.retention.threadMemoryDays * DAY_MS;
  }

  /** The stored working set of these targets (default: every enabled one; a start, a takeover). */
  loadHeld(targetIds?: readonly string[]): Promise<StoredThread[]> {
    return loadThreads({
      pool: this.opts.pool,
      perTarget: MAX_THREADS_PER_TARGET,
      ...(targetIds ? { targetIds } : {}),
      heldSinceMs: this.heldSinceMs(),
    });
  }

  /**
   * Drop from memory every thread that left the working set (isHeldThread: not owed, not loaded in
   * its app-server, not heard from for `retention.threadMemoryDays`). Runs every minute; memory
   * then follows what is live, not the stored history. Returns how many were dropped.
   */
  forgetCold(atMs = this.now()): number {
    const since = this.heldSinceMs(atMs);
    let n = 0;
    for (const t of this.threads.values()) {
      // An observed span or wait not yet counted keeps it (a notLoaded thread has none).
      if (isHeldThread(t, since) || t.activity?.kind || t.wait) continue;
      this.forget(t, this.targets.get(t.targetId));
      n++;
    }
    if (n > 0) this.opts.log.debug({ threads: n, held: this.threads.size }, "threads left memory");
    return n;
  }

  private forget(t: ThreadState, rt: TargetRuntime | undefined): void {
    this.threads.delete(t.id);
    this.threadsForgotten++;
    if (rt) {
      rt.observing.delete(t.id);
      rt.metadataRead?.delete(t.id);
    }
    this.notify((l) => l.threadForgotten?.(t));
  }

  /** Threads with an open recovery obligation (their totals are a lower bound), optionally of one target. */
  owedThreads(targetId?: string): ThreadState[] {
    const out: ThreadState[] = [];
    for (const t of this.threads.values())
      if (t.owedSinceMs !== null && (targetId === undefined || t.targetId === targetId)) out.push(t);
    return out;
  }

  /**
   * Record that a thread's total may be unread: in memory at once (views, metrics, the observer
   * after a reconnect) and in the database through the writer, whose pending data also holds
   * "last contact" back until the mark is written.
   */
  private markOwed(rt: TargetRuntime, threadId: string, reason: OwedReason): void {
    const now = this.now();
    if (!this.threads.has(threadId) && this.full(rt)) return;
    // The mark goes to the writer at once, whatever memory holds: the scan's `settled()` waits for it.
    this.writer.enqueue([{ op: "owed", mark: { threadId, targetId: rt.config.name, reason, atMs: now } }]);
    this.opts.log.debug({ target: rt.config.name, threadId, reason }, "owed marked");
    const apply = () => {
      const prev = this.threads.get(threadId);
      if (!prev && this.full(rt)) return;
      const base = prev ?? emptyThread(threadId, rt.config.name, now);
      const next: ThreadState = {
        ...base,
        owedSinceMs: base.owedSinceMs ?? now,
        owedAtMs: now,
        owedReason: base.owedReason ?? reason,
      };
      this.threads.set(threadId, next);
      if (base.owedSinceMs === null) this.notify((l) => l.threadChanged?.(next));
    };
    if (!this.afterLoad(rt, threadId, apply)) apply();
  }

  // ── Threads heard from again (the working set): read from the database before any change ──

  /** Per thread being read back: what waits for it (in arrival order) and when the first came. */
  private readonly loading = new Map<string, { waiting: (() => void)[]; sinceMs: number }>();
  /** The ids of the next read (one statement per tick for every thread met again meanwhile). */
  private loadBatch: { rt: TargetRuntime; id: string }[] = [];
  private readonly loadsInFlight = new Set<Promise<void>>();

  /**
   * A thread the fleet does not hold may be history (it left the working set, or was never loaded):
   * its stored state — metadata, model, counted total, goal — must be the base of the change, or
   * the change would start from nothing (its usage counted as model "unknown", its metadata unknown
   * in every view). So `then` runs once the thread is read back, after anything already waiting
   * for it; true when it was deferred. For a thread in memory it is not deferred (false).
   */
  private afterLoad(rt: TargetRuntime, threadId: string, then: () => void): boolean {
    const pending = this.loading.get(threadId);
    if (pending) {
      pending.waiting.push(then);
      return true;
    }
    if (this.threads.has(threadId)) return false;
    this.loading.set(threadId, { waiting: [then], sinceMs: this.now() });
    if (this.loadBatch.length === 0) setImmediate(() => this.loadNow());
    this.loadBatch.push({ rt, id: threadId });
    return true;
  }

  private loadNow(): void {
    const batch = this.loadBatch;
    this.loadBatch = [];
    if (batch.length === 0) return;
    const load = readThreads({ pool: this.opts.pool, ids: batch.map((b) => b.id) })
      .catch((err: unknown) => {
        // The database is away: go on from nothing, as before the working set (a row's metadata is
        // safe: a write never erases a known value); usage received meanwhile may read "unknown".
        this.opts.log.warn(
          { err: errText(err), threads: batch.length },
          "could not read back threads heard from again; going on without their stored state",
        );
        return [] as StoredThread[];
      })
      .then((rows) => {
        const stored = new Map(rows.map((r) => [r.id, r]));
        for (const { rt, id } of batch) {
          const row = stored.get(id);
          if (row && this.holdStored(rt, row)) this.threadsReadBack++;
          const waiting = this.loading.get(id)?.waiting ?? [];
          this.loading.delete(id);
          for (const run of waiting) {
            try {
              run();
            } catch (err) {
              this.opts.log.error({ err: errText(err), threadId: id }, "event after read-back failed");
            }
          }
        }
      })
      .finally(() => this.loadsInFlight.delete(load));
    this.loadsInFlight.add(load);
  }

  /**
   * Whether `rt` holds its bound of threads (a hostile peer could invent endless ids). Counted by the
   * thread table itself as threads come and go: no count of our own to drift.
   */
  private full(rt: TargetRuntime): boolean {
    return this.threads.threadsOf(rt.config.name) >= MAX_THREADS_PER_TARGET;
  }

  /** Hold a stored thread of `rt` not in memory yet, within its bound; true when it was taken. */
  private holdStored(rt: TargetRuntime, s: StoredThread): boolean {
    if (this.threads.has(s.id) || this.full(rt)) return false;
    const t = threadFromStored(s);
    this.threads.set(t.id, t);
    this.notify((l) => l.threadChanged?.(t));
    return true;
  }

  /** Until every thread being read back has taken what waited for it (into the writer). */
  private async loaded(): Promise<void> {
    while (this.loadBatch.length > 0 || this.loadsInFlight.size > 0) {
      if (this.loadBatch.length > 0) this.loadNow();
      await Promise.all([...this.loadsInFlight]);
    }
  }

  /** The first arrival of what still waits for a read-back (in memory only, not yet enqueued). */
  private get loadingSinceMs(): number | null {
    let min: number | null = null;
    for (const l of this.loading.values()) if (min === null || l.sinceMs < min) min = l.sinceMs;
    return min;
  }

  /** Wait until everything received so far is in the database (tests, shutdown). */
  async flush(): Promise<void> {
    await this.loaded();
    await Promise.all([this.writer.flush(), this.targetStates.flush(), this.planLimitWriter.flush()]);
  }

  /**
   * Follow a target added at runtime (the admin API) and connect to it. Its database row must
   * exist (the caller writes it first: thread rows reference it). Throws when the name is taken.
   */
  addTarget(tc: TargetConfig, lastContactAtMs: number | null = null): void {
    if (this.targets.has(tc.name)) throw new Error(`target ${tc.name} is already followed`);
    const rt = this.register(tc, lastContactAtMs);
    if (!this.followAll) this.membershipChanged?.();
    else if (this.opts.follow?.(tc.name) ?? true) {
      // Its stored working set first (a resumed or re-added target's owed threads must be in memory
      // when the observer re-arms their recovery at connect), as a start or a takeover loads it.
      void this.loadHeld([tc.name])
        .then((stored) => {
          for (const s of stored) this.holdStored(rt, s);
        })
        .catch((err: unknown) =>
          this.opts.log.warn(
            { err: errText(err), target: tc.name },
            "could not load the target's stored threads; following it without them",
          ),
        )
        .finally(() => {
          if (!this.stopped && this.targets.get(tc.name) === rt && !rt.followed)
            this.startFollowing(rt, null);
        });
    }
  }

  /**
   * Stop following a target (the admin API): close its connection — listeners and the row see a
   * last `stopped` state — and forget it. Its threads stay, in memory (a paused or redefined target
   * keeps them; the working-set sweep applies) and in the database.
   */
  removeTarget(name: string): boolean {
    const rt = this.targets.get(name);
    if (!rt) return false;
    if (rt.followed) rt.connection.stop();
    this.targets.delete(name);
    this.targetsVersion++;
    this.membershipChanged?.();
    return true;
  }

  /** A target was deleted: its threads leave memory (they stay in the database). Not while registered. */
  forgetThreadsOf(name: string): void {
    if (this.targets.has(name)) return;
    for (const t of this.threads.values()) if (t.targetId === name) this.forget(t, undefined);
  }

  private register(tc: TargetConfig, lastContactAtMs: number | null): TargetRuntime {
    const { config, log, metrics } = this.opts;
    const id = tc.name;
    const tlog = log.child({ target: id });
    let rt!: TargetRuntime;
    const connection = new TargetConnection(
      {
        url: tc.url,
        token: tc.token,
        ca: tc.ca ?? undefined,
        ...config.observer,
        clientVersion: this.opts.version,
        handshakeGate: this.handshakeGate,
        now: this.now,
      },
      {
        onOpen: () => {
          const previousContact = rt.lastContactAtMs;
          const openedAtMs = this.now();
          rt.connectedSinceMs = openedAtMs;
          rt.contactScanned = false;
          this.persistTarget(rt);
          // Plan limits are read first, before anything is subscribed: a read later on would hold
          // up the subscription of a thread that turns active meanwhile (measured: 50 ms on 0.150.0).
          rt.planLimits.onOpen();
          void rt.observer.onOpen().finally(() => {
            tlog.debug({ previousContact }, "backfill done");
          });
        },
        onEvent: (event) => this.handleEvent(rt, event),
        onStatus: (status) => {
          const wasOpen = rt?.status.state === "open";
          if (!rt) return;
          rt.status = status;
          if (status.state !== "open") {
            if (wasOpen) {
              if (rt.contactScanned) rt.lastContactAtMs = this.now();
              rt.contactScanned = false;
              rt.observer.onClose();
              rt.planLimits.onClose();
              this.stopObserving(rt);
            }
            rt.connectedSinceMs = null;
          }
          if (status.state === "backoff")
            tlog.warn({ reason: status.reason, error: status.error }, "target unavailable");
          else tlog.info({ state: status.state }, "target state");
          metrics.setTargetState(id, status.state);
          // A target this instance no longer follows is written by its new holder, not by us.
          if (rt.followed) this.persistTarget(rt);
          this.notify((l) => l.targetChanged?.(rt));
        },
        onInvalid: (reason, method) => {
          rt.invalidFrames++;
          rt.lastInvalid = `${method ? `${method}: ` : ""}${reason}`;
          metrics.invalidFrames.inc(id);
          if (rt.invalidFrames <= 10 || rt.invalidFrames % 1000 === 0)
            tlog.warn({ reason, method, count: rt.invalidFrames }, "invalid frame ignored");
        },
        onSent: (frame) => this.opts.onSent?.(id, frame),
      },
    );
    const observer = new TargetObserver(connection, config.observer, {
      now: this.now,
      lastContactAtMs: () => rt.lastContactAtMs,
      emit: (event) => this.handleEvent(rt, event, true),
      log: (level, msg, extra) => tlog[level](extra ?? {}, msg),
      markOwed: (threadId, reason) => this.markOwed(rt, threadId, reason),
      owedThreads: () => this.owedThreads(id).map((t) => t.id),
      isOwed: (threadId) => {
        const t = this.threads.get(threadId);
        return t !== undefined && t.targetId === id && t.owedSinceMs !== null;
      },
      heldLoaded: () => {
        const ids: string[] = [];
        for (const t of this.threads.values())
          if (t.targetId === id && t.status !== "notLoaded") ids.push(t.id);
        return ids;
      },
      scanned: () => {
        // Everything the scan found owed is enqueued; only once it is in the database may "last
        // contact" move to this open (a crash before would leave those threads behind the new
        // cutoff with no obligation). A write that keeps failing keeps the old contact.
        const openedAtMs = rt.connectedSinceMs;
        if (openedAtMs === null) return;
        void this.writer.settled().then(() => {
          if (rt.connectedSinceMs !== openedAtMs || rt.status.state !== "open") return;
          rt.contactScanned = true;
          rt.lastContactAtMs = Math.max(rt.lastContactAtMs ?? 0, openedAtMs);
          this.persistTarget(rt);
        });
      },
    });
    const planLimits = new PlanLimitTracker({
      targetId: id,
      team: () => rt.config.team,
      connection,
      loader: this.planLimitLoader,
      writer: this.planLimitWriter,
      pollMs: config.observer.rateLimitPollMs,
      now: this.now,
      publish: (change) => this.notify((l) => l.limitsChanged?.(change)),
      log: (level, msg, extra) => tlog[level](extra ?? {}, msg),
      busy: () => {
        for (const threadId of rt.observing) if (this.threads.get(threadId)?.status === "active") return true;
        return false;
      },
    });
    rt = {
      config: tc,
      connection,
      observer,
      planLimits,
      status: connection.current,
      lastEventAtMs: null,
      lastContactAtMs,
      connectedSinceMs: null,
      invalidFrames: 0,
      lastInvalid: null,
      unknownMethods: null,
      metadataRead: null,
      contactScanned: false,
      followed: false,
      followedBy: null,
      observing: new Set(),
    };
    this.targets.set(id, rt);
    this.targetsVersion++;
    return rt;
  }

  /** One event from one target: reduce, persist, let the observer react, tell listeners. */
  private handleEvent(rt: TargetRuntime, received: FleetEvent, synthetic = false, readBack = false): void {
    const about =
      "thread" in received ? received.thread.id : "threadId" in received ? received.threadId : null;
    // An event carrying the whole thread (thread/started, a listed or read thread) is its own base.
    if (about && !readBack && !("thread" in received)) {
      const connection = rt.connectedSinceMs;
      const later = () => {
        // Read back: reduced on what memory holds now (the stored thread, or nothing: a new one).
        this.handleEvent(rt, received, synthetic, true);
        // Its connection closed meanwhile: what the thread does from now on is not observed.
        if (rt.connectedSinceMs !== connection) this.stopObservingThread(rt, about, this.now());
      };
      if (this.afterLoad(rt, about, later)) return;
    }
    const id = rt.config.name;
    const event = saneTimes(received, this.now());
    // A hostile peer can invent endless method names: count at most MAX_METHOD_NAMES distinct ones.
    const label =
      event.kind === "unknown"
        ? boundedName(rt.unknownMethods, event.method)
        : event.kind === "ignored"
          ? event.method
          : event.kind;
    this.opts.metrics.notifications.inc(label);
    if (event.kind === "unknown") {
      rt.unknownMethods ??= new Map();
      rt.unknownMethods.set(label, (rt.unknownMethods.get(label) ?? 0) + 1);
      return;
    }
    if (event.kind === "ignored") return;
    if (!synthetic) rt.lastEventAtMs = this.now();
    // Plan limits are about the account, not a thread: merged at the collector's receive time.
    if (event.kind === "rateLimits") rt.planLimits.receive(event.reports, this.now());
    if (event.kind === "tokenUsage" && debugEnabled(this.opts.log))
      this.opts.log.debug(
        { target: id, threadId: event.threadId, total: event.total.totalTokens, synthetic },
        "usage received",
      );
    const threadId = about; // saneTimes changes times, never ids
    if (threadId) {
      const prev = this.threads.get(threadId);
      if (!prev && this.full(rt)) {
        rt.invalidFrames++;
        rt.lastInvalid = `more than ${MAX_THREADS_PER_TARGET} threads: ignoring new thread ids`;
        return;
      }
      const { state, ops, changed } = reduce(prev, id, event, this.now());
      if (state) {
        this.threads.set(threadId, state);
        if (state.activity) rt.observing.add(threadId);
        this.writer.enqueue(ops);
        if (changed) this.notify((l) => l.threadChanged?.(state));
        if (
          event.kind === "turnCompleted" &&
          state.gitOrigin === null &&
          !rt.metadataRead?.has(threadId) &&
          (rt.metadataRead?.size ?? 0) < 10_000
        ) {
          rt.metadataRead ??= new Set();
          rt.metadataRead.add(threadId);
          void rt.observer.readMetadata(threadId);
        }
      }
    }
    if (!synthetic) rt.observer.onEvent(event);
    this.notify((l) => l.event?.(id, event));
  }

  private persistTarget(rt: TargetRuntime): void {
    const s = rt.status;
    this.targetStates.write({
      id: rt.config.name,
      state: s.state,
      stateReason: s.reason,
      stateSinceMs: s.sinceMs,
      lastError: s.error,
      userAgent: s.userAgent,
      lastEventAtMs: rt.lastEventAtMs,
      // The next process backfills from the stored last contact: never claim contact past events
      // that are still only in memory (a crash would lose them, and the backfill would skip them).
      lastContactAtMs:
        rt.lastContactAtMs === null
          ? null
          : Math.min(
              rt.lastContactAtMs,
              this.writer.pendingSinceMs ?? Infinity,
              this.loadingSinceMs ?? Infinity,
            ),
      connectedSinceMs: rt.connectedSinceMs,
    });
  }

  /**
   * The target's connection closed (or it was handed over): what each of its threads did from now
   * until its next reported status is not observed (issue 15). The spans so far are counted.
   */
  private stopObserving(rt: TargetRuntime): void {
    const atMs = this.now();
    for (const threadId of rt.observing) this.stopObservingThread(rt, threadId, atMs);
  }

  private stopObservingThread(rt: TargetRuntime, threadId: string, atMs: number): void {
    rt.observing.delete(threadId);
    const t = this.threads.get(threadId);
    if (!t) return;
    const { state, ops } = stopObserving(t, atMs);
    this.threads.set(threadId, state);
    this.writer.enqueue(ops);
  }

  /**
   * Count the observed time so far of every thread spending time of a counted kind (a wait of
   * hours shows in today's figures within a minute, not only when it ends).
   */
  checkpointObserved(): void {
    const atMs = this.now();
    for (const rt of this.targets.values()) {
      if (!rt.followed) continue;
      for (const threadId of rt.observing) {
        const t = this.threads.get(threadId);
        if (!t?.activity?.kind) continue;
        const { state, ops } = checkpointActivity(t, atMs);
        this.threads.set(threadId, state);
        this.writer.enqueue(ops);
      }
    }
  }

  private touchContacts(): void {
    for (const rt of this.targets.values()) {
      if (!rt.followed || rt.status.state !== "open" || !rt.contactScanned) continue;
      rt.lastContactAtMs = this.now();
      this.persistTarget(rt);
    }
  }

  // --- Cluster (issue 12): follow only the targets whose lease this instance holds. ---

  private startFollowing(rt: TargetRuntime, by: string | null): void {
    rt.followed = true;
    this.targetsVersion++;
    rt.followedBy = by;
    rt.connection.start();
  }

  /**
   * Start following targets whose leases this instance has just acquired. Each is loaded as a
   * restart loads it — its threads (owed ones always) and its last contact, as its previous holder
   * left them in the database — then connected, so the observer backfills the gap and recovers
   * what is owed. Returns the names it started following.
   */
  async follow(names: readonly string[], by: string): Promise<string[]> {
    const { pool } = this.opts;
    const wanted = names.filter((n) => this.targets.get(n)?.followed === false);
    if (wanted.length === 0) return [];
    const [stored, rows] = await Promise.all([this.loadHeld(wanted), listTargetRows({ pool })]);
    const contact = new Map(rows.map((r) => [r.id, r.lastContactAtMs]));
    for (const s of stored) {
      const rt = this.targets.get(s.targetId);
      if (!rt || rt.followed) continue;
      const t = threadFromStored(s);
      this.threads.set(t.id, t);
      this.notify((l) => l.threadChanged?.(t));
    }
    const started: string[] = [];
    for (const name of wanted) {
      const rt = this.targets.get(name);
      if (!rt || rt.followed) continue;
      this.opts.log.debug(
        { target: name, stored: contact.get(name) ?? null, inMemory: rt.lastContactAtMs },
        "follow: last contact",
      );
      rt.lastContactAtMs = contact.get(name) ?? rt.lastContactAtMs;
      this.startFollowing(rt, by);
      started.push(name);
    }
    return started;
  }

  /**
   * Stop following a target (its lease is handed over, or lost): close its connection without
   * writing its row (the next holder does). `settleMs`: wait up to this long for what it received
   * to be written (an orderly handover); 0 for a lost lease, which must stop at once.
   */
  async unfollow(name: string, settleMs = 0): Promise<void> {
    const rt = this.targets.get(name);
    if (!rt?.followed) return;
    rt.followed = false;
    this.targetsVersion++;
    rt.followedBy = null;
    rt.connection.stop();
    if (settleMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.writer.settled(),
        new Promise<void>((r) => {
          timer = setTimeout(r, settleMs);
        }),
      ]);
      clearTimeout(timer);
    }
  }

  /** Who follows each target, as the lease table says (views; listeners hear of changes). */
  setFollowers(byTarget: ReadonlyMap<string, string>): void {
    for (const [name, rt] of this.targets) {
      const by = rt.followed ? rt.followedBy : (byTarget.get(name) ?? null);
      if (rt.followedBy === by) continue;
      rt.followedBy = by;
      this.notify((l) => l.targetChanged?.(rt));
    }
  }

  // ── Replication (cluster/replica.ts): state of targets another instance follows ──────────────

  /**
   * A thread of a target another instance follows changed there: take its state and tell the
   * listeners (live feed, alerts). Never written to the database (the follower writes) and
   * refused for a target this instance follows. False when refused or nothing changed.
   */
  applyRemoteThread(remote: ThreadState): boolean {
    const rt = this.targets.get(remote.targetId);
    if (rt?.followed) return false;
    // Activity is observed by the follower only: a replica that becomes the follower starts
    // observing at the next reported status, never from the old follower's span (issue 15).
    const state: ThreadState = { ...remote, activity: null, wait: null };
    const prev = this.threads.get(state.id);
    if (prev && sameFields(prev, state)) return false;
    if (!prev && rt && this.full(rt)) return false;
    this.threads.set(state.id, state);
    this.notify((l) => l.threadChanged?.(state));
    return true;
  }

  /** A target another instance follows changed state there; like applyRemoteThread. */
  applyRemoteTarget(name: string, remote: RemoteTargetState): boolean {
    const rt = this.targets.get(name);
    if (!rt || rt.followed) return false;
    const next = {
      status: remote.status,
      lastEventAtMs: remote.lastEventAtMs,
      lastContactAtMs: remote.lastContactAtMs,
      connectedSinceMs: remote.connectedSinceMs,
      lastInvalid: remote.lastInvalid,
    };
    const prev = {
      status: rt.status,
      lastEventAtMs: rt.lastEventAtMs,
      lastContactAtMs: rt.lastContactAtMs,
      connectedSinceMs: rt.connectedSinceMs,
      lastInvalid: rt.lastInvalid,
    };
    if (JSON.stringify(prev) === JSON.stringify(next)) return false;
    Object.assign(rt, next);
    this.notify((l) => l.targetChanged?.(rt));
    return true;
  }

  /** Usage counted by the instance that follows `u.targetId` (live feed, alert spend). */
  applyRemoteUsage(u: { threadId: string; targetId: string; atMs: number; totalTokens: number }): void {
    if (this.targets.get(u.targetId)?.followed) return;
    this.notify((l) => l.usageCounted?.(u));
  }

  /** A plan-limit row of a target another instance follows (its live feed shows it too). */
  applyRemoteLimits(row: LimitRow): void {
    if (this.targets.get(row.target)?.followed) return;
    const change = limitChange(row.target, row.limitId, () => row);
    this.notify((l) => l.limitsChanged?.(change));
  }

  /** An event of a target another instance follows (failed turns, for the alert rules). */
  applyRemoteEvent(targetId: string, event: FleetEvent): void {
    if (this.targets.get(targetId)?.followed) return;
    this.notify((l) => l.event?.(targetId, event));
  }

  private notify(fn: (l: FleetListener) => void): void {
    for (const l of this.listeners) {
      try {
        fn(l);
      } catch (err) {
        this.opts.log.error({ err: errText(err) }, "fleet listener failed");
      }
    }
  }
}

/** What replicates of a target's runtime (cluster/replica.ts); the rest is local to its follower. */
export interface RemoteTargetState {
  status: ConnectionStatus;
  lastEventAtMs: number | null;
  lastContactAtMs: number | null;
  connectedSinceMs: number | null;
  lastInvalid: string | null;
}

/** Shallow equality of two thread states (arrays by content): a replayed state changes nothing. */
function sameFields(a: ThreadState, b: ThreadState): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof ThreadState>;
  for (const k of keys) {
    const x = a[k];
    const y = b[k];
    if (x === y) continue;
    if (Array.isArray(x) && Array.isArray(y) && JSON.stringify(x) === JSON.stringify(y)) continue;
    return false;
  }
  return true;
}

const DAY_MS = 86_400_000;

/** How often the most threads active at once is sampled (activity_peak). */
const PEAK_SAMPLE_MS = 15_000;

/**
 * 256 handshakes at once, each holding its slot 500 ms at most (issue 13, 10,000 simulated
 * servers: RSS 470–484 MB with 256, 465 MB with 64, ~600 MB without a gate; no slower to follow).
 * Over a 50 ms round trip a handshake (TCP, upgrade, initialize) takes ~150 ms: 256 slots still
 * open ~1,700 targets a second, and targets that never answer cannot slow it below 512 a second.
 */
const HANDSHAKE_GATE = { max: 256, holdMaxMs: 500 };

const MAX_METHOD_NAMES = 100;
/**
 * Threads held in memory per target (loaded at start: the newest this many of each target's
 * working set; new ids past it are ignored). Far above any real developer's working set (threads
 * loaded, owed or heard from within `retention.threadMemoryDays`), low enough that one hostile
 * peer cannot exhaust memory — and per target, so one target's flood never displaces another's.
 */
export const MAX_THREADS_PER_TARGET = 50_000;

/** The name itself while fewer than MAX_METHOD_NAMES are known, else "(other unknown)". */
function boundedName(known: Map<string, number> | null, name: string): string {
  return !known || known.has(name) || known.size < MAX_METHOD_NAMES ? name : "(other unknown)";
}
