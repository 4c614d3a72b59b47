/**
 * The composition root: `createCollector(config)` builds the whole collector — database (Postgres,
 * or an embedded PGlite under dataDir), the writer thread, the fleet, alerts, managed targets,
 * access control, the live feed, the HTTP app and its gauges — and nothing else does. `main.ts`
 * reads the config, calls it, listens and handles signals; tests, the demo, the soak and the bench
 * use it in-process or run `main.ts` compiled (`launch.ts`).
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { PriceFn } from "@codex-fleet/db/repositories/ingest-types";
import {
  CATALOGUE_SNAPSHOT_DATE,
  type Catalogue,
  createPricer,
  type PriceOverride,
} from "@codex-fleet/pricing";
import { codexVersionFromUserAgent, isBelowCodexFloor } from "@codex-fleet/protocol/codex-version";
import { unknownVariantsOf } from "@codex-fleet/protocol/normalize";
import type { FastifyInstance } from "fastify";
import { ActivityFoldJob } from "./activity-fold.ts";
import { type InstalledAlerts, installAlerts } from "./alerts/install.ts";
import { registerBudgetRoutes } from "./api/budgets-routes.ts";
import { registerPriceOverrideRoutes, registerPricingRoutes } from "./api/pricing-routes.ts";
import { buildApp } from "./app.ts";
import { auditConfigChanges } from "./audit/config-changes.ts";
import { registerAuditRoutes } from "./audit/routes.ts";
import { CatalogueRefresh } from "./catalogue-refresh.ts";
import { type InstalledCluster, installCluster } from "./cluster/install.ts";
import { Replica } from "./cluster/replica.ts";
import type { Config } from "./config/schema.ts";
import { type OpenDatabase, openDatabase } from "./database.ts";
import { MAX_VERSION_LABELS, targetsByCodexVersion } from "./fleet/codex-versions.ts";
import { Fleet, type FleetOptions } from "./fleet/fleet.ts";
import type { WriterSink, WriterTuning } from "./ingest/writer.ts";
import { type SupervisedWriterThread, superviseWriterThread } from "./ingest/writer-supervisor.ts";
import { startWriterThread } from "./ingest/writer-thread.ts";
import { registerKeyRoutes } from "./keys/routes.ts";
import { createLogger, type Logger } from "./logger.ts";
import { escapeLabel, Metrics } from "./metrics.ts";
import { PriceOverrides } from "./price-overrides.ts";
import { Repricing } from "./repricing.ts";
import { RetentionJob } from "./retention.ts";
import { ManagedTargets } from "./targets/managed-targets.ts";
import { registerTargetRoutes } from "./targets/routes.ts";
import { allowedTokenSources } from "./targets/token-source.ts";

const here = dirname(fileURLToPath(import.meta.url));
const DAY_MS = 86_400_000;
/** The collector's version (its package.json), shown to app-servers and in logs. */
export const COLLECTOR_VERSION = (
  JSON.parse(readFileSync(resolve(here, "../package.json"), "utf8")) as { version: string }
).version;
/** The built dashboard, beside this package in the repository (src/ and dist/ alike). */
export const DEFAULT_DASHBOARD_DIR = resolve(here, "../../dashboard/dist");
/** How long `stop()` may take by default (what SIGTERM gets): buffered writes use most of it. */
export const SHUTDOWN_GRACE_MS = 10_000;

