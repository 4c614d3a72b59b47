import { describe, expect, it } from "vitest";
import {
  groupKeyFor,
  receiversAndGroupBy,
  resolveRoute,
  routeAlert,
} from "../../../../src/alerts/grouping/route.ts";
import type { AlertLabels } from "../../../../src/alerts/labels.ts";
import { AlertsConfigSchema } from "../../../../src/config/alerts-schema.ts";

const NOTIFY = [
  { type: "webhook", name: "default", url: "http://127.0.0.1:1/" },
  { type: "webhook", name: "payments-pager", url: "http://127.0.0.1:2/" },
  { type: "webhook", name: "search-chat", url: "http://127.0.0.1:3/" },
  { type: "webhook", name: "audit", url: "http://127.0.0.1:4/" },
];

function alerts(route: unknown) {
  return AlertsConfigSchema.parse({ repeatIntervalMs: 7_200_000, notify: NOTIFY, route });
}

const TREE = {
  receiver: "default",
  groupBy: ["ruleId"],
  groupWaitMs: 10_000,
  routes: [
    { matchers: { kind: "dailySpend" }, receiver: "audit", continue: true },
    {
      matchers: { team: "payments" },
      receiver: "payments-pager",
      groupBy: ["ruleId", "team"],
      routes: [{ matchers: { severity: "info" }, receiver: "default", repeatIntervalMs: 0 }],
    },
    { matchers: { team: { re: "search|search-.*" } }, receiver: "search-chat", groupIntervalMs: 60_000 },
  ],
};

const labels = (l: AlertLabels): AlertLabels => ({
  ruleId: "r",
  kind: "systemError",
  severity: "warning",
  ...l,
});

describe("routeAlert (Alertmanager semantics)", () => {
  const route = resolveRoute(
    alerts(TREE),
    NOTIFY.map((n) => n.name),
  );
  it.each<[string, AlertLabels, [string, string, string[]][]]>([
    [
      "does fall back to the root when no child matches",
      labels({ team: "infra" }),
      [["root", "default", ["ruleId"]]],
    ],
    [
      "does fall back to the root for an alert without the label",
      labels({}),
      [["root", "default", ["ruleId"]]],
    ],
    [
      "does take the first matching child and stop there",
      labels({ team: "payments" }),
      [["root/1", "payments-pager", ["ruleId", "team"]]],
    ],
    [
      "does descend into a matching grandchild, inheriting groupBy",
      labels({ team: "payments", severity: "info" }),
      [["root/1/0", "default", ["ruleId", "team"]]],
    ],
    [
      "does go on after a child with continue",
      labels({ kind: "dailySpend", team: "payments" }),
      [
        ["root/0", "audit", ["ruleId"]],
        ["root/1", "payments-pager", ["ruleId", "team"]],
      ],
    ],
    [
      "does take a continue child alone when no later sibling matches (no root fallback)",
      labels({ kind: "dailySpend", team: "infra" }),
      [["root/0", "audit", ["ruleId"]]],
    ],
    [
      "does match a regex on the whole value",
      labels({ team: "search-eu" }),
      [["root/2", "search-chat", ["ruleId"]]],
    ],
    [
      "does not match a regex on part of the value",
      labels({ team: "research" }),
      [["root", "default", ["ruleId"]]],
    ],
  ])("%s", (_name, l, want) => {
    expect(routeAlert(route, l).map((r) => [r.routeId, r.receiver, [...r.groupBy]])).toEqual(want);
  });

  it("does inherit timings and override them per route", () => {
    const t = (l: AlertLabels) => routeAlert(route, l)[0]?.timings;
    expect(t(labels({}))).toEqual({
      groupWaitMs: 10_000,
      groupIntervalMs: 300_000,
      repeatIntervalMs: 7_200_000,
    });
    expect(t(labels({ team: "payments", severity: "info" }))).toEqual({
      groupWaitMs: 10_000,
      groupIntervalMs: 300_000,
      repeatIntervalMs: 0,
    });
    expect(t(labels({ team: "search" }))?.groupIntervalMs).toBe(60_000);
    const set = (l: AlertLabels) => routeAlert(route, l)[0]?.repeatSet;
    expect([set(labels({})), set(labels({ team: "payments", severity: "info" }))]).toEqual([false, true]);
  });

  it("does send every group to every receiver without alerts.route, grouped by ruleId and team", () => {
    const all = resolveRoute(alerts(undefined), ["a", "b"]);
    const got = routeAlert(all, labels({ team: "payments" }));
    expect(got.map((r) => [r.receiver, [...r.groupBy], r.timings])).toEqual([
      [
        "a",
        ["ruleId", "team"],
        { groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 7_200_000 },
      ],
      [
        "b",
        ["ruleId", "team"],
        { groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 7_200_000 },
      ],
    ]);
    expect(routeAlert(resolveRoute(alerts(undefined), []), labels({}))).toEqual([]);
  });

  it("does key a group by its route and its groupBy values only", () => {
    const [a] = routeAlert(route, labels({ team: "payments", subjectId: "th-1" }));
    const [b] = routeAlert(route, labels({ team: "payments", subjectId: "th-2" }));
    const [c] = routeAlert(route, labels({ team: "payments", ruleId: "other" }));
    const key = (r: typeof a, l: AlertLabels) => groupKeyFor(r as NonNullable<typeof a>, l);
    expect(key(a, labels({ team: "payments", subjectId: "th-1" }))).toBe(
      key(b, labels({ team: "payments", subjectId: "th-2" })),
    );
    expect(key(a, labels({ team: "payments" }))).not.toBe(
      key(c, labels({ team: "payments", ruleId: "other" })),
    );
  });

  it("does give the dashboard's default view the receivers and the first groupBy", () => {
    expect(receiversAndGroupBy(route, labels({ kind: "dailySpend", team: "payments" }))).toEqual({
      receivers: ["audit", "payments-pager"],
      groupBy: ["ruleId"],
    });
  });
});

describe("alerts.route config", () => {
  const issues = (route: unknown) => {
    const r = AlertsConfigSchema.safeParse({ notify: NOTIFY, route });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };
  it.each<[string, unknown, string]>([
    ["does name an unknown root receiver", { receiver: "nope" }, 'route.receiver: unknown receiver "nope"'],
    [
      "does name an unknown receiver deep in the tree",
      {
        receiver: "default",
        routes: [{ matchers: {}, routes: [{ matchers: { team: "x" }, receiver: "pager" }] }],
      },
      'route.routes.0.routes.0.receiver: unknown receiver "pager"',
    ],
    [
      "does refuse an unknown label in matchers",
      { receiver: "default", routes: [{ matchers: { host: "x" } }] },
      'route.routes.0.matchers.host: unknown alert label "host" (labels: ruleId, kind,',
    ],
    [
      "does refuse an unknown label in groupBy",
      { receiver: "default", groupBy: ["host"] },
      "route.groupBy.0",
    ],
    [
      "does refuse a bad regex",
      { receiver: "default", routes: [{ matchers: { team: { re: "(" } } }] },
      "must be a valid regular expression",
    ],
    ["does refuse an unknown key", { receiver: "default", wait: 1 }, "route"],
  ])("%s", (_name, route, want) => {
    expect(issues(route).join("\n")).toContain(want);
  });

  it("does accept the documented shape and default the root", () => {
    expect(issues(TREE)).toEqual([]);
    expect(alerts({ receiver: "default" }).route).toEqual({
      receiver: "default",
      groupBy: ["ruleId", "team"],
      groupWaitMs: 30_000,
      groupIntervalMs: 300_000,
      routes: [],
    });
  });
});
