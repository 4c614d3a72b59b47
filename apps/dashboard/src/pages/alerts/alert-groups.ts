/**
 * Alert groups as the page shows them: the API's groups (GET /api/v1/alerts/groups) with newer
 * live alert upserts laid over their members, counts and severity recomputed, members filtered.
 * Pure; the live feed cannot say which group a new alert belongs to (the collector's `groupBy`),
 * so `unknownOpenAlerts` tells the page when to refetch.
 */
import { type AlertGroupView, type AlertView, highestSeverity } from "@codex-fleet/protocol/api";

/** The state filter of the Alerts page. */
export type AlertStateFilter = "firing" | "pending" | "resolved" | "all";

/** A group after the live overlay: `shown` are the members that pass the filters. */
export type ShownGroup = AlertGroupView & { shown: AlertView[] };

const stateRank: Record<AlertView["state"], number> = { firing: 0, pending: 1, resolved: 2 };

/** Which groups to ask the API for: open ones unless resolved alerts are wanted. */
export function groupsQueryState(state: AlertStateFilter): "open" | "all" {
  return state === "resolved" || state === "all" ? "all" : "open";
}

/** Does `alert` pass the page's state and severity filters? */
export function passesFilters(alert: AlertView, state: AlertStateFilter, severity: string | null): boolean {
  return (state === "all" || alert.state === state) && (!severity || alert.severity === severity);
}

/**
 * The groups with live upserts replacing their members (by id), counts and severity as the
 * collector computes them (highest open member, else highest member), and only the groups with a
 * member passing the filters; order kept (the collector's: most severe first).
 */
export function overlayGroups(
  groups: readonly AlertGroupView[],
  live: ReadonlyMap<string, AlertView>,
  state: AlertStateFilter,
  severity: string | null,
): ShownGroup[] {
  const out: ShownGroup[] = [];
  for (const group of groups) {
    const alerts = group.alerts
      .map((alert) => live.get(alert.id) ?? alert)
      .sort(
        (a, b) => stateRank[a.state] - stateRank[b.state] || b.pendingSince.localeCompare(a.pendingSince),
      );
    const shown = alerts.filter((alert) => passesFilters(alert, state, severity));
    if (shown.length === 0) continue;
    const counts = { firing: 0, pending: 0, resolved: 0 };
    for (const alert of alerts) counts[alert.state]++;
    const open = alerts.filter((alert) => alert.state !== "resolved");
    out.push({ ...group, alerts, counts, severity: highestSeverity(open.length > 0 ? open : alerts), shown });
  }
  return out;
}

/** Open live alerts that no group holds yet: new since the groups were fetched. */
export function unknownOpenAlerts(groups: readonly AlertGroupView[], live: Iterable<AlertView>): string[] {
  const known = new Set(groups.flatMap((group) => group.alerts.map((alert) => alert.id)));
  const unknown: string[] = [];
  for (const alert of live) if (alert.state !== "resolved" && !known.has(alert.id)) unknown.push(alert.id);
  return unknown.sort();
}

/** "system-error · payments": the group's label values, for headings and accessible names. */
export function groupTitle(group: Pick<AlertGroupView, "labels">): string {
  const values = Object.values(group.labels);
  return values.length > 0 ? values.join(" · ") : "all alerts";
}