/** What a caller may change beyond the config: sinks, clocks and bounds a config file does not set. */
export interface CollectorOverrides {
  /** Default: a logger from config.logLevel / logFormat on stdout. */
  log?: Logger;
  /** Observe every frame the collector sends, per target (the safety tests). */
  onSent?: FleetOptions["onSent"];
  /** Batching and buffer bounds of the database writer (defaults in ingest/writer.ts). */
  writer?: WriterTuning;
  /** Database writes on a worker thread; default: yes, except on embedded PGlite (a single session). */
  writerThread?: boolean;
  /** Connections of the main pool (default 10; 1 on embedded PGlite). */
  poolMax?: number;
  /** Live-feed batching interval (default in live/hub.ts). */
  liveTickMs?: number;
  /** The clock of sessions and the login rate limit. */
  now?: () => number;
  /** The built dashboard to serve; null: API only. Default: the repository's apps/dashboard/dist. */
  dashboardDir?: string | null;
  version?: string;
  /**
   * TEST ONLY, until target leases decide it: whether this instance follows a target (default:
   * all). Two collectors on one database with complementary answers simulate the lease split.
   */
  follow?: (targetName: string) => boolean;
  /** Replication tick and LISTEN reconnect delays (cluster/replica.ts defaults otherwise). */
  replica?: { tickMs?: number; minBackoffMs?: number; maxBackoffMs?: number; url?: string };
}

export interface StartOptions {
  /** Listen on config.server (default). `false`: ready for `app.inject` only. */
  listen?: boolean;
}

/** A built collector: not yet following targets or listening until `start()`. */
export interface Collector {
  readonly config: Config;
  readonly app: FastifyInstance;
  readonly fleet: Fleet;
  readonly alerts: InstalledAlerts;
  readonly managedTargets: ManagedTargets;
  /** Leases: which targets this instance follows, and whether it runs the alert engine. */
  readonly cluster: InstalledCluster;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly database: Pick<OpenDatabase, "pool" | "url" | "embedded" | "description">;
  /** Replication to and from other collectors on the database (null on embedded PGlite). */
  readonly replica: Replica | null;
  /** The retention job (issue 13): `runOnce()` prunes now. */
  readonly retention: RetentionJob;
  /** The activity fold (issue 15): `runOnce()` folds now. */
  readonly activityFold: ActivityFoldJob;
  /** `http://host:port` once listening (null before, or when started with `listen: false`). */
  readonly address: string | null;
  /** Follow every target, start alerting, listen; resolves with the address ("" when not listening). */
  start(options?: StartOptions): Promise<string>;
  /**
   * Stop serving, stop alerting, flush buffered writes within `graceMs` (a database that is back
   * within it loses nothing), close the writer thread and the database. Idempotent.
   */
  stop(graceMs?: number): Promise<void>;
}

