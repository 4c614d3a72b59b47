import { describe, expect, it } from "vitest";
import {
  forecastWindow,
  limitRowView,
  limitUrgency,
  mergePlanLimit,
  type PlanLimitReport,
  type PlanWindow,
} from "../src/limits.ts";

const HOUR = 3_600_000;
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

describe("mergePlanLimit", () => {
  it("keeps known values when a sparse update says nothing", () => {
    const first = mergePlanLimit(
      undefined,
      report({
        planType: "plus",
        primary: { usedPercent: 43, windowDurationMins: 300, resetsAtMs: 10 * HOUR },
        credits: { hasCredits: true, unlimited: false, balance: "12.5" },
        source: "read",
      }),
      1_000,
    );
    const second = mergePlanLimit(
      first,
      report({ secondary: { usedPercent: 87, windowDurationMins: 10080, resetsAtMs: 99 * HOUR } }),
      2_000,
    );
    expect(second.planType).toBe("plus");
    expect(second.primary).toEqual({
      usedPercent: 43,
      windowDurationMins: 300,
      resetsAtMs: 10 * HOUR,
      observedAtMs: 1_000,
    });
    expect(second.secondary?.observedAtMs).toBe(2_000);
    expect(second.credits?.balance).toBe("12.5");
    expect(second.observedAtMs).toBe(2_000);
  });

  it("clears 'limit reached' only on a later report that carries windows", () => {
    const reached = mergePlanLimit(
      undefined,
      report({ rateLimitReachedType: "workspace_member_credits_depleted" }),
      1_000,
    );
    expect(reached.rateLimitReachedAtMs).toBe(1_000);
    const silent = mergePlanLimit(reached, report(), 2_000);
    expect(silent.rateLimitReachedType).toBe("workspace_member_credits_depleted");
    expect(silent.rateLimitReachedAtMs).toBe(1_000);
    const ok = mergePlanLimit(
      silent,
      report({ primary: { usedPercent: 10, windowDurationMins: 300, resetsAtMs: null } }),
      3_000,
    );
    expect(ok.rateLimitReachedType).toBeNull();
    expect(ok.rateLimitReachedAtMs).toBeNull();
  });
});

describe("forecastWindow", () => {
  const window = (usedPercent: number, observedAtMs: number, resetsAtMs: number | null): PlanWindow => ({
    usedPercent,
    windowDurationMins: 300,
    resetsAtMs,
    observedAtMs,
  });

  it("projects the recent slope to 100 % before the reset", () => {
    // 10 %/h over the last 30 min; 60 % now; reset in 5 h → exhausts in 4 h.
    const now = 10 * HOUR;
    // The read route's reset time wobbles by a second or two between polls: still one window.
    const samples = [0, 10, 20, 30].map((m) => ({
      atMs: now - 30 * 60_000 + m * 60_000,
      usedPercent: 55 + (m / 60) * 10,
      resetsAtMs: now + 5 * HOUR + (m % 20 === 0 ? 1_000 : -2_000),
    }));
    const f = forecastWindow(window(60, now, now + 5 * HOUR), samples, now);
    expect(f.method).toBe("recentSlope");
    expect(f.status).toBe("exhausts");
    expect(f.burnPctPerHour).toBeCloseTo(10, 6);
    expect(f.exhaustsAtMs).toBe(now + 4 * HOUR);
  });

  it("falls back to the window average and says on track when the reset comes first", () => {
    // Window started 4 h ago (300 min window, reset in 1 h), 40 % used → 10 %/h → 100 % in 6 h.
    const now = 10 * HOUR;
    const f = forecastWindow(window(40, now, now + HOUR), [], now);
    expect(f).toEqual({ status: "onTrack", exhaustsAtMs: null, burnPctPerHour: 10, method: "windowAverage" });
  });

  it("ignores samples of an earlier window and reports exhausted, reset and unknown", () => {
    const now = 10 * HOUR;
    const old = [
      { atMs: now - 40 * 60_000, usedPercent: 0, resetsAtMs: now - HOUR },
      { atMs: now - 20 * 60_000, usedPercent: 90, resetsAtMs: now - HOUR },
    ];
    expect(forecastWindow(window(20, now, now + HOUR), old, now).method).toBe("windowAverage");
    expect(forecastWindow(window(100, now, now + HOUR), [], now).status).toBe("exhausted");
    expect(forecastWindow(window(50, now - 2 * HOUR, now - HOUR), [], now).status).toBe("reset");
    expect(forecastWindow(window(50, now, null), [], now).status).toBe("unknown");
  });
});

describe("limitRowView", () => {
  it("serves ISO times and sorts the exhausting first", () => {
    const now = 10 * HOUR;
    const state = mergePlanLimit(
      undefined,
      report({ primary: { usedPercent: 100, windowDurationMins: 300, resetsAtMs: now + HOUR } }),
      now,
    );
    const row = limitRowView({
      target: "alice",
      team: "core",
      state,
      samples: { primary: [], secondary: [] },
      nowMs: now,
    });
    expect(row.primary?.resetsAt).toBe(new Date(now + HOUR).toISOString());
    expect(row.forecast.primary?.status).toBe("exhausted");
    expect(row.forecast.secondary).toBeNull();
    const calm = limitRowView({
      target: "bob",
      team: "core",
      state: mergePlanLimit(
        undefined,
        report({ primary: { usedPercent: 5, windowDurationMins: 300, resetsAtMs: now + HOUR } }),
        now,
      ),
      samples: { primary: [], secondary: [] },
      nowMs: now,
    });
    expect(limitUrgency(row)).toBeGreaterThan(limitUrgency(calm));
  });
});
