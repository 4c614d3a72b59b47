import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Scheduler } from "../../src/simulator/scheduler.ts";

describe("Scheduler", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("does run tasks in time order, equal times in the order they were scheduled", () => {
    const s = new Scheduler();
    const ran: string[] = [];
    for (const [name, at] of [
      ["c", 30],
      ["a", 10],
      ["b1", 20],
      ["b2", 20],
      ["z", 0],
    ] as const)
      s.after(at, () => ran.push(name));
    vi.advanceTimersByTime(30);
    expect(ran).toEqual(["z", "a", "b1", "b2", "c"]);
    expect(s.size).toBe(0);
  });

  it("does not run a task before its time", () => {
    const s = new Scheduler();
    const fn = vi.fn();
    s.after(100, fn);
    vi.advanceTimersByTime(99);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledOnce();
  });

  it("does skip a cancelled task and count it out at once", () => {
    const s = new Scheduler();
    const fn = vi.fn();
    const task = s.after(10, fn);
    s.after(20, () => {});
    task.cancel();
    task.cancel();
    expect(s.size).toBe(1);
    vi.advanceTimersByTime(50);
    expect(fn).not.toHaveBeenCalled();
  });

  it("does rearm for an earlier task scheduled after a later one", () => {
    const s = new Scheduler();
    const ran: number[] = [];
    s.after(1000, () => ran.push(1000));
    vi.advanceTimersByTime(100);
    s.after(50, () => ran.push(150));
    vi.advanceTimersByTime(60);
    expect(ran).toEqual([150]);
  });

  it("does run tasks scheduled by a running task, and nothing after close", () => {
    const s = new Scheduler();
    const ran: string[] = [];
    s.after(10, () => {
      ran.push("first");
      s.after(0, () => ran.push("chained"));
    });
    s.after(100, () => ran.push("late"));
    vi.advanceTimersByTime(20);
    s.close();
    vi.advanceTimersByTime(200);
    expect(ran).toEqual(["first", "chained"]);
    expect(s.after(1, () => ran.push("after close")).cancelled).toBe(true);
  });

  it("does report a failing task and keep running the others", () => {
    const errors: unknown[] = [];
    const s = new Scheduler(Date.now, (err) => errors.push(err));
    const fn = vi.fn();
    s.after(1, () => {
      throw new Error("boom");
    });
    s.after(2, fn);
    vi.advanceTimersByTime(5);
    expect(errors).toHaveLength(1);
    expect(fn).toHaveBeenCalledOnce();
  });
});
