import { describe, expect, it } from "vitest";
import { evaluateRule } from "../../../src/alerts/evaluate.ts";
import type { FailedTurn, FleetSnapshot } from "../../../src/alerts/types.ts";
import { MIN, rule, snapshot, T0, target, thread } from "../../support/alert-fixtures.ts";

const TH = "01a1fcf8-d0ac-7651-84b2-b24f772ded0b";
const THREAD_KEY = `thread:${TH}`;

/** Conditions as `[subjectId, group, sinceMs]` plus held keys, for compact tables. */
function run(r: ReturnType<typeof rule>, snap: FleetSnapshot, now = T0) {
  const out = evaluateRule(r, snap, now);
  return {
    fired: out.conditions.map((c) => [c.subject.type, c.subject.id, c.subject.group, c.sinceMs] as const),
    held: [...out.held],
    heldAll: out.heldAll,
  };
}

const approval = rule({ kind: "waitingOnApproval", forMs: 5 * MIN });
const waitingSince = T0 - 7 * MIN;
const waitingThread = thread({
  status: "active",
  activeFlags: ["waitingOnApproval"],
  statusSinceMs: waitingSince,
});

describe("evaluateRule: waiting on approval / user input", () => {
  it.each<[string, FleetSnapshot, ReturnType<typeof run>]>([
    [
      "does report a thread waiting on approval since its status changed",
      snapshot({ threads: [waitingThread] }),
      { fired: [["thread", TH, "", waitingSince]], held: [], heldAll: false },
    ],
    [
      "does start the clock at an older recorded approval request",
      snapshot({
        threads: [
          {
            ...waitingThread,
            pendingRequests: [{ requestKind: "commandApproval", sinceMs: waitingSince - MIN }],
          },
        ],
      }),
      { fired: [["thread", TH, "", waitingSince - MIN]], held: [], heldAll: false },
    ],
    [
      "does not report an active thread without the flag",
      snapshot({ threads: [thread({ status: "active", activeFlags: [] })] }),
      { fired: [], held: [], heldAll: false },
    ],
    [
      "does hold the thread while its target is down",
      snapshot({
        targets: [target({ state: "backoff", connectedSinceMs: null })],
        threads: [waitingThread],
      }),
      { fired: [], held: [THREAD_KEY], heldAll: false },
    ],
    [
      "does hold the thread while its target has just reconnected (settling)",
      snapshot({ targets: [target({ connectedSinceMs: T0 - 5_000 })], threads: [waitingThread] }),
      { fired: [], held: [THREAD_KEY], heldAll: false },
    ],
    [
      "does ignore threads of targets no longer configured (their alerts resolve)",
      snapshot({ targets: [], threads: [waitingThread] }),
      { fired: [], held: [], heldAll: false },
    ],
  ])("%s", (_name, snap, want) => {
    expect(run(approval, snap)).toEqual(want);
  });

  it("does report user input waits only under the user-input rule", () => {
    const snap = snapshot({
      threads: [thread({ status: "active", activeFlags: ["waitingOnUserInput"], statusSinceMs: T0 - MIN })],
    });
    expect(run(rule({ kind: "waitingOnUserInput" }), snap).fired).toEqual([["thread", TH, "", T0 - MIN]]);
    expect(run(approval, snap).fired).toEqual([]);
  });

  it("uses the request kind when the flag lags: approvals, requestUserInput and elicitations, not tool calls", () => {
    const pending = (requestKind: string) =>
      snapshot({
        threads: [
          thread({
            status: "active",
            activeFlags: [],
            statusSinceMs: T0 - MIN,
            pendingRequests: [{ requestKind, sinceMs: T0 - 2 * MIN }],
          }),
        ],
      });
    const input = rule({ kind: "waitingOnUserInput" });
    for (const kind of ["commandApproval", "fileChangeApproval", "permissionsApproval"]) {
      expect(run(approval, pending(kind)).fired).toEqual([["thread", TH, "", T0 - 2 * MIN]]);
      expect(run(input, pending(kind)).fired).toEqual([]);
    }
    for (const kind of ["userInput", "elicitation"]) {
      expect(run(input, pending(kind)).fired).toEqual([["thread", TH, "", T0 - 2 * MIN]]);
      expect(run(approval, pending(kind)).fired).toEqual([]);
    }
    for (const kind of ["toolCall", "unknown:brand/new"]) {
      expect(run(approval, pending(kind)).fired).toEqual([]);
      expect(run(input, pending(kind)).fired).toEqual([]);
    }
  });

  it("does not report a thread in an unknown status, even with a pending approval", () => {
    const snap = snapshot({
      threads: [
        thread({
          status: "unknown:paused",
          activeFlags: [],
          pendingRequests: [{ requestKind: "commandApproval", sinceMs: T0 - 20 * MIN }],
        }),
      ],
    });
    expect(run(approval, snap).fired).toEqual([]);
    expect(run(rule({ kind: "noProgress", forMs: MIN }), snap).fired).toEqual([]);
  });

  it("does keep the summary free of elapsed time so an unchanged wait is not rewritten", () => {
    const snap = snapshot({ threads: [waitingThread] });
    const a = evaluateRule(approval, snap, T0).conditions[0];
    const b = evaluateRule(approval, snap, T0 + 10 * MIN).conditions[0];
    expect(a?.summary).toBe("thread …772ded0b (acme/pay) on alice is waiting on an approval");
    expect(b?.summary).toBe(a?.summary);
  });
});

