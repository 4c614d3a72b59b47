/**
 * Token pricing, one model response at a time: the maintained catalogue (catalogue.ts, why that
 * one), admin overrides with effective dates that always win, and `unpriced` for models neither
 * knows (never $0).
 *
 * Billing semantics (OpenAI Responses usage, as codex reports it in `thread/tokenUsage/updated`):
 * - `inputTokens` includes `cachedInputTokens` and `cacheWriteInputTokens` (codex 0.169.0 fills
 *   the latter from the Responses `usage.input_tokens_details.cache_write_tokens`, a part of
 *   `input_tokens` like `cached_tokens`). Cached tokens are billed at the cache-read rate, cache
 *   writes at the cache-write rate (gpt-5.6: 1.25× input), the rest at the input rate. A model
 *   with no cache-read or cache-write rate bills those tokens as plain input.
 * - `outputTokens` includes `reasoningOutputTokens` (reasoning is billed as output), so reasoning
 *   is never added a second time. Measured (codex-app-server-facts.md §3): total 3120 = input
 *   3000 + output 120, with reasoning 30 inside the 120.
 * - Long context: when one request's input is above the catalogue's threshold (271,999 for
 *   gpt-5.4/5.5/5.6: from 272,000 tokens on), every rate of that request is the higher tier.
 *   The tier is decided by `requestInputTokens` (the input of the one request); see
 *   `PriceRequest` for a delta that covers several responses.
 * - Service tier (flex/priority): not priced. codex 0.169.0 reports a thread's `serviceTier` only
 *   in `thread/settings/updated` and in start/resume responses, never per response, and the
 *   catalogue has no service-tier rates for gpt-5.x.
 *
 * Model-name matching (the rule, in order; names compared case-insensitively, trimmed):
 * 1. the exact name (e.g. `gpt-5.4`, a dated snapshot the catalogue lists, or an override's name);
 * 2. the name without one trailing date-snapshot suffix `-YYYY-MM-DD` (e.g. `gpt-5.4-2026-09-01`
 *    → `gpt-5.4`). No other suffix is ever stripped: `gpt-5.4-mini` and `gpt-5.4-pro` are
 *    different models with different prices and never fall back to `gpt-5.4`; a provider prefix
 *    (`openai/gpt-5.4`) is not stripped either. Catalogue entries match by their listed names only
 *    (catalogue.ts drops its prefix matches). Anything else is `unpriced`.
 * An override in force at the usage time for any candidate name wins over the catalogue (so an
 * override for `gpt-5.4` also prices `gpt-5.4-2026-03-05`, which the catalogue lists).
 */
import { type ModelPrice as CatalogueModelPrice, calcPrice } from "@pydantic/genai-prices";
import { z } from "zod";
import { type Catalogue, snapshotCatalogue } from "./catalogue.ts";

export {
  CATALOGUE_PACKAGE_VERSION,
  CATALOGUE_REMOTE_URL,
  CATALOGUE_SNAPSHOT_DATE,
  type Catalogue,
  fetchCatalogue,
  parseRemoteCatalogue,
  snapshotCatalogue,
} from "./catalogue.ts";

const usdPerMTok = z.number().nonnegative();

/** The higher rates an override applies to a request whose input is above `aboveInputTokens`. */
const LongContextSchema = z.strictObject({
  aboveInputTokens: z.int().nonnegative(),
  inputUsdPerMTok: usdPerMTok,
  cachedInputUsdPerMTok: usdPerMTok,
  outputUsdPerMTok: usdPerMTok,
  cacheWriteUsdPerMTok: usdPerMTok.optional(),
});

/** An admin price override from config: in force from `effectiveFrom` (00:00 UTC) on. */
export const PriceOverrideSchema = z.strictObject({
  model: z.string().trim().min(1).max(200),
  effectiveFrom: z.iso.date(),
  inputUsdPerMTok: usdPerMTok,
  cachedInputUsdPerMTok: usdPerMTok,
  outputUsdPerMTok: usdPerMTok,
  /** Absent: cache writes are billed as input. */
  cacheWriteUsdPerMTok: usdPerMTok.optional(),
  /** Absent: one rate whatever the request's size. */
  longContext: LongContextSchema.optional(),
});

