import type { PlanLimitReport } from "@codex-fleet/protocol/limits";
import { FORECAST_LOOKBACK_MS } from "@codex-fleet/protocol/limits";
import { describe, expect, it } from "vitest";
import { RpcError } from "../../../src/fleet/connection.ts";
import { READ_TAKES_NO_PARAMS, readOutcome } from "../../../src/fleet/plan-limit-tracker.ts";
import {
  MAX_LIMITS_PER_TARGET,
  MAX_SAMPLES_IN_MEMORY,
  RESAVE_UNCHANGED_MS,
  SAMPLE_EVERY_MS,
  TargetPlanLimits,
} from "../../../src/fleet/plan-limits.ts";

const T0 = 1_800_000_000_000;
const RESET = T0 + 3 * 3_600_000;
const report = (over: Partial<PlanLimitReport> = {}): PlanLimitReport => ({
  limitId: "codex",
  limitName: null,
  planType: null,
  primary: null,
  secondary: null,
  credits: null,
  rateLimitReachedType: null,
  spendControlReached: null,
  source: "updated",
  ...over,
});
const primary = (usedPercent: number) => ({ usedPercent, windowDurationMins: 300, resetsAtMs: RESET });

describe("TargetPlanLimits", () => {
  it("merges sparse reports: a later report without windows keeps them", () => {
    const m = new TargetPlanLimits();
    m.apply(
      report({ primary: primary(40), credits: { hasCredits: true, unlimited: false, balance: "5" } }),
      T0,
    );
    const second = m.apply(report({ planType: "plus" }), T0 + 1000);
    expect(second).toMatchObject({
      kind: "applied",
      state: { planType: "plus", primary: { usedPercent: 40 }, credits: { balance: "5" } },
      samples: [],
    });
  });

  it("samples a window when it changes, or once a minute when it does not", () => {
    const m = new TargetPlanLimits();
    const at = (dt: number, pct: number) => m.apply(report({ primary: primary(pct) }), T0 + dt);
    const taken = [
      at(0, 40), // first: sampled
      at(1_000, 40), // same, too soon: not
      at(2_000, 41), // changed: sampled
      at(2_000 + SAMPLE_EVERY_MS - 1, 41), // same, too soon
      at(2_000 + SAMPLE_EVERY_MS, 41), // same, a minute on: sampled
    ].map((a) => (a.kind === "applied" ? a.samples.length : -1));
    expect(taken).toEqual([1, 0, 1, 0, 1]);
    expect(m.samplesOf("codex", "primary").map((s) => s.usedPercent)).toEqual([40, 41, 41]);
    expect(m.samplesOf("codex", "secondary")).toEqual([]);
  });

  it("stores a state when it changed, has samples, or a minute went by", () => {
    const m = new TargetPlanLimits();
    const credits = (balance: string) => report({ credits: { hasCredits: true, unlimited: false, balance } });
    const saves = [
      m.apply(credits("5"), T0),
      m.apply(credits("5"), T0 + 10),
      m.apply(credits("4"), T0 + 20),
      m.apply(credits("4"), T0 + 20 + RESAVE_UNCHANGED_MS),
    ].map((a) => a.kind === "applied" && a.save);
    expect(saves).toEqual([true, false, true, true]);
  });

  it("keeps the last hour of samples per window, at most MAX_SAMPLES_IN_MEMORY", () => {
    const m = new TargetPlanLimits();
    // One sample a minute for two hours: the last hour's stay (the newest report's time - 1 h on).
    for (let i = 0; i <= 120; i++) m.apply(report({ primary: primary(i % 2) }), T0 + i * SAMPLE_EVERY_MS);
    const last = T0 + 120 * SAMPLE_EVERY_MS;
    const kept = m.samplesOf("codex", "primary").map((s) => s.atMs);
    expect(kept).toEqual(
      Array.from({ length: 61 }, (_, i) => last - FORECAST_LOOKBACK_MS + i * SAMPLE_EVERY_MS),
    );
    // A changed window is sampled at once: a burst within the hour is bounded.
    const b = new TargetPlanLimits();
    for (let i = 0; i < MAX_SAMPLES_IN_MEMORY + 50; i++) b.apply(report({ primary: primary(i) }), T0 + i);
    const burst = b.samplesOf("codex", "primary");
    expect(burst).toHaveLength(MAX_SAMPLES_IN_MEMORY);
    expect(burst[0]?.usedPercent).toBe(50);
    expect(burst.at(-1)?.usedPercent).toBe(MAX_SAMPLES_IN_MEMORY + 49);
  });

  it("keeps at most MAX_LIMITS_PER_TARGET limit ids", () => {
    const m = new TargetPlanLimits();
    const kinds = Array.from(
      { length: MAX_LIMITS_PER_TARGET + 3 },
      (_, i) => m.apply(report({ limitId: `l${i}`, planType: "pro" }), T0).kind,
    );
    expect(kinds.filter((k) => k === "applied")).toHaveLength(MAX_LIMITS_PER_TARGET);
    expect(kinds.slice(-3)).toEqual(["dropped", "dropped", "dropped"]);
    expect(m.apply(report({ limitId: "l0", planType: "plus" }), T0 + 1).kind).toBe("applied");
  });

  it("seeds from the database unless memory is newer, and forecasts from seeded samples", () => {
    const m = new TargetPlanLimits();
    m.apply(report({ limitId: "mine", primary: primary(10) }), T0 + 5000);
    const stored = (limitId: string, observedAtMs: number, pct: number) => ({
      limitId,
      limitName: null,
      planType: "plus",
      primary: { ...primary(pct), observedAtMs },
      secondary: null,
      credits: null,
      rateLimitReachedType: null,
      rateLimitReachedAtMs: null,
      spendControlReached: null,
      observedAtMs,
    });
    m.seed(
      [stored("mine", T0, 99), stored("codex", T0, 50)],
      [0, 1, 2].map((i) => ({
        limitId: "codex",
        window: "primary" as const,
        sample: { atMs: T0 - (2 - i) * 600_000, usedPercent: 30 + i * 10, resetsAtMs: RESET },
      })),
    );
    expect(m.states.get("mine")?.primary?.usedPercent).toBe(10);
    expect(m.states.get("codex")?.planType).toBe("plus");
    // 10 points per 10 minutes from 50 %: exhausts in 50 minutes, before the reset in 3 h.
    const codex = m.states.get("codex");
    const row = codex && m.latestRow(codex, "alice", "payments"); // as of its last report: T0
    expect(row?.forecast.primary).toMatchObject({ status: "exhausts", method: "recentSlope" });
    expect(row?.forecast.primary?.exhaustsAt).toBe(new Date(T0 + 50 * 60_000).toISOString());
  });
});

describe("readOutcome", () => {
  it.each([
    [new RpcError(-32600, "codex account authentication required to read rate limits", "m"), "unavailable"],
    [new RpcError(-32600, "something else", "m"), "error"],
    [new RpcError(-32603, "authentication required", "m"), "error"],
    [new Error("account/rateLimits/read: no answer within 30000 ms"), "error"],
  ])("%s → %s, with the server's message as the reason", (err, status) => {
    const out = readOutcome(err);
    expect(out.status).toBe(status);
    expect(out.reason).toBe(err instanceof RpcError ? err.serverMessage : err.message);
  });

  it("reads an older codex whose read takes no parameters (0.150.0) as unavailable, saying why", () => {
    const err = new RpcError(
      -32600,
      "Invalid request: invalid type: map, expected unit",
      "account/rateLimits/read",
    );
    expect(readOutcome(err)).toEqual({ status: "unavailable", reason: READ_TAKES_NO_PARAMS });
  });
});
