/**
 * Token pricing: a dated default price table (USD per 1M tokens), admin overrides with effective
 * dates, and `unpriced` for models we do not know (never $0).
 *
 * Billing semantics (OpenAI Responses usage, as codex reports it in `thread/tokenUsage/updated`):
 * - `inputTokens` already includes `cachedInputTokens`; cached tokens are billed at the cached price,
 *   the rest of the input at the input price.
 * - `outputTokens` already includes `reasoningOutputTokens` (reasoning is billed as output), so
 *   reasoning is never added a second time. Measured sample (codex-app-server-facts.md §3):
 *   total 3120 = input 3000 + output 120, with reasoning 30 inside the 120.
 *
 * Model-name matching (the rule, in order; names compared case-insensitively, trimmed):
 * 1. the exact name (e.g. `gpt-5.4`, or an override written for a snapshot name);
 * 2. the name without one trailing date-snapshot suffix `-YYYY-MM-DD` (e.g. `gpt-5.4-2026-03-05`
 *    → `gpt-5.4`). No other suffix is ever stripped: `gpt-5.4-mini` and `gpt-5.4-pro` are
 *    different models with different prices and never fall back to `gpt-5.4`; a provider prefix
 *    (`openai/gpt-5.4`) is not stripped either. Anything else is `unpriced`.
 * For each candidate name, the override in force at the usage time wins over the default table.
 */
import { z } from "zod";

/** Prices for one model, USD per 1M tokens. */
export interface ModelPrice {
  inputUsdPerMTok: number;
  cachedInputUsdPerMTok: number;
  outputUsdPerMTok: number;
}

/** One dated default table: public list prices in force from `effectiveFrom` (UTC date). */
export interface DefaultPriceTable {
  version: string;
  effectiveFrom: string;
  prices: Readonly<Record<string, ModelPrice>>;
}

const price = (input: number, cached: number, output: number): ModelPrice =>
  Object.freeze({ inputUsdPerMTok: input, cachedInputUsdPerMTok: cached, outputUsdPerMTok: output });

/**
 * The default tables, oldest first. A usage is priced by the newest table whose `effectiveFrom` is
 * not after it; usage older than the first table is priced by the first table (best estimate).
 */
export const DEFAULT_PRICE_TABLES: readonly DefaultPriceTable[] = Object.freeze([
  Object.freeze({
    version: "default-2026-01",
    effectiveFrom: "2026-01-01",
    prices: Object.freeze({
      "gpt-5": price(1.25, 0.125, 10),
      "gpt-5-codex": price(1.25, 0.125, 10),
      "gpt-5.1-codex": price(1.25, 0.125, 10),
      "gpt-5.1-codex-max": price(1.25, 0.125, 10),
      "gpt-5.2": price(1.75, 0.175, 14),
      "gpt-5.2-codex": price(1.75, 0.175, 14),
      "gpt-5.3-codex": price(1.75, 0.175, 14),
      "gpt-5.4": price(2.5, 0.25, 15),
      "gpt-5.4-mini": price(0.75, 0.075, 4.5),
      "gpt-5.5": price(5, 0.5, 30),
    }),
  }),
]);

const usdPerMTok = z.number().nonnegative();

/** An admin price override from config: in force from `effectiveFrom` (00:00 UTC) on. */
export const PriceOverrideSchema = z.strictObject({
  model: z.string().trim().min(1),
  effectiveFrom: z.iso.date(),
  inputUsdPerMTok: usdPerMTok,
  cachedInputUsdPerMTok: usdPerMTok,
  outputUsdPerMTok: usdPerMTok,
});

/** A parsed price override. */
export type PriceOverride = z.infer<typeof PriceOverrideSchema>;

/** The token counters pricing needs (structurally the protocol's `TokenCounts`). */
export interface PricedTokens {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningOutputTokens: number;
  totalTokens: number;
}

/** The cost of one usage and which table entry priced it. */
export interface PriceResult {
  /** USD, or null when the model is unknown (never 0 for an unknown model). */
  costUsd: number | null;
  /** `totalTokens` when unpriced, else 0. */
  unpricedTokens: number;
  /** `default-2026-01:gpt-5.4`, `override:2026-10-01:gpt-5.5` or `unpriced`. */
  priceVersion: string;
}

/** Prices token usage at a point in time. */
export interface Pricer {
  price(model: string | null | undefined, atMs: number, tokens: PricedTokens): PriceResult;
}

