/**
 * No stale alarms (issue 16): a systemError or failed-turn alert ends when its thread goes idle,
 * starts a new turn, unloads (`notLoaded` / `thread/closed`) or is archived (measured: status
 * `notLoaded`, then `thread/archived`) — whichever comes first — and keeps firing while nothing
 * changed. Each case runs evaluate + the state machine over an injected clock, the engine's loop
 * without its I/O.
 */
import type { GoalSnapshot } from "@codex-fleet/db/repositories/ingest-types";
import { describe, expect, it } from "vitest";
import { evaluateRule, movedOnFrom } from "../../../src/alerts/evaluate.ts";
import { apply } from "../../../src/alerts/state-machine.ts";
import type {
  AlertRecord,
  EffectiveRule,
  FailedTurn,
  FleetSnapshot,
  ThreadSnapshot,
} from "../../../src/alerts/types.ts";
import { MIN, rule, snapshot, T0, thread } from "../../support/alert-fixtures.ts";

const TH = "01a1fcf8-d0ac-7651-84b2-b24f772ded0b";
const FAILED_TURN = "01a1fcfb-d4d9-0000-0000-000000000001";
const NEXT_TURN = "01a1fcfb-d4d9-0000-0000-000000000002";

/** The thread right after a failed turn, as the collector holds it (facts §3). */
const failedThread = thread({
  status: "systemError",
  statusSinceMs: T0 - MIN,
  lastEventAtMs: T0 - MIN,
  lastCodexErrorInfo: "internalServerError",
  lastTurnId: FAILED_TURN,
});
const failure: FailedTurn = {
  turnId: FAILED_TURN,
  threadId: TH,
  targetId: "alice",
  codexErrorInfo: "internalServerError",
  atMs: T0 - MIN,
};

/**
 * What happened to the thread next, as the reducer leaves its state, and whether the systemError
 * alert ends with it (it follows the status, which every connection hears: facts §1).
 */
const NEXT: [string, Partial<ThreadSnapshot>, boolean][] = [
  ["starts a new turn (status active)", { status: "active", statusSinceMs: T0 + MIN }, true],
  ["goes idle", { status: "idle", statusSinceMs: T0 + MIN }, true],
  ["unloads (thread/status/changed notLoaded + thread/closed)", { status: "notLoaded" }, true],
  ["is archived (status notLoaded, then thread/archived)", { status: "notLoaded" }, true],
  // Status still systemError: the systemError alert stands until the status changes (a moment
  // later for a new turn; never, if that turn failed too — then it is the same episode).
  [
    "starts a new turn (turn/started seen, status change not yet)",
    { currentTurnId: NEXT_TURN, lastEventAtMs: T0 + MIN },
    false,
  ],
  ["failed another turn since", { lastTurnId: NEXT_TURN, lastEventAtMs: T0 + MIN }, false],
];

/**
 * Evaluate `r` at each step's time and step one alert identity through the state machine.
 * Returns the alert's state after each step ("none" when there is no open alert).
 */
function lifecycle(r: EffectiveRule, steps: { atMs: number; snap: FleetSnapshot }[]): string[] {
  let open: AlertRecord | null = null;
  let n = 0;
  return steps.map(({ atMs, snap }) => {
    const conditions = evaluateRule(r, snap, atMs).conditions;
    expect(conditions.length).toBeLessThanOrEqual(1);
    const t = apply(open, conditions[0] ?? null, r, {
      nowMs: atMs,
      silenced: false,
      newId: () => `a${++n}`,
    });
    open = t.next !== null && t.next.state !== "resolved" ? t.next : null;
    return t.next?.state ?? (open === null ? "none" : "?");
  });
}

const systemErrorRule = rule({ kind: "systemError" });
const singleFailure = rule({ kind: "turnFailed", windowMs: 60 * MIN });

