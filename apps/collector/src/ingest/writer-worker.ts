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
import type { WriterThreadRequest, WriterThreadResponse } from "./writer-thread.ts";

const data = workerData as {
  url: string;
  poolMax: number;
  overrides: PriceOverride[];
  catalogue: Catalogue | null;
};
const { url, poolMax } = data;
let { overrides, catalogue } = data;
const pool = createPool({ url, poolMax });
let pricer = catalogue ? createPricer(overrides, catalogue) : createPricer(overrides);
/** Batches under way (already priced): an overrides change is answered once they are written. */
const writing = new Set<Promise<unknown>>();
const price: PriceFn = (model, atMs, tokens, request) => pricer.price(model, atMs, tokens, request);

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
