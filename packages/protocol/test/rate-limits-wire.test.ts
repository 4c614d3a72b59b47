import { describe, expect, it } from "vitest";
import { CUT_MARKER, WIRE_LIMITS } from "../src/bounds.ts";
import { normalizeFrame } from "../src/normalize.ts";
import {
  isEmptyReport,
  MAX_USED_PERCENT,
  rateLimitsReadReports,
  rateLimitsUpdatedReports,
  toPlanLimitReport,
} from "../src/rate-limits-wire.ts";
import { OPT_OUT_NOTIFICATION_METHODS } from "../src/wire.ts";

const NOW = 1_800_000_000_000;

/** `account/rateLimits/updated` as 0.169.0 sent it with the stand-in's headers (facts, captured). */
const CAPTURED_UPDATE = {
  method: "account/rateLimits/updated",
  params: {
    rateLimits: {
      limitId: "codex",
      limitName: null,
      normalModelSlug: null,
      primary: { usedPercent: 43, windowDurationMins: 300, resetsAt: 1796531062 },
      secondary: { usedPercent: 87, windowDurationMins: 10080, resetsAt: 1796786662 },
      credits: { hasCredits: true, unlimited: false, balance: "12.5" },
      individualLimit: null,
      spendControlReached: null,
      planType: null,
      rateLimitReachedType: null,
    },
  },
  emittedAtMs: 1796527462541,
};

/** What an API-key login's app-server sends after each response (fixtures real-0.169.0). */
const ALL_NULL = {
  limitId: "codex",
  limitName: null,
  normalModelSlug: null,
  primary: null,
  secondary: null,
  credits: null,
  individualLimit: null,
  spendControlReached: null,
  planType: null,
  rateLimitReachedType: null,
};

describe("account/rateLimits/updated", () => {
  it("becomes a rateLimits event with the windows in ms and the credits", () => {
    const frame = normalizeFrame(JSON.stringify(CAPTURED_UPDATE), NOW);
    expect(frame).toEqual({
      type: "event",
      event: {
        kind: "rateLimits",
        atMs: 1796527462541,
        reports: [
          {
            limitId: "codex",
            limitName: null,
            planType: null,
            primary: { usedPercent: 43, windowDurationMins: 300, resetsAtMs: 1796531062000 },
            secondary: { usedPercent: 87, windowDurationMins: 10080, resetsAtMs: 1796786662000 },
            credits: { hasCredits: true, unlimited: false, balance: "12.5" },
            rateLimitReachedType: null,
            spendControlReached: null,
            source: "updated",
          },
        ],
      },
    });
  });

  it("drops an all-null report (API-key login): it says nothing", () => {
    const frame = normalizeFrame(
      JSON.stringify({ method: "account/rateLimits/updated", params: { rateLimits: ALL_NULL } }),
      NOW,
    );
    expect(frame).toEqual({ type: "event", event: { kind: "rateLimits", atMs: NOW, reports: [] } });
  });

  it("is invalid (counted) without a rateLimits object, never thrown", () => {
    for (const params of [null, {}, { rateLimits: "x" }, { rateLimits: [1] }]) {
      const frame = normalizeFrame(JSON.stringify({ method: "account/rateLimits/updated", params }), NOW);
      expect(frame.type).toBe("invalid");
    }
  });

  it("is no longer opted out at initialize", () => {
    expect(OPT_OUT_NOTIFICATION_METHODS).not.toContain("account/rateLimits/updated");
  });

  it("keys a null limitId as the default limit", () => {
    expect(
      rateLimitsUpdatedReports({ rateLimits: { ...ALL_NULL, limitId: null, planType: "plus" } }),
    ).toEqual([expect.objectContaining({ limitId: "codex", planType: "plus" })]);
  });
});

