/**
 * `SimulatedFleet.leave()`: developers close their editors, so the threads they held unload like
 * app-server unloads them — the only way left to read a warm thread's total (facts §2) once no
 * further turn comes.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type SimulatedFleet, startSimulatedFleet } from "../../src/simulator/fleet.ts";

let sim: SimulatedFleet | null = null;

afterEach(async () => {
  await sim?.close();
  sim = null;
});

const until = async (what: string, cond: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("SimulatedFleet.leave", () => {
  it("does unload the threads the paused developers held, and nothing before", async () => {
    sim = await startSimulatedFleet({
      servers: 2,
      seed: "leave",
      turnsPerMinute: 600,
      unloadAfterMs: 100,
      outcomes: { approvalStuck: 0, userInput: 0, approval: 0 },
    });
    const fleet = sim;
    await until("a few turns", () => fleet.stats().turnsStarted >= 2, 20_000);
    fleet.pause();
    await fleet.idle();
    // Held by their developers: still loaded well past unloadAfterMs.
    await new Promise((r) => setTimeout(r, 400));
    expect(fleet.stats().loadedThreads).toBeGreaterThan(0);
    fleet.leave();
    await until("every thread unloaded", () => fleet.stats().loadedThreads === 0);
  }, 60_000);
});
