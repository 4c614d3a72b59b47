/**
 * Runs the ingest writer's database transactions on a worker thread. Measured (bench scenario 2):
 * under a burst from many targets one turn of the event loop reads every socket's buffered frames,
 * and each round trip of a write transaction waits for such a turn, so the database writes stalled
 * until the burst was over. On its own thread a transaction takes its database time only. The
 * batch crosses by structured clone; errors keep their SQLSTATE `code` (writer.ts classifies it).
 */
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { type ResourceLimits, Worker } from "node:worker_threads";
import type { BatchResult } from "@codex-fleet/db/repositories/ingest-types";
import type { Catalogue, PriceOverride } from "@codex-fleet/pricing";
import type { WriteOp } from "./thread-state.ts";
import type { SinkEvent, SinkReport, SinkState, WriterOptions, WriterTuning } from "./writer.ts";

type Batch = Omit<Parameters<WriterOptions["write"]>[0], "price">;

/** An error as it crosses the thread boundary (its SQLSTATE `code` kept). */
export type WireError = { message: string; code: string | null };
/** A SinkReport as it crosses the thread boundary. */
export type WireReport = SinkState & SinkEvent<WireError>;

/** Main → worker. */
export type WriterThreadRequest =
  | { type: "write"; id: number; batch: Batch }
  /** A refreshed price catalogue (catalogue-refresh.ts): prices the next batches. */
  | { type: "catalogue"; catalogue: Catalogue }
  /** The price overrides changed (issue 17): prices the next batches; answered once the batches under way are written. */
  | { type: "overrides"; id: number; overrides: PriceOverride[] }
  /** Operations for the thread's own buffer (writer.ts WriterSink). */
  | { type: "enqueue"; seq: number; ops: WriteOp[] }
  | { type: "flush"; id: number }
  | { type: "closeBuffer"; id: number; timeoutMs: number }
  | { type: "close" };
/** Worker → main. */
export type WriterThreadResponse =
  | { type: "written"; id: number; result: BatchResult }
  | { type: "failed"; id: number; message: string; code: string | null }
  | { type: "overrides"; id: number }
  | { type: "report"; report: WireReport }
  | { type: "flushed"; id: number; error: WireError | null }
  | { type: "closed" };

/** A database writer on its own thread. */
export interface WriterThread {
  /** Same contract as writeIngestBatch (pricing happens in the worker, from `overrides`). */
  write(batch: Batch): Promise<BatchResult>;
  /** Price the next batches with a refreshed catalogue. */
  setCatalogue(catalogue: Catalogue): void;
  /**
   * Price the next batches with these overrides; resolves once the batches priced with the old
   * ones are written (a re-pricing scheduled after it then covers them).
   */
  setOverrides(overrides: readonly PriceOverride[]): Promise<void>;
  /** Operations for the thread's buffer (writer.ts WriterSink.post). */
  post(ops: WriteOp[], seq: number): void;
  /** Resolves once the thread's buffer is written; rejects as soon as a batch fails. */
  flushBuffer(): Promise<void>;
  /** Write the thread's buffer (retrying until `timeoutMs`), then stop it. */
  closeBuffer(timeoutMs: number): Promise<void>;
  /** Receive the thread's buffer reports (writer.ts SinkReport). */
  listen(onReport: (report: SinkReport) => void): void;
  /**
   * Called once if the thread dies other than by `close` (an uncaught error, its heap limit): its
   * buffer and the writes under way are lost, and every later call fails or does nothing, so the
   * owner starts another (collector.ts) instead of keeping a collector that never writes.
   */
  onDeath(handler: (err: Error) => void): void;
  close(): Promise<void>;
}

const toError = (e: WireError) => Object.assign(new Error(e.message), e.code ? { code: e.code } : {});

