/**
 * Batches write operations into one transaction per flush: thread snapshots coalesce to the
 * latest per thread, turn patches merge per turn, cumulative token reports keep their order.
 * When the database is unavailable the writer keeps buffering and retries with backoff; past
 * `maxBufferedReports` it keeps only the newest cumulative report per thread, which still counts
 * every token (the accounting rule takes Δtotal) — only the per-turn attribution gets coarser.
 */
import type {
  ActivitySpanRow,
  BatchResult,
  OwedMark,
  PriceFn,
  WaitEndRow,
} from "@codex-fleet/db/repositories/ingest-types";
import { BufferedWriter } from "../lib/drain.ts";

const WRITE_FAILED = "database write failed; data is still buffered";

import type { ThreadState, TurnPatch, UsageReport, WriteOp } from "./thread-state.ts";

/** The writer's knobs, all optional. */
export interface WriterTuning {
  /** Delay that coalesces enqueued ops into one transaction (default 25 ms). */
  flushIntervalMs?: number;
  /** Most usage reports per transaction (default 2000). */
  maxBatchReports?: number;
  /** Past this many buffered usage reports, keep only the newest per thread (default 100,000). */
  maxBufferedReports?: number;
}

/**
 * Where a writer whose buffer lives elsewhere (the writer thread, writer-thread.ts) hands its
 * operations: the owner coalesces, batches, retries and isolates exactly as IngestWriter does
 * (it runs one), on its own event loop. Measured (bench scenario 2): the collector's main loop
 * reads every socket's buffered frames in one turn that lasts seconds under a burst, and a flush
 * timer on it fired only after the burst — the database sat idle while the frames were parsed.
 */
export interface WriterSink {
  /** Operations in order, once per tick at most; `seq` grows by one per call. */
  post(ops: WriteOp[], seq: number): void;
  /** Resolves once everything posted is written; rejects as soon as a batch fails. */
  flush(): Promise<void>;
  /** Write what is posted (retrying until `timeoutMs`), then stop; rejects with data still buffered. */
  close(timeoutMs: number): Promise<void>;
  /** The owner's reports, in order (set once by the IngestWriter that posts to it). */
  listen(onReport: (report: SinkReport) => void): void;
}

/** Where the buffer's owner stands, with each report. */
export interface SinkState {
  /** Every post up to this seq is in the database (-1: none yet). */
  writtenUpTo: number;
  backlog: number;
  compacted: number;
  dropped: number;
}

/** What the buffer's owner reports after each write, failure or dropped operation (`E`: its errors). */
export type SinkEvent<E = Error> =
  | { kind: "written"; result: BatchResult; ms: number }
  | { kind: "failed"; err: E; attempt: number }
  | { kind: "dropped"; op: WriteOp; err: E }
  | { kind: "state" };

export type SinkReport = SinkState & SinkEvent;

export interface WriterOptions extends WriterTuning {
  /**
   * Hand every operation to this sink instead of buffering here (`write` is then unused): the
   * buffer and its flushes live on the writer thread.
   */
  sink?: WriterSink;
  write(batch: {
    threads: ThreadState[];
    turns: TurnPatch[];
    usage: UsageReport[];
    owed: OwedMark[];
    spans: ActivitySpanRow[];
    waits: WaitEndRow[];
    price: PriceFn;
  }): Promise<BatchResult>;
  price: PriceFn;
  onWritten?(result: BatchResult, ms: number): void;
  onError?(err: unknown, attempt: number): void;
  /** An operation the database refused for its content (see isRejectedData): written never, logged here. */
  onDropped?(op: WriteOp, err: unknown): void;
  /** Clock for `pendingSinceMs` (default Date.now). */
  now?(): number;
}

/** Operations grouped by kind, as one transaction writes them. */
type Batch = {
  threads: ThreadState[];
  turns: TurnPatch[];
  usage: UsageReport[];
  owed: OwedMark[];
  spans: ActivitySpanRow[];
  waits: WaitEndRow[];
};

/** `ops` as a batch, each kind in its order (isolating a refused batch: one op, or the rest). */
function batchOf(ops: readonly WriteOp[]): Batch {
  const batch: Batch = { threads: [], turns: [], usage: [], owed: [], spans: [], waits: [] };
  for (const o of ops) {
    if (o.op === "thread") batch.threads.push(o.state);
    else if (o.op === "turn") batch.turns.push(o.patch);
    else if (o.op === "owed") batch.owed.push(o.mark);
    else if (o.op === "span") batch.spans.push(o.span);
    else if (o.op === "waitEnd") batch.waits.push(o.wait);
    else batch.usage.push(o.report);
  }
  return batch;
}