/** A parsed price override. */
export type PriceOverride = z.infer<typeof PriceOverrideSchema>;

/** The token counters pricing needs (structurally the protocol's `TokenCounts`). */
export interface PricedTokens {
  inputTokens: number;
  cachedInputTokens: number;
  /** A part of `inputTokens`; absent = 0. */
  cacheWriteInputTokens?: number;
  outputTokens: number;
  reasoningOutputTokens: number;
  totalTokens: number;
}

/**
 * What is known about the request(s) behind the tokens. One live report is one model response,
 * so it is priced exactly. A delta that covers several responses (first sight of a thread
 * mid-life, reports missed while disconnected) cannot be split: it is priced as one request whose
 * tier is decided by the last response's input (in a growing context the largest of them), and
 * its version is marked `+merged`.
 */
export interface PriceRequest {
  /** Input tokens of the request that decides the long-context tier (default: `inputTokens`). */
  requestInputTokens?: number;
  /** The tokens cover more than one response. */
  merged?: boolean;
}

/** The cost of one usage and which price priced it. */
export interface PriceResult {
  /** USD, or null when the model is unknown (never 0 for an unknown model). */
  costUsd: number | null;
  /** `totalTokens` when unpriced, else 0. */
  unpricedTokens: number;
  /**
   * The source and version: `genai-prices@0.1.8:gpt-5.4`, `override:2026-10-01:gpt-5.5` or
   * `unpriced`; `+merged` appended for a delta of several responses.
   */
  priceVersion: string;
}

/** Prices token usage at a point in time. */
export interface Pricer {
  price(
    model: string | null | undefined,
    atMs: number,
    tokens: PricedTokens,
    request?: PriceRequest,
  ): PriceResult;
  /** The catalogue version in force (`genai-prices@0.1.8`). */
  readonly catalogueVersion: string;
}

/** The suffix of a price version for a delta of several responses. */
export const MERGED_SUFFIX = "+merged";

interface OverrideEntry {
  fromMs: number;
  version: string;
  price: CatalogueModelPrice;
}

const SNAPSHOT_SUFFIX = /-\d{4}-\d{2}-\d{2}$/;

/** The form a model name is matched in (overrides of one model and date are one override). */
export const normalizeModel = (model: string): string => model.trim().toLowerCase();

/** Midnight UTC of a `YYYY-MM-DD` date, in Unix ms. */
const dateToMs = (date: string): number => Date.parse(`${date}T00:00:00Z`);

/** The names to look up for a model, in order (see the matching rule at the top of the file). */
function candidateNames(model: string): string[] {
  const exact = normalizeModel(model);
  const withoutSnapshot = exact.replace(SNAPSHOT_SUFFIX, "");
  return withoutSnapshot !== exact && withoutSnapshot !== "" ? [exact, withoutSnapshot] : [exact];
}

/** Newest entry in force at `atMs` from a list sorted by `fromMs` ascending. */
function inForce(entries: readonly OverrideEntry[] | undefined, atMs: number): OverrideEntry | undefined {
  if (entries === undefined) return undefined;
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i];
    if (entry !== undefined && entry.fromMs <= atMs) return entry;
  }
  return undefined;
}

/** One rate, with the long-context tier when `above` is set (catalogue tier semantics: input > start). */
function tiered(base: number, long: number | undefined, above: number | undefined) {
  return long === undefined || above === undefined ? base : { base, tiers: [{ start: above, price: long }] };
}

/** An override as a catalogue price, so that one cost function serves both. */
export function overridePrice(o: PriceOverride): CatalogueModelPrice {
  const lc = o.longContext;
  const above = lc?.aboveInputTokens;
  const price: CatalogueModelPrice = {
    input_mtok: tiered(o.inputUsdPerMTok, lc?.inputUsdPerMTok, above),
    cache_read_mtok: tiered(o.cachedInputUsdPerMTok, lc?.cachedInputUsdPerMTok, above),
    output_mtok: tiered(o.outputUsdPerMTok, lc?.outputUsdPerMTok, above),
  };
  if (o.cacheWriteUsdPerMTok !== undefined)
    price.cache_write_mtok = tiered(
      o.cacheWriteUsdPerMTok,
      lc?.cacheWriteUsdPerMTok ?? lc?.inputUsdPerMTok,
      above,
    );
  return price;
}