describe("evaluateRule: no progress", () => {
  const stalled = rule({ kind: "noProgress", forMs: 10 * MIN });
  it.each<[string, Parameters<typeof thread>[0], ReturnType<typeof run>["fired"]]>([
    [
      "does report an active thread quiet for the threshold",
      { status: "active", statusSinceMs: T0 - 20 * MIN, lastEventAtMs: T0 - 10 * MIN },
      [["thread", TH, "", T0 - 10 * MIN]],
    ],
    [
      "does not report one quiet for less",
      { status: "active", statusSinceMs: T0 - 20 * MIN, lastEventAtMs: T0 - 9 * MIN },
      [],
    ],
    [
      "does not report a thread whose pending approval says it waits on a person (flag not yet set)",
      {
        status: "active",
        statusSinceMs: T0 - 20 * MIN,
        lastEventAtMs: T0 - 20 * MIN,
        pendingRequests: [{ requestKind: "fileChangeApproval", sinceMs: T0 - 20 * MIN }],
      },
      [],
    ],
    [
      "does not report a thread waiting on a person",
      {
        status: "active",
        activeFlags: ["waitingOnApproval"],
        statusSinceMs: T0 - 20 * MIN,
        lastEventAtMs: T0 - 20 * MIN,
      },
      [],
    ],
    ["does not report an idle thread", { status: "idle", lastEventAtMs: T0 - 60 * MIN }, []],
    [
      "does count from the status change when no event is known",
      { status: "active", statusSinceMs: T0 - 11 * MIN, lastEventAtMs: null },
      [["thread", TH, "", T0 - 11 * MIN]],
    ],
  ])("%s", (_name, patch, want) => {
    expect(run(stalled, snapshot({ threads: [thread(patch)] })).fired).toEqual(want);
  });
});

describe("evaluateRule: systemError and context window", () => {
  it.each<[string, ReturnType<typeof rule>, Parameters<typeof thread>[0], number]>([
    [
      "does report a thread in systemError",
      rule({ kind: "systemError" }),
      { status: "systemError", statusSinceMs: T0 - MIN, lastCodexErrorInfo: "internalServerError" },
      1,
    ],
    ["does not report an idle thread as systemError", rule({ kind: "systemError" }), { status: "idle" }, 0],
    [
      "does report context at the threshold",
      rule({ kind: "contextWindow", thresholdPct: 90 }),
      { contextTokens: 900, modelContextWindow: 1000 },
      1,
    ],
    [
      "does not report context below the threshold",
      rule({ kind: "contextWindow", thresholdPct: 90 }),
      { contextTokens: 899, modelContextWindow: 1000 },
      0,
    ],
    [
      "does not report context of an unloaded thread",
      rule({ kind: "contextWindow", thresholdPct: 90 }),
      { status: "notLoaded", contextTokens: 990, modelContextWindow: 1000 },
      0,
    ],
    [
      "does not report context with an unknown window",
      rule({ kind: "contextWindow", thresholdPct: 90 }),
      { contextTokens: 990, modelContextWindow: null },
      0,
    ],
  ])("%s", (_name, r, patch, count) => {
    expect(evaluateRule(r, snapshot({ threads: [thread(patch)] }), T0).conditions).toHaveLength(count);
  });

  it("does put the percentage in the value and the summary", () => {
    const c = evaluateRule(
      rule({ kind: "contextWindow", thresholdPct: 90 }),
      snapshot({ threads: [thread({ contextTokens: 241_000, modelContextWindow: 258_400 })] }),
      T0,
    ).conditions[0];
    expect(c?.value).toBe(93.3);
    expect(c?.summary).toContain("uses 93.3% of its context window (241000 of 258400 tokens)");
  });
});