/** Buffers write ops and flushes them in batches, one transaction at a time. */
export class IngestWriter extends BufferedWriter {
  private threads = new Map<string, ThreadState>();
  private turns = new Map<string, TurnPatch>();
  private usage: UsageReport[] = [];
  /**
   * Recovery marks per thread: the first and the latest (the database keeps the first as
   * `owed_since` and the latest as `owed_at`). Never compacted away: one entry per thread.
   */
  private owed = new Map<string, OwedMark[]>();
  /** Activity spans and ended waits, in order (each conditioned in the database: exactly once). */
  private spans: ActivitySpanRow[] = [];
  private waits: WaitEndRow[] = [];
  private compactions = 0;
  private droppedOps = 0;
  private pendingSince: number | null = null;
  private settledWaiters: { atMs: number; resolve(): void }[] = [];
  /** With a sink: the operations of this tick, posted when it ends (one message per tick). */
  private outbox: WriteOp[] = [];
  private outboxAtMs: number | null = null;
  /** With a sink: the last seq posted, and the posts not yet reported written, oldest first. */
  private seq = -1;
  private posted: { seq: number; atMs: number }[] = [];
  private unreportedOps = 0;
  private remote = { writtenUpTo: -1, backlog: 0, compacted: 0, dropped: 0 };
  private remoteWaiters: { seq: number; resolve(): void }[] = [];

  constructor(private readonly opts: WriterOptions) {
    // Pending ledger writes keep the process alive.
    super(WRITE_FAILED, true);
    opts.sink?.listen((r) => this.onReport(r));
  }

  protected pending(): boolean {
    return this.backlog > 0;
  }

  /** Operations waiting to be written. */
  get backlog(): number {
    if (this.opts.sink) return this.remote.backlog + this.unreportedOps + this.outbox.length;
    return (
      this.threads.size +
      this.turns.size +
      this.usage.length +
      this.owed.size +
      this.spans.length +
      this.waits.length
    );
  }

  get compacted(): number {
    return this.opts.sink ? this.remote.compacted : this.compactions;
  }

  /**
   * When the oldest operation not yet committed was enqueued (null: everything is written). A crash
   * loses what arrived since then, so "last contact" must not be claimed past it (see Fleet).
   */
  get pendingSinceMs(): number | null {
    if (this.opts.sink) return this.posted[0]?.atMs ?? this.outboxAtMs;
    return this.pendingSince;
  }

