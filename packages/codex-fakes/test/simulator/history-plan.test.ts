import { describe, expect, it } from "vitest";
import { planHistory } from "../../src/simulator/history-plan.ts";
import { createPrng } from "../../src/simulator/prng.ts";

const DAY = 86_400_000;
// Monday 2026-11-16 00:00 UTC to Monday 2026-11-23 00:00 UTC.
const FROM = Date.UTC(2026, 10, 16);
const TO = FROM + 7 * DAY;

describe("planHistory", () => {
  const plan = planHistory({
    fromMs: FROM,
    toMs: TO,
    turnsPerDay: 24,
    utcOffsetHours: 0,
    prng: createPrng(1),
  });

  it("does plan ascending times within the range", () => {
    expect(plan.length).toBeGreaterThan(50);
    expect(plan.every((t, i) => t >= FROM && t < TO && (i === 0 || t >= (plan[i - 1] as number)))).toBe(true);
  });

  it("does put most turns on weekdays in working hours", () => {
    const weekday = plan.filter((t) => {
      const d = new Date(t);
      return d.getUTCDay() >= 1 && d.getUTCDay() <= 5;
    });
    expect(weekday.length / plan.length).toBeGreaterThan(0.85);
    const office = plan.filter((t) => new Date(t).getUTCHours() >= 9 && new Date(t).getUTCHours() < 20);
    expect(office.length / plan.length).toBeGreaterThan(0.9);
  });

  it("does give the same plan for the same seed", () => {
    const again = planHistory({
      fromMs: FROM,
      toMs: TO,
      turnsPerDay: 24,
      utcOffsetHours: 0,
      prng: createPrng(1),
    });
    expect(again).toEqual(plan);
  });
});
