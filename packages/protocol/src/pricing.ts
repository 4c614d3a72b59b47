/**
 * GET /api/v1/pricing (issue 14, README "Prices"): which price catalogue and overrides are in
 * force, the progress of a re-pricing of history after an override change, and the models seen
 * whose tokens are unpriced. Browser-safe: the dashboard's Usage page reads it.
 */
import { z } from "zod";

const Iso = z.string().max(40);

/** One override in force, as configured (USD per 1M tokens). */
export const PriceOverrideViewSchema = z.object({
  model: z.string(),
  effectiveFrom: z.string(),
  inputUsdPerMTok: z.number(),
  cachedInputUsdPerMTok: z.number(),
  outputUsdPerMTok: z.number(),
  /** null: cache writes billed as input. */
  cacheWriteUsdPerMTok: z.number().nullable(),
  longContext: z
    .object({
      aboveInputTokens: z.number(),
      inputUsdPerMTok: z.number(),
      cachedInputUsdPerMTok: z.number(),
      outputUsdPerMTok: z.number(),
      cacheWriteUsdPerMTok: z.number().nullable(),
    })
    .nullable(),
});
export type PriceOverrideView = z.infer<typeof PriceOverrideViewSchema>;

export const RepricingViewSchema = z.object({
  status: z.enum(["running", "done", "superseded"]),
  /** The models and the dates from which their rows are re-priced. */
  changes: z.array(z.object({ model: z.string(), fromDate: z.string() })),
  rowsTotal: z.number(),
  rowsDone: z.number(),
  /** Rows whose cost or version changed. */
  rowsChanged: z.number(),
  startedAt: Iso,
  finishedAt: Iso.nullable(),
});
export type RepricingView = z.infer<typeof RepricingViewSchema>;

export const PricingResponseSchema = z.object({
  catalogue: z.object({
    /** Recorded on every row it priced: `genai-prices@0.1.8` or `genai-prices@refresh-2026-12-06`. */
    version: z.string(),
    /** The date of its prices. */
    date: z.string(),
    source: z.enum(["snapshot", "refresh"]),
    refreshEnabled: z.boolean(),
  }),
  overrides: z.array(PriceOverrideViewSchema),
  /** The latest re-pricing (null: history was never re-priced). */
  repricing: RepricingViewSchema.nullable(),
  /** Models with unpriced tokens, most first. */
  unpriced: z.array(z.object({ model: z.string(), unpricedTokens: z.number(), lastSeenAt: Iso })),
});
export type PricingResponse = z.infer<typeof PricingResponseSchema>;
