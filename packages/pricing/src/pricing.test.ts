import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { calcPrice } from "@pydantic/genai-prices";
import { describe, expect, it } from "vitest";
import {
  CATALOGUE_PACKAGE_VERSION,
  changedOverrideModels,
  createPricer,
  datedPrice,
  overridesFingerprint,
  type PricedTokens,
  type PriceOverride,
  PriceOverrideSchema,
  parseRemoteCatalogue,
  snapshotCatalogue,
} from "./pricing.ts";

const V = `genai-prices@${CATALOGUE_PACKAGE_VERSION}`;

const at = (iso: string): number => Date.parse(iso);
const JUNE_2026 = at("2026-06-15T12:00:00Z");

/** The measured sample from codex-app-server-facts.md §3: total 3120 = 3000 in + 120 out; 30 reasoning ⊂ out. */
const SAMPLE: PricedTokens = {
  inputTokens: 3000,
  cachedInputTokens: 600,
  outputTokens: 120,
  reasoningOutputTokens: 30,
  totalTokens: 3120,
};
const tokens = (t: Partial<PricedTokens>): PricedTokens => ({
  inputTokens: 0,
  cachedInputTokens: 0,
  outputTokens: 0,
  reasoningOutputTokens: 0,
  totalTokens: 0,
  ...t,
});

const override = (model: string, effectiveFrom: string, i: number, c: number, o: number): PriceOverride => ({
  model,
  effectiveFrom,
  inputUsdPerMTok: i,
  cachedInputUsdPerMTok: c,
  outputUsdPerMTok: o,
});

/** The catalogue entry each codex name resolves to (the library lists the -codex names under the base model). */
const CATALOGUE_ID: Record<string, string> = {
  "gpt-5": "gpt-5",
  "gpt-5-codex": "gpt-5",
  "gpt-5.1-codex": "gpt-5.1",
  "gpt-5.1-codex-max": "gpt-5.1",
  "gpt-5.2": "gpt-5.2",
  "gpt-5.2-codex": "gpt-5.2",
  "gpt-5.3-codex": "gpt-5.3-codex",
  "gpt-5.4": "gpt-5.4",
  "gpt-5.4-mini": "gpt-5.4-mini",
  "gpt-5.5": "gpt-5.5",
};

describe("catalogue", () => {
  // Hand-computed: (3000−600)·in + 600·cached + 120·out, / 1e6. Reasoning (30) is NOT added again.
  it.each([
    ["gpt-5", 0.004275], // 2400·1.25 + 600·0.125 + 120·10 = 3000 + 75 + 1200 = 4275
    ["gpt-5-codex", 0.004275],
    ["gpt-5.1-codex", 0.004275],
    ["gpt-5.1-codex-max", 0.004275],
    ["gpt-5.2", 0.005985], // 2400·1.75 + 600·0.175 + 120·14 = 4200 + 105 + 1680 = 5985
    ["gpt-5.2-codex", 0.005985],
    ["gpt-5.3-codex", 0.005985],
    ["gpt-5.4", 0.00795], // 2400·2.5 + 600·0.25 + 120·15 = 6000 + 150 + 1800 = 7950
    ["gpt-5.4-mini", 0.002385], // 2400·0.75 + 600·0.075 + 120·4.5 = 1800 + 45 + 540 = 2385
    ["gpt-5.5", 0.0159], // 2400·5 + 600·0.5 + 120·30 = 12000 + 300 + 3600 = 15900
  ])("does price the measured sample of %s at %f USD", (model, expected) => {
    const result = createPricer().price(model, JUNE_2026, SAMPLE);
    expect(result.costUsd).toBeCloseTo(expected, 9);
    expect(result.unpricedTokens).toBe(0);
    expect(result.priceVersion).toBe(`${V}:${CATALOGUE_ID[model]}`);
  });

  it.each([
    // One request of 1M input tokens is above 271,999: the long-context rates (10 and 1).
    ["1M uncached input", tokens({ inputTokens: 1e6, totalTokens: 1e6 }), 10],
    ["1M cached input", tokens({ inputTokens: 1e6, cachedInputTokens: 1e6, totalTokens: 1e6 }), 1],
    ["1M output", tokens({ outputTokens: 1e6, totalTokens: 1e6 }), 30],
    [
      "1M output of which 400k reasoning",
      tokens({ outputTokens: 1e6, reasoningOutputTokens: 4e5, totalTokens: 1e6 }),
      30,
    ],
    ["zero tokens (priced, not unpriced)", tokens({}), 0],
    // cached > input cannot happen per the usage semantics; clamp so cost never goes negative.
    [
      "cached above input (clamped)",
      tokens({ inputTokens: 100, cachedInputTokens: 200, totalTokens: 100 }),
      0.00005,
    ],
  ])("does bill gpt-5.5 correctly for %s", (_name, usage, expected) => {
    expect(createPricer().price("gpt-5.5", JUNE_2026, usage).costUsd).toBeCloseTo(expected, 9);
  });

  it("does record the installed catalogue version (update CATALOGUE_PACKAGE_VERSION with the package)", () => {
    const require = createRequire(import.meta.url);
    const main = require.resolve("@pydantic/genai-prices");
    const pkg = JSON.parse(readFileSync(join(dirname(main), "..", "package.json"), "utf8")) as {
      version: string;
    };
    expect(pkg.version).toBe(CATALOGUE_PACKAGE_VERSION);
    expect(createPricer().catalogueVersion).toBe(V);
  });
});

