/**
 * The worker side of writer-thread.ts: its own pg pool and pricer, one batch at a time through
 * writeIngestBatch. Runs in a worker_threads Worker so that the database round trips of a batch
 * never wait behind the main thread's frame processing.
 */
import { parentPort, workerData } from "node:worker_threads";
import { createPool } from "@codex-fleet/db/pool";
import { writeIngestBatch } from "@codex-fleet/db/repositories/ingest-repository";
import { createPricer, type PriceOverride } from "@codex-fleet/pricing";
import type { WriterThreadRequest, WriterThreadResponse } from "./writer-thread.ts";

const { url, poolMax, overrides } = workerData as {
  url: string;
  poolMax: number;
  overrides: PriceOverride[];
};
const pool = createPool({ url, poolMax });
const pricer = createPricer(overrides);
const price = pricer.price.bind(pricer);

parentPort?.on("message", (m: WriterThreadRequest) => {
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
