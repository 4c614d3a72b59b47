import { describe, expect, it } from "vitest";
import {
  attentionList,
  countFleet,
  type FleetFilter,
  groupByTarget,
  parseFleetFilter,
} from "../../../../src/pages/fleet/fleet-model.ts";
import { TARGETS, THREAD_IDS, THREADS } from "../../../fixtures.ts";

const noFilter: FleetFilter = { team: null, status: null, query: "", showUnloaded: false };

describe("countFleet", () => {
  it("does count threads by display status and targets that are not open", () => {
    expect(countFleet(THREADS, TARGETS)).toEqual({
      waitingOnApproval: 1,
      waitingOnUserInput: 1,
      active: 1,
      systemError: 1,
      idle: 2,
      notLoaded: 1,
      unknown: 0,
      targetsDown: 2,
      targets: 5,
    });
  });
});

describe("groupByTarget", () => {
  it("does put down targets first and urgent threads first within a target", () => {
    const groups = groupByTarget(TARGETS, THREADS, noFilter);
    expect(groups.map((group) => group.name)).toEqual(["carol", "dave", "alice", "bob", "erin"]);
    expect(groups[2]?.threads.map((item) => item.id)).toEqual([
      THREAD_IDS.approval,
      THREAD_IDS.working,
      THREAD_IDS.aliceIdle,
    ]);
    expect(groups[3]?.threads.map((item) => item.id)).toEqual([THREAD_IDS.input, THREAD_IDS.error]);
    expect(groups[3]?.hiddenUnloaded).toBe(1);
  });

  it.each([
    [{ ...noFilter, team: "platform" }, ["carol", "dave"]],
    [{ ...noFilter, status: "down" as const }, ["carol", "dave"]],
    [{ ...noFilter, status: "systemError" as const }, ["bob"]],
    [{ ...noFilter, query: "pgx" }, ["bob"]],
    [{ ...noFilter, query: "ledger" }, ["alice", "bob"]],
    [{ ...noFilter, query: "no such thing" }, []],
  ])("does keep only matching groups when filtered by %o", (filter, names) => {
    expect(groupByTarget(TARGETS, THREADS, filter).map((group) => group.name)).toEqual(names);
  });

  it("does show unloaded threads when asked", () => {
    const bob = groupByTarget(TARGETS, THREADS, { ...noFilter, showUnloaded: true }).find(
      (group) => group.name === "bob",
    );
    expect(bob?.threads).toHaveLength(3);
  });
});

describe("attentionList and parseFleetFilter", () => {
  it("does list approval, then input waits, then errors", () => {
    expect(attentionList(THREADS).map((item) => item.id)).toEqual([
      THREAD_IDS.approval,
      THREAD_IDS.input,
      THREAD_IDS.error,
    ]);
  });

  it.each([
    [
      "?status=waitingOnApproval&team=payments&q=Refund",
      { team: "payments", status: "waitingOnApproval", query: "refund", showUnloaded: false },
    ],
    ["?status=bogus&unloaded=1", { team: null, status: null, query: "", showUnloaded: true }],
    ["?status=notLoaded", { team: null, status: "notLoaded", query: "", showUnloaded: true }],
  ])("does parse %s", (search, expected) => {
    expect(parseFleetFilter(new URLSearchParams(search))).toEqual(expected);
  });
});