describe("model-name matching", () => {
  it.each([
    ["gpt-5.4-2026-03-05", `${V}:gpt-5.4`], // listed by the catalogue
    ["gpt-5.4-2026-09-01", `${V}:gpt-5.4`], // not listed: our date-suffix rule
    ["gpt-5.4-mini-2026-03-17", `${V}:gpt-5.4-mini`],
    ["GPT-5.4", `${V}:gpt-5.4`],
    [" gpt-5.4 ", `${V}:gpt-5.4`],
    ["gpt-5-2025-08-07", `${V}:gpt-5`],
    ["gpt-5.4-pro", `${V}:gpt-5.4-pro`], // its own, dearer entry
    ["gpt-5.4-nano", `${V}:gpt-5.4-nano`],
    ["gpt-5.6", `${V}:gpt-5.6-sol`], // the catalogue lists gpt-5.6 as sol
    ["gpt-5.6-luna-2026-11-02", `${V}:gpt-5.6-luna`], // its anchored snapshot regex
    ["gpt-5.4-20260305", `${V}:gpt-5.4`], // the library's compact-date normalization
    ["gpt-5.4-codex", "unpriced"], // not in the catalogue: never gpt-5.4
    ["gpt-5.5-mini", "unpriced"], // never strips -mini
    ["gpt-5-codex-mini", "unpriced"],
    ["gpt-5-nano-pro", "unpriced"], // the catalogue's starts_with "gpt-5-nano-" is dropped
    ["gpt-5.45", "unpriced"],
    ["gpt-5.4o", "unpriced"],
    ["openai/gpt-5.4", "unpriced"],
    ["gpt-5.4-2026-03-05-preview", "unpriced"],
    ["mock-model", "unpriced"],
    ["", "unpriced"],
    ["-2026-03-05", "unpriced"],
  ])("does resolve %j to %s", (model, version) => {
    expect(createPricer().price(model, JUNE_2026, SAMPLE).priceVersion).toBe(version);
  });

  it.each([null, undefined])("does report %s model as unpriced with all tokens unpriced", (model) => {
    expect(createPricer().price(model, JUNE_2026, SAMPLE)).toEqual({
      costUsd: null,
      unpricedTokens: 3120,
      priceVersion: "unpriced",
    });
  });

  it("does report an unknown model with cost null, never 0", () => {
    const result = createPricer().price("acme-coder", JUNE_2026, SAMPLE);
    expect(result.costUsd).toBeNull();
    expect(result.unpricedTokens).toBe(3120);
  });
});

