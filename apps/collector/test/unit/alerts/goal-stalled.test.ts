import type { GoalSnapshot } from "@codex-fleet/db/repositories/ingest-types";
import { describe, expect, it } from "vitest";
import { evaluateRule } from "../../../src/alerts/evaluate.ts";
import { apply } from "../../../src/alerts/state-machine.ts";
import type { AlertRecord, FleetSnapshot } from "../../../src/alerts/types.ts";
import { AlertRuleSchema } from "../../../src/config/alerts-schema.ts";
import { MIN, rule, snapshot, T0, target, thread } from "../../support/alert-fixtures.ts";

const TH = "01a1fcf8-d0ac-7651-84b2-b24f772ded0b";

const goal = (over: Partial<GoalSnapshot> = {}): GoalSnapshot => ({
  status: "budgetLimited",
  tokenBudget: 5_000,
  tokensUsed: 5_230,
  updatedAtMs: T0 - 3 * MIN,
  statusSinceMs: T0 - 2 * MIN,
  ...over,
});

const stalled = rule({ kind: "goalStalled" });

function fired(r: ReturnType<typeof rule>, snap: FleetSnapshot, now = T0) {
  const out = evaluateRule(r, snap, now);
  return {
    fired: out.conditions.map((c) => [c.subject.type, c.subject.id, c.sinceMs, c.summary] as const),
    held: [...out.held],
  };
}

describe("evaluateRule: goalStalled", () => {
  it.each<[string, GoalSnapshot | null | undefined, boolean]>([
    ["budgetLimited", goal(), true],
    ["blocked", goal({ status: "blocked" }), true],
    ["usageLimited", goal({ status: "usageLimited" }), true],
    ["active", goal({ status: "active" }), false],
    ["paused", goal({ status: "paused" }), false],
    ["complete", goal({ status: "complete" }), false],
    ["an unknown status", goal({ status: "unknown:waitingForReview" }), false],
    ["no goal (cleared)", null, false],
    ["no goal known", undefined, false],
  ])("does %s fire by default: %s", (_name, g, want) => {
    const out = fired(stalled, snapshot({ threads: [thread({ goal: g })] }));
    expect(out.fired.length).toBe(want ? 1 : 0);
  });

  it("does report since the status changed, with a stable summary and the figures in details", () => {
    const out = evaluateRule(stalled, snapshot({ threads: [thread({ goal: goal() })] }), T0);
    expect(out.conditions).toEqual([
      {
        ruleId: stalled.id,
        subject: { type: "thread", id: TH, group: "", targetId: "alice", threadId: TH, team: "payments" },
        sinceMs: T0 - 2 * MIN,
        summary: `thread …${TH.slice(-8)} (acme/pay) on alice goal is budgetLimited`,
        value: null,
        details: { goalStatus: "budgetLimited", tokensUsed: 5_230, tokenBudget: 5_000 },
      },
    ]);
    // More tokens reported later: same summary (the alert is not rewritten each tick).
    const later = evaluateRule(
      stalled,
      snapshot({ threads: [thread({ goal: goal({ tokensUsed: 6_000 }) })] }),
      T0,
    );
    expect(later.conditions[0]?.summary).toBe(out.conditions[0]?.summary);
  });

  it("does follow the configured statuses", () => {
    const onlyBlocked = rule({ kind: "goalStalled", statuses: ["blocked"] });
    expect(fired(onlyBlocked, snapshot({ threads: [thread({ goal: goal() })] })).fired).toEqual([]);
    expect(
      fired(onlyBlocked, snapshot({ threads: [thread({ goal: goal({ status: "blocked" }) })] })).fired,
    ).toHaveLength(1);
  });

  it("does wait forMs before the condition holds", () => {
    const slow = rule({ kind: "goalStalled", forMs: 5 * MIN });
    const snap = snapshot({ threads: [thread({ goal: goal() })] });
    expect(fired(slow, snap, T0).fired).toEqual([]);
    expect(fired(slow, snap, T0 + 3 * MIN).fired).toHaveLength(1);
  });

  it("does hold the thread while its target is down", () => {
    const snap = snapshot({
      targets: [target({ state: "backoff", connectedSinceMs: null })],
      threads: [thread({ goal: goal() })],
    });
    expect(fired(stalled, snap)).toEqual({ fired: [], held: [`thread:${TH}`] });
  });

  it("does fire, then resolve when the goal's status changes (through the state machine)", () => {
    let prev: AlertRecord | null = null;
    const steps: [number, GoalSnapshot | null][] = [
      [0, goal()],
      [1, goal()],
      [2, goal({ status: "active", statusSinceMs: T0 + 2 * MIN })],
    ];
    const seen: string[] = [];
    for (const [m, g] of steps) {
      const now = T0 + m * MIN;
      const c =
        evaluateRule(stalled, snapshot({ threads: [thread({ goal: g })] }), now).conditions[0] ?? null;
      const step = apply(prev, c, stalled, { nowMs: now, silenced: false, newId: () => "a1" });
      seen.push(`${step.next?.state ?? "-"}/${step.emit ?? ""}`);
      prev = step.next;
    }
    expect(seen).toEqual(["firing/firing", "firing/", "resolved/resolved"]);
  });

  it("does refuse an unknown status or an empty list in the config", () => {
    expect(AlertRuleSchema.safeParse({ id: "g", kind: "goalStalled", statuses: ["stuck"] }).success).toBe(
      false,
    );
    expect(AlertRuleSchema.safeParse({ id: "g", kind: "goalStalled", statuses: [] }).success).toBe(false);
  });
});