/** Start the worker with its own pool of `poolMax` connections to `url`. */
export function startWriterThread(opts: {
  url: string;
  poolMax?: number;
  overrides: readonly PriceOverride[];
  /** A refreshed catalogue already in force (default: the shipped snapshot). */
  catalogue?: Catalogue | null;
  /** Batching of the thread's own buffer (post, flushBuffer). */
  tuning?: WriterTuning;
  /** The worker's heap limits (node:worker_threads), when it should have its own. */
  resourceLimits?: ResourceLimits;
}): WriterThread {
  const [entry, options] = workerEntry();
  const worker = new Worker(entry, {
    ...options,
    ...(opts.resourceLimits ? { resourceLimits: opts.resourceLimits } : {}),
    workerData: {
      url: opts.url,
      poolMax: opts.poolMax ?? 2,
      overrides: [...opts.overrides],
      catalogue: opts.catalogue ?? null,
      tuning: opts.tuning ?? {},
    },
  });
  let nextId = 1;
  const pending = new Map<number, { resolve(r: BatchResult): void; reject(e: Error): void }>();
  const overridesApplied = new Map<number, () => void>();
  const flushes = new Map<number, { resolve(): void; reject(e: Error): void }>();
  let onReport: ((report: SinkReport) => void) | null = null;
  let closed: (() => void) | null = null;
  /** Set once the worker died: every later write fails at once (the writer retries, and logs). */
  let dead: Error | null = null;
  let closing = false;
  let onDeath: ((err: Error) => void) | null = null;
  const failAll = (err: Error) => {
    // Before the rejections: whoever handles them knows the thread died (writer-supervisor.ts).
    if (!dead && !closing) onDeath?.(err);
    dead ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    for (const done of overridesApplied.values()) done();
    overridesApplied.clear();
    for (const f of flushes.values()) f.reject(err);
    flushes.clear();
  };
  const request = (make: (id: number) => WriterThreadRequest) =>
    new Promise<void>((resolve, reject) => {
      if (dead) {
        reject(dead);
        return;
      }
      const id = nextId++;
      flushes.set(id, { resolve, reject });
      worker.postMessage(make(id));
    });
  worker.on("message", (m: WriterThreadResponse) => {
    if (m.type === "closed") {
      closed?.();
      return;
    }
    if (m.type === "overrides") {
      overridesApplied.get(m.id)?.();
      overridesApplied.delete(m.id);
      return;
    }
    if (m.type === "report") {
      const r = m.report;
      onReport?.(r.kind === "failed" || r.kind === "dropped" ? { ...r, err: toError(r.err) } : r);
      return;
    }
    if (m.type === "flushed") {
      const f = flushes.get(m.id);
      flushes.delete(m.id);
      if (m.error) f?.reject(toError(m.error));
      else f?.resolve();
      return;
    }
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.type === "written") p.resolve(m.result);
    else p.reject(Object.assign(new Error(m.message), m.code ? { code: m.code } : {}));
  });
  worker.on("error", (err) => failAll(err));
  worker.on("exit", (code) => failAll(new Error(`database writer thread exited (${code})`)));
  return {
    write: (batch) =>
      new Promise<BatchResult>((resolve, reject) => {
        if (dead) {
          reject(dead);
          return;
        }
        const id = nextId++;
        pending.set(id, { resolve, reject });
        try {
          worker.postMessage({ type: "write", id, batch } satisfies WriterThreadRequest);
        } catch (err) {
          pending.delete(id);
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      }),
    setCatalogue: (catalogue) => {
      if (!dead) worker.postMessage({ type: "catalogue", catalogue } satisfies WriterThreadRequest);
    },
    setOverrides: (overrides) =>
      new Promise<void>((resolve) => {
        if (dead) {
          resolve();
          return;
        }
        const id = nextId++;
        overridesApplied.set(id, resolve);
        worker.postMessage({
          type: "overrides",
          id,
          overrides: [...overrides],
        } satisfies WriterThreadRequest);
      }),
    post: (ops, seq) => {
      if (!dead) worker.postMessage({ type: "enqueue", seq, ops } satisfies WriterThreadRequest);
    },
    flushBuffer: () => request((id) => ({ type: "flush", id })),
    closeBuffer: (timeoutMs) => request((id) => ({ type: "closeBuffer", id, timeoutMs })),
    listen: (f) => {
      onReport = f;
    },
    onDeath: (f) => {
      onDeath = f;
      if (dead && !closing) f(dead);
    },
    close: async () => {
      closing = true;
      // A dead worker answers nothing: there is nothing to close.
      if (dead) return;
      const done = new Promise<void>((resolve) => {
        closed = resolve;
        worker.once("exit", () => resolve());
      });
      worker.postMessage({ type: "close" } satisfies WriterThreadRequest);
      await done;
      await worker.terminate();
    },
  };
}

/**
 * The worker's entry: the compiled `writer-worker.js` beside this file in the product. Running
 * from the TypeScript sources (tests, `tsx`), the worker inherits neither the parent's loader nor
 * its resolve conditions, so a small bootstrap asks for the workspaces' `source` exports and
 * registers tsx — a development dependency, never loaded by the compiled product.
 */
function workerEntry(): [string | URL, { eval?: boolean }] {
  if (extname(fileURLToPath(import.meta.url)) === ".js")
    return [new URL("./writer-worker.js", import.meta.url), {}];
  const entry = new URL("./writer-worker.ts", import.meta.url).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  const sourceHook = `data:text/javascript,${encodeURIComponent(
    "export function resolve(s, c, next) { return next(s, { ...c, conditions: ['source', ...c.conditions] }); }",
  )}`;
  return [
    [
      `import("node:module").then((m) => m.register(${JSON.stringify(sourceHook)}))`,
      `.then(() => import(${JSON.stringify(tsx)})).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`,
    ].join(""),
    { eval: true },
  ];
}