describe("evaluateRule: targets", () => {
  const unreachable = rule({ kind: "targetUnreachable", forMs: 2 * MIN });
  const unauthorized = rule({ kind: "targetUnauthorized", forMs: 2 * MIN });
  const downSince = T0 - 3 * MIN;
  it.each<[string, ReturnType<typeof rule>, Parameters<typeof target>[0], ReturnType<typeof run>]>([
    [
      "does report an unreachable target since it went down",
      unreachable,
      {
        state: "backoff",
        connectedSinceMs: null,
        down: { cls: "unreachable", sinceMs: downSince, reason: "refused", error: null },
      },
      { fired: [["target", "alice", "", downSince]], held: [], heldAll: false },
    ],
    [
      "does not report an unauthorized target as unreachable",
      unreachable,
      {
        state: "backoff",
        connectedSinceMs: null,
        down: { cls: "unauthorized", sinceMs: downSince, reason: "unauthorized", error: null },
      },
      { fired: [], held: [], heldAll: false },
    ],
    [
      "does report an unauthorized target under its own rule",
      unauthorized,
      {
        state: "backoff",
        connectedSinceMs: null,
        down: { cls: "unauthorized", sinceMs: downSince, reason: "unauthorized", error: null },
      },
      { fired: [["target", "alice", "", downSince]], held: [], heldAll: false },
    ],
    [
      "does hold a target on its first connection attempt",
      unreachable,
      { state: "connecting", connectedSinceMs: null, down: null },
      { fired: [], held: ["target:alice"], heldAll: false },
    ],
    ["does not report an open target", unreachable, {}, { fired: [], held: [], heldAll: false }],
  ])("%s", (_name, r, patch, want) => {
    expect(run(r, snapshot({ targets: [target(patch)] }))).toEqual(want);
  });
});

describe("evaluateRule: turn failures grouped by codexErrorInfo", () => {
  const fail = (
    turnId: string,
    atMs: number,
    codexErrorInfo: string | null,
    targetId = "alice",
    threadId = "th-1",
  ): FailedTurn => ({
    turnId,
    threadId,
    targetId,
    codexErrorInfo,
    atMs,
  });
  const snap = (failures: FailedTurn[] | null) =>
    snapshot({ targets: [target(), target({ id: "bob", team: "payments" })], failures });
  const single = rule({ kind: "turnFailed", windowMs: 10 * MIN });
  const rate = rule({ kind: "turnFailed", minCount: 3, windowMs: 15 * MIN });

  it.each<[string, ReturnType<typeof rule>, FailedTurn[] | null, ReturnType<typeof run>]>([
    [
      "does report a single failure per developer and error",
      single,
      [fail("u1", T0 - MIN, "internalServerError")],
      { fired: [["developer", "alice", "internalServerError", T0 - MIN]], held: [], heldAll: false },
    ],
    [
      "does group by codexErrorInfo (null as unknown)",
      single,
      [
        fail("u1", T0 - 2 * MIN, "internalServerError"),
        fail("u2", T0 - MIN, null),
        fail("u3", T0 - MIN, "internalServerError"),
      ],
      {
        fired: [
          ["developer", "alice", "internalServerError", T0 - 2 * MIN],
          ["developer", "alice", "unknown", T0 - MIN],
        ],
        held: [],
        heldAll: false,
      },
    ],
    [
      "does forget failures older than the window",
      single,
      [fail("u1", T0 - 10 * MIN, "other")],
      { fired: [], held: [], heldAll: false },
    ],
    [
      "does not report a rate below minCount",
      rate,
      [
        fail("u1", T0 - 3 * MIN, "other"),
        fail("u2", T0 - 2 * MIN, "other"),
        fail("u3", T0 - MIN, "internalServerError"),
      ],
      { fired: [], held: [], heldAll: false },
    ],
    [
      "does report a rate from the failure that reached minCount",
      rate,
      [
        fail("u1", T0 - 9 * MIN, "other"),
        fail("u2", T0 - 3 * MIN, "other"),
        fail("u3", T0 - 2 * MIN, "other"),
        fail("u4", T0 - MIN, "other"),
      ],
      { fired: [["developer", "alice", "other", T0 - 2 * MIN]], held: [], heldAll: false },
    ],
    [
      "does sum a team over its developers",
      rule({ kind: "turnFailed", minCount: 2, scope: "team" }),
      [fail("u1", T0 - 2 * MIN, "other"), fail("u2", T0 - MIN, "other", "bob", "th-2")],
      { fired: [["team", "payments", "other", T0 - MIN]], held: [], heldAll: false },
    ],
    [
      "does report per thread with scope thread",
      rule({ kind: "turnFailed", scope: "thread" }),
      [fail("u1", T0 - MIN, "other", "bob", "th-2")],
      { fired: [["thread", "th-2", "other", T0 - MIN]], held: [], heldAll: false },
    ],
    [
      "does hold the rule while failures are not loaded",
      single,
      null,
      { fired: [], held: [], heldAll: true },
    ],
  ])("%s", (_name, r, failures, want) => {
    expect(run(r, snap(failures))).toEqual(want);
  });

  it("does hold a failure while its target is not settled: the thread's stored state may be stale", () => {
    // A restarted collector: alice not connected yet, her thread stored as idle (moved on, or not:
    // the server says once she is settled). Deciding now resolved the alert, and the server's
    // systemError after the reconnect raised it again under a new id (alerts.real, under load).
    const stale = [thread({ id: "th-1", status: "idle" })];
    const failures = [fail("u1", T0 - MIN, "internalServerError")];
    for (const t of [
      target({ state: "connecting", connectedSinceMs: null }),
      target({ state: "open", connectedSinceMs: T0 - 1000 }),
    ])
      expect(run(single, snapshot({ targets: [t], threads: stale, failures }))).toEqual({
        fired: [],
        held: ["developer:alice"],
        heldAll: false,
      });
    // Settled: the thread moved on (idle), so the failure no longer holds.
    expect(run(single, snapshot({ threads: stale, failures }))).toEqual({
      fired: [],
      held: [],
      heldAll: false,
    });
    // A rate is decided by the window alone: not held.
    expect(
      run(
        rate,
        snapshot({
          targets: [target({ state: "connecting", connectedSinceMs: null })],
          threads: stale,
          failures: [fail("u1", T0 - 3 * MIN, "x"), fail("u2", T0 - 2 * MIN, "x"), fail("u3", T0 - MIN, "x")],
        }),
      ).fired,
    ).toEqual([["developer", "alice", "x", T0 - MIN]]);
  });

  it("does say what failed, where, and how often", () => {
    const out = evaluateRule(
      rate,
      snap([
        fail("u1", T0 - 3 * MIN, "other"),
        fail("u2", T0 - 2 * MIN, "other"),
        fail("u3", T0 - MIN, "other"),
      ]),
      T0,
    );
    expect(out.conditions[0]).toMatchObject({
      summary: "3 turns failed with other on alice in the last 15 min",
      value: 3,
      details: { codexErrorInfo: "other", count: 3, lastTurnId: "u3", lastThreadId: "th-1" },
    });
    expect(
      evaluateRule(single, snap([fail("u1", T0 - MIN, "internalServerError")]), T0).conditions[0]?.summary,
    ).toBe("A turn failed with internalServerError on alice");
  });
});