  /**
   * Resolves once everything enqueued up to now is in the database (never rejects: it waits
   * through failed writes). Used to move "last contact" only after the recovery marks it relies
   * on are written.
   */
  settled(): Promise<void> {
    if (this.opts.sink) {
      const seq = this.outbox.length > 0 ? this.seq + 1 : this.seq;
      if (seq <= this.remote.writtenUpTo) return Promise.resolve();
      return new Promise((resolve) => this.remoteWaiters.push({ seq, resolve }));
    }
    const atMs = (this.opts.now ?? Date.now)();
    if (this.pendingSince === null || this.pendingSince > atMs) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push({ atMs, resolve }));
  }

  /** Operations the database refused as data and that were dropped. */
  get dropped(): number {
    return this.opts.sink ? this.remote.dropped : this.droppedOps;
  }

  enqueue(ops: WriteOp[]): void {
    if (this.opts.sink) {
      if (ops.length === 0) return;
      if (this.outbox.length === 0) {
        this.outboxAtMs = (this.opts.now ?? Date.now)();
        queueMicrotask(() => this.post());
      }
      for (const o of ops) this.outbox.push(o);
      return;
    }
    if (ops.length > 0) this.pendingSince ??= (this.opts.now ?? Date.now)();
    for (const o of ops) {
      if (o.op === "thread") this.threads.set(o.state.id, o.state);
      else if (o.op === "turn") this.turns.set(o.patch.id, mergeTurn(this.turns.get(o.patch.id), o.patch));
      else if (o.op === "owed") this.addMark(o.mark);
      else if (o.op === "span") this.spans.push(o.span);
      else if (o.op === "waitEnd") this.waits.push(o.wait);
      else this.usage.push(o.report);
    }
    if (this.usage.length > (this.opts.maxBufferedReports ?? 100_000)) this.compactUsage();
    this.schedule(this.opts.flushIntervalMs ?? 25);
  }

  override async flush(): Promise<void> {
    if (!this.opts.sink) return super.flush();
    this.post();
    await this.opts.sink.flush();
  }

  override async close(timeoutMs = 0): Promise<void> {
    if (!this.opts.sink) return super.close(timeoutMs);
    this.post();
    await this.opts.sink.close(timeoutMs);
  }

  /** Hand this tick's operations to the sink (a thread's snapshots: the latest only, as enqueue keeps). */
  private post(): void {
    const sink = this.opts.sink;
    if (!sink || this.outbox.length === 0) return;
    const seen = new Set<string>();
    const ops: WriteOp[] = [];
    for (let i = this.outbox.length - 1; i >= 0; i--) {
      const o = this.outbox[i] as WriteOp;
      if (o.op === "thread") {
        if (seen.has(o.state.id)) continue;
        seen.add(o.state.id);
      }
      ops.push(o);
    }
    ops.reverse();
    this.seq++;
    this.posted.push({ seq: this.seq, atMs: this.outboxAtMs ?? (this.opts.now ?? Date.now)() });
    this.outbox = [];
    this.outboxAtMs = null;
    this.unreportedOps += ops.length;
    sink.post(ops, this.seq);
  }

  /** A report of the buffer's owner: what is written now, and the callbacks as if written here. */
  private onReport(r: SinkReport): void {
    this.remote = {
      writtenUpTo: Math.max(this.remote.writtenUpTo, r.writtenUpTo),
      backlog: r.backlog,
      compacted: r.compacted,
      dropped: r.dropped,
    };
    this.unreportedOps = 0;
    while (this.posted[0] && this.posted[0].seq <= this.remote.writtenUpTo) this.posted.shift();
    if (r.kind === "written") this.opts.onWritten?.(r.result, r.ms);
    else if (r.kind === "failed") this.opts.onError?.(r.err, r.attempt);
    else if (r.kind === "dropped") this.opts.onDropped?.(r.op, r.err);
    const waiting = this.remoteWaiters;
    this.remoteWaiters = [];
    for (const w of waiting) {
      if (w.seq <= this.remote.writtenUpTo) w.resolve();
      else this.remoteWaiters.push(w);
    }
  }

  protected runOnce(): Promise<void> {
    const threads = [...this.threads.values()];
    const turns = [...this.turns.values()];
    const max = this.opts.maxBatchReports ?? 2000;
    const usage = this.usage.slice(0, max);
    const owed = [...this.owed.values()].flat();
    const spans = this.spans;
    const waits = this.waits;
    this.threads = new Map();
    this.turns = new Map();
    this.owed = new Map();
    this.spans = [];
    this.waits = [];
    this.usage = this.usage.slice(usage.length);
    // Everything enqueued before now is in this batch unless reports were left for the next one.
    const takenAtMs = this.usage.length === 0 ? (this.opts.now ?? Date.now)() : null;
    const started = performance.now();
    const run = (async () => {
      try {
        const result = await this.opts.write({
          threads,
          turns,
          usage,
          owed,
          spans,
          waits,
          price: this.opts.price,
        });
        this.failures = 0;
        this.written(takenAtMs);
        this.opts.onWritten?.(result, performance.now() - started);
      } catch (err) {
        if (isRejectedData(err)) {
          // The database refused a value (out of range, …), not the connection: this batch would
          // fail the same way forever and hold up every target's writes behind it.
          if (await this.isolate({ threads, turns, usage, owed, spans, waits })) this.written(takenAtMs);
          return;
        }
        this.failures++;
        this.opts.onError?.(err, this.failures);
        this.putBack({ threads, turns, usage, owed, spans, waits });
      }
    })();
    this.running = run.finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** A batch taken at `takenAtMs` (null: not everything older) is in the database. */
  private written(takenAtMs: number | null): void {
    if (this.backlog === 0) this.pendingSince = null;
    else if (takenAtMs !== null) this.pendingSince = takenAtMs;
    const since = this.pendingSince;
    const waiting = this.settledWaiters;
    this.settledWaiters = [];
    for (const w of waiting) {
      if (since === null || since > w.atMs) w.resolve();
      else this.settledWaiters.push(w);
    }
  }

  /** Put a failed batch back in front of what arrived meanwhile, newer state winning. */
  private putBack({ threads, turns, usage, owed, spans, waits }: Batch): void {
    for (const t of threads) if (!this.threads.has(t.id)) this.threads.set(t.id, t);
    for (const m of owed) this.addMark(m);
    for (const t of turns) this.turns.set(t.id, mergeTurn(t, this.turns.get(t.id)));
    this.usage = [...usage, ...this.usage];
    this.spans = [...spans, ...this.spans];
    this.waits = [...waits, ...this.waits];
  }

  /**
   * Write a poisoned batch one operation per transaction, in its order (threads, turns, usage), and
   * drop the operations the database refuses as data. A refused usage report moves no baseline, so
   * a later good report of that thread still counts its tokens (Δtotal). If the database goes away
   * meanwhile, the rest goes back to the buffer as after any failed write (and this returns false).
   */
  private async isolate(batch: Batch): Promise<boolean> {
    const ops: WriteOp[] = [
      ...batch.threads.map((state) => ({ op: "thread" as const, state })),
      ...batch.turns.map((patch) => ({ op: "turn" as const, patch })),
      ...batch.owed.map((mark) => ({ op: "owed" as const, mark })),
      ...batch.usage.map((report) => ({ op: "usage" as const, report })),
      ...batch.spans.map((span) => ({ op: "span" as const, span })),
      ...batch.waits.map((wait) => ({ op: "waitEnd" as const, wait })),
    ];
    for (const [i, op] of ops.entries()) {
      const one = batchOf([op]);
      const started = performance.now();
      try {
        // Not inside `onWritten?.(…)`: an optional call skips its arguments when there is no callback.
        const result = await this.opts.write({ ...one, price: this.opts.price });
        this.opts.onWritten?.(result, performance.now() - started);
      } catch (err) {
        if (isRejectedData(err)) {
          this.droppedOps++;
          this.opts.onDropped?.(op, err);
          continue;
        }
        this.failures++;
        this.opts.onError?.(err, this.failures);
        this.putBack(batchOf(ops.slice(i)));
        return false;
      }
    }
    this.failures = 0;
    return true;
  }

  /** Keep the first and the latest mark of a thread (order of arrival does not matter). */
  private addMark(mark: OwedMark): void {
    const all = [...(this.owed.get(mark.threadId) ?? []), mark].sort((a, b) => a.atMs - b.atMs);
    this.owed.set(
      mark.threadId,
      all.length <= 1 ? all : [all[0] as OwedMark, all[all.length - 1] as OwedMark],
    );
  }

  /** Keep the newest cumulative report per thread: Δtotal still counts every token. */
  private compactUsage(): void {
    const latest = new Map<string, UsageReport>();
    for (const r of this.usage) latest.set(r.threadId, r);
    this.usage = [...latest.values()];
    this.compactions++;
  }
}

