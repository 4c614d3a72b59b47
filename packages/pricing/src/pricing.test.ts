import { describe, expect, it } from "vitest";
import { createPricer, type PricedTokens, type PriceOverride, PriceOverrideSchema } from "./pricing.ts";

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

describe("default table", () => {
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
    expect(result.priceVersion).toBe(`default-2026-01:${model}`);
  });

  it.each([
    ["1M uncached input", tokens({ inputTokens: 1e6, totalTokens: 1e6 }), 5],
    ["1M cached input", tokens({ inputTokens: 1e6, cachedInputTokens: 1e6, totalTokens: 1e6 }), 0.5],
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

  it("does price usage older than the first table with the first table", () => {
    expect(createPricer().price("gpt-5", at("2025-09-01T00:00:00Z"), SAMPLE)).toEqual({
      costUsd: expect.closeTo(0.004275, 9),
      unpricedTokens: 0,
      priceVersion: "default-2026-01:gpt-5",
    });
  });
});

describe("model-name matching", () => {
  it.each([
    ["gpt-5.4-2026-03-05", "default-2026-01:gpt-5.4"],
    ["gpt-5.4-mini-2026-03-17", "default-2026-01:gpt-5.4-mini"],
    ["GPT-5.4", "default-2026-01:gpt-5.4"],
    [" gpt-5.4 ", "default-2026-01:gpt-5.4"],
    ["gpt-5-2025-08-07", "default-2026-01:gpt-5"],
    ["gpt-5.4-pro", "unpriced"],
    ["gpt-5.4-nano", "unpriced"],
    ["gpt-5.45", "unpriced"],
    ["gpt-5.4o", "unpriced"],
    ["openai/gpt-5.4", "unpriced"],
    ["gpt-5.4-20260305", "unpriced"],
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
    const result = createPricer().price("o3", JUNE_2026, SAMPLE);
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
    ["gpt-5.5", "2026-09-30T23:59:59.999Z", "default-2026-01:gpt-5.5", 0.0159],
    ["gpt-5.5", "2026-10-01T00:00:00.000Z", "override:2026-10-01:gpt-5.5", 0.01272],
    ["gpt-5.5", "2026-11-30T23:59:59.999Z", "override:2026-10-01:gpt-5.5", 0.01272],
    ["gpt-5.5", "2026-12-01T00:00:00.000Z", "override:2026-12-01:gpt-5.5", 0.00954],
    ["gpt-5.5-2026-11-11", "2027-03-01T00:00:00.000Z", "override:2026-12-01:gpt-5.5", 0.00954],
    ["acme-coder", "2026-12-31T23:59:59.999Z", "unpriced", null],
    ["acme-coder", "2027-01-01T00:00:00.000Z", "override:2027-01-01:acme-coder", 0.0027],
    ["gpt-5.4-2026-03-05", "2026-06-15T00:00:00.000Z", "override:2026-01-01:gpt-5.4-2026-03-05", 0.00636],
    ["gpt-5.4", "2026-06-15T00:00:00.000Z", "default-2026-01:gpt-5.4", 0.00795],
  ])("does price %s at %s with %s", (model, iso, version, expected) => {
    const result = createPricer(all).price(model, at(iso), SAMPLE);
    expect(result.priceVersion).toBe(version);
    if (expected === null) expect(result.costUsd).toBeNull();
    else expect(result.costUsd).toBeCloseTo(expected, 9);
  });

  it("does fall back to the base model when a snapshot's own override is not yet in force", () => {
    const later = override("gpt-5.4-2026-03-05", "2027-01-01", 2, 0.2, 12);
    expect(createPricer([later]).price("gpt-5.4-2026-03-05", JUNE_2026, SAMPLE).priceVersion).toBe(
      "default-2026-01:gpt-5.4",
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
  ])("does validate %s (ok=%s)", (_name, input, ok) => {
    expect(PriceOverrideSchema.safeParse(input).success).toBe(ok);
  });
});
