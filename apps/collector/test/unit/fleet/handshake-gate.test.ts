/** The handshake gate on fake timers: slots, first come first served, the hold limit, cancelling. */

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type GateTicket, HandshakeGate } from "../../../src/fleet/handshake-gate.ts";

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Enter `n` handshakes named 0…n-1; `started` lists them in the order they got a slot. */
function enterMany(gate: HandshakeGate, n: number): { tickets: GateTicket[]; started: number[] } {
  const started: number[] = [];
  const tickets = Array.from({ length: n }, (_, i) => gate.enter(() => started.push(i)));
  return { tickets, started };
}

describe("HandshakeGate", () => {
  it("does start at most `max` handshakes at once and the next one when one ends, in arrival order", () => {
    const gate = new HandshakeGate({ max: 2, holdMaxMs: 10_000 });
    const { tickets, started } = enterMany(gate, 5);
    expect(started).toEqual([0, 1]);
    expect(gate.inFlight).toBe(2);
    tickets[1]?.release();
    expect(started).toEqual([0, 1, 2]);
    tickets[0]?.release();
    tickets[2]?.release();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(gate.inFlight).toBe(2);
  });

  it("does give a slot back after holdMaxMs when the handshake never ends (a target that never answers)", () => {
    const gate = new HandshakeGate({ max: 1, holdMaxMs: 500 });
    const { started } = enterMany(gate, 3);
    expect(started).toEqual([0]);
    vi.advanceTimersByTime(499);
    expect(started).toEqual([0]);
    vi.advanceTimersByTime(1);
    expect(started).toEqual([0, 1]);
    vi.advanceTimersByTime(500);
    expect(started).toEqual([0, 1, 2]);
  });

  it("does never start a ticket released while it waited, and counts a release only once", () => {
    const gate = new HandshakeGate({ max: 1, holdMaxMs: 10_000 });
    const { tickets, started } = enterMany(gate, 3);
    tickets[1]?.release(); // stopped while waiting
    tickets[0]?.release();
    tickets[0]?.release(); // twice: must not free a second slot
    expect(started).toEqual([0, 2]);
    expect(gate.inFlight).toBe(1);
    vi.advanceTimersByTime(10_000); // 2's hold limit; 0's timer was cleared at its release
    expect(gate.inFlight).toBe(0);
  });

  it("does go on with the line when a handshake fails at once inside its start (a bad URL), without recursing", () => {
    const gate = new HandshakeGate({ max: 1, holdMaxMs: 10_000 });
    const started: number[] = [];
    for (let i = 0; i < 20_000; i++)
      gate.enter((t) => {
        started.push(i);
        t.release();
      });
    expect(started).toHaveLength(20_000);
    expect(gate.inFlight).toBe(0);
  });

  it.each([
    [{ max: 0, holdMaxMs: 1 }, /max must be an integer ≥ 1 \(got 0\)/],
    [{ max: 1.5, holdMaxMs: 1 }, /max must be an integer ≥ 1 \(got 1.5\)/],
    [{ max: 1, holdMaxMs: 0 }, /holdMaxMs must be > 0 \(got 0\)/],
    [{ max: 1, holdMaxMs: Number.NaN }, /holdMaxMs must be > 0 \(got NaN\)/],
  ])("does refuse %o, naming the parameter", (opts, message) => {
    expect(() => new HandshakeGate(opts)).toThrow(message);
  });

  it("stays open for later targets when a start throws", () => {
    const gate = new HandshakeGate({ max: 2, holdMaxMs: 10_000 });
    expect(() =>
      gate.enter(() => {
        throw new Error("bad start");
      }),
    ).toThrow("bad start");
    let started = false;
    gate.enter(() => {
      started = true;
    });
    expect(started).toBe(true);
  });
});