describe("hostile fields", () => {
  const withSnapshot = (over: Record<string, unknown>) =>
    toPlanLimitReport({ ...CAPTURED_UPDATE.params.rateLimits, ...over }, "updated");

  it.each([
    [
      "a string percent",
      { primary: { usedPercent: "43", windowDurationMins: 300, resetsAt: 1 } },
      "primary",
      null,
    ],
    ["a missing percent", { primary: { windowDurationMins: 300 } }, "primary", null],
    ["a window that is an array", { secondary: [1, 2] }, "secondary", null],
    ["credits without unlimited", { credits: { hasCredits: true, balance: "1" } }, "credits", null],
    [
      "a numeric balance",
      { credits: { hasCredits: true, unlimited: false, balance: 12.5 } },
      "credits",
      { hasCredits: true, unlimited: false, balance: null },
    ],
    ["a numeric planType", { planType: 7 }, "planType", null],
    ["a string spendControlReached", { spendControlReached: "yes" }, "spendControlReached", null],
    ["an object rateLimitReachedType", { rateLimitReachedType: { a: 1 } }, "rateLimitReachedType", null],
  ])("%s → that field null, the rest kept", (_name, over, field, expected) => {
    const r = withSnapshot(over);
    expect(r).not.toBeNull();
    expect(r?.[field as keyof typeof r]).toEqual(expected);
    expect(r?.limitId).toBe("codex");
  });

  it("clamps percentages to [0, 1000] and keeps only finite times", () => {
    const r = withSnapshot({
      primary: { usedPercent: 1e300, windowDurationMins: -5, resetsAt: 1e300 },
      secondary: { usedPercent: -3, windowDurationMins: "300", resetsAt: "soon" },
    });
    expect(r?.primary).toEqual({ usedPercent: MAX_USED_PERCENT, windowDurationMins: null, resetsAtMs: null });
    expect(r?.secondary).toEqual({ usedPercent: 0, windowDurationMins: null, resetsAtMs: null });
  });

  it("cuts long strings and refuses a limit id past its bound (a key)", () => {
    const long = "x".repeat(10_000);
    const r = withSnapshot({
      limitName: long,
      planType: long,
      rateLimitReachedType: long,
      credits: { hasCredits: true, unlimited: false, balance: long },
    });
    expect(r?.limitName?.length).toBe(WIRE_LIMITS.limitName);
    expect(r?.limitName?.endsWith(CUT_MARKER)).toBe(true);
    expect(r?.planType?.length).toBe(WIRE_LIMITS.kind);
    expect(r?.rateLimitReachedType?.length).toBe(WIRE_LIMITS.kind);
    expect(r?.credits?.balance?.length).toBe(WIRE_LIMITS.balance);
    expect(withSnapshot({ limitId: "y".repeat(WIRE_LIMITS.limitId + 1) })).toBeNull();
    expect(withSnapshot({ limitId: "" })).toBeNull();
    expect(toPlanLimitReport("nope", "updated")).toBeNull();
  });

  it("ignores unknown fields", () => {
    const r = withSnapshot({ somethingNew: { deep: [1, 2, 3] }, individualLimit: { limit: "1" } });
    expect(r).toEqual(toPlanLimitReport(CAPTURED_UPDATE.params.rateLimits, "updated"));
  });
});

describe("account/rateLimits/read", () => {
  /** A read with a ChatGPT login (0.169.0 GetAccountRateLimitsResponse; facts). */
  const READ = {
    ordinaryUsageAllowed: true,
    rateLimits: {
      ...ALL_NULL,
      planType: "plus",
      primary: { usedPercent: 12, windowDurationMins: 300, resetsAt: 1796531062 },
      secondary: { usedPercent: 34, windowDurationMins: 10080, resetsAt: 1796786662 },
      credits: { hasCredits: false, unlimited: false, balance: "0" },
    },
    rateLimitsByLimitId: {
      codex: {
        ...ALL_NULL,
        planType: "plus",
        primary: { usedPercent: 12, windowDurationMins: 300, resetsAt: 1796531062 },
        secondary: { usedPercent: 34, windowDurationMins: 10080, resetsAt: 1796786662 },
      },
      codex_other: {
        ...ALL_NULL,
        limitId: null,
        limitName: "Other",
        primary: { usedPercent: 5, windowDurationMins: 60, resetsAt: null },
      },
    },
    rateLimitResetCredits: null,
    accountId: "acct-x",
    rateLimitUpsell: null,
  };

  it("gives one report per limit id, the keyed entries first, the single view not twice", () => {
    const reports = rateLimitsReadReports(READ);
    expect(reports.map((r) => r.limitId)).toEqual(["codex", "codex_other"]);
    expect(reports.every((r) => r.source === "read")).toBe(true);
    expect(reports[0]).toMatchObject({
      planType: "plus",
      primary: { usedPercent: 12, windowDurationMins: 300, resetsAtMs: 1796531062000 },
    });
    expect(reports[1]).toMatchObject({ limitName: "Other", primary: { usedPercent: 5, resetsAtMs: null } });
  });

  it("takes the single-bucket view when there is no map", () => {
    const reports = rateLimitsReadReports({ ...READ, rateLimitsByLimitId: null });
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ limitId: "codex", planType: "plus", credits: { balance: "0" } });
  });

  it("keeps at most limitsPerReport limits and survives garbage", () => {
    const many = Object.fromEntries(
      Array.from({ length: 100 }, (_, i) => [`l${i}`, { ...ALL_NULL, limitId: null, planType: "pro" }]),
    );
    expect(rateLimitsReadReports({ ...READ, rateLimitsByLimitId: many })).toHaveLength(
      WIRE_LIMITS.limitsPerReport,
    );
    for (const bad of [null, 1, "x", [], { rateLimits: 5, rateLimitsByLimitId: [1] }])
      expect(rateLimitsReadReports(bad)).toEqual([]);
  });

  it("knows an empty report", () => {
    const empty = toPlanLimitReport(ALL_NULL, "updated");
    expect(empty && isEmptyReport(empty)).toBe(true);
    const full = toPlanLimitReport(READ.rateLimits, "read");
    expect(full && isEmptyReport(full)).toBe(false);
  });
});

