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

const { url, poolMax, overrides, catalogue } = workerData as {
  url: string;
  poolMax: number;
  overrides: PriceOverride[];
  catalogue: Catalogue | null;
};
const pool = createPool({ url, poolMax });
let pricer = catalogue ? createPricer(overrides, catalogue) : createPricer(overrides);
const price: PriceFn = (model, atMs, tokens, request) => pricer.price(model, atMs, tokens, request);

parentPort?.on("message", (m: WriterThreadRequest) => {
  if (m.type === "catalogue") {
    pricer = createPricer(overrides, m.catalogue);
    return;
  }
  if (m.type === "close") {
    void pool.end().finally(() => parentPort?.postMessage({ type: "closed" } satisfies WriterThreadResponse));
    return;
  }
  writeIngestBatch({ pool, ...m.batch, price }).then(
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
