/**
 * The price catalogue: OpenAI's list prices from `@pydantic/genai-prices`, the dated snapshot that
 * ships inside that package (offline, the default), or a newer copy of the same data fetched by
 * the operator's opt-in refresh (`pricing.catalogue.refresh`).
 *
 * Why this library rather than our own table (judged on 0.1.8, 2026-12-06): MIT, no dependencies,
 * no network unless asked (its bundled data is used until `updatePrices` is called, which we never
 * call: a refresh hands the fetched provider to `calcPrice` explicitly). It knows every gpt-5.x
 * name codex uses (incl. `-codex`, `-codex-max`, `-mini`, `-pro`, 5.6 luna/terra/sol), their dated
 * snapshot names, the long-context tier (above 271,999 input tokens in one request: the whole
 * request at the higher rate), cache-read and, for 5.6, cache-write rates, and price history as
 * dated entries (gpt-5.6-sol cheaper from 2026-08-21). It is maintained weekly; ours was ten
 * hand-typed rows. Cost: 2.1 MB unpacked (830 kB module, loaded once per thread). Keeping our own
 * generated snapshot would mean re-implementing its tiers and history and regenerating by hand.
 */
import { findProvider, type Provider } from "@pydantic/genai-prices";
import { z } from "zod";

/** The package and version the snapshot comes from (a test checks it against the installed one). */
export const CATALOGUE_PACKAGE = "genai-prices";
export const CATALOGUE_PACKAGE_VERSION = "0.1.8";
/** When that version was published: the date of the shipped prices. */
export const CATALOGUE_SNAPSHOT_DATE = "2026-09-23";
/** Where the library's maintainers publish the current data (the same format as the snapshot). */
export const CATALOGUE_REMOTE_URL =
  "https://raw.githubusercontent.com/pydantic/genai-prices/main/prices/new_data/v2/data.json";

/** One loaded catalogue: OpenAI's provider entry and the version recorded on every row it priced. */
export interface Catalogue {
  /** `genai-prices@0.1.8` (snapshot) or `genai-prices@refresh-2026-12-06` (a refresh). */
  version: string;
  /** The date of its prices (snapshot: publish date; refresh: fetch date). */
  date: string;
  provider: Provider;
}

/** The codex models are OpenAI's; codex may run them through other providers at the same list price. */
const PROVIDER_ID = "openai";

/**
 * Our matching rule on top of the library's: a catalogue entry matches a name only by `equals`
 * or an anchored `regex` (its dated snapshot names). Its `starts_with`/`contains`/`ends_with`
 * clauses are dropped: `gpt-5-nano` `starts_with: gpt-5-nano-` would price a future
 * `gpt-5-nano-pro` as nano, which is the guess we never make (README "Prices").
 */
type Match = Provider["models"][number]["match"];
function strictMatch(match: Match): Match {
  if ("or" in match) return { or: match.or.map(strictMatch) };
  if ("and" in match) return { and: match.and.map(strictMatch) };
  if ("equals" in match) return match;
  if ("regex" in match && match.regex.startsWith("^") && match.regex.endsWith("$")) return match;
  return { or: [] };
}

function strictProvider(provider: Provider): Provider {
  return { ...provider, models: provider.models.map((m) => ({ ...m, match: strictMatch(m.match) })) };
}

/** The catalogue shipped with the package: what prices every row unless a refresh succeeded. */
export function snapshotCatalogue(): Catalogue {
  const provider = findProvider({ providerId: PROVIDER_ID });
  if (!provider) throw new Error(`${CATALOGUE_PACKAGE}: no '${PROVIDER_ID}' provider in the bundled data`);
  return {
    version: `${CATALOGUE_PACKAGE}@${CATALOGUE_PACKAGE_VERSION}`,
    date: CATALOGUE_SNAPSHOT_DATE,
    provider: strictProvider(provider),
  };
}

const PriceValue = z.union([
  z.number().nonnegative(),
  z.object({
    base: z.number().nonnegative(),
    tiers: z.array(z.object({ start: z.int().nonnegative(), price: z.number().nonnegative() })).max(16),
  }),
]);
const MatchSchema: z.ZodType<Match> = z.lazy(() =>
  z.union([
    z.object({ or: z.array(MatchSchema).max(256) }),
    z.object({ and: z.array(MatchSchema).max(256) }),
    z.object({ equals: z.string().max(200) }),
    z.object({ regex: z.string().max(500) }),
    z.object({ starts_with: z.string().max(200) }),
    z.object({ ends_with: z.string().max(200) }),
    z.object({ contains: z.string().max(200) }),
  ]),
) as z.ZodType<Match>;
const PricesSchema = z.record(z.string(), PriceValue);
/** Enough of the remote format to price with; anything else in it is kept but not relied on. */
const RemoteProviderSchema = z.looseObject({
  id: z.literal(PROVIDER_ID),
  name: z.string(),
  api_pattern: z.string(),
  models: z
    .array(
      z.looseObject({
        id: z.string().max(200),
        match: MatchSchema,
        prices: z.union([
          PricesSchema,
          z
            .array(
              z.object({
                constraint: z.object({ start_date: z.iso.date(), type: z.literal("start_date") }).optional(),
                prices: PricesSchema,
              }),
            )
            .min(1)
            .max(64),
        ]),
      }),
    )
    .min(1)
    .max(5000),
});

/**
 * Parse a fetched copy of the data (`CATALOGUE_REMOTE_URL`): the OpenAI entry, validated, with
 * our matching rule applied. Throws with a short reason when it is not usable.
 */
export function parseRemoteCatalogue(json: unknown, fetchedAtMs: number): Catalogue {
  if (!Array.isArray(json)) throw new Error("expected a JSON array of providers");
  const entry = json.find(
    (p) => typeof p === "object" && p !== null && (p as { id?: unknown }).id === PROVIDER_ID,
  );
  if (entry === undefined) throw new Error(`no '${PROVIDER_ID}' provider in the data`);
  const parsed = RemoteProviderSchema.safeParse(entry);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`'${PROVIDER_ID}' entry: ${issue?.path.join(".") ?? ""} ${issue?.message ?? "invalid"}`);
  }
  const date = new Date(fetchedAtMs).toISOString().slice(0, 10);
  return {
    version: `${CATALOGUE_PACKAGE}@refresh-${date}`,
    date,
    provider: strictProvider(parsed.data as unknown as Provider),
  };
}

/**
 * Fetch the current data with a timeout. Resolves the new catalogue, or rejects (network error,
 * timeout, HTTP status, bad data); the caller keeps what it had and logs the reason once.
 */
export async function fetchCatalogue(opts: {
  url: string;
  timeoutMs: number;
  nowMs: () => number;
  fetchFn?: typeof fetch;
}): Promise<Catalogue> {
  const res = await (opts.fetchFn ?? fetch)(opts.url, { signal: AbortSignal.timeout(opts.timeoutMs) });
  if (!res.ok) throw new Error(`HTTP ${res.status} from ${opts.url}`);
  return parseRemoteCatalogue(await res.json(), opts.nowMs());
}