describe("overrides", () => {
  const cheaper = override("gpt-5.5", "2026-10-01", 4, 0.4, 24); // sample: 9600 + 240 + 2880 = 12720
  const cheapest = override("gpt-5.5", "2026-12-01", 3, 0.3, 18); // sample: 7200 + 180 + 2160 = 9540
  const custom = override("acme-coder", "2027-01-01", 1, 0.1, 2); // sample: 2400 + 60 + 240 = 2700
  const snapshot = override("gpt-5.4-2026-03-05", "2026-01-01", 2, 0.2, 12); // 4800 + 120 + 1440 = 6360
  const all = [cheapest, custom, cheaper, snapshot]; // deliberately not in date order

  it.each([
    ["gpt-5.5", "2026-09-30T23:59:59.999Z", `${V}:gpt-5.5`, 0.0159],
    ["gpt-5.5", "2026-10-01T00:00:00.000Z", "override:2026-10-01:gpt-5.5", 0.01272],
    ["gpt-5.5", "2026-11-30T23:59:59.999Z", "override:2026-10-01:gpt-5.5", 0.01272],
    ["gpt-5.5", "2026-12-01T00:00:00.000Z", "override:2026-12-01:gpt-5.5", 0.00954],
    ["gpt-5.5-2026-11-11", "2027-03-01T00:00:00.000Z", "override:2026-12-01:gpt-5.5", 0.00954],
    ["acme-coder", "2026-12-31T23:59:59.999Z", "unpriced", null],
    ["acme-coder", "2027-01-01T00:00:00.000Z", "override:2027-01-01:acme-coder", 0.0027],
    ["gpt-5.4-2026-03-05", "2026-06-15T00:00:00.000Z", "override:2026-01-01:gpt-5.4-2026-03-05", 0.00636],
    ["gpt-5.4", "2026-06-15T00:00:00.000Z", `${V}:gpt-5.4`, 0.00795],
    // An override for the base name also wins for a snapshot name the catalogue lists.
    ["gpt-5.5-2026-04-23", "2026-10-02T00:00:00.000Z", "override:2026-10-01:gpt-5.5", 0.01272],
  ])("does price %s at %s with %s", (model, iso, version, expected) => {
    const result = createPricer(all).price(model, at(iso), SAMPLE);
    expect(result.priceVersion).toBe(version);
    if (expected === null) expect(result.costUsd).toBeNull();
    else expect(result.costUsd).toBeCloseTo(expected, 9);
  });

  it("does fall back to the base model when a snapshot's own override is not yet in force", () => {
    const later = override("gpt-5.4-2026-03-05", "2027-01-01", 2, 0.2, 12);
    expect(createPricer([later]).price("gpt-5.4-2026-03-05", JUNE_2026, SAMPLE).priceVersion).toBe(
      `${V}:gpt-5.4`,
    );
  });

  it("does let the later-listed override win when two share a model and a date", () => {
    const first = override("gpt-5.5", "2026-10-01", 4, 0.4, 24);
    const second = override("gpt-5.5", "2026-10-01", 3, 0.3, 18);
    const result = createPricer([first, second]).price("gpt-5.5", at("2026-10-02T00:00:00Z"), SAMPLE);
    expect(result.costUsd).toBeCloseTo(0.00954, 9);
  });

  it("does throw when atMs is not a finite number", () => {
    expect(() => createPricer().price("gpt-5", Number.NaN, SAMPLE)).toThrow(RangeError);
  });
});