describe("systemError alerts end when the thread moves on", () => {
  it.each(NEXT)("ends or stands when the thread %s", (_name, next, ends) => {
    const states = lifecycle(systemErrorRule, [
      { atMs: T0, snap: snapshot({ threads: [failedThread] }) },
      { atMs: T0 + 2 * MIN, snap: snapshot({ threads: [{ ...failedThread, ...next }] }) },
    ]);
    expect(states).toEqual(["firing", ends ? "resolved" : "firing"]);
  });

  it("keeps firing for days while nothing changed (the thread stays loaded in systemError)", () => {
    const snap = snapshot({ threads: [failedThread] });
    const states = lifecycle(systemErrorRule, [
      { atMs: T0, snap },
      { atMs: T0 + 60 * MIN, snap },
      { atMs: T0 + 3 * 24 * 60 * MIN, snap },
    ]);
    expect(states).toEqual(["firing", "firing", "firing"]);
  });

  it("neither fires nor resolves while the target is down (held), then resolves once it is back and unloaded", () => {
    const down = snapshot({
      targets: [{ id: "alice", team: "payments", state: "backoff", connectedSinceMs: null, down: null }],
      threads: [failedThread],
    });
    const out = evaluateRule(systemErrorRule, down, T0);
    expect([out.conditions.length, [...out.held]]).toEqual([0, [`thread:${TH}`]]);
    const back = snapshot({ threads: [{ ...failedThread, status: "notLoaded" }] });
    expect(evaluateRule(systemErrorRule, back, T0).conditions).toEqual([]);
  });
});

describe("single failed-turn alerts (minCount 1) end when the thread moves on", () => {
  it.each(NEXT)("resolves when the thread %s", (_name, next, _systemErrorEnds) => {
    const states = lifecycle(singleFailure, [
      { atMs: T0, snap: snapshot({ threads: [failedThread], failures: [failure] }) },
      {
        atMs: T0 + 2 * MIN,
        snap: snapshot({ threads: [{ ...failedThread, ...next }], failures: [failure] }),
      },
    ]);
    expect(states).toEqual(["firing", "resolved"]);
  });

  it("keeps firing while nothing changed, until the window passes", () => {
    const snap = snapshot({ threads: [failedThread], failures: [failure] });
    expect(
      lifecycle(singleFailure, [
        { atMs: T0, snap },
        { atMs: T0 + 30 * MIN, snap },
        { atMs: failure.atMs + 60 * MIN, snap },
      ]),
    ).toEqual(["firing", "firing", "resolved"]);
  });

  it("fires again for the next turn's failure (a new alert identity per episode)", () => {
    const second: FailedTurn = { ...failure, turnId: NEXT_TURN, atMs: T0 + 2 * MIN };
    const after = { ...failedThread, lastTurnId: NEXT_TURN, statusSinceMs: T0 + 2 * MIN };
    expect(
      lifecycle(singleFailure, [
        { atMs: T0, snap: snapshot({ threads: [failedThread], failures: [failure] }) },
        {
          atMs: T0 + MIN,
          snap: snapshot({ threads: [{ ...failedThread, status: "active" }], failures: [failure] }),
        },
        { atMs: T0 + 3 * MIN, snap: snapshot({ threads: [after], failures: [failure, second] }) },
      ]),
    ).toEqual(["firing", "resolved", "firing"]);
  });

  it("does count a failure whose thread the collector does not know (the window ends it)", () => {
    expect(evaluateRule(singleFailure, snapshot({ failures: [failure] }), T0).conditions).toHaveLength(1);
  });

  it("does not let retries shrink a rate: minCount > 1 counts every failure in the window", () => {
    const rate = rule({ kind: "turnFailed", minCount: 2, windowMs: 15 * MIN });
    const other: FailedTurn = { ...failure, turnId: "u2", threadId: "th-2", atMs: T0 - 2 * MIN };
    const snap = snapshot({
      threads: [{ ...failedThread, status: "active" }, thread({ id: "th-2", status: "idle" })],
      failures: [failure, other],
    });
    const out = evaluateRule(rate, snap, T0).conditions;
    expect(out.map((c) => [c.subject.id, c.value])).toEqual([["alice", 2]]);
  });

  it("says how many threads still stand failed when several do", () => {
    const other: FailedTurn = { ...failure, turnId: "u2", threadId: "th-2" };
    const snap = snapshot({
      threads: [failedThread, { ...failedThread, id: "th-2", lastTurnId: "u2" }],
      failures: [failure, other],
    });
    expect(evaluateRule(singleFailure, snap, T0).conditions[0]?.summary).toBe(
      "2 threads have a failed turn with internalServerError on alice",
    );
  });
});

