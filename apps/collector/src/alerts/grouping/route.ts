/**
 * Routing, as Alertmanager routes: an alert enters the root route (which matches everything) and
 * descends into the first child whose matchers match, trying later siblings too only when that
 * child says `continue`; a route none of whose children match takes the alert itself. Children
 * inherit their parent's receiver, groupBy and timings. Pure: config in, routes out.
 */
import type { AlertsConfig } from "../../config/alerts-schema.ts";
import type { ChildRouteConfig, Matchers, RouteConfig } from "../../config/route-schema.ts";
import { type AlertLabelName, type AlertLabels, groupKeyOf } from "../labels.ts";

/** When a group is sent (see groups.ts). */
export interface GroupTimings {
  groupWaitMs: number;
  groupIntervalMs: number;
  /** 0 = never re-sent while unchanged. */
  repeatIntervalMs: number;
}

/** A label test compiled once. */
type CompiledMatcher = (value: string) => boolean;

/** A route with every inherited setting filled in and its matchers compiled. */
export interface ResolvedRoute {
  /** Stable path ("root", "root/0/1"; a default route per receiver is "*\/<receiver>"). */
  id: string;
  matchers: readonly [AlertLabelName, CompiledMatcher][];
  /** "" only on the default tree's root, which sends nothing itself. */
  receiver: string;
  groupBy: readonly AlertLabelName[];
  timings: GroupTimings;
  /** `repeatIntervalMs` was set on this route or an ancestor (else it is `alerts.repeatIntervalMs`). */
  repeatSet: boolean;
  continue: boolean;
  routes: readonly ResolvedRoute[];
}

/** Where one alert goes: one group per matched route. */
export interface RoutedGroup {
  routeId: string;
  receiver: string;
  groupBy: readonly AlertLabelName[];
  timings: GroupTimings;
  /** See ResolvedRoute.repeatSet. */
  repeatSet: boolean;
}

/** The default groupBy of issue 16. */
export const DEFAULT_GROUP_BY: readonly AlertLabelName[] = ["ruleId", "team"];
const DEFAULT_GROUP_WAIT_MS = 30_000;
const DEFAULT_GROUP_INTERVAL_MS = 300_000;

function compileMatchers(m: Matchers): [AlertLabelName, CompiledMatcher][] {
  return (Object.entries(m) as [AlertLabelName, Matchers[AlertLabelName]][]).flatMap(([name, want]) => {
    if (want === undefined) return [];
    if (typeof want === "string") return [[name, (v: string) => v === want]];
    const re = new RegExp(`^(?:${want.re})$`);
    return [[name, (v: string) => re.test(v)]];
  });
}

/** True when every matcher matches the label's value (an absent label is ""). */
export function matchesLabels(
  matchers: readonly [AlertLabelName, CompiledMatcher][],
  labels: AlertLabels,
): boolean {
  return matchers.every(([name, test]) => test(labels[name] ?? ""));
}

/** Compile `alerts.matchers`-shaped config (inhibit rules use it too). */
export function compile(m: Matchers): readonly [AlertLabelName, CompiledMatcher][] {
  return compileMatchers(m);
}

/**
 * The route tree in force. Without `alerts.route`, every receiver gets every group (grouped by
 * ruleId and team, default timings): a root that sends nothing with one `continue` child per receiver.
 */
export function resolveRoute(
  alerts: Pick<AlertsConfig, "route" | "repeatIntervalMs">,
  receivers: readonly string[],
): ResolvedRoute {
  const root = alerts.route;
  if (root === undefined) {
    const timings = {
      groupWaitMs: DEFAULT_GROUP_WAIT_MS,
      groupIntervalMs: DEFAULT_GROUP_INTERVAL_MS,
      repeatIntervalMs: alerts.repeatIntervalMs,
    };
    return {
      id: "*",
      matchers: [],
      receiver: "",
      groupBy: DEFAULT_GROUP_BY,
      timings,
      repeatSet: false,
      continue: false,
      routes: receivers.map((receiver) => ({
        id: `*/${receiver}`,
        matchers: [],
        receiver,
        groupBy: DEFAULT_GROUP_BY,
        timings,
        repeatSet: false,
        continue: true,
        routes: [],
      })),
    };
  }
  const base: ResolvedRoute = {
    id: "root",
    matchers: [],
    receiver: root.receiver,
    groupBy: root.groupBy,
    timings: {
      groupWaitMs: root.groupWaitMs,
      groupIntervalMs: root.groupIntervalMs,
      repeatIntervalMs: root.repeatIntervalMs ?? alerts.repeatIntervalMs,
    },
    repeatSet: root.repeatIntervalMs !== undefined,
    continue: false,
    routes: [],
  };
  return { ...base, routes: resolveChildren(root.routes, base) };
}

function resolveChildren(children: readonly ChildRouteConfig[], parent: ResolvedRoute): ResolvedRoute[] {
  return children.map((c, i) => {
    const self: ResolvedRoute = {
      id: `${parent.id}/${i}`,
      matchers: compileMatchers(c.matchers),
      receiver: c.receiver ?? parent.receiver,
      groupBy: c.groupBy ?? parent.groupBy,
      timings: {
        groupWaitMs: c.groupWaitMs ?? parent.timings.groupWaitMs,
        groupIntervalMs: c.groupIntervalMs ?? parent.timings.groupIntervalMs,
        repeatIntervalMs: c.repeatIntervalMs ?? parent.timings.repeatIntervalMs,
      },
      repeatSet: c.repeatIntervalMs !== undefined || parent.repeatSet,
      continue: c.continue,
      routes: [],
    };
    return { ...self, routes: resolveChildren(c.routes, self) };
  });
}

/** The routes an alert takes (Alertmanager semantics), each a group for one receiver. */
export function routeAlert(route: ResolvedRoute, labels: AlertLabels): RoutedGroup[] {
  const found = descend(route, labels);
  return found
    .filter((r) => r.receiver !== "")
    .map((r) => ({
      routeId: r.id,
      receiver: r.receiver,
      groupBy: r.groupBy,
      timings: r.timings,
      repeatSet: r.repeatSet,
    }));
}

function descend(route: ResolvedRoute, labels: AlertLabels): ResolvedRoute[] {
  const out: ResolvedRoute[] = [];
  for (const child of route.routes) {
    if (!matchesLabels(child.matchers, labels)) continue;
    out.push(...descend(child, labels));
    if (!child.continue) break;
  }
  return out.length > 0 ? out : [route];
}

/** The key of an alert's group on one route (stable while the route and the label values are). */
export function groupKeyFor(routed: Pick<RoutedGroup, "routeId" | "groupBy">, labels: AlertLabels): string {
  return `${routed.routeId}:${groupKeyOf(labels, routed.groupBy)}`;
}

/** The groupBy labels that the alert carries, as the message shows them. */
export function groupLabelsOf(
  labels: AlertLabels,
  groupBy: readonly AlertLabelName[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of groupBy) {
    const v = labels[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/**
 * For the dashboard's default group view (GET /api/v1/alerts/groups): the receivers an alert goes
 * to, and the groupBy of the first route it takes (the default groupBy when it goes nowhere).
 */
export function receiversAndGroupBy(
  route: ResolvedRoute,
  labels: AlertLabels,
): { receivers: string[]; groupBy: readonly AlertLabelName[] } {
  const routed = routeAlert(route, labels);
  return {
    receivers: [...new Set(routed.map((r) => r.receiver))],
    groupBy: routed[0]?.groupBy ?? route.groupBy,
  };
}

export type { RouteConfig };
