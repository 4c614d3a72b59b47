/**
 * The thin shell around `decideFlush`: for each due group, decide from the alerts as they are now
 * and write the message (if any) with the group's advance in one transaction — fenced by the
 * alert leader's lease and conditioned on the group's `seq`, so a group is flushed once however
 * many collectors try, and a deposed leader writes nothing.
 */
import type { DbPool } from "@codex-fleet/db/client";
import { flushGroup, getAlerts, type StoredGroup } from "@codex-fleet/db/repositories/alerts-repository";
import type { LeaseFence } from "@codex-fleet/db/repositories/lease-repository";
import type { Logger } from "../../logger.ts";
import { alertLabels } from "../labels.ts";
import { fromRow } from "../store.ts";
import { alertView } from "../views.ts";
import { decideFlush, type GroupCandidate, type GroupState } from "./groups.ts";
import { groupKeyFor, type ResolvedRoute, routeAlert } from "./route.ts";

export interface FlushDueArgs {
  pool: DbPool;
  fence: LeaseFence | null;
  log: Logger;
  route: ResolvedRoute;
  /** The receivers configured now; a group of another ends without a message. */
  receivers: ReadonlySet<string>;
  baseUrl: string;
  nowMs: number;
  due: readonly StoredGroup[];
  /** Every open firing alert, with whether it is muted or acknowledged. */
  firing: readonly GroupCandidate[];
  /** Ids of every open alert (pending or firing). */
  openIds: ReadonlySet<string>;
}

/** Flush the due groups; returns how many messages were queued. */
export async function flushDueGroups(args: FlushDueArgs): Promise<number> {
  const { pool, nowMs } = args;
  const byGroup = new Map<string, GroupCandidate[]>();
  for (const c of args.firing) {
    const labels = alertLabels(c.alert);
    for (const r of routeAlert(args.route, labels)) {
      const key = `${r.receiver}\u0000${groupKeyFor(r, labels)}`;
      byGroup.set(key, [...(byGroup.get(key) ?? []), c]);
    }
  }
  // Members the receivers heard firing that are no longer open: their final state, for the resolve.
  const gone = [...new Set(args.due.flatMap((g) => g.notified))].filter((id) => !args.openIds.has(id));
  const resolved = new Map(
    (await getAlerts({ pool, ids: gone }))
      .filter((r) => r.state === "resolved")
      .map((r) => [r.id, alertView(fromRow(r))]),
  );
  let queued = 0;
  for (const g of args.due) {
    const group: GroupState = {
      receiver: g.receiver,
      groupKey: g.groupKey,
      labels: g.labels,
      notified: g.notified,
      seq: g.seq,
      nextFlushAtMs: g.nextFlushAtMs,
      lastFlushAtMs: g.lastFlushAtMs,
      timings: {
        groupWaitMs: g.groupWaitMs,
        groupIntervalMs: g.groupIntervalMs,
        repeatIntervalMs: g.repeatIntervalMs,
      },
    };
    const decision = args.receivers.has(g.receiver)
      ? decideFlush({
          group,
          firing: byGroup.get(`${g.receiver}\u0000${g.groupKey}`) ?? [],
          resolved: g.notified.flatMap((id) => resolved.get(id) ?? []),
          nowMs,
          baseUrl: args.baseUrl,
        })
      : { send: null, notified: [], lastFlushAtMs: g.lastFlushAtMs, nextFlushAtMs: null };
    const send = decision.send;
    const written = await flushGroup({
      pool,
      fence: args.fence,
      receiver: g.receiver,
      groupKey: g.groupKey,
      seq: g.seq,
      notified: decision.notified,
      lastFlushAtMs: decision.lastFlushAtMs,
      nextFlushAtMs: decision.nextFlushAtMs,
      atMs: nowMs,
      notification: send
        ? {
            // A group's messages share its key: the outbox sends them to a receiver in order.
            alertId: g.groupKey,
            notificationId: send.id,
            notifier: g.receiver,
            event: send.status,
            payload: send,
            createdAtMs: nowMs,
          }
        : null,
    });
    if (written && send) {
      queued++;
      args.log.info(
        { receiver: g.receiver, group: g.groupKey, status: send.status, counts: send.counts },
        "alerts: group notification queued",
      );
    }
  }
  return queued;
}