/** A Postgres SQLSTATE (classes start with a digit, or are HV, P0, XX, F0); never Node's EPIPE & co. */
const SQLSTATE = /^([0-9][0-9A-Z]|HV|P0|XX|F0)[0-9A-Z]{3}$/;
/**
 * SQLSTATE classes that say the server, the connection or the transaction is the problem, not the
 * rows: connection exception (08), invalid transaction state (25), authorization (28), catalog (3D),
 * transaction rollback — serialization, deadlock (40), syntax or undefined object — a deployment
 * problem (42), insufficient resources (53), object not in prerequisite state — a lock (55),
 * operator intervention — shutdown, cancel (57), system error (58), config file (F0), internal (XX).
 */
const RETRYABLE_CLASSES = new Set(["08", "25", "28", "3D", "40", "42", "53", "55", "57", "58", "F0", "XX"]);

/**
 * True when Postgres answered and refused this batch for what is in it — a value out of range
 * (22), a constraint (23), an index row too large for its key (54000), a row changed twice (21),
 * a trigger's exception (P0), or any other class not known to be about the server, the
 * connection or the transaction. Such a batch fails the same way on every retry and would hold
 * up every target's writes behind it, so the writer isolates its rows and drops only those that
 * fail alone. Errors without a SQLSTATE (a socket reset, a refused connection, a worker that died)
 * and the classes above are retried with the whole batch.
 */
export function isRejectedData(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && SQLSTATE.test(code) && !RETRYABLE_CLASSES.has(code.slice(0, 2));
}

/** Merge a newer patch over an older one; absent fields keep the older value. */
export function mergeTurn(older: TurnPatch | undefined, newer: TurnPatch | undefined): TurnPatch {
  if (!older) return newer as TurnPatch;
  if (!newer) return older;
  const merged: TurnPatch = { ...older };
  for (const [k, v] of Object.entries(newer)) {
    if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  }
  // A terminal status is final.
  if (older.status && older.status !== "inProgress" && newer.status === "inProgress")
    merged.status = older.status;
  return merged;
}
