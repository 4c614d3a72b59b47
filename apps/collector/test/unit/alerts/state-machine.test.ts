import { describe, expect, it } from "vitest";
import { AckError, acknowledge, apply, hold } from "../../../src/alerts/state-machine.ts";
import type { AlertRecord, Condition, EffectiveRule } from "../../../src/alerts/types.ts";
import { cond, MIN, rule, T0 } from "../../support/alert-fixtures.ts";

/**
 * One step of a scenario: at `t` (minutes after T0) the condition holds (`on`) or not, optionally
 * silenced, acknowledged just before (a separate operation, so not a change of that step), or with
 * the rule removed/disabled.
 */
interface Step {
  t: number;
  on: boolean;
  silenced?: boolean;
  ack?: string;
  summary?: string;
  rule?: EffectiveRule | null;
}

/** Runs steps through `apply`, threading the state like the engine does, and records what happened. */
function scenario(r: EffectiveRule, sinceMin: number, steps: Step[]): string[] {
  let prev: AlertRecord | null = null;
  let n = 0;
  const out: string[] = [];
  for (const s of steps) {
    const now = T0 + s.t * MIN;
    if (s.ack && prev) prev = acknowledge(prev, { name: s.ack, role: null }, now);
    const c: Condition | null = s.on
      ? cond(r.id, T0 + sinceMin * MIN, s.summary ? { summary: s.summary } : {})
      : null;
    const step = apply(prev, c, s.rule === undefined ? r : s.rule, {
      nowMs: now,
      silenced: s.silenced ?? false,
      newId: () => `a${++n}`,
    });
    out.push(`${s.t}:${step.next?.state ?? "-"}/${step.change}${step.emit ? `!${step.emit}` : ""}`);
    prev = step.change === "dropped" || step.next?.state === "resolved" ? null : step.next;
  }
  return out;
}

const approval = rule({ id: "approval-wait", kind: "waitingOnApproval", forMs: 5 * MIN });
const instant = rule({ id: "system-error", kind: "systemError" });
const hourly = rule({ id: "system-error", kind: "systemError" }, 60 * MIN);
const noRepeat = rule({ id: "system-error", kind: "systemError" }, 0);

describe("apply: pending → firing → resolved", () => {
  it.each<[string, EffectiveRule, number, Step[], string[]]>([
    [
      "does wait `forMs` in pending, then fire once and resolve once",
      approval,
      0,
      [
        { t: 0, on: true },
        { t: 4, on: true },
        { t: 5, on: true },
        { t: 6, on: true },
        { t: 7, on: false },
      ],
      [
        "0:pending/created",
        "4:pending/none",
        "5:firing/updated!firing",
        "6:firing/none",
        "7:resolved/resolved!resolved",
      ],
    ],
    [
      "does drop a pending alert silently when the condition ends before `forMs`",
      approval,
      0,
      [
        { t: 0, on: true },
        { t: 3, on: false },
        { t: 4, on: false },
      ],
      ["0:pending/created", "3:resolved/dropped", "4:-/none"],
    ],
    ["does fire at once when `forMs` is 0", instant, 0, [{ t: 0, on: true }], ["0:firing/created!firing"]],
    [
      "does fire at once when the condition started long enough ago (first seen late)",
      approval,
      -6,
      [{ t: 0, on: true }],
      ["0:firing/created!firing"],
    ],
    [
      "does record a changed summary without notifying",
      instant,
      0,
      [
        { t: 0, on: true, summary: "a" },
        { t: 1, on: true, summary: "b" },
        { t: 2, on: true, summary: "b" },
      ],
      ["0:firing/created!firing", "1:firing/updated", "2:firing/none"],
    ],
    [
      "does resolve firing alerts of a removed rule, with a notification",
      instant,
      0,
      [
        { t: 0, on: true },
        { t: 1, on: true, rule: null },
      ],
      ["0:firing/created!firing", "1:resolved/resolved!resolved"],
    ],
    [
      "does resolve firing alerts of a disabled rule",
      instant,
      0,
      [
        { t: 0, on: true },
        { t: 1, on: true, rule: { ...instant, enabled: false } },
      ],
      ["0:firing/created!firing", "1:resolved/resolved!resolved"],
    ],
    [
      "does start a new alert when the condition returns after resolving",
      instant,
      0,
      [
        { t: 0, on: true },
        { t: 1, on: false },
        { t: 2, on: true },
      ],
      ["0:firing/created!firing", "1:resolved/resolved!resolved", "2:firing/created!firing"],
    ],
  ])("%s", (_name, r, since, steps, want) => {
    expect(scenario(r, since, steps)).toEqual(want);
  });
});

