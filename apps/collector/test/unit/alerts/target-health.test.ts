import { describe, expect, it } from "vitest";
import { type DownState, nextDownState, type StatusLike } from "../../../src/alerts/target-health.ts";

const st = (
  state: StatusLike["state"],
  reason: string | null,
  sinceMs: number,
  error: string | null = null,
): StatusLike => ({
  state,
  reason,
  error,
  sinceMs,
});

describe("nextDownState", () => {
  it.each<[string, DownState | null, StatusLike, DownState | null]>([
    ["does nothing on a first connection attempt", null, st("connecting", null, 10), null],
    [
      "does start an outage at the first backoff",
      null,
      st("backoff", "refused", 20, "ECONNREFUSED"),
      { cls: "unreachable", sinceMs: 20, reason: "refused", error: "ECONNREFUSED" },
    ],
    [
      "does keep the outage start across reconnect attempts",
      { cls: "unreachable", sinceMs: 20, reason: "refused", error: "ECONNREFUSED" },
      st("connecting", "refused", 50, "ECONNREFUSED"),
      { cls: "unreachable", sinceMs: 20, reason: "refused", error: "ECONNREFUSED" },
    ],
    [
      "does keep the start when the reason changes within a class",
      { cls: "unreachable", sinceMs: 20, reason: "refused", error: null },
      st("backoff", "timeout", 90),
      { cls: "unreachable", sinceMs: 20, reason: "timeout", error: null },
    ],
    [
      "does restart the clock when unreachable becomes unauthorized",
      { cls: "unreachable", sinceMs: 20, reason: "refused", error: null },
      st("backoff", "unauthorized", 90, "HTTP 401"),
      { cls: "unauthorized", sinceMs: 90, reason: "unauthorized", error: "HTTP 401" },
    ],
    [
      "does count 403 as unauthorized",
      null,
      st("backoff", "forbidden", 5),
      { cls: "unauthorized", sinceMs: 5, reason: "forbidden", error: null },
    ],
    [
      "does treat a connecting target with a past failure reason as down (tracking started mid-outage)",
      null,
      st("connecting", "refused", 70),
      { cls: "unreachable", sinceMs: 70, reason: "refused", error: null },
    ],
    [
      "does end an outage when the target opens",
      { cls: "unreachable", sinceMs: 20, reason: "refused", error: null },
      st("open", null, 99),
      null,
    ],
    [
      "does end an outage when the target is stopped",
      { cls: "unreachable", sinceMs: 20, reason: "refused", error: null },
      st("stopped", null, 99),
      null,
    ],
  ])("%s", (_name, prev, status, want) => {
    expect(nextDownState(prev, status)).toEqual(want);
  });
});
