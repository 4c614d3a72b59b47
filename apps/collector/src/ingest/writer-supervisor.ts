/**
 * Keeps a database writer thread alive. A writer thread can die other than by `close` — an
 * uncaught error, its heap limit — and its buffer dies with it: before this, the collector went on
 * posting into nothing (or failing every write) while it kept its leases, a collector that never
 * writes again.
 *
 * The supervisor keeps every post until the thread reports it written, and on a death starts a new
 * thread and posts them again, in order, under their own `seq`. Posting again is safe by
 * construction: every operation is conditioned in the database (a usage report counts only what
 * moves the thread's baseline, spans and ended waits only past the thread's counted-until marks,
 * turn and thread upserts converge), so a batch the dead thread had committed but not reported
 * counts nothing twice. Flushes and closes under way are asked again of the new thread.
 *
 * A thread that dies again without writing anything (a post it cannot survive) is not restarted
 * past `maxDeathsWithoutProgress`: the supervisor gives up, says so (`failed`; the collector is
 * then not ready), and drops later posts. Nothing is lost for good: the main side never claims
 * "last contact" past its oldest unwritten post (fleet.ts), so the next process backfills it.
 */
import type { BatchResult } from "@codex-fleet/db/repositories/ingest-types";
import type { Catalogue, PriceOverride } from "@codex-fleet/pricing";
import type { WriteOp } from "./thread-state.ts";
import type { SinkReport } from "./writer.ts";
import type { WriterThread } from "./writer-thread.ts";

export interface SupervisedWriterThread extends Omit<WriterThread, "onDeath"> {
  /** True once the supervisor gave up restarting (see the module comment). */
  readonly failed: boolean;
  /** Threads started after a death. */
  readonly restarts: number;
}

export interface SuperviseOptions {
  /** Starts a thread; called again after each death, so it should read the prices in force now. */
  start: () => WriterThread;
  /** A thread died (`restarting`: a new one takes its posts; false: the supervisor gave up). */
  onDeath?: (err: Error, info: { restarting: boolean; reposted: number }) => void;
  /** Deaths in a row with nothing written in between before giving up (default 3). */
  maxDeathsWithoutProgress?: number;
}

export function superviseWriterThread(opts: SuperviseOptions): SupervisedWriterThread {
  const maxDeaths = opts.maxDeathsWithoutProgress ?? 3;
  /** Posts not yet reported written, by seq (insertion order is seq order). */
  const unwritten = new Map<number, WriteOp[]>();
  let onReport: ((report: SinkReport) => void) | null = null;
  let catalogue: Catalogue | null = null;
  let overrides: readonly PriceOverride[] | null = null;
  let closing = false;
  let failed = false;
  let restarts = 0;
  let deathsWithoutProgress = 0;
  /** The thread in charge; `dead` is set before the thread rejects what was under way. */
  let current!: { thread: WriterThread; dead: boolean };

  const forget = (writtenUpTo: number) => {
    for (const seq of unwritten.keys()) {
      if (seq > writtenUpTo) break;
      unwritten.delete(seq);
      deathsWithoutProgress = 0;
    }
  };

  const launch = () => {
    const thread = opts.start();
    const entry = { thread, dead: false };
    current = entry;
    thread.listen((r) => {
      if (entry !== current) return;
      forget(r.writtenUpTo);
      onReport?.(r);
    });
    thread.onDeath((err) => {
      entry.dead = true;
      if (closing || entry !== current) return;
      deathsWithoutProgress++;
      if (deathsWithoutProgress >= maxDeaths) {
        failed = true;
        unwritten.clear();
        opts.onDeath?.(err, { restarting: false, reposted: 0 });
        return;
      }
      restarts++;
      const reposted = unwritten.size;
      launch();
      if (catalogue) current.thread.setCatalogue(catalogue);
      if (overrides) void current.thread.setOverrides(overrides);
      for (const [seq, ops] of unwritten) current.thread.post(ops, seq);
      opts.onDeath?.(err, { restarting: true, reposted });
    });
  };
  launch();

  /** Ask `ask` of the thread in charge; if it dies meanwhile, ask its successor. */
  const untilAnswered = async <T>(ask: (t: WriterThread) => Promise<T>): Promise<T> => {
    for (;;) {
      const entry = current;
      if (failed)
        throw new Error("database writer thread keeps dying: writes stopped (restart the collector)");
      try {
        return await ask(entry.thread);
      } catch (err) {
        // A death rejects what was under way (after onDeath: writer-thread.ts failAll); a batch's
        // own failure is the caller's to handle.
        if (!entry.dead || closing) throw err;
      }
    }
  };

  return {
    get failed() {
      return failed;
    },
    get restarts() {
      return restarts;
    },
    write: (batch): Promise<BatchResult> => untilAnswered((t) => t.write(batch)),
    setCatalogue: (c) => {
      catalogue = c;
      current.thread.setCatalogue(c);
    },
    setOverrides: (o) => {
      overrides = [...o];
      return current.thread.setOverrides(o);
    },
    post: (ops, seq) => {
      if (failed) return;
      unwritten.set(seq, ops);
      current.thread.post(ops, seq);
    },
    flushBuffer: () => untilAnswered((t) => t.flushBuffer()),
    closeBuffer: (timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      return untilAnswered((t) => t.closeBuffer(Math.max(0, deadline - Date.now())));
    },
    listen: (f) => {
      onReport = f;
    },
    close: () => {
      closing = true;
      return current.thread.close();
    },
  };
}