describe("apply: repeat interval, acknowledgement, silences", () => {
  it.each<[string, EffectiveRule, Step[], string[]]>([
    [
      "does repeat while firing every repeat interval",
      hourly,
      [
        { t: 0, on: true },
        { t: 59, on: true },
        { t: 60, on: true },
        { t: 90, on: true },
        { t: 120, on: true },
      ],
      [
        "0:firing/created!firing",
        "59:firing/none",
        "60:firing/updated!repeat",
        "90:firing/none",
        "120:firing/updated!repeat",
      ],
    ],
    [
      "does never repeat with a repeat interval of 0",
      noRepeat,
      [
        { t: 0, on: true },
        { t: 600, on: true },
      ],
      ["0:firing/created!firing", "600:firing/none"],
    ],
    [
      "does stop repeating once acknowledged, and still sends the resolve",
      hourly,
      [
        { t: 0, on: true },
        { t: 30, on: true, ack: "ops" },
        { t: 120, on: true },
        { t: 121, on: false },
      ],
      ["0:firing/created!firing", "30:firing/none", "120:firing/none", "121:resolved/resolved!resolved"],
    ],
    [
      "does not notify an alert acknowledged while pending, neither firing nor resolved",
      rule({ id: "approval-wait", kind: "waitingOnApproval", forMs: 5 * MIN }),
      [
        { t: 0, on: true },
        { t: 1, on: true, ack: "ops" },
        { t: 5, on: true },
        { t: 6, on: false },
      ],
      ["0:pending/created", "1:pending/none", "5:firing/updated", "6:resolved/resolved"],
    ],
    [
      "does hold back the firing notification while silenced and send it when the silence ends",
      hourly,
      [
        { t: 0, on: true, silenced: true },
        { t: 10, on: true, silenced: true },
        { t: 20, on: true },
        { t: 30, on: false },
      ],
      ["0:firing/created", "10:firing/none", "20:firing/updated!firing", "30:resolved/resolved!resolved"],
    ],
    [
      "does not notify at all an alert that fired and resolved while silenced",
      hourly,
      [
        { t: 0, on: true, silenced: true },
        { t: 5, on: false, silenced: true },
      ],
      ["0:firing/created", "5:resolved/resolved"],
    ],
    [
      "does stop repeats while silenced but still send the resolve of a notified alert",
      hourly,
      [
        { t: 0, on: true },
        { t: 10, on: true, silenced: true },
        { t: 70, on: true, silenced: true },
        { t: 80, on: false, silenced: true },
      ],
      ["0:firing/created!firing", "10:firing/updated", "70:firing/none", "80:resolved/resolved!resolved"],
    ],
  ])("%s", (_name, r, steps, want) => {
    expect(scenario(r, 0, steps)).toEqual(want);
  });
});

describe("apply: persistence-relevant details", () => {
  it("does keep the earliest pending start and the alert id across steps", () => {
    const first = apply(null, cond("approval-wait", T0), approval, {
      nowMs: T0,
      silenced: false,
      newId: () => "a1",
    });
    const later = apply(first.next, cond("approval-wait", T0 - MIN), approval, {
      nowMs: T0 + MIN,
      silenced: false,
      newId: () => "a2",
    });
    expect(later.next).toMatchObject({ id: "a1", state: "pending", pendingSinceMs: T0 - MIN });
  });

  it("does set firingSince to when it fired and lastNotifiedAt to when it was notified", () => {
    const step = apply(null, cond("system-error", T0 - MIN), instant, {
      nowMs: T0,
      silenced: false,
      newId: () => "a1",
    });
    expect(step.next).toMatchObject({
      pendingSinceMs: T0 - MIN,
      firingSinceMs: T0,
      lastNotifiedAtMs: T0,
      updatedAtMs: T0,
    });
  });

  it("does not notify again after a restart for an alert that was already notified", () => {
    // A firing, notified alert loaded back from the database behaves like any other firing alert.
    const fired = apply(null, cond("system-error", T0), hourly, {
      nowMs: T0,
      silenced: false,
      newId: () => "a1",
    });
    const reloaded = JSON.parse(JSON.stringify(fired.next)) as AlertRecord;
    const after = apply(reloaded, cond("system-error", T0), hourly, {
      nowMs: T0 + 5 * MIN,
      silenced: false,
      newId: () => "x",
    });
    expect([after.change, after.emit]).toEqual(["none", null]);
  });
});

describe("hold and acknowledge", () => {
  const firing = apply(null, cond("system-error", T0), instant, {
    nowMs: T0,
    silenced: false,
    newId: () => "a1",
  }).next as AlertRecord;

  it.each<[string, boolean, string]>([
    ["does keep a held alert unchanged", false, "none"],
    ["does update only the silenced flag of a held alert", true, "updated"],
  ])("%s", (_name, silenced, change) => {
    const step = hold(firing, { nowMs: T0 + MIN, silenced });
    expect([step.change, step.emit, step.next?.state, step.next?.silenced]).toEqual([
      change,
      null,
      "firing",
      silenced,
    ]);
  });

  it("does record who acknowledged and when", () => {
    expect(acknowledge(firing, { name: "ops", role: null }, T0 + MIN)).toMatchObject({
      ackBy: "ops",
      ackRole: null,
      ackAtMs: T0 + MIN,
      state: "firing",
    });
  });

  it("does refuse to acknowledge a resolved alert", () => {
    expect(() => acknowledge({ ...firing, state: "resolved" }, { name: "ops", role: null }, T0)).toThrow(
      AckError,
    );
  });
});
