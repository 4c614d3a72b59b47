/**
 * GET /api/v1/alerts/groups: the alerts grouped as notifications group them (issue 16). Open
 * alerts come from the engine (what it holds in memory, or mirrors when another collector leads);
 * `state=all` adds the resolved ones of the alert list's window. The grouping itself is pure.
 */
import type { DbPool } from "@codex-fleet/db/client";
import { listAlerts } from "@codex-fleet/db/repositories/alerts-repository";
import {
  AlertGroupListSchema,
  type AlertGroupView,
  type AlertView,
  highestSeverity,
  SEVERITY_ORDER,
} from "@codex-fleet/protocol/api";
import type { FastifyInstance } from "fastify";
import { describeRoute, type ParsedQuery } from "../http/openapi.ts";
import { qp, query } from "../http/params.ts";
import type { AlertEngine } from "./engine.ts";
import { type AlertLabelName, type AlertLabels, alertLabels, groupKeyOf } from "./labels.ts";
import { fromRow } from "./store.ts";
import { alertView } from "./views.ts";

/** Alertmanager's default for this product: one group per rule and team. */
export const DEFAULT_GROUP_BY: readonly AlertLabelName[] = ["ruleId", "team"];
/** Resolved alerts `state=all` adds: the alert list's default window. */
const RESOLVED_WINDOW = 500;

const stateRank: Record<AlertView["state"], number> = { firing: 0, pending: 1, resolved: 2 };

export interface GroupOptions {
  groupBy: readonly AlertLabelName[];
  /** The receivers a group with these labels is routed to. */
  receiversFor: (labels: AlertLabels) => string[];
}

/**
 * Group `alerts` by the values of `groupBy`. A group's severity is the highest of its open
 * members (of all members when none is open); members are firing first, then pending, then
 * resolved, newest first; groups are most severe first, then by most firing, then by key.
 */
export function groupAlerts(alerts: readonly AlertView[], opts: GroupOptions): AlertGroupView[] {
  const groups = new Map<string, { labels: AlertLabels; alerts: AlertView[] }>();
  for (const alert of alerts) {
    const labels = alertLabels(alert);
    const key = groupKeyOf(labels, opts.groupBy);
    let group = groups.get(key);
    if (!group) {
      const own: AlertLabels = {};
      for (const name of opts.groupBy) if (labels[name] !== undefined) own[name] = labels[name];
      group = { labels: own, alerts: [] };
      groups.set(key, group);
    }
    group.alerts.push(alert);
  }
  const views = [...groups].map(([key, group]): AlertGroupView => {
    const members = [...group.alerts].sort(
      (a, b) =>
        stateRank[a.state] - stateRank[b.state] ||
        b.pendingSince.localeCompare(a.pendingSince) ||
        a.id.localeCompare(b.id),
    );
    const open = members.filter((a) => a.state !== "resolved");
    const counts = { pending: 0, firing: 0, resolved: 0 };
    for (const a of members) counts[a.state]++;
    return {
      key,
      labels: group.labels as Record<string, string>,
      // Routes may match on any label (severity, target…): the union over the members' routes.
      receivers: [...new Set(members.flatMap((a) => opts.receiversFor(alertLabels(a))))],
      severity: highestSeverity(open.length > 0 ? open : members),
      counts,
      alerts: members,
    };
  });
  return views.sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      b.counts.firing - a.counts.firing ||
      a.key.localeCompare(b.key),
  );
}

export interface AlertGroupRouteDeps {
  engine: AlertEngine;
  pool: DbPool;
  /** Default: ruleId and team (the lead wires the route's `groupBy`). */
  groupBy?: readonly AlertLabelName[];
  /** Default: every configured notifier (today's behaviour: every receiver gets every group). */
  receiversFor?: (labels: AlertLabels) => string[];
}

/** Register GET /api/v1/alerts/groups. */
export function registerAlertGroupRoutes(fastify: FastifyInstance, deps: AlertGroupRouteDeps): void {
  const app = fastify.withTypeProvider<ParsedQuery>();
  const { engine, pool } = deps;
  const groupBy = deps.groupBy ?? DEFAULT_GROUP_BY;
  // Read at request time: the engine replaces its dispatcher when it regains leadership.
  const receiversFor = deps.receiversFor ?? (() => engine.dispatcher.names);

  const schema = describeRoute({
    tags: ["alerts"],
    summary: "Alerts grouped as notifications group them",
    query: query({ state: qp.enum(["open", "all"], "open (default) or all (adds resolved ones)") }),
    response: { 200: AlertGroupListSchema },
  });
  app.get("/api/v1/alerts/groups", schema, async (req) => {
    const state = req.query.state ?? "open";
    const alerts = engine.openViews();
    if (state === "all") {
      const open = new Set(alerts.map((a) => a.id));
      const rows = await listAlerts({ pool, states: ["resolved"], limit: RESOLVED_WINDOW });
      for (const row of rows) if (!open.has(row.id)) alerts.push(alertView(fromRow(row)));
    }
    return { groups: groupAlerts(alerts, { groupBy, receiversFor }) };
  });
}
