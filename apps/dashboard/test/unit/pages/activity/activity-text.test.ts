import { describe, expect, it } from "vitest";
import { humanDuration, waitingSentence } from "../../../../src/pages/activity/activity-text.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;

describe("humanDuration", () => {
  it.each([
    [null, "—"],
    [0, "0 s"],
    [44_600, "45 s"],
    [6 * MIN + 10_000, "6 min"],
    [59 * MIN + 20_000, "59 min"],
    [HOUR + 20 * MIN, "1 h 20 min"],
    [2 * HOUR + 5 * MIN, "2 h 5 min"],
    [14 * HOUR + 10 * MIN, "14 h"],
    [3 * 24 * HOUR + 2 * HOUR, "3 d 2 h"],
    [5 * 24 * HOUR, "5 d"],
  ])("does write %s ms as %s", (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});

describe("waitingSentence", () => {
  const base = {
    turnsStarted: 0,
    turnsCompleted: 0,
    turnsFailed: 0,
    turnsInterrupted: 0,
    turnDurationP50Ms: null,
    turnDurationP90Ms: null,
    workingMs: 0,
    waitingOnApprovalMs: 0,
    waitingOnInputMs: 0,
    systemErrorMs: 0,
    approvalWaits: 0,
    inputWaits: 0,
    answeredWaits: 0,
    timeToAnswerP50Ms: null,
    timeToAnswerP90Ms: null,
    activeThreadsAvg: 0,
    activeThreadsPeak: null,
  };

  it("does say nothing when no agent waited", () => {
    expect(waitingSentence(base, "7d")).toBeNull();
  });

  it("does name only the kinds that waited, the period, and the median answer", () => {
    expect(
      waitingSentence({ ...base, waitingOnApprovalMs: 14 * HOUR, timeToAnswerP50Ms: 6 * MIN }, "7d"),
    ).toBe("Agents waited 14 h on approvals this week; median answer 6 min.");
    expect(waitingSentence({ ...base, waitingOnInputMs: 30 * MIN }, "24h")).toBe(
      "Agents waited 30 min on questions in the last 24 hours; no wait was answered yet.",
    );
  });
});
