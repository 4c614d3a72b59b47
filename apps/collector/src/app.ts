/**
 * Builds the Fastify instance: API routes, the live feed and the built dashboard. It never
 * listens; `main.ts` does (STYLE: app vs process).
 */
import { existsSync, readFileSync } from "node:fs";
import type { DbPool } from "@codex-fleet/db/client";
import fastifyStatic from "@fastify/static";
import fastifyWebsocket from "@fastify/websocket";
import Fastify, { type FastifyInstance, LogController } from "fastify";
import { jsonSchemaTransform } from "fastify-type-provider-zod";
import { z } from "zod";
import { registerRoutes } from "./api/routes.ts";
import { targetView, threadView } from "./api/views.ts";
import { installAudit } from "./audit/audit.ts";
import { AUTH_OFF, type AuthSetup, installAuth } from "./auth/install.ts";
import type { Fleet } from "./fleet/fleet.ts";
import { installErrorHandlers } from "./http/errors.ts";
import { describeRoute, installOpenApi, noBody, registerOpenApiRoutes } from "./http/openapi.ts";
import type { ThreadState } from "./ingest/thread-state.ts";
import { LiveHub, type ThreadViewJson, threadViewJson } from "./live/hub.ts";
import { MAX_SNAPSHOT_THREADS, snapshotThreads } from "./live/snapshot.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";

export interface AppDeps {
  fleet: Fleet;
  pool: DbPool;
  metrics: Metrics;
  logger: Logger;
  /** Directory of the built dashboard (index.html); omitted or missing → API only. */
  dashboardDir?: string | null;
  isReady?: () => boolean;
  /** Extra routes and listeners (alerts) registered by their own modules. */
  plugins?: ((app: FastifyInstance, hub: LiveHub) => void)[];
  liveTickMs?: number;
  /** Open alerts for the live feed's snapshot. */
  alertsSnapshot?: () => import("@codex-fleet/protocol/api").AlertView[];
  /** Access control (config `auth`); omitted → off, as on a loopback collector. */
  auth?: AuthSetup;
  /** Targets paused through the admin API (targets/managed-targets.ts). */
  pausedTargets?: () => import("@codex-fleet/protocol/api").TargetView[];
  /** The collector's version, in the OpenAPI document. */
  version?: string;
  /** From when the hourly rollups hold every hour (retention): see RouteDeps. */
  hourlyKeptFromMs?: () => number;
}

