import type { AlertView } from "@codex-fleet/protocol/api";
import { describe, expect, it } from "vitest";
import {
  decideFlush,
  type GroupCandidate,
  type GroupState,
  MAX_GROUP_MEMBERS,
  nextFlushAfterChange,
} from "../../../../src/alerts/grouping/groups.ts";

const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);
const S = 1000;
const MIN = 60 * S;
const TIMINGS = { groupWaitMs: 30 * S, groupIntervalMs: 5 * MIN, repeatIntervalMs: 60 * MIN };

function view(id: string, patch: Partial<AlertView> = {}): AlertView {
  return {
    id,
    ruleId: "system-error",
    kind: "systemError",
    subjectType: "thread",
    subjectId: id,
    target: "alice",
    threadId: id,
    team: "payments",
    severity: "warning",
    state: "firing",
    summary: `thread ${id} is in systemError`,
    pendingSince: new Date(T0).toISOString(),
    firingSince: new Date(T0).toISOString(),
    resolvedAt: null,
    ackBy: null,
    ackAt: null,
    silenced: false,
    ...patch,
  };
}
const firing = (
  id: string,
  patch: Partial<GroupCandidate> = {},
  v: Partial<AlertView> = {},
): GroupCandidate => ({
  alert: view(id, v),
  silenced: false,
  inhibited: false,
  acked: false,
  ...patch,
});
const resolved = (id: string) => view(id, { state: "resolved", resolvedAt: new Date(T0).toISOString() });

function group(patch: Partial<GroupState> = {}): GroupState {
  return {
    receiver: "hook",
    groupKey: '*/hook:[["ruleId","system-error"],["team","payments"]]',
    labels: { ruleId: "system-error", team: "payments" },
    notified: [],
    seq: 0,
    nextFlushAtMs: T0 + 30 * S,
    lastFlushAtMs: null,
    timings: TIMINGS,
    ...patch,
  };
}

const decide = (g: GroupState, f: GroupCandidate[], r: AlertView[] = [], nowMs = T0 + 30 * S) =>
  decideFlush({ group: g, firing: f, resolved: r, nowMs, baseUrl: "https://fleet.example.com/" });

describe("nextFlushAfterChange (fake clock)", () => {
  it.each<[string, Partial<GroupState>, number, number]>([
    ["does wait groupWait after a new group's first alert", { nextFlushAtMs: null }, T0, T0 + 30 * S],
    [
      "does keep a new group's first time when more alerts join",
      { nextFlushAtMs: T0 + 30 * S },
      T0 + 20 * S,
      T0 + 30 * S,
    ],
    [
      "does hold a change until groupInterval after the last message",
      { notified: ["a"], lastFlushAtMs: T0, nextFlushAtMs: T0 + 60 * MIN },
      T0 + MIN,
      T0 + 5 * MIN,
    ],
    [
      "does send a change at once when the last message is older than groupInterval",
      { notified: ["a"], lastFlushAtMs: T0, nextFlushAtMs: T0 + 60 * MIN },
      T0 + 10 * MIN,
      T0 + 10 * MIN,
    ],
    [
      "does keep an earlier scheduled flush",
      { notified: ["a"], lastFlushAtMs: T0, nextFlushAtMs: T0 + 2 * MIN },
      T0 + MIN,
      T0 + 2 * MIN,
    ],
    [
      "does start a new episode with groupWait after the group ended",
      { notified: [], lastFlushAtMs: T0, nextFlushAtMs: null },
      T0 + 10 * MIN,
      T0 + 10 * MIN + 30 * S,
    ],
  ])("%s", (_name, patch, now, want) => {
    expect(nextFlushAfterChange(group(patch), now)).toBe(want);
  });
});