function overrideEntries(overrides: readonly PriceOverride[]): Map<string, OverrideEntry[]> {
  const byModel = new Map<string, OverrideEntry[]>();
  for (const override of overrides) {
    const key = normalizeModel(override.model);
    const list = byModel.get(key) ?? [];
    list.push({
      fromMs: dateToMs(override.effectiveFrom),
      version: `override:${override.effectiveFrom}:${key}`,
      price: overridePrice(override),
    });
    byModel.set(key, list);
  }
  // Stable sort: for two overrides with the same model and date, the later one in the list wins.
  for (const list of byModel.values()) list.sort((a, b) => a.fromMs - b.fromMs);
  return byModel;
}

/** The rate (USD per 1M tokens) of one price key for a request of `requestInput` input tokens. */
export function rateFor(value: CatalogueModelPrice[string], requestInput: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number") return value;
  let rate = value.base;
  let from = Number.NEGATIVE_INFINITY;
  for (const tier of value.tiers)
    if (requestInput > tier.start && tier.start > from) {
      rate = tier.price;
      from = tier.start;
    }
  return rate;
}

/**
 * USD for one usage at one price (null when the price has no input or output rate). Cached and
 * cache-write tokens are parts of the input (clamped to it, cached first); reasoning is inside
 * output and never added again.
 */
export function costUsd(
  tokens: PricedTokens,
  price: CatalogueModelPrice,
  requestInput = tokens.inputTokens,
): number | null {
  const input = rateFor(price.input_mtok, requestInput);
  const output = rateFor(price.output_mtok, requestInput);
  if (input === undefined || output === undefined) return null;
  const cached = Math.min(tokens.cachedInputTokens, tokens.inputTokens);
  const writes = Math.min(tokens.cacheWriteInputTokens ?? 0, tokens.inputTokens - cached);
  const plain = tokens.inputTokens - cached - writes;
  return (
    (plain * input +
      cached * (rateFor(price.cache_read_mtok, requestInput) ?? input) +
      writes * (rateFor(price.cache_write_mtok, requestInput) ?? input) +
      tokens.outputTokens * output) /
    1e6
  );
}

const NO_USAGE = { input_tokens: 0, output_tokens: 0 };
/** Distinct model names whose catalogue match is remembered (names come from app-servers: bounded). */
const MATCH_CACHE_MAX = 1000;

type CatalogueModel = Catalogue["provider"]["models"][number];

/**
 * The price of a catalogue entry in force at `atMs`: the library's rule (`calcPrice`) for dated
 * entries — the last whose `start_date` (00:00 UTC) is not after the time, else the first.
 * Returns undefined for an entry with a time-of-day constraint, left to the library.
 */
export function datedPrice(model: CatalogueModel, atMs: number): CatalogueModelPrice | undefined {
  if (!Array.isArray(model.prices)) return model.prices;
  for (let i = model.prices.length - 1; i >= 0; i--) {
    const entry = model.prices[i];
    const c = entry?.constraint;
    if (entry === undefined) continue;
    if (c === undefined) return entry.prices;
    if (c.type !== "start_date") return undefined;
    if (atMs >= Date.parse(c.start_date)) return entry.prices;
  }
  return model.prices[0]?.prices;
}

/**
 * The catalogue's price in force for `name` at `atMs`, by its own matching and dated history.
 * Matching a name against the whole catalogue costs ~60 µs (the library normalizes every entry
 * per call), so the matched entry is remembered per name and its dated price read directly.
 */
