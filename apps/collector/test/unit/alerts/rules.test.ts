import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_RULES, effectiveRules } from "../../../src/alerts/rules.ts";
import { errorOf, loadFile, removeScratchDirs } from "../../support/config-files.ts";

afterAll(removeScratchDirs);

describe("default rules", () => {
  it("does ship the issue's rules with its thresholds", () => {
    expect(
      DEFAULT_RULES.map((r) => {
        const { id, kind, severity, enabled, repeatIntervalMs: _r, ...thresholds } = r;
        return [id, kind, severity, enabled, thresholds];
      }),
    ).toEqual([
      ["approval-wait", "waitingOnApproval", "warning", true, { forMs: 300_000 }],
      ["input-wait", "waitingOnUserInput", "warning", true, { forMs: 600_000 }],
      ["stalled", "noProgress", "warning", true, { forMs: 600_000 }],
      ["turn-failed", "turnFailed", "warning", true, { minCount: 1, windowMs: 600_000, scope: "developer" }],
      [
        "turn-failure-rate",
        "turnFailed",
        "critical",
        true,
        { minCount: 5, windowMs: 900_000, scope: "developer" },
      ],
      ["system-error", "systemError", "warning", true, { forMs: 0 }],
      ["target-down", "targetUnreachable", "critical", true, { forMs: 120_000 }],
      ["target-unauthorized", "targetUnauthorized", "critical", true, { forMs: 120_000 }],
      ["budget", "dailySpend", "warning", true, { scope: "developer", thresholdUsd: 50 }],
      ["context", "contextWindow", "warning", true, { thresholdPct: 90, forMs: 0 }],
      [
        "goal-stalled",
        "goalStalled",
        "warning",
        true,
        { forMs: 0, statuses: ["blocked", "usageLimited", "budgetLimited"] },
      ],
      ["limit-reached", "limitReached", "warning", true, { windowMs: 3_600_000 }],
      ["budget-over", "budget", "warning", true, { thresholdPct: 100 }],
      ["budget-forecast", "budgetForecast", "warning", true, {}],
    ]);
  });
});

describe("effectiveRules", () => {
  it("does use the defaults when the config lists no rules", async () => {
    const { config } = await loadFile("alerts: { repeatIntervalMs: 60000 }");
    const rules = effectiveRules(config.alerts);
    expect(rules.map((r) => r.id)).toEqual(DEFAULT_RULES.map((r) => r.id));
    expect(rules.every((r) => r.source === "default" && r.repeatIntervalMs === 60_000)).toBe(true);
  });

  it("does use exactly the listed rules, tuned, disabled or with their own repeat interval", async () => {
    const { config } = await loadFile(
      [
        "alerts:",
        "  rules:",
        "    - { id: approval-wait, kind: waitingOnApproval, forMs: 60000, severity: critical, repeatIntervalMs: 0 }",
        "    - { id: stalled, kind: noProgress, forMs: 600000, enabled: false }",
        "    - { id: burst, kind: turnFailed, minCount: 3, windowMs: 300000, scope: team }",
      ].join("\n"),
    );
    expect(effectiveRules(config.alerts)).toEqual([
      expect.objectContaining({
        id: "approval-wait",
        forMs: 60_000,
        severity: "critical",
        repeatIntervalMs: 0,
        source: "config",
      }),
      expect.objectContaining({ id: "stalled", enabled: false, repeatIntervalMs: 3_600_000 }),
      expect.objectContaining({
        id: "burst",
        minCount: 3,
        windowMs: 300_000,
        scope: "team",
        severity: "warning",
      }),
    ]);
  });
});

describe("alerts config: bad keys are named exactly", () => {
  it.each([
    [
      "a negative forMs",
      "alerts: { rules: [{ id: a, kind: waitingOnApproval, forMs: -1 }] }",
      "alerts.rules[0].forMs: must be >= 0",
    ],
    [
      "a zero minCount",
      "alerts: { rules: [{ id: a, kind: turnFailed, minCount: 0 }] }",
      "alerts.rules[0].minCount: must be > 0",
    ],
    [
      "a forMs on a turnFailed rule",
      "alerts: { rules: [{ id: a, kind: turnFailed, forMs: 5 }] }",
      "alerts.rules[0].forMs: unknown key",
    ],
    [
      "an unknown scope",
      "alerts: { rules: [{ id: a, kind: dailySpend, scope: repo, thresholdUsd: 1 }] }",
      'alerts.rules[0].scope: must be one of "developer", "team", "fleet"',
    ],
    [
      "a context threshold over 100",
      "alerts: { rules: [{ id: a, kind: contextWindow, thresholdPct: 101 }] }",
      "alerts.rules[0].thresholdPct: must be <= 100",
    ],
    [
      "a backoff cap below its minimum",
      "alerts: { notify: [{ type: slack, url: 'https://h/x', minBackoffMs: 500, maxBackoffMs: 100 }] }",
      "alerts.notify[0].maxBackoffMs: must be >= minBackoffMs (500)",
    ],
    [
      "a duplicate notifier name",
      "alerts: { notify: [{ type: slack, name: n, url: 'https://h/x' }, { type: webhook, name: n, url: 'https://h/y' }] }",
      'alerts.notify[1].name: duplicate notifier name "n" (first used by alerts.notify[0].name)',
    ],
    [
      "a notifier url that is not http",
      "alerts: { notify: [{ type: webhook, url: 'ftp://h/x' }] }",
      "alerts.notify[0].url: must be an http:// or https:// URL",
    ],
    [
      "a misspelt alerts key",
      "alerts: { evaluateIntervalMS: 5 }",
      'alerts.evaluateIntervalMS: unknown key (did you mean "evaluateIntervalMs"?)',
    ],
  ])("does name the key for %s", async (_name, text, want) => {
    expect(await errorOf(loadFile(text))).toBe(`config error in fleet.yaml: ${want}`);
  });
});
