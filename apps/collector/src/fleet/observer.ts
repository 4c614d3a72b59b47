/**
 * Decides which threads of one target to follow (DESIGN rule 3, "Don't pin threads"):
 * subscribe with `thread/resume {excludeTurns:true}` when a thread turns active, unsubscribe once
 * it has been idle for `idleUnsubscribeMs`, and after every (re)connect backfill what was missed
 * with `thread/list`, `thread/turns/list` and a budgeted cold resume for token totals.
 */

import type { OwedReason } from "@codex-fleet/db/repositories/ingest-types";
import { WIRE_LIMITS } from "@codex-fleet/protocol/bounds";
import type { FleetEvent, TurnInfo } from "@codex-fleet/protocol/events";
import { toThreadInfo, toTurnInfo } from "@codex-fleet/protocol/normalize";
import { ThreadSchema, TurnSchema } from "@codex-fleet/protocol/wire";
import { z } from "zod";
import { errText } from "../lib/err-text.ts";
import { RpcError, type TargetConnection } from "./connection.ts";

export interface ObserverOptions {
  idleUnsubscribeMs: number;
  backfillLookbackMs: number;
  /** How long a cold resume waits for the replayed token total before giving up on that thread. */
  coldResumeWaitMs?: number;
  /** Most threads cold-resumed per connect (each one loads a thread into the developer's server). */
  maxColdResumes?: number;
}

export interface ObserverDeps {
  now(): number;
  /** When the collector last had an open connection to this target (bounds the backfill). */
  lastContactAtMs(): number | null;
  /** Synthetic events from backfill go through the same path as live ones. */
  emit(event: FleetEvent): void;
  log(level: "info" | "warn" | "debug", msg: string, extra?: Record<string, unknown>): void;
  /**
   * Persist a recovery obligation for the thread (DESIGN "What is owed is persistent"): its
   * total may be unread. Cleared only by the write that counts a total received after it.
   */
  markOwed?(threadId: string, reason: OwedReason): void;
  /** This target's threads with an open obligation (as persisted, plus marks being written). */
  owedThreads?(): string[];
  /** Whether the thread has an open obligation (the same set as `owedThreads`, one lookup). */
  isOwed?(threadId: string): boolean;
  /**
   * The scan after an open is done and every obligation it found is marked: only now may "last
   * contact" move to this connection's open time (the next backfill starts from it).
   */
  scanned?(): void;
  /**
   * This target's threads the collector holds as loaded (any status but `notLoaded`), read just
   * before `thread/loaded/list` at each connect: those the server no longer lists unloaded while
   * the collector was away, and are marked `notLoaded`.
   */
  heldLoaded?(): string[];
}

/** A paging cursor goes back to the server: one past the limit ends paging (bounds.ts). */
const Cursor = z.string().max(WIRE_LIMITS.cursor).nullish().catch(null);
const ThreadPageSchema = z.object({ data: z.array(z.unknown()), nextCursor: Cursor });
/** Loaded thread ids: one past the id limit is skipped, not followed (bounds.ts). */
const LoadedPageSchema = z.object({
  data: z
    .array(z.string())
    .transform((ids) => ids.filter((id) => id.length > 0 && id.length <= WIRE_LIMITS.id)),
  nextCursor: Cursor,
});
const TurnPageSchema = z.object({ data: z.array(z.unknown()) });

type SubState = "subscribing" | "subscribed" | "unsubscribing";

/** Waits before asking again to subscribe to a thread still active whose rollout did not exist yet. */
const SUBSCRIBE_RETRY_MS = [25, 50, 100, 200, 400] as const;
/**
 * How long to wait before listing a thread's turns again while the list shows a turn as over but
 * without an end time (`listEnded`): about 2 s in all, then what is listed is taken as it is.
 */
const UNFINISHED_RETRY_MS = [100, 250, 500, 1000] as const;

/**
 * Every `ThreadSourceKind` of app-server 0.150.0 … 0.171.0 (each accepted, measured): interactive
 * (cli, vscode, exec, appServer), sub-agents (spawned, review, compact, other) and unknown.
 */
export const THREAD_SOURCE_KINDS = [
  "cli",
  "vscode",
  "exec",
  "appServer",
  "subAgent",
  "subAgentReview",
  "subAgentCompact",
  "subAgentThreadSpawn",
  "subAgentOther",
  "unknown",
] as const;