interface Entry {
  fromMs: number;
  version: string;
  price: ModelPrice;
}

const SNAPSHOT_SUFFIX = /-\d{4}-\d{2}-\d{2}$/;

const normalizeModel = (model: string): string => model.trim().toLowerCase();

/** Midnight UTC of a `YYYY-MM-DD` date, in Unix ms. */
const dateToMs = (date: string): number => Date.parse(`${date}T00:00:00Z`);

/** The names to look up for a model, in order (see the matching rule at the top of the file). */
function candidateNames(model: string): string[] {
  const exact = normalizeModel(model);
  const withoutSnapshot = exact.replace(SNAPSHOT_SUFFIX, "");
  return withoutSnapshot !== exact && withoutSnapshot !== "" ? [exact, withoutSnapshot] : [exact];
}

/** Newest entry in force at `atMs` from a list sorted by `fromMs` ascending. */
function inForce(entries: readonly Entry[] | undefined, atMs: number): Entry | undefined {
  if (entries === undefined) return undefined;
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i];
    if (entry !== undefined && entry.fromMs <= atMs) return entry;
  }
  return undefined;
}

function defaultEntries(tables: readonly DefaultPriceTable[]): Map<string, Entry[]> {
  const byModel = new Map<string, Entry[]>();
  const sorted = [...tables].sort((a, b) => dateToMs(a.effectiveFrom) - dateToMs(b.effectiveFrom));
  sorted.forEach((table, index) => {
    // The oldest table also covers usage from before its date: better an estimate than unpriced.
    const fromMs = index === 0 ? Number.NEGATIVE_INFINITY : dateToMs(table.effectiveFrom);
    for (const [model, modelPrice] of Object.entries(table.prices)) {
      const key = normalizeModel(model);
      const list = byModel.get(key) ?? [];
      list.push({ fromMs, version: `${table.version}:${key}`, price: modelPrice });
      byModel.set(key, list);
    }
  });
  return byModel;
}

function overrideEntries(overrides: readonly PriceOverride[]): Map<string, Entry[]> {
  const byModel = new Map<string, Entry[]>();
  for (const override of overrides) {
    const key = normalizeModel(override.model);
    const list = byModel.get(key) ?? [];
    list.push({
      fromMs: dateToMs(override.effectiveFrom),
      version: `override:${override.effectiveFrom}:${key}`,
      price: {
        inputUsdPerMTok: override.inputUsdPerMTok,
        cachedInputUsdPerMTok: override.cachedInputUsdPerMTok,
        outputUsdPerMTok: override.outputUsdPerMTok,
      },
    });
    byModel.set(key, list);
  }
  // Stable sort: for two overrides with the same model and date, the later one in the list wins.
  for (const list of byModel.values()) list.sort((a, b) => a.fromMs - b.fromMs);
  return byModel;
}

/** USD for one usage at one price; cached tokens are a part of the input (clamped to it). */
export function costUsd(tokens: PricedTokens, modelPrice: ModelPrice): number {
  const cached = Math.min(tokens.cachedInputTokens, tokens.inputTokens);
  const uncached = tokens.inputTokens - cached;
  // outputTokens already includes reasoningOutputTokens: reasoning is not added again.
  return (
    (uncached * modelPrice.inputUsdPerMTok +
      cached * modelPrice.cachedInputUsdPerMTok +
      tokens.outputTokens * modelPrice.outputUsdPerMTok) /
    1e6
  );
}

/** Builds a pricer from config overrides (already validated) and the default tables. */
export function createPricer(
  overrides: readonly PriceOverride[] = [],
  tables: readonly DefaultPriceTable[] = DEFAULT_PRICE_TABLES,
): Pricer {
  const defaults = defaultEntries(tables);
  const byOverride = overrideEntries(overrides);
  return {
    price(model, atMs, tokens) {
      if (!Number.isFinite(atMs)) throw new RangeError(`pricing: atMs must be a finite number, got ${atMs}`);
      if (typeof model === "string") {
        for (const name of candidateNames(model)) {
          const entry = inForce(byOverride.get(name), atMs) ?? inForce(defaults.get(name), atMs);
          if (entry !== undefined) {
            return { costUsd: costUsd(tokens, entry.price), unpricedTokens: 0, priceVersion: entry.version };
          }
        }
      }
      return { costUsd: null, unpricedTokens: tokens.totalTokens, priceVersion: "unpriced" };
    },
  };
}
