/**
 * Wires the cluster into the collector (issue 12): this instance's identity, the lease keeper on a
 * small pool of its own (renewals never wait behind ingest, and give up within a renewal interval
 * when Postgres does not answer), `GET /api/v1/cluster`, and the lease gauges. One collector alone
 * holds every lease and behaves as before; embedded PGlite is one session, so the keeper shares
 * the main pool there.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { DbPool } from "@codex-fleet/db/client";
import { createPool } from "@codex-fleet/db/pool";
import { listInstances } from "@codex-fleet/db/repositories/instance-repository";
import { listLeases } from "@codex-fleet/db/repositories/lease-repository";
import { type ClusterView, ClusterViewSchema } from "@codex-fleet/protocol/api";
import type { FastifyInstance } from "fastify";
import type { Config } from "../config/schema.ts";
import type { Fleet } from "../fleet/fleet.ts";
import { describeRoute } from "../http/openapi.ts";
import { noQuery } from "../http/params.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics.ts";
import { ALERTS_LEASE, type AlertsLeadership, defaultInstanceName, LeaseKeeper } from "./keeper.ts";

export interface InstalledCluster {
  keeper: LeaseKeeper;
  /** Register and take a first share of the leases (after `fleet.start(…, { follow: "leased" })`). */
  start(): Promise<void>;
  /** Stop renewing (call before stopping alerts and the fleet), then `release()`. */
  pause(): Promise<void>;
  /** Give every lease back and leave the registry; closes the keeper's pool. */
  release(): Promise<void>;
  /** The last round trip to Postgres succeeded. */
  databaseOk(): boolean;
  plugin(app: FastifyInstance): void;
}

export function installCluster(args: {
  config: Config;
  database: { pool: DbPool; url: string; embedded: boolean };
  fleet: Fleet;
  log: Logger;
  metrics: Metrics;
  version: string;
  alerts?: AlertsLeadership;
}): InstalledCluster {
  const { config, database, fleet, metrics } = args;
  const log = args.log.child({ module: "cluster" });
  const ttlMs = config.cluster.leaseTtlMs;
  const identity = {
    id: randomUUID(),
    name: config.cluster.instanceName ?? defaultInstanceName(),
    version: args.version,
    host: hostname(),
    pid: process.pid,
  };
  const pool = database.embedded
    ? database.pool
    : createPool({
        url: database.url,
        poolMax: 2,
        timeoutMs: Math.max(Math.round(ttlMs / 3), 500),
        name: "codex-fleet-leases",
        log: { info: (m) => log.info(m), warn: (m) => log.warn(m) },
      });
  const keeper = new LeaseKeeper({
    pool,
    fleet,
    log,
    metrics,
    identity,
    ttlMs,
    embedded: database.embedded,
    ...(args.alerts ? { alerts: args.alerts } : {}),
  });
  fleet.membershipChanged = () => keeper.kick();
  metrics.gauge("codex_fleet_leases_held", () => {
    const held = keeper.heldNames();
    const alerts = held.filter((n) => n === ALERTS_LEASE).length;
    return {
      help: "Leases this instance holds, by kind (target, alerts).",
      values: [
        ['kind="target"', held.length - alerts],
        ['kind="alerts"', alerts],
      ],
    };
  });
  return {
    keeper,
    start: () => keeper.start(),
    pause: () => keeper.pause(),
    async release() {
      await keeper.release();
      if (pool !== database.pool) await pool.end().catch(() => {});
    },
    databaseOk: () => keeper.databaseOk,
    plugin(app) {
      const schema = describeRoute({
        tags: ["cluster"],
        summary: "The collectors sharing this database, their leases and the alert leader",
        query: noQuery,
        response: { 200: ClusterViewSchema },
      });
      app.get("/api/v1/cluster", schema, async (): Promise<ClusterView> => {
        const [instances, { leases }] = await Promise.all([
          listInstances({ pool: database.pool }),
          listLeases({ pool: database.pool }),
        ]);
        const held = new Map<string, number>();
        let leader: string | null = null;
        let leaderId: string | null = null;
        const followed = new Set<string>();
        for (const l of leases) {
          if (!l.live) continue;
          if (l.name === ALERTS_LEASE) {
            leader = l.holderName;
            leaderId = l.holder;
          } else {
            held.set(l.holder, (held.get(l.holder) ?? 0) + 1);
            followed.add(l.name);
          }
        }
        const targets = [...fleet.targets.keys()];
        return {
          leaseTtlMs: ttlMs,
          alertLeader: leader,
          targets: targets.length,
          unfollowed: targets.filter((t) => !followed.has(`target:${t}`)).length,
          instances: instances.map((i) => ({
            id: i.id,
            name: i.name,
            version: i.version,
            host: i.host,
            pid: i.pid,
            startedAt: new Date(i.startedAtMs).toISOString(),
            lastHeartbeat: new Date(i.heartbeatAtMs).toISOString(),
            live: i.live,
            self: i.id === identity.id,
            targetsHeld: held.get(i.id) ?? 0,
            alertLeader: i.id === leaderId,
          })),
        };
      });
    },
  };
}