describe("evaluateRule: daily spend", () => {
  const spend = (rows: [string, string, number][]) =>
    snapshot({
      spend: {
        dayStartMs: T0 - 12 * 60 * MIN,
        byTarget: rows.map(([targetId, team, costUsd]) => ({ targetId, team, costUsd })),
      },
    });
  const rows: [string, string, number][] = [
    ["alice", "payments", 30],
    ["bob", "payments", 25],
    ["carol", "search", 60],
  ];
  it.each<[string, ReturnType<typeof rule>, ReturnType<typeof run>["fired"]]>([
    [
      "does report developers over budget",
      rule({ kind: "dailySpend", scope: "developer", thresholdUsd: 50 }),
      [["developer", "carol", "", T0]],
    ],
    [
      "does sum teams over their developers",
      rule({ kind: "dailySpend", scope: "team", thresholdUsd: 50 }),
      [
        ["team", "payments", "", T0],
        ["team", "search", "", T0],
      ],
    ],
    [
      "does sum the fleet",
      rule({ kind: "dailySpend", scope: "fleet", thresholdUsd: 115 }),
      [["fleet", "fleet", "", T0]],
    ],
    ["does not report under budget", rule({ kind: "dailySpend", scope: "fleet", thresholdUsd: 115.01 }), []],
  ])("%s", (_name, r, want) => {
    expect(run(r, spend(rows)).fired).toEqual(want);
  });

  it("does hold spend rules when spend could not be read", () => {
    expect(
      run(rule({ kind: "dailySpend", scope: "team", thresholdUsd: 1 }), snapshot({ spend: null })).heldAll,
    ).toBe(true);
  });

  it("does state the spend and the budget", () => {
    const c = evaluateRule(
      rule({ kind: "dailySpend", scope: "developer", thresholdUsd: 50 }),
      spend([["carol", "search", 60.004]]),
      T0,
    ).conditions[0];
    expect(c).toMatchObject({ value: 60, summary: "carol spent $60.00 today (UTC), budget $50.00" });
  });
});

describe("evaluateRule: disabled rules", () => {
  it("does yield nothing for a disabled rule", () => {
    expect(
      run(rule({ kind: "waitingOnApproval", enabled: false }), snapshot({ threads: [waitingThread] })),
    ).toEqual({
      fired: [],
      held: [],
      heldAll: false,
    });
  });
});
