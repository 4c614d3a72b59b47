/**
 * The JSON-RPC requests a client can send a simulated app-server, answered like 0.169.0:
 * initialize, the read-only thread queries, thread/resume (subscribe; a cold resume loads the
 * thread and replays its total; a pending request is replayed) and thread/unsubscribe.
 */
import type { SimClock } from "./clock.ts";
import { uuidv7 } from "./ids.ts";
import type { PlanMeter } from "./plan.ts";
import type { Prng } from "./prng.ts";
import type { Scheduler } from "./scheduler.ts";
import { resumeResult, tokenUsageParams } from "./shapes.ts";
import type { SimConnection } from "./sim-connection.ts";
import {
  INVALID_REQUEST,
  loadedList,
  type RpcOutcome,
  threadList,
  threadRead,
  turnsList,
} from "./sim-requests.ts";
import type { SimThread, Violation } from "./state.ts";

/**
 * What answering a request needs of the server (SimServer implements it). Declared here, not
 * imported from sim-server.ts, so that the server depends on its request handlers and never the
 * other way round.
 */
export interface RpcServer {
  readonly name: string;
  readonly installationId: string;
  readonly clock: SimClock;
  readonly threads: ReadonlyMap<string, SimThread>;
  /** The developer's plan windows; null: an API-key login (the read fails, as on 0.169.0). */
  readonly planMeter: PlanMeter | null;
  readonly opts: {
    readonly prng: Prng;
    readonly scheduler: Scheduler;
    readonly originator: string;
    readonly platform: string;
    readonly codexHome: string;
  };
  sendTo(conn: SimConnection, method: string, params: Record<string, unknown>): void;
  broadcast(method: string, params: Record<string, unknown>): void;
  violation(conn: SimConnection, kind: Violation["kind"], detail: string): void;
  load(t: SimThread): void;
  cancelUnload(t: SimThread): void;
  maybeScheduleUnload(t: SimThread): void;
}

/** Requests a read-only observer may send; anything else changes the developer's session. */
export const READ_ONLY_METHODS: ReadonlySet<string> = new Set([
  "initialize",
  "thread/loaded/list",
  "thread/list",
  "thread/read",
  "thread/turns/list",
  "thread/resume",
  "thread/unsubscribe",
  "account/rateLimits/read",
]);

/** Answer one request of a client (null: no answer). */
export function handleRequest(
  server: RpcServer,
  conn: SimConnection,
  method: string,
  params: unknown,
): RpcOutcome | null {
  const p = (typeof params === "object" && params !== null ? params : {}) as Record<string, unknown>;
  const threadId = typeof p.threadId === "string" ? p.threadId : "";
  if (method === "initialize") return initialize(server, conn, params);
  if (!conn.initialized) return { error: { code: INVALID_REQUEST, message: "Not initialized" } };
  const revision = () => uuidv7(server.clock.now(), server.opts.prng);
  switch (method) {
    case "thread/loaded/list":
      return loadedList(server.threads.values(), params);
    case "thread/list":
      return threadList(server.threads.values(), params, server.opts.originator, revision);
    case "thread/turns/list":
      return turnsList(server.threads.get(threadId), threadId, params);
    case "thread/read":
      if (p.includeTurns === true) {
        server.sendTo(conn, "deprecationNotice", {
          summary:
            "Full-history hydration is deprecated for paginated threads; omit `includeTurns` or set it to `false`, then page with `thread/turns/list` and `thread/items/list`.",
          details: null,
        });
      }
      return threadRead(server.threads.get(threadId), threadId, params, server.opts.originator, revision);
    case "thread/resume":
      return resume(server, conn, threadId, p);
    case "thread/unsubscribe":
      return { result: { status: unsubscribe(server, conn, threadId) } };
    case "account/rateLimits/read": {
      // Measured on 0.169.0: with API-key auth the read always fails like this.
      if (server.planMeter === null)
        return {
          error: {
            code: INVALID_REQUEST,
            message: "codex account authentication required to read rate limits",
          },
        };
      const snapshot = server.planMeter.snapshot(server.clock.now(), true);
      return {
        result: {
          ordinaryUsageAllowed: true,
          rateLimits: snapshot,
          rateLimitsByLimitId: { codex: snapshot },
          rateLimitResetCredits: null,
          accountId: `acct-${server.name}`,
          rateLimitUpsell: null,
        },
      };
    }
    default:
      return {
        error: { code: INVALID_REQUEST, message: `method ${method} is not served by the simulator` },
      };
  }
}

function initialize(server: RpcServer, conn: SimConnection, params: unknown): RpcOutcome {
  if (conn.initialized) return { error: { code: INVALID_REQUEST, message: "Already initialized" } };
  conn.configure(params);
  conn.initialized = true;
  return {
    result: {
      userAgent: `${server.opts.originator}/0.169.0 (${server.opts.platform} (${conn.clientName}; ${conn.clientVersion})`,
      codexHome: server.opts.codexHome,
      platformFamily: "unix",
      platformOs: server.opts.platform.startsWith("Mac") ? "macos" : "linux",
    },
  };
}

/** After `initialized`: the remote-control status every client gets once (captured). */
export function onInitialized(server: RpcServer, conn: SimConnection): void {
  server.sendTo(conn, "remoteControl/status/changed", {
    status: "disabled",
    serverName: server.name,
    installationId: server.installationId,
    environmentId: null,
  });
}

/** facts §2: subscribe; cold resume loads and replays the total; a pending request is replayed. */
function resume(
  server: RpcServer,
  conn: SimConnection,
  threadId: string,
  p: Record<string, unknown>,
): RpcOutcome {
  const t = server.threads.get(threadId);
  if (!t?.persisted) {
    return { error: { code: INVALID_REQUEST, message: `no rollout found for thread id ${threadId}` } };
  }
  if (p.excludeTurns !== true)
    server.violation(conn, "resumeWithTurns", `thread/resume ${threadId} without excludeTurns`);
  const cold = !t.loaded;
  if (cold) server.load(t);
  t.subscribers.add(conn);
  conn.subscriptions.add(t);
  server.cancelUnload(t);
  // Answer first, then the replay and the goal notification (the measured order).
  return {
    result: resumeResult(t, server.opts.originator),
    after: () => {
      if (cold && t.last && t.lastUsageTurnId) {
        server.sendTo(
          conn,
          "thread/tokenUsage/updated",
          tokenUsageParams(t.id, t.lastUsageTurnId, t.total, t.last),
        );
      }
      // Measured: every resume announces goal/cleared to every connection, subscribed or not.
      server.broadcast("thread/goal/cleared", { threadId: t.id });
      const pending = t.pending;
      if (pending) {
        // Replayed to the new subscriber ~50 ms later (measured: 51 ms).
        server.opts.scheduler.after(50, () => {
          if (t.pending === pending && t.subscribers.has(conn)) {
            conn.send(
              JSON.stringify({ method: pending.method, id: pending.id, params: pending.params }),
              null,
            );
          }
        });
      }
    },
  };
}

function unsubscribe(server: RpcServer, conn: SimConnection, threadId: string): string {
  const t = server.threads.get(threadId);
  if (!t?.loaded) return "notLoaded";
  if (!t.subscribers.delete(conn)) return "notSubscribed";
  conn.subscriptions.delete(t);
  server.maybeScheduleUnload(t);
  return "unsubscribed";
}
