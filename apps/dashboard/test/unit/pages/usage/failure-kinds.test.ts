import type { FailureRow } from "@codex-fleet/protocol/api";
import { describe, expect, it } from "vitest";
import {
  failureCategory,
  failureKindLabel,
  failureSeries,
  failureTable,
  KNOWN_FAILURE_KINDS,
} from "../../../../src/pages/usage/failure-kinds.ts";

const DAY = (d: number) => Date.UTC(2026, 10, d);

describe("failureKindLabel", () => {
  it.each([
    ["usageLimitExceeded", "Usage limit reached", "limits"],
    ["rateLimitExceeded", "Rate limited", "limits"],
    ["sessionBudgetExceeded", "Session budget spent", "limits"],
    ["contextWindowExceeded", "Context window full", "limits"],
    ["internalServerError", "Provider server error", "provider"],
    ["unauthorized", "Unauthorized", "access"],
    ["responseStreamDisconnected", "Stream disconnected", "network"],
    ["other", "Other error", "other"],
    ["(none)", "No error kind", "other"],
    ["quantumFlux", "quantumFlux (new kind)", "other"],
  ])("labels %s as %s (%s)", (kind, label, category) => {
    expect(failureKindLabel(kind)).toBe(label);
    expect(failureCategory(kind)).toBe(category);
  });

  it("knows every kind of codex app-server 0.169.0's CodexErrorInfo", () => {
    // From `codex app-server generate-ts` (v2/CodexErrorInfo.ts) of @openai/codex 0.169.0.
    const v0169 = [
      "contextWindowExceeded",
      "sessionBudgetExceeded",
      "usageLimitExceeded",
      "rateLimitExceeded",
      "flexUnavailable",
      "serverOverloaded",
      "modelNotFound",
      "policyCapacityUnavailable",
      "inferenceHookDenied",
      "cyberPolicy",
      "misalignmentPolicyViolation",
      "tooManyDenials",
      "httpConnectionFailed",
      "responseStreamConnectionFailed",
      "internalServerError",
      "unauthorized",
      "badRequest",
      "threadRollbackFailed",
      "sandboxError",
      "responseStreamDisconnected",
      "responseTooManyFailedAttempts",
      "activeTurnNotSteerable",
      "other",
    ];
    expect([...KNOWN_FAILURE_KINDS].sort()).toEqual([...v0169].sort());
    for (const kind of v0169) expect(failureKindLabel(kind)).not.toContain("new kind");
  });
});

describe("failureSeries", () => {
  it("zero-fills every bucket and stacks failed turns per kind", () => {
    const rows: FailureRow[] = [
      { day: "2026-11-20T00:00:00Z", kind: "usageLimitExceeded", failedTurns: 3 },
      { day: "2026-11-21T00:00:00Z", kind: "usageLimitExceeded", failedTurns: 1 },
      { day: "2026-11-21T00:00:00Z", kind: null, failedTurns: 2 },
    ];
    const { keys, points } = failureSeries(rows, "day", [DAY(19), DAY(20), DAY(21)]);
    expect(keys).toEqual(["usageLimitExceeded", "(none)"]);
    expect(points).toEqual([
      { bucketMs: DAY(19), usageLimitExceeded: 0, "(none)": 0 },
      { bucketMs: DAY(20), usageLimitExceeded: 3, "(none)": 0 },
      { bucketMs: DAY(21), usageLimitExceeded: 1, "(none)": 2 },
    ]);
  });

  it("folds kinds past the top seven into Other, keeping every failure", () => {
    const rows: FailureRow[] = Array.from({ length: 10 }, (_, i) => ({
      day: "2026-11-21T00:00:00Z",
      kind: `kind${i}`,
      failedTurns: 10 - i,
    }));
    const { keys, points } = failureSeries(rows, "day", [DAY(21)]);
    expect(keys).toHaveLength(8);
    expect(keys.at(-1)).toBe("Other");
    expect(points[0]?.Other).toBe(3 + 2 + 1);
    const sum = keys.reduce((s, k) => s + (points[0]?.[k] ?? 0), 0);
    expect(sum).toBe(55);
  });
});

describe("failureTable", () => {
  it("pivots developer × model rows, most failures first", () => {
    const table = failureTable([
      { target: "bob", model: "m", kind: "unauthorized", failedTurns: 1 },
      { target: "alice", model: "m", kind: "usageLimitExceeded", failedTurns: 2 },
      { target: "alice", model: "m", kind: null, failedTurns: 1 },
    ]);
    expect(table).toEqual([
      { target: "alice", model: "m", total: 3, byKind: { usageLimitExceeded: 2, "(none)": 1 } },
      { target: "bob", model: "m", total: 1, byKind: { unauthorized: 1 } },
    ]);
  });
});
