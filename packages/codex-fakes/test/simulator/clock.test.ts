import { describe, expect, it } from "vitest";
import { SimClock } from "../../src/simulator/clock.ts";

/** A settable real clock. */
function realClock(start: number) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("SimClock", () => {
  it("does follow the wall clock when live", () => {
    const real = realClock(1_000_000);
    const clock = new SimClock(real.now);
    real.advance(250);
    expect(clock.now()).toBe(1_000_250);
  });

  it("does replay into the past when it starts there, then runs `speed` times faster", () => {
    const real = realClock(10_000_000);
    const clock = new SimClock(real.now, 1_000_000);
    clock.replay(2_000_000, 100);
    expect(clock.now()).toBe(2_000_000);
    real.advance(50);
    expect(clock.now()).toBe(2_005_000);
    expect(clock.realDelay(5_000)).toBe(50);
  });

  it.each([
    ["a jump backwards", 1_500_000],
    ["a jump to the same time", 2_000_000],
  ])("does stay monotonic on %s", (_name, target) => {
    const real = realClock(10_000_000);
    const clock = new SimClock(real.now, 2_000_000);
    clock.replay(target, 10);
    expect(clock.now()).toBe(2_000_000);
  });

  it("does return to the wall clock at speed 1 when going live", () => {
    const real = realClock(10_000_000);
    const clock = new SimClock(real.now, 1_000_000);
    clock.replay(5_000_000, 100);
    clock.goLive();
    expect(clock.now()).toBe(10_000_000);
    real.advance(10);
    expect(clock.now()).toBe(10_000_010);
    expect(clock.speed).toBe(1);
  });
});