describe("PriceOverrideSchema", () => {
  const good = {
    model: "gpt-5.5",
    effectiveFrom: "2026-10-01",
    inputUsdPerMTok: 5,
    cachedInputUsdPerMTok: 0.5,
    outputUsdPerMTok: 30,
  };
  it.each([
    ["a valid override", good, true],
    ["a non-existent date", { ...good, effectiveFrom: "2026-02-30" }, false],
    ["a date with a time", { ...good, effectiveFrom: "2026-10-01T00:00:00Z" }, false],
    ["a negative price", { ...good, outputUsdPerMTok: -1 }, false],
    ["a price given as a string", { ...good, inputUsdPerMTok: "5" }, false],
    ["an empty model", { ...good, model: " " }, false],
    ["an unknown key", { ...good, reasoningUsdPerMTok: 30 }, false],
    ["a missing cached price", { ...good, cachedInputUsdPerMTok: undefined }, false],
    ["a cache-write price", { ...good, cacheWriteUsdPerMTok: 6.25 }, true],
    [
      "a long-context tier",
      {
        ...good,
        longContext: {
          aboveInputTokens: 271999,
          inputUsdPerMTok: 10,
          cachedInputUsdPerMTok: 1,
          outputUsdPerMTok: 45,
        },
      },
      true,
    ],
    ["a long-context tier without its threshold", { ...good, longContext: { inputUsdPerMTok: 10 } }, false],
  ])("does validate %s (ok=%s)", (_name, input, ok) => {
    expect(PriceOverrideSchema.safeParse(input).success).toBe(ok);
  });
});