/** Follows the threads of one target over its connection. */
export class TargetObserver {
  private subs = new Map<string, SubState>();
  private idleTimers = new Map<string, NodeJS.Timeout>();
  private coldWaiters = new Map<string, () => void>();
  /** Threads whose latest known status is active (never unsubscribed while active). */
  private active = new Set<string>();
  /**
   * Threads that were active while we were not yet subscribed: their last total may have been
   * emitted before our resume took effect (a turn shorter than the resume round trip). The next
   * total covers it (Δtotal); if the thread unloads first, a cold resume replays the total.
   */
  private missed = new Set<string>();
  /** Threads with a cold resume queued or running (an unload sends notLoaded and thread/closed). */
  private recovering = new Set<string>();
  /**
   * Owed threads re-armed at an unload by their obligation alone, once per connection: one that
   * unloaded while the scan ran, or whose cold resume brought no total in time. Once, so that a
   * thread whose resume never replays a total is not loaded into the developer's server again
   * and again (it stays shown pending; the next connection tries again).
   */
  private rearmed = new Set<string>();
  /**
   * Threads that turned active while we were not subscribed, and when (our clock): the end of the
   * turn they ran may reach nobody — a brand-new thread cannot be subscribed before its first turn
   * is persisted, and a short turn ends before the resume takes effect (facts §2). A turn's end is
   * its outcome (a failure and its error), not only its tokens: when such a thread leaves active
   * without a live `turn/completed`, its recent turns are read back (`readBackTurns`).
   */
  private endUnheard = new Map<string, number>();
  /** Threads this connection has had a live event about (see `onOpen`). */
  private heard = new Set<string>();
  private coldQueue: Promise<void> = Promise.resolve();
  private generation = 0;
  /** False once this server refused `sourceKinds` (a version that renamed a kind): list without it. */
  private listEveryKind = true;

  constructor(
    private readonly conn: TargetConnection,
    private readonly opts: ObserverOptions,
    private readonly deps: ObserverDeps,
  ) {}

  /** Threads currently subscribed (tests and metrics). */
  get subscribed(): string[] {
    return [...this.subs].filter(([, s]) => s === "subscribed").map(([id]) => id);
  }

  /** Threads with a cold resume queued or running (tests and metrics). */
  get recoveringThreads(): string[] {
    return [...this.recovering];
  }

  /** The connection is open and initialized: find threads, subscribe to active ones, backfill. */
  async onOpen(): Promise<void> {
    const gen = ++this.generation;
    this.reset();
    const cutoffMs = this.deps.lastContactAtMs() ?? this.deps.now() - this.opts.backfillLookbackMs;
    // Obligations persisted by an earlier connection or process: "last contact" has moved past
    // them, so the updatedAt test below no longer finds them; re-arm each one here.
    const owed = new Set(this.deps.owedThreads?.() ?? []);
    try {
      const held = this.deps.heldLoaded?.() ?? [];
      const listing = await this.loadedThreads();
      const loaded = new Set(listing.ids);
      // A thread that unloaded (or was archived) while we were away sent its notLoaded to nobody,
      // and `thread/list` below skips it when it was last updated before the cutoff: without this
      // its stored status (systemError, active, waiting…) would stand, and its alerts fire, forever.
      // Synchronous right after the answer: a later status change comes in a later frame.
      // A thread heard from on this connection meanwhile is current whatever the list says.
      if (listing.complete && gen === this.generation) {
        const atMs = this.deps.now();
        for (const id of held)
          if (!loaded.has(id) && !this.heard.has(id))
            this.deps.emit({
              kind: "threadStatus",
              atMs,
              threadId: id,
              status: { type: "notLoaded", activeFlags: [] },
            });
      }
      const recent = await this.recentThreads(cutoffMs, loaded);
      if (gen !== this.generation) return;
      for (const t of recent) {
        if (t.status.type === "active") this.active.add(t.id);
        // A loaded thread updated since we last saw this target may owe us usage we never got (we
        // were away, or died before writing it): a warm resume replays nothing (facts §2), so the
        // next live total must bring it, or a cold resume once the thread unloads (recoverMissed).
        // `updatedAt` moves when a turn completes (measured), in whole seconds.
        const updated = updatedSince(t.updatedAtMs, cutoffMs);
        if (t.status.type === "active") {
          // Active and not yet subscribed: the running turn may end before our resume takes effect,
          // and its total then reaches nobody (a warm resume replays nothing). Its `updatedAt` only
          // moves when a turn completes, so the test below would miss a thread whose turn began
          // before the cutoff. Owed until the next total, or a cold resume at its unload.
          this.missed.add(t.id);
          this.deps.markOwed?.(t.id, "activeBeforeSubscribe");
        } else if (t.status.type !== "notLoaded" && updated) {
          this.missed.add(t.id);
          this.deps.markOwed?.(t.id, "loadedAtContact");
        } else if (updated) this.deps.markOwed?.(t.id, "updatedWhileAway");
        if (t.status.type === "active") void this.subscribe(t.id);
        else if (loaded.has(t.id) && t.status.type !== "notLoaded") this.scheduleIdleCheck(t.id);
      }
      for (const id of owed) if (loaded.has(id)) this.missed.add(id);
      this.deps.log("debug", "scan", {
        cutoffMs,
        loaded: [...loaded],
        recent: recent.map((t) => `${t.id}:${t.status.type}:${t.updatedAtMs}`),
        owed: [...owed],
      });
      this.deps.scanned?.();
      for (const t of recent) {
        if (gen !== this.generation) return;
        await this.backfillTurns(t.id, cutoffMs);
      }
      // Token totals missed while away: only a cold resume replays them (facts §5), and it loads
      // the thread into the developer's server, so only threads updated since we last saw them
      // and threads still owed a total (persisted obligations), each once.
      const cold = recent
        .filter((t) => t.status.type === "notLoaded" && updatedSince(t.updatedAtMs, cutoffMs))
        .map((t) => t.id);
      const queued = new Set(cold);
      for (const id of owed) if (!loaded.has(id) && !queued.has(id)) cold.push(id);
      this.deps.log("debug", "cold resumes at open", { cold });
      let budget = this.opts.maxColdResumes ?? 50;
      for (const id of cold) {
        if (gen !== this.generation || budget <= 0) return;
        budget--;
        await this.coldResume(id);
      }
    } catch (err) {
      if (gen === this.generation) this.deps.log("warn", "backfill stopped", { error: errText(err) });
    }
  }