describe("movedOnFrom", () => {
  it.each<[string, boolean, ThreadSnapshot | undefined]>([
    ["an unknown thread tells nothing", false, undefined],
    ["still in systemError after that turn", false, failedThread],
    ["an unknown status variant tells nothing", false, { ...failedThread, status: "unknown:paused" }],
    ["the failed turn itself still named current", false, { ...failedThread, currentTurnId: FAILED_TURN }],
    ["idle", true, { ...failedThread, status: "idle" }],
    ["active", true, { ...failedThread, status: "active" }],
    ["notLoaded", true, { ...failedThread, status: "notLoaded" }],
    ["another turn running", true, { ...failedThread, currentTurnId: NEXT_TURN }],
    ["another turn ended", true, { ...failedThread, lastTurnId: NEXT_TURN }],
  ])("%s: %s", (_name, want, t) => {
    expect(movedOnFrom(failure, t)).toBe(want);
  });
});

describe("other rule kinds on an abandoned thread", () => {
  it("does end a stalled goal when the thread unloads or is archived", () => {
    const goal: GoalSnapshot = {
      status: "budgetLimited",
      tokenBudget: 1000,
      tokensUsed: 1000,
      updatedAtMs: T0 - 30 * MIN,
      statusSinceMs: T0 - 30 * MIN,
    };
    const r = rule({ kind: "goalStalled" });
    const loaded = snapshot({ threads: [thread({ goal })] });
    const unloaded = snapshot({ threads: [thread({ goal, status: "notLoaded" })] });
    expect(
      lifecycle(r, [
        { atMs: T0, snap: loaded },
        { atMs: T0 + MIN, snap: unloaded },
      ]),
    ).toEqual(["firing", "resolved"]);
  });

  it.each<[string, EffectiveRule, Partial<ThreadSnapshot>]>([
    [
      "waiting on approval",
      rule({ kind: "waitingOnApproval", forMs: 0 }),
      { status: "active", activeFlags: ["waitingOnApproval"] },
    ],
    [
      "waiting on user input",
      rule({ kind: "waitingOnUserInput", forMs: 0 }),
      { status: "active", activeFlags: ["waitingOnUserInput"] },
    ],
    ["active with no event", rule({ kind: "noProgress", forMs: 10 * MIN }), { status: "active" }],
    [
      "context window",
      rule({ kind: "contextWindow", thresholdPct: 90 }),
      { contextTokens: 950, modelContextWindow: 1000 },
    ],
  ])("does end '%s' when the thread unloads", (_name, r, patch) => {
    const stuck = thread({ ...patch, statusSinceMs: T0 - 30 * MIN, lastEventAtMs: T0 - 30 * MIN });
    expect(
      lifecycle(r, [
        { atMs: T0, snap: snapshot({ threads: [stuck] }) },
        // thread/closed: notLoaded, flags and pending requests cleared (ingest/thread-state.ts).
        {
          atMs: T0 + MIN,
          snap: snapshot({
            threads: [{ ...stuck, status: "notLoaded", activeFlags: [], pendingRequests: [] }],
          }),
        },
      ]),
    ).toEqual(["firing", "resolved"]);
  });

  it("does end every thread alert of a target removed from the config", () => {
    const snap = snapshot({ targets: [], threads: [failedThread], failures: [] });
    expect(evaluateRule(systemErrorRule, snap, T0)).toEqual({
      conditions: [],
      held: new Set(),
      heldAll: false,
    });
  });
});