describe("per-response rules", () => {
  const req = (input: number, extra: Partial<PricedTokens> = {}) =>
    tokens({ inputTokens: input, outputTokens: 1000, totalTokens: input + 1000, ...extra });

  // gpt-5.4: 2.5/0.25/15 up to 271,999 input tokens; 5/0.5/22.5 from 272,000 (the whole request).
  it.each([
    [271_999, (271_999 * 2.5 + 1000 * 15) / 1e6],
    [272_000, (272_000 * 5 + 1000 * 22.5) / 1e6],
    [272_001, (272_001 * 5 + 1000 * 22.5) / 1e6],
  ])("does apply gpt-5.4's long-context tier by one request's input (%i tokens)", (input, expected) => {
    const result = createPricer().price("gpt-5.4", JUNE_2026, req(input));
    expect(result.costUsd).toBeCloseTo(expected, 9);
  });

  it.each([
    ["gpt-5.4", 150_000, 30_000, 0],
    ["gpt-5.4", 300_000, 30_000, 0],
    ["gpt-5.6-sol", 300_000, 30_000, 20_000],
    ["gpt-5.6-terra", 100_000, 10_000, 5_000],
    ["gpt-5.6-luna", 400_000, 100_000, 50_000],
  ])(
    "does agree with the library's own calcPrice for %s, %i in, %i cached, %i written",
    (model, input, cached, written) => {
      const atMs = at("2026-10-01T00:00:00Z");
      const ours = createPricer().price(
        model,
        atMs,
        req(input, { cachedInputTokens: cached, cacheWriteInputTokens: written }),
      );
      const theirs = calcPrice(
        { input_tokens: input, cache_read_tokens: cached, cache_write_tokens: written, output_tokens: 1000 },
        model,
        { provider: snapshotCatalogue().provider, timestamp: new Date(atMs) },
      );
      expect(theirs).not.toBeNull();
      expect(ours.costUsd).toBeCloseTo(theirs?.total_price ?? Number.NaN, 12);
    },
  );

  it("does bill gpt-5.6-sol cache writes at 1.25x input, and gpt-5.4 cache writes as input", () => {
    const atMs = at("2026-10-01T00:00:00Z"); // sol: 4 in, 0.4 cached, 5 write, 20 out
    const usage = tokens({
      inputTokens: 10_000,
      cachedInputTokens: 2_000,
      cacheWriteInputTokens: 3_000,
      totalTokens: 10_000,
    });
    expect(createPricer().price("gpt-5.6-sol", atMs, usage).costUsd).toBeCloseTo(
      (5000 * 4 + 2000 * 0.4 + 3000 * 5) / 1e6,
      12,
    );
    expect(createPricer().price("gpt-5.4", atMs, usage).costUsd).toBeCloseTo(
      (8000 * 2.5 + 2000 * 0.25) / 1e6,
      12,
    );
  });

  it("does follow the catalogue's price history (gpt-5.6-sol cheaper from 2026-08-21)", () => {
    const usage = tokens({ inputTokens: 100_000, totalTokens: 100_000 });
    expect(createPricer().price("gpt-5.6-sol", at("2026-08-20T23:59:59Z"), usage).costUsd).toBeCloseTo(
      0.5,
      9,
    );
    expect(createPricer().price("gpt-5.6-sol", at("2026-08-21T00:00:00Z"), usage).costUsd).toBeCloseTo(
      0.4,
      9,
    );
  });

  it("does clamp cache writes to the input left after cached tokens", () => {
    const usage = tokens({
      inputTokens: 100,
      cachedInputTokens: 60,
      cacheWriteInputTokens: 80,
      totalTokens: 100,
    });
    const atMs = at("2026-10-01T00:00:00Z");
    expect(createPricer().price("gpt-5.6-sol", atMs, usage).costUsd).toBeCloseTo(
      (60 * 0.4 + 40 * 5) / 1e6,
      12,
    );
  });

  it("does decide a merged delta's tier by the last response and mark its version", () => {
    // 3 responses of 150k input each, seen as one delta of 450k: the tier is the last request's.
    const usage = req(450_000);
    const merged = createPricer().price("gpt-5.4", JUNE_2026, usage, {
      requestInputTokens: 150_000,
      merged: true,
    });
    expect(merged.costUsd).toBeCloseTo((450_000 * 2.5 + 1000 * 15) / 1e6, 9);
    expect(merged.priceVersion).toBe(`${V}:gpt-5.4+merged`);
    expect(createPricer().price("gpt-5.4", JUNE_2026, usage).costUsd).toBeCloseTo(
      (450_000 * 5 + 1000 * 22.5) / 1e6,
      9,
    );
  });

  it("does apply an override's own long-context tier and cache-write price", () => {
    const o: PriceOverride = {
      ...override("acme-coder", "2026-01-01", 1, 0.1, 2),
      cacheWriteUsdPerMTok: 1.5,
      longContext: {
        aboveInputTokens: 100_000,
        inputUsdPerMTok: 2,
        cachedInputUsdPerMTok: 0.2,
        outputUsdPerMTok: 4,
      },
    };
    const pricer = createPricer([o]);
    const small = tokens({
      inputTokens: 100_000,
      cacheWriteInputTokens: 10_000,
      outputTokens: 10,
      totalTokens: 100_010,
    });
    const large = tokens({
      inputTokens: 100_001,
      cacheWriteInputTokens: 10_000,
      outputTokens: 10,
      totalTokens: 100_011,
    });
    expect(pricer.price("acme-coder", JUNE_2026, small).costUsd).toBeCloseTo(
      (90_000 * 1 + 10_000 * 1.5 + 10 * 2) / 1e6,
      12,
    );
    // Above the threshold; no long-context cache-write price given: the long-context input rate.
    expect(pricer.price("acme-coder", JUNE_2026, large).costUsd).toBeCloseTo(
      (90_001 * 2 + 10_000 * 2 + 10 * 4) / 1e6,
      12,
    );
  });
});