function cataloguePricer(catalogue: Catalogue) {
  const matched = new Map<string, CatalogueModel | null>();
  const lookup = (name: string, atMs: number) => {
    try {
      const hit = calcPrice(NO_USAGE, name, { provider: catalogue.provider, timestamp: new Date(atMs) });
      return hit ? { id: hit.model.id, price: hit.model_price, model: hit.model } : null;
    } catch {
      // A refreshed catalogue with an entry the library refuses: that model is unknown, not a crash.
      return null;
    }
  };
  return (name: string, atMs: number): { id: string; price: CatalogueModelPrice } | null => {
    let model = matched.get(name);
    if (model === undefined) {
      model = lookup(name, atMs)?.model ?? null;
      if (matched.size >= MATCH_CACHE_MAX) matched.clear();
      matched.set(name, model);
    }
    if (model === null) return null;
    const price = datedPrice(model, atMs);
    if (price !== undefined) return { id: model.id, price };
    const hit = lookup(name, atMs);
    return hit ? { id: hit.id, price: hit.price } : null;
  };
}

/** Builds a pricer from config overrides (already validated) and a catalogue (default: the snapshot). */
export function createPricer(
  overrides: readonly PriceOverride[] = [],
  catalogue: Catalogue = snapshotCatalogue(),
): Pricer {
  const byOverride = overrideEntries(overrides);
  const cataloguePrice = cataloguePricer(catalogue);
  /** An override in force for any candidate name wins; then the catalogue, name by name. */
  const findPrice = (names: readonly string[], atMs: number) => {
    for (const name of names) {
      const override = inForce(byOverride.get(name), atMs);
      if (override) return override;
    }
    for (const name of names) {
      const hit = cataloguePrice(name, atMs);
      if (hit) return { version: `${catalogue.version}:${hit.id}`, price: hit.price };
    }
    return null;
  };
  return {
    catalogueVersion: catalogue.version,
    price(model, atMs, tokens, request = {}) {
      if (!Number.isFinite(atMs)) throw new RangeError(`pricing: atMs must be a finite number, got ${atMs}`);
      const suffix = request.merged ? MERGED_SUFFIX : "";
      const requestInput = request.requestInputTokens ?? tokens.inputTokens;
      if (typeof model === "string") {
        const names = candidateNames(model);
        const found = findPrice(names, atMs);
        const cost = found ? costUsd(tokens, found.price, requestInput) : null;
        if (found && cost !== null)
          return { costUsd: cost, unpricedTokens: 0, priceVersion: `${found.version}${suffix}` };
      }
      return { costUsd: null, unpricedTokens: tokens.totalTokens, priceVersion: "unpriced" };
    },
  };
}

/**
 * A stable fingerprint of an override set (order-insensitive except where order decides, i.e.
 * two entries for one model and date, which config refuses): re-pricing runs when it changes.
 */
export function overridesFingerprint(overrides: readonly PriceOverride[]): string {
  const canonical = overrides
    .map((o) => JSON.stringify(canonicalOverride(o)))
    .sort()
    .join("\n");
  return canonical;
}

function canonicalOverride(o: PriceOverride): unknown {
  return {
    model: normalizeModel(o.model),
    effectiveFrom: o.effectiveFrom,
    price: overridePrice(o),
  };
}

/**
 * Which (model, from-date) ranges a change of the override set touches: for each model whose
 * overrides differ, the earliest `effectiveFrom` that differs (added, removed or changed). Rows of
 * that model (by the matching rule's candidate names) at or after it must be re-priced.
 */
export function changedOverrideModels(
  before: readonly PriceOverride[],
  after: readonly PriceOverride[],
): { model: string; fromDate: string }[] {
  const index = (list: readonly PriceOverride[]) => {
    const m = new Map<string, Map<string, string>>();
    for (const o of list) {
      const key = normalizeModel(o.model);
      const byDate = m.get(key) ?? new Map<string, string>();
      byDate.set(o.effectiveFrom, JSON.stringify(overridePrice(o)));
      m.set(key, byDate);
    }
    return m;
  };
  const a = index(before);
  const b = index(after);
  const out: { model: string; fromDate: string }[] = [];
  for (const model of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(model) ?? new Map<string, string>();
    const y = b.get(model) ?? new Map<string, string>();
    let earliest: string | null = null;
    for (const date of new Set([...x.keys(), ...y.keys()]))
      if (x.get(date) !== y.get(date) && (earliest === null || date < earliest)) earliest = date;
    if (earliest !== null) out.push({ model, fromDate: earliest });
  }
  return out.sort((p, q) => p.model.localeCompare(q.model));
}