  /** The connection closed: every subscription is gone with it. */
  onClose(): void {
    this.generation++;
    this.reset();
  }

  /** Called for every live event of this target, after ingest saw it. */
  onEvent(event: FleetEvent): void {
    const about = "thread" in event ? event.thread.id : "threadId" in event ? event.threadId : null;
    if (about) this.heard.add(about);
    switch (event.kind) {
      case "threadStarted":
        if (event.thread.status.type === "active") {
          this.active.add(event.thread.id);
          this.armEndUnheard(event.thread.id);
          void this.subscribe(event.thread.id);
        }
        break;
      case "threadStatus":
        this.deps.log("debug", "thread status", {
          threadId: event.threadId,
          status: event.status.type,
          sub: this.subs.get(event.threadId) ?? "none",
        });
        if (event.status.type === "active") this.active.add(event.threadId);
        else this.active.delete(event.threadId);
        if (event.status.type === "active" && this.subs.get(event.threadId) !== "subscribed") {
          this.missed.add(event.threadId);
          this.deps.markOwed?.(event.threadId, "activeBeforeSubscribe");
          this.armEndUnheard(event.threadId);
        }
        if (
          event.status.type !== "active" &&
          event.status.type !== "notLoaded" &&
          this.endUnheard.has(event.threadId)
        )
          void this.readBackTurns(event.threadId);
        if (event.status.type === "notLoaded" && this.owesRecovery(event.threadId))
          this.recoverMissed(event.threadId);
        if (event.status.type === "active") {
          this.cancelIdle(event.threadId);
          void this.subscribe(event.threadId);
        } else if (event.status.type === "notLoaded") {
          this.forget(event.threadId);
        } else if (this.subs.has(event.threadId)) {
          this.scheduleIdleCheck(event.threadId);
        }
        break;
      case "threadClosed":
        if (this.owesRecovery(event.threadId)) this.recoverMissed(event.threadId);
        this.forget(event.threadId);
        break;
      case "turnCompleted":
        // Heard live: this activation's outcome is known.
        this.endUnheard.delete(event.threadId);
        break;
      case "tokenUsage":
        this.missed.delete(event.threadId);
        this.coldWaiters.get(event.threadId)?.();
        break;
      default:
        break;
    }
  }

  /**
   * Read a thread's metadata once more: `thread/started` carries `gitInfo: null` for a new thread
   * and codex fills it in after the first turn (measured), so the repository is learnt late.
   */
  async readMetadata(threadId: string): Promise<void> {
    try {
      const res = z
        .object({ thread: ThreadSchema })
        .safeParse(await this.conn.request("thread/read", { threadId }));
      if (res.success)
        this.deps.emit({
          kind: "threadMetadata",
          atMs: this.deps.now(),
          thread: toThreadInfo(res.data.thread),
        });
    } catch (err) {
      this.deps.log("debug", "thread/read failed", { threadId, error: errText(err) });
    }
  }

