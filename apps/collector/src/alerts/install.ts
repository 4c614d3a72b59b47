/**
 * Wires alerts into the collector: `installAlerts(...)` gives the Fastify plugin (routes + live
 * feed hook) and start/stop. Call `start()` after `fleet.start()` and `stop()` before the pool
 * closes. With `alerts.enabled: false` nothing is registered (the API answers 404, which the
 * dashboard shows as "alerts not enabled").
 */

import type { DbPool } from "@codex-fleet/db/client";
import type { LeaseFence } from "@codex-fleet/db/repositories/lease-repository";
import type { AlertView } from "@codex-fleet/protocol/api";
import type { FastifyInstance } from "fastify";
import type { Config } from "../config/schema.ts";
import type { Fleet } from "../fleet/fleet.ts";
import type { LiveHub } from "../live/hub.ts";
import type { Logger } from "../logger.ts";
import { AlertEngine, type AlertEngineOptions } from "./engine.ts";
import { registerAlertGroupRoutes } from "./group-routes.ts";
import { receiversAndGroupBy } from "./grouping/route.ts";
import { createNotifiers } from "./notifiers/create.ts";
import { registerReceiverRoutes } from "./receiver-routes.ts";
import { registerAlertRoutes } from "./routes.ts";

export interface InstallAlertsOptions {
  fleet: Fleet;
  pool: DbPool;
  config: Config;
  log: Logger;
  /**
   * Base of dashboard links: `server.publicUrl`, else `http://host:port`; a function is read when a
   * notification is built (the listen address is known only after `listen`).
   */
  publicUrl: string | (() => string);
  now?: () => number;
  /** Tests: see AlertEngineOptions. */
  timers?: boolean;
  debounceMs?: number;
  dispatcher?: AlertEngineOptions["dispatcher"];
  /** Each notification's final outcome per receiver (`/metrics`). */
  onDelivered?: AlertEngineOptions["onDelivered"];
}

export interface InstalledAlerts {
  /** Pass in `buildApp({ plugins: [alerts.plugin] })`. */
  plugin: (app: FastifyInstance, hub: LiveHub) => void;
  /** `fence`: the alert leader's lease (several collectors), checked in every transition's transaction. */
  start(fence?: LeaseFence | null): Promise<void>;
  stop(): Promise<void>;
  /** Open alerts for the live feed's snapshot (`alerts:` in app.ts). */
  openViews(): AlertView[];
  /** Null when alerting is disabled. */
  engine: AlertEngine | null;
}

/** Build the alerts module. */
export function installAlerts(opts: InstallAlertsOptions): InstalledAlerts {
  if (!opts.config.alerts.enabled) {
    opts.log.info("alerts: disabled by config (alerts.enabled: false)");
    return {
      plugin: () => {},
      start: async () => {},
      stop: async () => {},
      openViews: () => [],
      engine: null,
    };
  }
  const now = opts.now ?? Date.now;
  const log = opts.log.child({ module: "alerts" });
  const engine = new AlertEngine({
    fleet: opts.fleet,
    pool: opts.pool,
    config: opts.config,
    log,
    publicUrl: opts.publicUrl,
    notifiers: createNotifiers(opts.config.alerts.notify, {
      now,
      userAgent: "codex-fleet-collector",
      allowLinkLocal: opts.config.network.allowLinkLocal,
    }),
    now,
    timers: opts.timers,
    debounceMs: opts.debounceMs,
    dispatcher: opts.dispatcher,
    onDelivered: opts.onDelivered,
  });
  return {
    plugin: (app, hub) => {
      registerAlertRoutes(app, { engine, pool: opts.pool, now });
      registerAlertGroupRoutes(app, {
        engine,
        pool: opts.pool,
        // Grouped as the default route groups notifications; each group lists where it is routed.
        groupBy: engine.route.groupBy,
        receiversFor: (labels) => receiversAndGroupBy(engine.route, labels).receivers,
      });
      registerReceiverRoutes(app, {
        notify: opts.config.alerts.notify,
        publicUrl: opts.publicUrl,
        now,
        allowLinkLocal: opts.config.network.allowLinkLocal,
      });
      const off = engine.onChange((view) => hub.alert(view));
      app.addHook("onClose", async () => off());
    },
    start: (fence) => engine.start(fence ?? null),
    stop: () => engine.stop(),
    openViews: () => engine.openViews(),
    engine,
  };
}