/** Build a collector from a loaded config. Opens the database and applies migrations. */
export async function createCollector(
  config: Config,
  overrides: CollectorOverrides = {},
): Promise<Collector> {
  const log = overrides.log ?? createLogger({ level: config.logLevel, format: config.logFormat });
  const metrics = new Metrics();
  const db = await openDatabase({
    config,
    log,
    ...(overrides.poolMax ? { poolMax: overrides.poolMax } : {}),
  });
  // Prices (README "Prices"): the shipped catalogue snapshot, or the last good refresh when the
  // operator enabled it; overrides win either way. The writer thread gets every refresh too.
  // Overrides come from the config file and the dashboard (price-overrides.ts; the stored ones are
  // read at start, before anything is priced).
  let catalogue: Catalogue | null = null;
  let overridesInForce: readonly PriceOverride[] = config.pricing.overrides;
  let pricer = createPricer(overridesInForce);
  const price: PriceFn = (model, atMs, tokens, request) => pricer.price(model, atMs, tokens, request);
  const catalogueRefresh = new CatalogueRefresh({
    refresh: config.pricing.catalogue.refresh,
    log,
    onCatalogue: (fresh) => {
      catalogue = fresh;
      pricer = createPricer(overridesInForce, fresh);
      writerThread?.setCatalogue(fresh);
    },
  });
  // Re-pricing (repricing.ts): history follows a change of the overrides, in the background.
  const repricing = new Repricing({
    pool: db.pool,
    overrides: config.pricing.overrides,
    price,
    log,
    alone: db.embedded,
  });
  // Ingest transactions on their own thread (writer-thread.ts), except on embedded PGlite, which
  // is a single session: a second connection would not be isolated from the first. The thread
  // starts with the first write: a collector with nothing to write (no targets, a standby) never
  // pays for it (~20 MB).
  const useThread = (overrides.writerThread ?? true) && !db.embedded;
  let writerThread: SupervisedWriterThread | null = null;
  let onWriterReport: Parameters<WriterSink["listen"]>[0] | null = null;
  const onThread = (): SupervisedWriterThread => {
    if (!writerThread) {
      // Supervised (writer-supervisor.ts): a thread that dies is replaced and gets the posts it
      // had not written again; one that keeps dying on the same posts makes this instance unready.
      writerThread = superviseWriterThread({
        start: () =>
          startWriterThread({
            url: db.url,
            poolMax: 2,
            overrides: overridesInForce,
            catalogue,
            ...(overrides.writer ? { tuning: overrides.writer } : {}),
          }),
        onDeath: (err, { restarting, reposted }) => {
          metrics.dbWriteErrors.inc();
          if (restarting)
            log.error(
              { err: err.message, reposted },
              "database writer thread died: started a new one with the writes it had not done",
            );
          else
            log.fatal(
              { err: err.message },
              "database writer thread keeps dying on the same writes: writes stopped, not ready; restart the collector (it backfills what was not written)",
            );
        },
      });
      if (onWriterReport) writerThread.listen(onWriterReport);
    }
    return writerThread;
  };
  metrics.counter("codex_fleet_writer_thread_restarts_total", () => ({
    help: "Database writer threads started after one died (the new one writes what the dead one held).",
    values: [["", writerThread?.restarts ?? 0]],
  }));
  const writeOnThread: FleetOptions["writeBatch"] = ({ price: _price, ...batch }) => onThread().write(batch);
  // The write buffer itself lives on the thread (writer.ts WriterSink): its flushes never wait
  // for this thread's event loop, busy for seconds while a burst of frames is read.
  const writerSink: WriterSink = {
    post: (ops, seq) => onThread().post(ops, seq),
    flush: () => writerThread?.flushBuffer() ?? Promise.resolve(),
    close: (timeoutMs) => writerThread?.closeBuffer(timeoutMs) ?? Promise.resolve(),
    listen: (onReport) => {
      onWriterReport = onReport;
      writerThread?.listen(onReport);
    },
  };
  const priceOverrides = new PriceOverrides({
    pool: db.pool,
    configured: config.pricing.overrides,
    log,
    // New usage is priced with the new set first (on both threads, batches under way written),
    // then history up to now is re-priced: nothing falls between the two.
    apply: async (effective) => {
      overridesInForce = effective;
      pricer = catalogue ? createPricer(effective, catalogue) : createPricer(effective);
      await writerThread?.setOverrides(effective);
      return repricing.change(effective);
    },
  });
  const fleet = new Fleet({
    config,
    pool: db.pool,
    price,
    log,
    metrics,
    version: overrides.version ?? COLLECTOR_VERSION,
    ...(overrides.writer ? { writer: overrides.writer } : {}),
    ...(overrides.onSent ? { onSent: overrides.onSent } : {}),
    ...(useThread ? { writeBatch: writeOnThread, writerSink } : {}),
    ...(overrides.follow ? { follow: overrides.follow } : {}),
  });
  let ready = false;
  let address: string | null = null;
  const alerts = installAlerts({
    fleet,
    pool: db.pool,
    config,
    log,
    publicUrl: () =>
      config.server.publicUrl ?? address ?? `http://${config.server.host}:${config.server.port}`,
    onDelivered: (receiver, outcome) => metrics.alertNotifications.inc([receiver, outcome]),
  });
  // Targets added through the admin API; their tokens are decrypted here (CODEX_FLEET_SECRET_KEY).
  const managedTargets = new ManagedTargets({
    pool: db.pool,
    fleet,
    config,
    log,
    version: overrides.version ?? COLLECTOR_VERSION,
  });
  // Several collectors on one database (issue 12): each follows the targets it holds a lease on;
  // the holder of the `alerts` lease runs the alert engine. Alone, it holds every lease.
  const leased = overrides.follow === undefined;
  const cluster = installCluster({
    config,
    database: db,
    fleet,
    log,
    metrics,
    version: overrides.version ?? COLLECTOR_VERSION,
    ...(alerts.engine
      ? { alerts: { lead: (fence) => alerts.start(fence), stepDown: () => alerts.stop() } }
      : {}),
  });

  // Replication (cluster/replica.ts): what this instance follows goes to the others over NOTIFY;
  // theirs comes back into this fleet; managed-target and alert changes made here reload there.
  // Embedded PGlite is a single instance: nothing to replicate.
  const replica = db.embedded
    ? null
    : new Replica({
        fleet,
        pool: db.pool,
        url: overrides.replica?.url ?? db.url,
        log,
        ...overrides.replica,
        onManaged: () => managedTargets.reload(),
        onAlerts: async () => alerts.engine?.reloadFromDatabase(),
        onPrices: () => priceOverrides.reload(),
      });
  if (replica) {
    metrics.counter("codex_fleet_replica_payloads_total", () => ({
      help: "Replication NOTIFY payloads this instance published and received (from other instances).",
      values: [
        ['direction="published"', replica.published],
        ['direction="received"', replica.received],
      ],
    }));
    metrics.counter("codex_fleet_replica_reread_notices_total", () => ({
      help: "States too large for one NOTIFY payload, published as 're-read the row' once written.",
      values: [["", replica.rereadNotices]],
    }));
    managedTargets.onChange(() => replica.publish("managed"));
    priceOverrides.onChange(() => replica.publish("prices"));
    alerts.engine?.onStoredChange(() => replica.publish("alerts"));
  }
  const { app } = await buildApp({
    fleet,
    pool: db.pool,
    metrics,
    logger: log,
    version: overrides.version ?? COLLECTOR_VERSION,
    dashboardDir: overrides.dashboardDir === undefined ? DEFAULT_DASHBOARD_DIR : overrides.dashboardDir,
    // Not ready while Postgres cannot be reached: a load balancer sends users to another instance.
    isReady: () => ready && (!leased || cluster.databaseOk()) && !writerThread?.failed,
    // Retention prunes hours older than `hourlyDays` (retention.ts): a day more of margin, for an
    // instance that prunes with a clock ahead of ours.
    hourlyKeptFromMs: () => (overrides.now ?? Date.now)() - (config.retention.hourlyDays - 1) * DAY_MS,
    plugins: [
      alerts.plugin,
      (a) => registerKeyRoutes(a, { pool: db.pool, now: overrides.now }),
      (a) => registerAuditRoutes(a, { pool: db.pool }),
      (a) => registerTargetRoutes(a, managedTargets),
      (a) => cluster.plugin(a),
      (a) => registerBudgetRoutes(a, { pool: db.pool, fleet, budgets: config.budgets, now: overrides.now }),
      (a) =>
        registerPricingRoutes(a, {
          pool: db.pool,
          overrides: priceOverrides,
          refreshEnabled: config.pricing.catalogue.refresh.enabled,
          catalogue: () =>
            catalogue
              ? { version: catalogue.version, date: catalogue.date, source: "refresh" }
              : { version: pricer.catalogueVersion, date: CATALOGUE_SNAPSHOT_DATE, source: "snapshot" },
        }),
      (a) => registerPriceOverrideRoutes(a, priceOverrides),
    ],
    alertsSnapshot: () => alerts.openViews(),
    ...(overrides.liveTickMs !== undefined ? { liveTickMs: overrides.liveTickMs } : {}),
    auth: {
      config: config.auth,
      publicUrl: config.server.publicUrl,
      host: config.server.host,
      allowedHosts: config.server.allowedHosts,
      targetTokenSources: allowedTokenSources(config.server.targetSecrets),
      ...(overrides.now ? { now: overrides.now } : {}),
    },
    pausedTargets: () => managedTargets.pausedViews(),
  });
  registerMetrics(metrics, fleet, alerts);
  // Retention (issue 13): one instance at a time prunes old detail and hourly rollups.
  const retention = new RetentionJob({
    pool: db.pool,
    retention: config.retention,
    auditDays: config.audit.retentionDays,
    log,
    onDeleted: (table, rows) => metrics.retentionDeleted.inc(table, rows),
    alone: db.embedded,
  });
  // Activity (issue 15): one instance at a time folds the per-team and per-span grains.
  const activityFold = new ActivityFoldJob({ pool: db.pool, log });
  metrics.gauge("codex_fleet_retention_last_run_timestamp_seconds", () => ({
    help: "When this instance last finished a retention run (0: not yet; another instance may run it).",
    values: [["", retention.lastRunAtMs === null ? 0 : Math.round(retention.lastRunAtMs / 1000)]],
  }));
  metrics.gauge("codex_fleet_retention_last_run_seconds", () => ({
    help: "How long this instance's last retention run took.",
    values: [["", (retention.lastRunMs ?? 0) / 1000]],
  }));

  let started = false;
  let stopping: Promise<void> | null = null;
  return {
    config,
    app,
    fleet,
    alerts,
    managedTargets,
    cluster,
    metrics,
    log,
    database: db,
    replica,
    retention,
    activityFold,
    get address() {
      return address;
    },
    async start(options: StartOptions = {}) {
      if (started) throw new Error("collector already started");
      started = true;
      // Before any usage is written: the stored overrides join the config's, and history follows
      // an override change (one transaction).
      await priceOverrides.load();
      // Edits of the config file's rules, routing, budgets and overrides, once each (audit log).
      await auditConfigChanges({ pool: db.pool, config, now: overrides.now ?? Date.now, log });
      overridesInForce = priceOverrides.effective();
      pricer = createPricer(overridesInForce);
      repricing.setOverrides(overridesInForce);
      await repricing.schedule();
      catalogueRefresh.start();
      // Leases decide what this instance follows, unless a test fixes it (overrides.follow).
      await fleet.start(await managedTargets.load(), { follow: leased ? "leased" : "all" });
      // Before alerts: the targets others follow get their stored state first.
      await replica?.start();
      // Follows the targets it wins; if it wins the alert lease, starts alerts — after the fleet
      // has loaded its state, or every thread alert would look resolved.
      if (leased) await cluster.start();
      else await alerts.start();
      retention.start();
      activityFold.start();
      repricing.start();
      if (options.listen === false) await app.ready();
      else address = await app.listen({ host: config.server.host, port: config.server.port });
      ready = true;
      return address ?? "";
    },
    stop(graceMs = SHUTDOWN_GRACE_MS) {
      stopping ??= (async () => {
        ready = false;
        const deadline = Date.now() + graceMs;
        await app.close();
        if (started && leased) await cluster.pause();
        await alerts.stop();
        await retention.stop();
        await activityFold.stop();
        catalogueRefresh.stop();
        await repricing.stop();
        // Buffered writes get what is left of the grace period, minus a second to close the pool.
        try {
          // The replica sends the last states after the fleet's (and closes its LISTEN connection either way).
          await fleet.stop(Math.max(0, deadline - 1000 - Date.now())).finally(() => replica?.stop());
        } finally {
          // After the fleet's last writes: the next holders read what it wrote.
          if (started && leased) await cluster.release();
        }
        await writerThread?.close();
        await db.close();
      })();
      return stopping;
    },
  };
}