  /**
   * A thread unloaded: is its total possibly unread? Missed on this connection, or owed by a
   * persisted obligation (re-armed once per connection, see `rearmed`).
   */
  private owesRecovery(threadId: string): boolean {
    if (this.recovering.has(threadId)) return false;
    if (this.missed.has(threadId)) return true;
    if (this.rearmed.has(threadId) || !this.deps.isOwed?.(threadId)) return false;
    this.rearmed.add(threadId);
    return true;
  }

  /** A thread with possibly missed usage unloaded: cold-resume it once, one at a time. */
  private recoverMissed(threadId: string): void {
    this.missed.delete(threadId);
    this.recovering.add(threadId);
    const gen = this.generation;
    this.coldQueue = this.coldQueue.then(async () => {
      try {
        if (gen !== this.generation || !this.conn.isReady) return;
        this.deps.log("debug", "cold resume to recover a missed total", { threadId });
        await this.coldResume(threadId);
      } finally {
        if (gen === this.generation) this.recovering.delete(threadId);
      }
    });
  }

  private async subscribe(threadId: string): Promise<void> {
    if (this.subs.has(threadId)) return;
    this.subs.set(threadId, "subscribing");
    const gen = this.generation;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.conn.request("thread/resume", { threadId, excludeTurns: true });
        if (this.subs.get(threadId) === "subscribing") this.subs.set(threadId, "subscribed");
        this.deps.log("debug", "subscribed", { threadId, state: this.subs.get(threadId) ?? "none" });
        return;
      } catch (err) {
        // "no rollout found" until the first turn is persisted (facts §2). A new thread's first
        // turn can end within moments, its total then reaching nobody: while it is still active,
        // ask again soon (bounded), not only at its next status change.
        const again =
          err instanceof RpcError &&
          attempt < SUBSCRIBE_RETRY_MS.length &&
          gen === this.generation &&
          this.active.has(threadId) &&
          this.subs.get(threadId) === "subscribing";
        if (!again) {
          if (this.subs.get(threadId) === "subscribing") this.subs.delete(threadId);
          const level = err instanceof RpcError ? "debug" : "warn";
          this.deps.log(level, "subscribe failed", { threadId, error: errText(err), attempts: attempt + 1 });
          return;
        }
        await new Promise((r) => setTimeout(r, SUBSCRIBE_RETRY_MS[attempt]));
      }
    }
  }

  private async unsubscribe(threadId: string): Promise<void> {
    if (this.subs.get(threadId) !== "subscribed") return;
    this.subs.set(threadId, "unsubscribing");
    const gen = this.generation;
    try {
      this.deps.log("debug", "unsubscribing", { threadId });
      await this.conn.request("thread/unsubscribe", { threadId });
    } catch (err) {
      this.deps.log("debug", "unsubscribe failed", { threadId, error: errText(err) });
    } finally {
      if (this.subs.get(threadId) === "unsubscribing") this.subs.delete(threadId);
    }
    // The thread turned active while the unsubscribe was on its way: `subscribe` saw it still
    // held and did nothing, and the server has now dropped us — its running turn's total would
    // reach nobody (and, on a thread that never unloads, no cold resume would bring it back).
    if (gen === this.generation && this.active.has(threadId)) void this.subscribe(threadId);
  }

  private scheduleIdleCheck(threadId: string): void {
    this.cancelIdle(threadId);
    const timer = setTimeout(() => {
      this.idleTimers.delete(threadId);
      void this.unsubscribe(threadId);
    }, this.opts.idleUnsubscribeMs);
    timer.unref();
    this.idleTimers.set(threadId, timer);
  }

  private cancelIdle(threadId: string): void {
    const t = this.idleTimers.get(threadId);
    if (t) clearTimeout(t);
    this.idleTimers.delete(threadId);
  }

  /** The thread turned active unsubscribed: its turn's end may reach nobody (see `endUnheard`). */
  private armEndUnheard(threadId: string): void {
    if (!this.endUnheard.has(threadId)) this.endUnheard.set(threadId, this.deps.now());
  }

  /**
   * The thread left active, and no `turn/completed` was heard since it turned active unsubscribed:
   * read its latest turns and emit those that ended since then (turn rows are upserts, a failure is
   * keyed by its turn: emitting a turn already known changes nothing). The answer comes after any
   * `turn/completed` the server sent before it (one socket, in order), so a late live one wins.
   */
  private async readBackTurns(threadId: string): Promise<void> {
    const since = this.endUnheard.get(threadId);
    if (since === undefined) return;
    const gen = this.generation;
    const turns = await this.listEnded(
      threadId,
      5,
      since,
      () => gen === this.generation && this.endUnheard.get(threadId) === since,
    );
    if (turns === null) return;
    this.endUnheard.delete(threadId);
    this.deps.log("debug", "read back turns whose end was not heard", { threadId });
    this.emitEnded(threadId, turns);
  }

  private forget(threadId: string): void {
    this.cancelIdle(threadId);
    this.endUnheard.delete(threadId);
    this.active.delete(threadId);
    this.subs.delete(threadId);
  }

  private reset(): void {
    for (const t of this.idleTimers.values()) clearTimeout(t);
    this.idleTimers.clear();
    this.subs.clear();
    this.active.clear();
    this.missed.clear();
    this.recovering.clear();
    this.rearmed.clear();
    this.heard.clear();
    this.endUnheard.clear();
    for (const wake of this.coldWaiters.values()) wake();
    this.coldWaiters.clear();
  }

  /** Loaded thread ids; `complete` is false when paging stopped at its bound. */
  private async loadedThreads(): Promise<{ ids: string[]; complete: boolean }> {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const res = LoadedPageSchema.parse(
        await this.conn.request("thread/loaded/list", { cursor, limit: 500 }),
      );
      ids.push(...res.data);
      cursor = res.nextCursor ?? null;
      if (!cursor) break;
    }
    return { ids, complete: cursor === null };
  }

  /** Threads updated since the cutoff plus every loaded one, newest first, emitted as thread events. */
  private async recentThreads(cutoffMs: number, loaded: Set<string>) {
    const found: ReturnType<typeof toThreadInfo>[] = [];
    let cursor: string | null = null;
    const now = this.deps.now();
    for (let page = 0; page < 100; page++) {
      const res = ThreadPageSchema.parse(await this.listPage(cursor));
      let older = 0;
      for (const raw of res.data) {
        const parsed = ThreadSchema.safeParse(raw);
        if (!parsed.success) continue;
        const info = toThreadInfo(parsed.data);
        const recent = updatedSince(info.updatedAtMs, cutoffMs);
        if (!recent && !loaded.has(info.id)) {
          older++;
          continue;
        }
        found.push(info);
        this.deps.emit({ kind: "threadStarted", atMs: now, thread: info });
      }
      cursor = res.nextCursor ?? null;
      if (!cursor || (older > 0 && older === res.data.length)) break;
    }
    return found;
  }

  /**
   * One page of `thread/list` over every source kind: without `sourceKinds` app-server lists only
   * interactive threads, leaving out sub-agent threads (and `exec` ones) whose tokens count as
   * much. A server that refuses the list (a kind renamed in a newer version: -32600 "unknown
   * variant") is asked again without it, and the loss of coverage is logged once.
   */
  private async listPage(cursor: string | null): Promise<unknown> {
    const params = { cursor, limit: 100, sortKey: "updated_at" };
    if (!this.listEveryKind) return this.conn.request("thread/list", params);
    try {
      return await this.conn.request("thread/list", { ...params, sourceKinds: THREAD_SOURCE_KINDS });
    } catch (err) {
      if (!(err instanceof RpcError) || err.code !== -32600) throw err;
      this.listEveryKind = false;
      this.deps.log("warn", "thread/list refused sourceKinds; listing interactive threads only", {
        error: errText(err),
      });
      return this.conn.request("thread/list", params);
    }
  }

  /** Outcomes, timings and errors of turns that ended while we were away (no tokens: facts §5). */
  private async backfillTurns(threadId: string, cutoffMs: number): Promise<void> {
    const gen = this.generation;
    const turns = await this.listEnded(threadId, 50, cutoffMs, () => gen === this.generation);
    if (turns !== null) this.emitEnded(threadId, turns);
  }

  /**
   * The thread's turns that ended at or after `cutoffMs`, oldest first, or null when the server
   * refused the list or `wanted()` turned false meanwhile. A turn listed as over but without an end
   * time is one whose end the server has not written yet: at a failure, 0.169.0 sends the thread's
   * `systemError` status before the turn's end, and a list read in between shows the failing turn
   * as `interrupted` with no `completedAt` (3 of 12 reads, measured; a real interrupt has one).
   * Taken as it stands, that outcome would be final (a turn's first terminal status is kept, in the
   * database too), so the list is read again a little later (UNFINISHED_RETRY_MS) until every turn
   * it shows as over has its end; after that what it lists is taken (a turn cut off by a crash of
   * the app-server may never get one).
   */
  private async listEnded(
    threadId: string,
    limit: number,
    cutoffMs: number,
    wanted: () => boolean,
  ): Promise<TurnInfo[] | null> {
    for (let attempt = 0; ; attempt++) {
      const listed = await this.listTurns(threadId, limit);
      if (listed === null || !wanted()) return null;
      const ended = endedSince(listed, cutoffMs, this.deps.now());
      const delay = UNFINISHED_RETRY_MS[attempt];
      if (delay === undefined || !ended.some((t) => t.completedAtMs === null)) return ended;
      this.deps.log("debug", "a listed turn has no end yet; listing again", { threadId, attempt });
      await new Promise((r) => setTimeout(r, delay));
      if (!wanted()) return null;
    }
  }

  /** The thread's latest `limit` turns (newest first, measured), or null when the server refused. */
  private async listTurns(threadId: string, limit: number): Promise<unknown[] | null> {
    try {
      return TurnPageSchema.parse(await this.conn.request("thread/turns/list", { threadId, limit })).data;
    } catch (err) {
      this.deps.log("debug", "turn backfill failed", { threadId, error: errText(err) });
      return null;
    }
  }

  /** Emit ended turns (oldest first, so "last turn" ends up right) as `turnCompleted`. */
  private emitEnded(threadId: string, turns: readonly TurnInfo[]): void {
    const now = this.deps.now();
    for (const turn of turns)
      this.deps.emit({ kind: "turnCompleted", atMs: turn.completedAtMs ?? now, threadId, turn });
  }

  /** Resume a notLoaded thread just long enough to receive its replayed cumulative total. */
  private async coldResume(threadId: string): Promise<void> {
    if (this.subs.has(threadId)) return;
    // The replayed total may come before the resume's answer or after it: the waiter is in place
    // before the request, and the wait is counted from the answer — loading a long rollout on a
    // busy server can take longer than the wait itself, and a deadline counted from the request
    // would then give up on a total that is about to arrive (and leave it unread for this connection).
    let timer: NodeJS.Timeout | undefined;
    let wake = () => {};
    const arrived = new Promise<void>((resolve) => {
      wake = resolve;
    });
    let came = false;
    this.coldWaiters.set(threadId, () => {
      came = true;
      if (timer) clearTimeout(timer);
      wake();
    });
    this.subs.set(threadId, "subscribing");
    try {
      await this.conn.request("thread/resume", { threadId, excludeTurns: true });
      this.subs.set(threadId, "subscribed");
      if (!came) timer = setTimeout(wake, this.opts.coldResumeWaitMs ?? 3000);
      await arrived;
    } catch (err) {
      this.subs.delete(threadId);
      this.deps.log("debug", "cold resume failed", { threadId, error: errText(err) });
    } finally {
      if (timer) clearTimeout(timer);
      this.coldWaiters.delete(threadId);
    }
    // Unsubscribe at once unless the thread became active meanwhile (then it is followed as usual).
    if (this.subs.get(threadId) === "subscribed" && !this.active.has(threadId)) {
      this.cancelIdle(threadId);
      await this.unsubscribe(threadId);
    }
  }
}

/** The listed turns (newest first, as the server lists them) that ended at or after the cutoff, oldest first. */
function endedSince(listed: readonly unknown[], cutoffMs: number, nowMs: number): TurnInfo[] {
  const out: TurnInfo[] = [];
  for (let i = listed.length - 1; i >= 0; i--) {
    const parsed = TurnSchema.safeParse(listed[i]);
    if (!parsed.success) continue;
    const turn = toTurnInfo(parsed.data);
    if (turn.status === "inProgress") continue;
    if (updatedSince(turn.completedAtMs ?? turn.startedAtMs ?? nowMs, cutoffMs)) out.push(turn);
  }
  return out;
}

/**
 * Was the thread updated at or after the cutoff? codex reports `updatedAt` in whole seconds,
 * truncated (up to 999 ms early), and the two clocks may differ a little: allow 2 s.
 */
function updatedSince(updatedAtMs: number | null, cutoffMs: number): boolean {
  return (updatedAtMs ?? 0) >= cutoffMs - 2000;
}
