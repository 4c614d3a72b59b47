/**
 * Runs the ingest writer's database transactions on a worker thread. Measured (bench scenario 2):
 * under a burst from many targets one turn of the event loop reads every socket's buffered frames,
 * and each round trip of a write transaction waits for such a turn, so the database writes stalled
 * until the burst was over. On its own thread a transaction takes its database time only. The
 * batch crosses by structured clone; errors keep their SQLSTATE `code` (writer.ts classifies it).
 */
import { Worker } from "node:worker_threads";
import type { BatchResult } from "@codex-fleet/db/repositories/ingest-repository";
import type { PriceOverride } from "@codex-fleet/pricing";
import type { WriterOptions } from "./writer.ts";

type Batch = Omit<Parameters<WriterOptions["write"]>[0], "price">;

/** Main → worker. */
export type WriterThreadRequest = { type: "write"; id: number; batch: Batch } | { type: "close" };
/** Worker → main. */
export type WriterThreadResponse =
  | { type: "written"; id: number; result: BatchResult }
  | { type: "failed"; id: number; message: string; code: string | null }
  | { type: "closed" };

/** A database writer on its own thread. */
export interface WriterThread {
  /** Same contract as writeIngestBatch (pricing happens in the worker, from `overrides`). */
  write(batch: Batch): Promise<BatchResult>;
  close(): Promise<void>;
}

/** Start the worker with its own pool of `poolMax` connections to `url`. */
export function startWriterThread(opts: {
  url: string;
  poolMax?: number;
  overrides: readonly PriceOverride[];
}): WriterThread {
  // The collector runs TypeScript through tsx; a worker does not inherit its loader, so the
  // worker's entry registers tsx before importing the TypeScript module.
  const entry = new URL("./writer-worker.ts", import.meta.url).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  const worker = new Worker(bootstrap, {
    eval: true,
    workerData: { url: opts.url, poolMax: opts.poolMax ?? 2, overrides: [...opts.overrides] },
  });
  let nextId = 1;
  const pending = new Map<number, { resolve(r: BatchResult): void; reject(e: Error): void }>();
  let closed: (() => void) | null = null;
  /** Set once the worker died: every later write fails at once (the writer retries, and logs). */
  let dead: Error | null = null;
  const failAll = (err: Error) => {
    dead ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on("message", (m: WriterThreadResponse) => {
    if (m.type === "closed") {
      closed?.();
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
    close: async () => {
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
