import type { PlanWindowView, WindowForecastView } from "@codex-fleet/protocol/limits";
import { describe, expect, it } from "vitest";
import {
  forecastDetail,
  forecastStatus,
  forecastText,
  limitRowsByTarget,
  resetText,
  sortLimitRows,
  usedText,
  weekdayTime,
  windowLongName,
  windowShortName,
  windowTone,
} from "../../../src/lib/plan-limits.ts";
import { LIMIT_ROWS, limitRow, NOW } from "../../fixtures.ts";

const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const window = (overrides: Partial<PlanWindowView> = {}): PlanWindowView => ({
  usedPercent: 43,
  windowDurationMins: 300,
  resetsAt: iso(NOW + 3 * 60 * MIN),
  observedAt: iso(NOW - MIN),
  ...overrides,
});
const forecast = (overrides: Partial<WindowForecastView> = {}): WindowForecastView => ({
  status: "onTrack",
  exhaustsAt: null,
  burnPctPerHour: 4,
  method: "windowAverage",
  ...overrides,
});

describe("plan-limit words", () => {
  it.each([
    [300, "5h", "5-hour window"],
    [10080, "wk", "weekly window"],
    [1440, "1d", "1-day window"],
    [90, "90m", "90-minute window"],
    [null, "primary", "primary window"],
  ])("does name a %s-minute window %s / %s", (mins, short, long) => {
    expect(windowShortName(mins, "primary")).toBe(short);
    expect(windowLongName(mins, "primary")).toBe(long);
  });

  it.each([
    ["exhausted", "err"],
    ["exhausts", "warn"],
    ["onTrack", "ok"],
    ["reset", "stale"],
    ["unknown", "unknown"],
  ] as const)("does colour a %s window %s", (status, tone) => {
    expect(windowTone(status)).toBe(tone);
  });

  it("does say the forecast in words", () => {
    expect(forecastText(window(), forecast(), NOW)).toBe("on track");
    const at = NOW + 40 * MIN;
    expect(forecastText(window(), forecast({ status: "exhausts", exhaustsAt: iso(at) }), NOW)).toBe(
      `exhausts ~${weekdayTime(at)}`,
    );
    expect(forecastText(window({ usedPercent: 100 }), forecast({ status: "exhausted" }), NOW)).toBe(
      `exhausted until ${weekdayTime(NOW + 3 * 60 * MIN)}`,
    );
    expect(forecastText(window(), null, NOW)).toBe("no forecast yet");
  });

  it("does call a window stale once its reset time has passed, whatever the served forecast said", () => {
    const passed = window({ resetsAt: iso(NOW - MIN) });
    expect(forecastStatus(passed, forecast({ status: "exhausts" }), NOW)).toBe("reset");
    expect(forecastText(passed, forecast({ status: "exhausts" }), NOW)).toBe("window has reset");
    expect(resetText(passed, NOW)).toBe(
      `reset ${weekdayTime(NOW - MIN)}: figure stale until the next report`,
    );
  });

  it("does say when a window resets and in how long", () => {
    expect(resetText(window(), NOW)).toBe(`resets ${weekdayTime(NOW + 3 * 60 * MIN)}, in 3h`);
    expect(resetText(window({ resetsAt: null }), NOW)).toBe("");
  });

  it("does write the weekday and time in the browser's zone", () => {
    const at = Date.parse("2026-11-26T14:00:00Z"); // a Thursday
    const local = new Date(at);
    const hh = String(local.getHours()).padStart(2, "0");
    const mm = String(local.getMinutes()).padStart(2, "0");
    expect(weekdayTime(at)).toMatch(new RegExp(`^\\w{3},? ${hh}:${mm}$`));
  });

  it("does state the burn rate and its method", () => {
    expect(forecastDetail(forecast({ burnPctPerHour: 27.04, method: "recentSlope" }))).toBe(
      "Burn rate 27 % an hour: the trend of this window's reports over the last hour.",
    );
    expect(forecastDetail(forecast())).toContain("average since it started");
    expect(forecastDetail(null)).toBe("Not enough reports to tell a burn rate yet.");
  });

  it("does print used % as an integer or to one decimal", () => {
    expect([usedText(43), usedText(42.55), usedText(100)]).toEqual(["43 %", "42.6 %", "100 %"]);
  });

  it("does order rows most urgent first, then by developer", () => {
    const shuffled = [LIMIT_ROWS[3], LIMIT_ROWS[0], LIMIT_ROWS[2], LIMIT_ROWS[1]].filter(
      (r) => r !== undefined,
    );
    expect(sortLimitRows(shuffled).map((r) => r.target)).toEqual(["bob", "alice", "carol", "erin"]);
    const tie = [limitRow({ target: "zoe", team: "x" }), limitRow({ target: "adam", team: "x" })];
    expect(sortLimitRows(tie).map((r) => r.target)).toEqual(["adam", "zoe"]);
  });

  it("does group rows by developer, each most urgent first", () => {
    const other = limitRow({ target: "alice", team: "payments", limitId: "codex_other" });
    const grouped = limitRowsByTarget([other, ...LIMIT_ROWS]);
    expect(grouped.get("alice")?.map((r) => r.limitId)).toEqual(["codex", "codex_other"]);
    expect([...grouped.keys()]).toEqual(["bob", "alice", "carol", "erin"]);
  });
});
