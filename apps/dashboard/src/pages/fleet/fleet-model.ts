/** Pure view model of the Fleet page: counts, filters, grouping by target, attention list. */
import type { TargetView, ThreadView } from "@codex-fleet/protocol/api";
import {
  isTargetDown,
  type KnownThreadDisplayStatus,
  needsAttention,
  THREAD_STATUS_ORDER,
  type ThreadDisplayStatus,
  threadDisplayStatus,
} from "../../lib/status.ts";

/** The tiles on top of the Fleet page. */
export type FleetCounts = Record<KnownThreadDisplayStatus, number> & {
  /** Threads in a status this version does not know (`unknown:<name>`). */
  unknown: number;
  targetsDown: number;
  targets: number;
};

const statusRank = new Map<string, number>(THREAD_STATUS_ORDER.map((status, index) => [status, index]));

/** Counts threads by display status and targets that are not connected. */
export function countFleet(threads: Iterable<ThreadView>, targets: Iterable<TargetView>): FleetCounts {
  const counts: FleetCounts = {
    waitingOnApproval: 0,
    waitingOnUserInput: 0,
    active: 0,
    systemError: 0,
    idle: 0,
    notLoaded: 0,
    unknown: 0,
    targetsDown: 0,
    targets: 0,
  };
  for (const thread of threads) {
    const status = threadDisplayStatus(thread);
    if (statusRank.has(status)) counts[status as KnownThreadDisplayStatus] += 1;
    else counts.unknown += 1;
  }
  for (const target of targets) {
    counts.targets += 1;
    if (isTargetDown(target)) counts.targetsDown += 1;
  }
  return counts;
}

/** Fleet filters as they appear in the URL (`?team=&status=&q=&unloaded=1`). */
export type FleetFilter = {
  team: string | null;
  /** A display status, or "down" for targets that are not connected. */
  status: ThreadDisplayStatus | "down" | null;
  query: string;
  showUnloaded: boolean;
};

/** Reads the fleet filter from URL search params, ignoring unknown values. */
export function parseFleetFilter(search: URLSearchParams): FleetFilter {
  const status = search.get("status");
  const validStatus = status === "down" || THREAD_STATUS_ORDER.includes(status as KnownThreadDisplayStatus);
  return {
    team: search.get("team") || null,
    status: validStatus ? (status as FleetFilter["status"]) : null,
    query: (search.get("q") ?? "").trim().toLowerCase(),
    showUnloaded: search.get("unloaded") === "1" || status === "notLoaded",
  };
}

/** One target with the threads to show under it. */
export type TargetGroup = {
  name: string;
  target: TargetView | null;
  threads: ThreadView[];
  hiddenUnloaded: number;
};

/** Threads ordered by urgency, then the longest in their status first. */
export function compareThreads(a: ThreadView, b: ThreadView): number {
  const rank = (statusRank.get(threadDisplayStatus(a)) ?? 9) - (statusRank.get(threadDisplayStatus(b)) ?? 9);
  return rank || a.statusSince.localeCompare(b.statusSince) || a.id.localeCompare(b.id);
}

function matchesQuery(thread: ThreadView, query: string): boolean {
  if (!query) return true;
  return [
    thread.id,
    thread.name,
    thread.repo,
    thread.gitBranch,
    thread.cwd,
    thread.model,
    thread.target,
  ].some((field) => field?.toLowerCase().includes(query));
}

/**
 * Groups threads under their target (down targets first, then by name), applying the filter.
 * Threads of a target the collector no longer lists still appear, under a group without target.
 */
export function groupByTarget(
  targets: TargetView[],
  threads: ThreadView[],
  filter: FleetFilter,
): TargetGroup[] {
  const groups = new Map<string, TargetGroup>();
  const known = new Set(targets.map((target) => target.name));
  for (const target of targets) {
    if (filter.team && target.team !== filter.team) continue;
    if (filter.status === "down" && !isTargetDown(target)) continue;
    groups.set(target.name, { name: target.name, target, threads: [], hiddenUnloaded: 0 });
  }
  for (const thread of threads) {
    if (filter.team && thread.team !== filter.team) continue;
    const status = threadDisplayStatus(thread);
    if (filter.status && filter.status !== "down" && status !== filter.status) continue;
    if (!matchesQuery(thread, filter.query)) continue;
    let group = groups.get(thread.target);
    if (!group) {
      if (filter.status === "down" || known.has(thread.target)) continue;
      group = { name: thread.target, target: null, threads: [], hiddenUnloaded: 0 };
      groups.set(thread.target, group);
    }
    if (status === "notLoaded" && !filter.showUnloaded) group.hiddenUnloaded += 1;
    else group.threads.push(thread);
  }
  const visible = [...groups.values()].filter(
    (group) => group.threads.length > 0 || (!filter.query && (!filter.status || filter.status === "down")),
  );
  for (const group of visible) group.threads.sort(compareThreads);
  return visible.sort(
    (a, b) =>
      Number(b.target ? isTargetDown(b.target) : false) - Number(a.target ? isTargetDown(a.target) : false) ||
      a.name.localeCompare(b.name),
  );
}

/** Threads that need a person, the longest waiting first (approval and input before errors). */
export function attentionList(threads: ThreadView[]): ThreadView[] {
  return (
    threads
      // Any pending server request needs a person too: elicitations, tool calls and unknown kinds
      // are listed under their own kind.
      .filter((thread) => needsAttention(threadDisplayStatus(thread)) || thread.pendingRequests.length > 0)
      .sort(
        (a, b) =>
          (statusRank.get(threadDisplayStatus(a)) ?? 9) - (statusRank.get(threadDisplayStatus(b)) ?? 9) ||
          waitStart(a) - waitStart(b),
      )
  );
}

/** When the current wait began: the oldest pending request, else when the status changed. */
export function waitStart(thread: ThreadView): number {
  const pending = thread.pendingRequests.map((request) => request.sinceMs);
  const since = Date.parse(thread.statusSince);
  return pending.length > 0 ? Math.min(...pending) : since;
}

/** Distinct team names, sorted, for the filter select. */
export function teamsOf(targets: TargetView[], threads: ThreadView[]): string[] {
  return [...new Set([...targets.map((target) => target.team), ...threads.map((thread) => thread.team)])]
    .filter(Boolean)
    .sort();
}

/** Threads and active threads of one target. */
export type TargetThreadCounts = { threads: number; active: number };

/**
 * Threads and active threads per target, counted from the live threads. The feed re-sends a
 * target only when its connection state changes, so the counts inside a TargetView go stale as
 * soon as one of its threads changes status; the threads themselves are always current.
 */
export function threadCountsByTarget(threads: Iterable<ThreadView>): Map<string, TargetThreadCounts> {
  const counts = new Map<string, TargetThreadCounts>();
  for (const thread of threads) {
    const entry = counts.get(thread.target) ?? { threads: 0, active: 0 };
    entry.threads += 1;
    if (thread.status === "active") entry.active += 1;
    counts.set(thread.target, entry);
  }
  return counts;
}