describe("override changes (what re-pricing covers)", () => {
  const a = override("gpt-5.5", "2026-10-01", 4, 0.4, 24);
  const b = override("gpt-5.5", "2026-12-01", 3, 0.3, 18);
  const c = override("acme", "2026-05-01", 1, 0.1, 2);
  it.each([
    ["no change", [a, b, c], [c, b, a], []],
    [
      "an added past override",
      [a],
      [a, { ...b, effectiveFrom: "2026-06-01" }],
      [{ model: "gpt-5.5", fromDate: "2026-06-01" }],
    ],
    [
      "a changed price",
      [a, b],
      [a, { ...b, outputUsdPerMTok: 19 }],
      [{ model: "gpt-5.5", fromDate: "2026-12-01" }],
    ],
    [
      "a removed override",
      [a, b, c],
      [b],
      [
        { model: "acme", fromDate: "2026-05-01" },
        { model: "gpt-5.5", fromDate: "2026-10-01" },
      ],
    ],
    ["a renamed model (case only)", [a], [{ ...a, model: "GPT-5.5" }], []],
  ])("does find %s", (_name, before, after, expected) => {
    expect(changedOverrideModels(before, after)).toEqual(expected);
    expect(overridesFingerprint(before) === overridesFingerprint(after)).toBe(expected.length === 0);
  });
});

describe("refreshed catalogue", () => {
  const provider = (prices: unknown) => [
    { id: "anthropic", name: "Anthropic", api_pattern: "x", models: [] },
    {
      id: "openai",
      name: "OpenAI",
      api_pattern: "x",
      models: [{ id: "gpt-9", match: { or: [{ equals: "gpt-9" }, { starts_with: "gpt-9-" }] }, prices }],
    },
  ];
  const fetchedAt = at("2026-12-06T10:00:00Z");

  it("does price with a valid fetched copy and record its version", () => {
    const catalogue = parseRemoteCatalogue(provider({ input_mtok: 1, output_mtok: 2 }), fetchedAt);
    const result = createPricer([], catalogue).price("gpt-9", JUNE_2026, SAMPLE);
    expect(result.priceVersion).toBe("genai-prices@refresh-2026-12-06:gpt-9");
    expect(result.costUsd).toBeCloseTo((3000 * 1 + 120 * 2) / 1e6, 12);
    // Our matching rule applies to fetched data too.
    expect(createPricer([], catalogue).price("gpt-9-mini", JUNE_2026, SAMPLE).priceVersion).toBe("unpriced");
  });

  it.each([
    ["not an array", { openai: {} }, /array/],
    ["no openai entry", [{ id: "x" }], /no 'openai'/],
    ["a negative price", provider({ input_mtok: -1, output_mtok: 2 }), /models/],
    ["a price as a string", provider({ input_mtok: "1", output_mtok: 2 }), /models/],
  ])("does refuse %s", (_name, json, message) => {
    expect(() => parseRemoteCatalogue(json, fetchedAt)).toThrow(message);
  });

  it("does leave a model the library cannot price unpriced, not a crash", () => {
    const catalogue = parseRemoteCatalogue(provider({ output_mtok: 2 }), fetchedAt); // no input rate
    expect(createPricer([], catalogue).price("gpt-9", JUNE_2026, SAMPLE).priceVersion).toBe("unpriced");
  });
});

describe("dated prices read directly (the fast path)", () => {
  it("does pick the same price as the library's calcPrice for every OpenAI entry and date", () => {
    const { provider } = snapshotCatalogue();
    let compared = 0;
    for (const model of provider.models)
      for (const iso of [
        "2025-01-01",
        "2026-07-29",
        "2026-07-30",
        "2026-08-20",
        "2026-08-21",
        "2026-12-06",
      ]) {
        const atMs = Date.parse(`${iso}T12:00:00Z`);
        const single = { ...provider, models: [model] };
        const theirs = calcPrice({ input_tokens: 0, output_tokens: 0 }, model.id, {
          provider: single,
          timestamp: new Date(atMs),
        });
        if (theirs === null) continue; // an entry not matched by its own id (none expected)
        expect(datedPrice(model, atMs)).toEqual(theirs.model_price);
        compared++;
      }
    expect(compared).toBeGreaterThan(100);
  });
});