/** The collector's gauges, and the counter of unknown enum variants fed from the fleet's events. */
function registerMetrics(metrics: Metrics, fleet: Fleet, alerts: InstalledAlerts): void {
  // Unknown enum variants (a newer app-server) are kept in the state and counted here.
  fleet.subscribe({
    event: (_target, event) => {
      for (const u of unknownVariantsOf(event)) metrics.unknownVariants.inc(u.field, u.value);
    },
  });
  metrics.gauge("process_resident_memory_bytes", () => ({
    help: "Resident memory of the collector process.",
    values: [["", process.memoryUsage.rss()]],
  }));
  // Per-target gauges count only the targets this instance follows: with replication every
  // instance holds every target's state, and Prometheus sums over instances (issue 12).
  const followed = () => [...fleet.targets.values()].filter((rt) => rt.followed);
  // The working set (README "The working set"): what this instance holds, and how it moves.
  metrics.gauge("codex_fleet_threads_held", () => ({
    help: "Threads this instance holds in memory (loaded in an app-server, owed a total, or heard from within retention.threadMemoryDays).",
    values: [["", fleet.threads.size]],
  }));
  metrics.counter("codex_fleet_threads_forgotten_total", () => ({
    help: "Threads that left memory (out of the working set, or their target deleted); they stay in the database.",
    values: [["", fleet.threadsForgotten]],
  }));
  metrics.counter("codex_fleet_threads_read_back_total", () => ({
    help: "Threads heard from again that were read back from the database before their first change.",
    values: [["", fleet.threadsReadBack]],
  }));
  metrics.gauge("codex_fleet_threads_pending_recovery", () => {
    const byTarget = new Map<string, number>();
    for (const rt of followed()) byTarget.set(rt.config.name, 0);
    for (const t of fleet.owedThreads()) {
      const n = byTarget.get(t.targetId);
      if (n !== undefined) byTarget.set(t.targetId, n + 1);
    }
    return {
      help: "Threads whose token total may be unread (pending recovery; usage figures are a lower bound), by target; only the targets this instance follows.",
      values: [...byTarget].map(([target, n]) => [`target="${escapeLabel(target)}"`, n]),
    };
  });
  metrics.gauge("codex_fleet_targets_by_codex_version", () => {
    const versions = followed().map((rt) => codexVersionFromUserAgent(rt.status.userAgent));
    return {
      help: `Targets this instance follows by the codex version of their last initialize (at most ${MAX_VERSION_LABELS} versions, the newest; the rest as "other"; never told as "unknown").`,
      values: targetsByCodexVersion(versions).map(([v, n]) => [`version="${escapeLabel(v)}"`, n]),
    };
  });
  metrics.gauge("codex_fleet_targets_below_codex_floor", () => ({
    help: "Targets this instance follows whose codex version is older than the supported floor (config codexVersionFloor).",
    values: [
      [
        "",
        followed().filter((rt) =>
          isBelowCodexFloor(codexVersionFromUserAgent(rt.status.userAgent), fleet.codexVersionFloor),
        ).length,
      ],
    ],
  }));
  metrics.gauge("codex_fleet_ingest_backlog", () => ({
    help: "Write operations waiting for the database.",
    values: [["", fleet.writer.backlog]],
  }));
  metrics.gauge("codex_fleet_ingest_compactions", () => ({
    help: "Times the write buffer hit its bound and kept only the newest total per thread (since start).",
    values: [["", fleet.writer.compacted]],
  }));
  metrics.gauge("codex_fleet_ingest_dropped", () => ({
    help: "Write operations the database refused for their content and dropped, the rest written (since start).",
    values: [["", fleet.writer.dropped]],
  }));
  metrics.gauge("codex_fleet_alerts", () => {
    const open = alerts.openViews();
    const count = (state: string) => open.filter((a) => a.state === state).length;
    return {
      help: "Open alerts by state (resolved ones are closed and not counted).",
      values: [
        ['state="pending"', count("pending")],
        ['state="firing"', count("firing")],
      ],
    };
  });
  // Issue 16: open alerts by rule and state (rule ids come from the config: bounded), and how
  // many of them an inhibit rule mutes.
  metrics.gauge("codex_fleet_alerts_by_rule", () => {
    const counts = new Map<string, number>();
    for (const a of alerts.openViews()) {
      const key = `rule_id="${escapeLabel(a.ruleId)}",state="${a.state}"`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return { help: "Open alerts by rule and state (pending, firing).", values: [...counts] };
  });
  metrics.gauge("codex_fleet_alerts_inhibited", () => ({
    help: "Open alerts an inhibit rule mutes (shown, not notified).",
    values: [["", alerts.openViews().filter((a) => a.inhibited === true).length]],
  }));
}