describe("captures from the real app-server 0.169.0 (this branch's plan-limits.real.test.ts set-up)", () => {
  /** The update after a 429 with `x-codex-rate-limit-reached-type` (credits carried over in the thread). */
  const AFTER_429 =
    '{"method":"account/rateLimits/updated","params":{"rateLimits":{"limitId":"codex","limitName":null,"normalModelSlug":null,"primary":null,"secondary":null,"credits":{"hasCredits":true,"unlimited":false,"balance":"12.5"},"individualLimit":null,"spendControlReached":null,"planType":null,"rateLimitReachedType":"workspace_member_credits_depleted"}},"emittedAtMs":1796572176017}';
  /** `account/rateLimits/read` with a fake ChatGPT login, the stand-in serving /backend-api/wham/usage. */
  const READ_RESULT =
    '{"ordinaryUsageAllowed":null,"rateLimits":{"limitId":"codex","limitName":null,"normalModelSlug":null,"primary":{"usedPercent":12,"windowDurationMins":300,"resetsAt":1796575775},"secondary":{"usedPercent":34,"windowDurationMins":10080,"resetsAt":1796658575},"credits":{"hasCredits":true,"unlimited":false,"balance":"7.5"},"individualLimit":null,"spendControlReached":null,"planType":"plus","rateLimitReachedType":null},"rateLimitsByLimitId":{"codex":{"limitId":"codex","limitName":null,"normalModelSlug":null,"primary":{"usedPercent":12,"windowDurationMins":300,"resetsAt":1796575775},"secondary":{"usedPercent":34,"windowDurationMins":10080,"resetsAt":1796658575},"credits":{"hasCredits":true,"unlimited":false,"balance":"7.5"},"individualLimit":null,"spendControlReached":null,"planType":"plus","rateLimitReachedType":null}},"rateLimitResetCredits":null,"accountId":null,"rateLimitUpsell":null}';

  it("reads the limit reached after a 429, with no window information", () => {
    const frame = normalizeFrame(AFTER_429, NOW);
    expect(frame.type === "event" && frame.event.kind === "rateLimits" && frame.event.reports).toEqual([
      {
        limitId: "codex",
        limitName: null,
        planType: null,
        primary: null,
        secondary: null,
        credits: { hasCredits: true, unlimited: false, balance: "12.5" },
        rateLimitReachedType: "workspace_member_credits_depleted",
        spendControlReached: null,
        source: "updated",
      },
    ]);
  });

  it("reads one limit with its plan type from a ChatGPT login's read", () => {
    expect(rateLimitsReadReports(JSON.parse(READ_RESULT))).toEqual([
      {
        limitId: "codex",
        limitName: null,
        planType: "plus",
        primary: { usedPercent: 12, windowDurationMins: 300, resetsAtMs: 1796575775000 },
        secondary: { usedPercent: 34, windowDurationMins: 10080, resetsAtMs: 1796658575000 },
        credits: { hasCredits: true, unlimited: false, balance: "7.5" },
        rateLimitReachedType: null,
        spendControlReached: null,
        source: "read",
      },
    ]);
  });
});