describe("decideFlush", () => {
  it("does send the first message listing every new member, counts, title and links", () => {
    const d = decide(group(), [firing("a"), firing("b", {}, { severity: "critical", threadId: null })]);
    expect(d.notified).toEqual(["a", "b"]);
    expect(d.lastFlushAtMs).toBe(T0 + 30 * S);
    expect(d.nextFlushAtMs).toBe(T0 + 30 * S + 60 * MIN);
    expect(d.send).toMatchObject({
      version: 2,
      id: 'hook:*/hook:[["ruleId","system-error"],["team","payments"]]:1',
      receiver: "hook",
      groupLabels: { ruleId: "system-error", team: "payments" },
      status: "firing",
      severity: "critical",
      counts: { firing: 2, new: 2, resolved: 0 },
      truncated: 0,
      title: "[FIRING:2] system-error team=payments",
      dashboardUrl: "https://fleet.example.com/alerts?ruleId=system-error&team=payments",
      createdAt: new Date(T0 + 30 * S).toISOString(),
    });
    expect(d.send?.members.map((m) => [m.change, m.alert.id, m.dashboardUrl])).toEqual([
      ["new", "a", "https://fleet.example.com/threads/a"],
      ["new", "b", "https://fleet.example.com/alerts?state=all"],
    ]);
  });

  it("does list new, then still firing, then resolved members", () => {
    const d = decide(
      group({ notified: ["a", "b"], lastFlushAtMs: T0, seq: 1 }),
      [firing("a"), firing("c")],
      [resolved("b")],
      T0 + 5 * MIN,
    );
    expect(d.send?.members.map((m) => [m.change, m.alert.id])).toEqual([
      ["new", "c"],
      ["firing", "a"],
      ["resolved", "b"],
    ]);
    expect(d.send?.counts).toEqual({ firing: 2, new: 1, resolved: 1 });
    expect(d.send?.id.endsWith(":2")).toBe(true);
    expect(d.notified).toEqual(["c", "a"]);
  });

  it("does list at most 50 members and count the rest as truncated", () => {
    const many = Array.from({ length: 200 }, (_, i) => firing(`t${String(i).padStart(3, "0")}`));
    const d = decide(group(), many);
    expect(d.send?.members).toHaveLength(MAX_GROUP_MEMBERS);
    expect(d.send?.truncated).toBe(150);
    expect(d.send?.counts).toEqual({ firing: 200, new: 200, resolved: 0 });
    expect(d.notified).toHaveLength(200);
    expect(d.send?.title).toBe("[FIRING:200] system-error team=payments");
  });

  it("does send one resolved message when every member resolved, then end the group", () => {
    const d = decide(
      group({ notified: ["a", "b"], lastFlushAtMs: T0, seq: 1 }),
      [],
      [resolved("a"), resolved("b")],
      T0 + 5 * MIN,
    );
    expect(d.send).toMatchObject({
      status: "resolved",
      counts: { firing: 0, new: 0, resolved: 2 },
      title: "[RESOLVED] system-error team=payments",
    });
    expect([d.notified, d.nextFlushAtMs]).toEqual([[], null]);
  });

  it("does send nothing for a group whose alerts resolved before its first message", () => {
    const d = decide(group(), [], [resolved("a")]);
    expect(d).toEqual({ send: null, notified: [], lastFlushAtMs: null, nextFlushAtMs: null });
  });

  it.each<[string, Partial<GroupCandidate>]>([
    ["silenced", { silenced: true }],
    ["inhibited", { inhibited: true }],
    ["acknowledged before its first message", { acked: true }],
  ])("does not announce a %s alert", (_name, patch) => {
    const d = decide(group(), [firing("a", patch)]);
    expect(d.send).toBeNull();
    expect(d.notified).toEqual([]);
  });

  it("does re-send an unchanged firing group every repeatInterval, not before", () => {
    const g = group({ notified: ["a"], lastFlushAtMs: T0, seq: 1, nextFlushAtMs: T0 + 60 * MIN });
    expect(decide(g, [firing("a")], [], T0 + 59 * MIN).send).toBeNull();
    const d = decide(g, [firing("a")], [], T0 + 60 * MIN);
    expect(d.send?.members.map((m) => [m.change, m.alert.id])).toEqual([["firing", "a"]]);
    expect(d.nextFlushAtMs).toBe(T0 + 120 * MIN);
  });

  it("does not repeat a group whose firing members are all acknowledged, yet keeps them for their resolve", () => {
    const g = group({ notified: ["a"], lastFlushAtMs: T0, seq: 1 });
    const quiet = decide(g, [firing("a", { acked: true })], [], T0 + 60 * MIN);
    expect(quiet.send).toBeNull();
    expect(quiet.notified).toEqual(["a"]);
    expect(quiet.nextFlushAtMs).toBe(T0 + 120 * MIN);
    const end = decide({ ...g, notified: quiet.notified }, [], [resolved("a")], T0 + 70 * MIN);
    expect(end.send?.status).toBe("resolved");
  });

  it("does not repeat with repeatInterval 0", () => {
    const g = group({
      notified: ["a"],
      lastFlushAtMs: T0,
      seq: 1,
      timings: { ...TIMINGS, repeatIntervalMs: 0 },
    });
    const d = decide(g, [firing("a")], [], T0 + 600 * MIN);
    expect([d.send, d.nextFlushAtMs]).toEqual([null, null]);
  });

  it("does announce the resolve of a member heard firing and silenced since, but does not list it while silenced", () => {
    const g = group({ notified: ["a", "b"], lastFlushAtMs: T0, seq: 1 });
    const d = decide(g, [firing("a", { silenced: true })], [resolved("b")], T0 + 5 * MIN);
    expect(d.send?.members.map((m) => [m.change, m.alert.id])).toEqual([["resolved", "b"]]);
    expect(d.notified).toEqual(["a"]);
    const later = decide({ ...g, notified: ["a"] }, [], [resolved("a")], T0 + 20 * MIN);
    expect(later.send?.members.map((m) => [m.change, m.alert.id])).toEqual([["resolved", "a"]]);
  });

  it("does drop without a message a member no longer routed here (config change)", () => {
    const d = decide(group({ notified: ["a"], lastFlushAtMs: T0, seq: 1 }), [], [], T0 + 5 * MIN);
    expect(d).toEqual({ send: null, notified: [], lastFlushAtMs: T0, nextFlushAtMs: null });
  });
});
