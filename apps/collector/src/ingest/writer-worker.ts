/**
 * The worker side of writer-thread.ts: its own pg pool and pricer, one batch at a time through
 * writeIngestBatch. Runs in a worker_threads Worker so that the database round trips of a batch
 * never wait behind the main thread's frame processing.
 */
import { parentPort, workerData } from "node:worker_threads";
import { createPool } from "@codex-fleet/db/pool";
import { writeIngestBatch } from "@codex-fleet/db/repositories/ingest-repository";
import type { PriceFn } from "@codex-fleet/db/repositories/ingest-types";
import { type Catalogue, createPricer, type PriceOverride } from "@codex-fleet/pricing";
import { IngestWriter, type SinkEvent, type WriterTuning } from "./writer.ts";
import type { WireError, WireReport, WriterThreadRequest, WriterThreadResponse } from "./writer-thread.ts";

const data = workerData as {
  url: string;
  poolMax: number;
  overrides: PriceOverride[];
  catalogue: Catalogue | null;
  tuning: WriterTuning;
};
const { url, poolMax } = data;
let { overrides, catalogue } = data;
const pool = createPool({ url, poolMax });
let pricer = catalogue ? createPricer(overrides, catalogue) : createPricer(overrides);
/** Batches under way (already priced): an overrides change is answered once they are written. */
const writing = new Set<Promise<unknown>>();
const price: PriceFn = (model, atMs, tokens, request) => pricer.price(model, atMs, tokens, request);

const wireError = (err: unknown): WireError => {
  const e = err as { message?: string; code?: unknown };
  return { message: String(e?.message ?? err), code: typeof e?.code === "string" ? e.code : null };
};

/**
 * The buffer the main thread posts its operations to (writer.ts WriterSink), flushed on this
 * thread's own timers. Its clock counts posts, not time: an operation of post `seq` is enqueued at
 * `seq`, a batch is taken at `lastSeq + ½`, so the buffer's `pendingSinceMs` tells which posts are
 * written (before it: every one; null: all received).
 */
let buffer: IngestWriter | null = null;
let lastSeq = -1;
let clock = 0;
const report = (r: SinkEvent<WireError>) => {
  const b = buffer as IngestWriter;
  const since = b.pendingSinceMs;
  parentPort?.postMessage({
    type: "report",
    report: {
      ...r,
      writtenUpTo: since === null ? lastSeq : Math.ceil(since) - 1,
      backlog: b.backlog,
      compacted: b.compacted,
      dropped: b.dropped,
    } satisfies WireReport,
  } satisfies WriterThreadResponse);
};
function ownBuffer(): IngestWriter {
  buffer ??= new IngestWriter({
    ...data.tuning,
    now: () => clock,
    price,
    write: (batch) => {
      const write = writeIngestBatch({ pool, ...batch });
      writing.add(write);
      // After the buffer has booked this write (or its isolation step): report where it stands.
      void write
        .finally(() => {
          writing.delete(write);
          setImmediate(() => report({ kind: "state" }));
        })
        .catch(() => {});
      return write;
    },
    onWritten: (result, ms) => report({ kind: "written", result, ms }),
    onError: (err, attempt) => report({ kind: "failed", err: wireError(err), attempt }),
    onDropped: (op, err) => report({ kind: "dropped", op, err: wireError(err) }),
  });
  return buffer;
}

parentPort?.on("message", (m: WriterThreadRequest) => {
  if (m.type === "catalogue") {
    catalogue = m.catalogue;
    pricer = createPricer(overrides, m.catalogue);
    return;
  }
  if (m.type === "overrides") {
    overrides = m.overrides;
    pricer = catalogue ? createPricer(overrides, catalogue) : createPricer(overrides);
    void Promise.allSettled([...writing]).then(() =>
      parentPort?.postMessage({ type: "overrides", id: m.id } satisfies WriterThreadResponse),
    );
    return;
  }
  if (m.type === "enqueue") {
    const b = ownBuffer();
    lastSeq = m.seq;
    clock = m.seq;
    b.enqueue(m.ops);
    clock = m.seq + 0.5;
    return;
  }
  if (m.type === "flush" || m.type === "closeBuffer") {
    const b = ownBuffer();
    void (m.type === "flush" ? b.flush() : b.close(m.timeoutMs)).then(
      () =>
        parentPort?.postMessage({ type: "flushed", id: m.id, error: null } satisfies WriterThreadResponse),
      (err: unknown) =>
        parentPort?.postMessage({
          type: "flushed",
          id: m.id,
          error: wireError(err),
        } satisfies WriterThreadResponse),
    );
    return;
  }
  if (m.type === "close") {
    void pool.end().finally(() => parentPort?.postMessage({ type: "closed" } satisfies WriterThreadResponse));
    return;
  }
  const write = writeIngestBatch({ pool, ...m.batch, price });
  writing.add(write);
  void write.finally(() => writing.delete(write)).catch(() => {});
  write.then(
    (result) => parentPort?.postMessage({ type: "written", id: m.id, result } satisfies WriterThreadResponse),
    (err: unknown) => {
      const e = err as { message?: string; code?: unknown };
      parentPort?.postMessage({
        type: "failed",
        id: m.id,
        message: String(e?.message ?? err),
        code: typeof e?.code === "string" ? e.code : null,
      } satisfies WriterThreadResponse);
    },
  );
});