export async function buildApp(deps: AppDeps): Promise<{ app: FastifyInstance; hub: LiveHub }> {
  const app = Fastify({
    loggerInstance: deps.logger,
    // Request lines would drown the fleet's own logs; errors are still logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // Path parameters up to this reach the routes, whose 400 names the parameter (the router's
    // default, 100, answers a bare 414 instead).
    routerOptions: { maxParamLength: 1000 },
    // Query strings like ?team=a&team=b arrive as arrays; params.ts rejects them with a clear 400.
  });
  installErrorHandlers(app);
  // Before any route: its onRoute hook collects every route's schema into the OpenAPI document.
  await installOpenApi(app, { version: deps.version ?? "dev" });
  const dir = deps.dashboardDir;
  const dashboardHtml =
    dir && existsSync(`${dir}/index.html`) ? readFileSync(`${dir}/index.html`, "utf8") : null;
  const { fleet } = deps;
  const teamOf = (target: string) => fleet.targets.get(target)?.config.team ?? "";

  // A thread's view JSON, kept per state: a state is never changed in place (the reducer makes a new
  // one), so the entry is right while the state is held and goes with it. Most threads are
  // unchanged between two connects; building and serialising 5,000 views was a third of a snapshot.
  const viewJson = new WeakMap<ThreadState, { team: string; json: ThreadViewJson }>();
  const viewJsonOf = (t: ThreadState): ThreadViewJson => {
    const team = teamOf(t.targetId);
    const kept = viewJson.get(t);
    if (kept?.team === team) return kept.json;
    const json = threadViewJson(threadView(t, team));
    viewJson.set(t, { team, json });
    return json;
  };
  const hub = new LiveHub(
    {
      snapshot: () => ({
        targets: [...fleet.targets.values()].map((rt) =>
          targetView(rt, fleet.threads, fleet.codexVersionFloor),
        ),
        threads: snapshotThreads(fleet.threads.values(), MAX_SNAPSHOT_THREADS).map(viewJsonOf),
        threadsTotal: fleet.threads.size,
        alerts: deps.alertsSnapshot?.() ?? [],
      }),
    },
    { tickMs: deps.liveTickMs },
  );
  const unsubscribe = fleet.subscribe({
    // Views are built lazily at the hub's tick (once per thing per tick, and only with clients).
    threadChanged: (t) => hub.threadChanged(t.id, () => threadView(t, teamOf(t.targetId))),
    threadForgotten: (t) => hub.threadRemoved(t.id),
    targetChanged: (rt) =>
      hub.targetChanged(rt.config.name, () => targetView(rt, fleet.threads, fleet.codexVersionFloor)),
    usageCounted: (u) =>
      hub.usageCounted({
        threadId: u.threadId,
        target: u.targetId,
        atMs: u.atMs,
        totalTokens: u.totalTokens,
      }),
    limitsChanged: (change) => hub.limitsChanged(change),
  });
  app.addHook("onClose", async () => {
    unsubscribe();
    hub.close();
  });

  await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 } });
  // Before every route, so its hooks guard all of them, the live feed's upgrade included; after
  // the websocket plugin, whose own onRequest hook must mark an upgrade first (it then closes the
  // socket of an upgrade this hook refuses).
  await installAuth(app, deps.auth ?? AUTH_OFF, { log: deps.logger, dashboardHtml, pool: deps.pool });
  // `req.audit` (issue 17) for every change route, sign-in included.
  const audit = installAudit(app, { pool: deps.pool, log: deps.logger, now: deps.auth?.now });
  deps.metrics.counter("codex_fleet_audit_write_failures_total", () => ({
    help: "Changes made whose audit row could not be written (each also logged as an error).",
    values: [["", audit.failures]],
  }));
  const liveSchema = describeRoute({
    tags: ["live"],
    summary: "The live feed: a WebSocket (snapshot, then changes; server to client only)",
    query: z.object({}),
    response: { 101: noBody("Switching protocols (WebSocket)") },
  });
  // @fastify/websocket hides its routes from the document; this one is part of the API, so its
  // own transform shows it (as the GET that upgrades).
  const showLive = {
    swaggerTransform: (arg: Parameters<typeof jsonSchemaTransform>[0]) =>
      jsonSchemaTransform({ ...arg, schema: { ...arg.schema, hide: false } }),
  };
  const { schema: liveDoc, validatorCompiler, serializerCompiler } = liveSchema;
  const liveOptions = {
    websocket: true as const,
    schema: liveDoc,
    validatorCompiler,
    serializerCompiler,
    config: showLive,
  };
  app.get("/api/v1/live", liveOptions, (socket) => {
    hub.add(socket);
    socket.on("close", () => hub.remove(socket));
    socket.on("error", () => hub.remove(socket));
    // The feed is server → client only; anything a client sends is ignored.
  });

  registerRoutes(app, {
    fleet,
    pool: deps.pool,
    metrics: deps.metrics,
    isReady: deps.isReady ?? (() => true),
    ...(deps.pausedTargets ? { pausedTargets: deps.pausedTargets } : {}),
    ...(deps.hourlyKeptFromMs ? { hourlyKeptFromMs: deps.hourlyKeptFromMs } : {}),
  });
  for (const plugin of deps.plugins ?? []) plugin(app, hub);
  registerOpenApiRoutes(app);

  if (dashboardHtml !== null && dir) {
    await app.register(fastifyStatic, { root: dir, wildcard: false, index: ["index.html"] });
    // Client-side routes (/usage, /threads/:id…) get the app shell; unknown /api paths and missing
    // files stay 404 JSON. A catch-all GET route, not a second not-found handler: installErrorHandlers
    // already set the one Fastify allows per prefix (a second one throws at start).
    // Not part of the API: hidden from the OpenAPI document.
    app.get("/*", { schema: { hide: true } }, (req, reply) => {
      const path = req.url.split("?")[0] ?? "";
      if (!path.startsWith("/api/") && !path.includes(".")) {
        return reply.type("text/html").sendFile("index.html");
      }
      return reply.status(404).send({ error: { code: "NOT_FOUND", message: `no route GET ${path}` } });
    });
  }
  return { app, hub };
}
