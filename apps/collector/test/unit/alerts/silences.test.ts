import { describe, expect, it } from "vitest";
import { isSilenced, type Silenceable, silenceMatches } from "../../../src/alerts/silences.ts";
import type { Silence } from "../../../src/alerts/types.ts";

const alert: Silenceable = {
  ruleId: "approval-wait",
  kind: "waitingOnApproval",
  subject: { type: "thread", id: "th-1", group: "", targetId: "alice", threadId: "th-1", team: "payments" },
};
const silence = (matchers: Silence["matchers"], endsAtMs = 1000): Silence => ({
  id: "s",
  matchers,
  comment: "",
  createdBy: "ops",
  createdAtMs: 0,
  endsAtMs,
});

describe("silenceMatches", () => {
  it.each<[string, Silence["matchers"], boolean]>([
    ["does match on the rule id", { ruleId: "approval-wait" }, true],
    ["does match on kind and target together", { kind: "waitingOnApproval", target: "alice" }, true],
    ["does match on thread", { threadId: "th-1" }, true],
    ["does match on team", { team: "payments" }, true],
    ["does not match when one matcher differs", { ruleId: "approval-wait", target: "bob" }, false],
    ["does not match another team", { team: "search" }, false],
    ["does not match anything with no matcher", {}, false],
  ])("%s", (_name, matchers, want) => {
    expect(silenceMatches(silence(matchers), alert)).toBe(want);
  });
});

describe("isSilenced", () => {
  it.each<[string, number, boolean]>([
    ["does silence before the end", 999, true],
    ["does not silence at the end", 1000, false],
    ["does not silence after the end", 5000, false],
  ])("%s", (_name, now, want) => {
    expect(isSilenced([silence({ target: "alice" }, 1000)], alert, now)).toBe(want);
  });
});
