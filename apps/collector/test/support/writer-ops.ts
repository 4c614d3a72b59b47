/**
 * Operations for the writer-thread tests (writer-thread-buffer, writer-supervisor): a flat pricer
 * and a cumulative usage report of `n` input and `n` output tokens on target `t`.
 */
import type { PriceFn } from "@codex-fleet/db/repositories/ingest-types";
import type { WriteOp } from "../../src/ingest/thread-state.ts";

export const testPrice: PriceFn = () => ({ costUsd: 0, unpricedTokens: 0, priceVersion: "test" });

export const counts = (n: number) => ({
  inputTokens: n,
  cachedInputTokens: 0,
  outputTokens: n,
  reasoningOutputTokens: 0,
  totalTokens: 2 * n,
});

/** When the reports happened (one hour of 2026-12-07). */
export const REPORT_AT = Date.UTC(2026, 11, 7, 1);

export const usage = (threadId: string, n: number): WriteOp => ({
  op: "usage",
  report: {
    threadId,
    turnId: `${threadId}-turn`,
    targetId: "t",
    model: "gpt-5.4",
    repo: "",
    atMs: REPORT_AT,
    total: counts(n),
    last: counts(n),
  },
});
