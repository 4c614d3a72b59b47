/**
 * One simulated codex app-server 0.169.0: its threads, its client connections and the JSON-RPC
 * protocol an observer sees (facts §1–§5). Global notifications (thread/started,
 * thread/status/changed, thread/closed) reach every initialized connection; turn, item, usage and
 * error events and server requests reach only the thread's subscribers. The developer driving the
 * server is in-process: it calls the methods below instead of speaking JSON-RPC.
 */
import type { SimClock } from "./clock.ts";
import { uuidv7 } from "./ids.ts";
import { PlanMeter, type SimPlan } from "./plan.ts";
import type { Prng } from "./prng.ts";
import type { Scheduler } from "./scheduler.ts";
import { RATE_LIMITS, statusShape, threadShape, tokenUsageParams } from "./shapes.ts";
import { type FrameSink, SimConnection } from "./sim-connection.ts";
import type { RpcOutcome } from "./sim-requests.ts";
import { handleRequest, onInitialized, READ_ONLY_METHODS, type RpcServer } from "./sim-rpc.ts";
import type { PendingRequest, SimStatus, SimThread, Subscriber, Violation } from "./state.ts";
import { addCounts, copyCounts, type WireTokenCounts, zeroCounts } from "./usage.ts";

export type { Violation } from "./state.ts";

/** JSON-RPC "Server overloaded; retry later." (facts §7). */
const OVERLOADED = { code: -32001, message: "Server overloaded; retry later." };

export interface SimServerOptions {
  name: string;
  team: string;
  token: string | null;
  prng: Prng;
  clock: SimClock;
  scheduler: Scheduler;
  /** Unload a thread this long (real ms) after it went idle with no subscriber (0.169.0: 60 s). */
  unloadAfterMs: number;
  /** Answer requests after this many real ms (0: at once); needed for in-flight limits to bite. */
  responseDelayMs: number;
  /** Requests in flight per server beyond which -32001 is answered (facts §7). */
  maxInFlightRequests: number;
  /** The process-wide originator (the developer's client initialized first: facts "Surprises"). */
  originator: string;
  /** `userAgent` platform part, e.g. `Debian 12.0.0; x86_64) xterm`. */
  platform: string;
  codexHome: string;
  /** The developer's ChatGPT plan; null: signed in with an API key (no plan windows). */
  plan?: SimPlan | null;
  onViolation(v: Violation): void;
}

/** A simulated app-server. */
export class SimServer implements RpcServer {
  readonly threads = new Map<string, SimThread>();
  /** Sum of every model response served by this server (ground truth). */
  readonly served: WireTokenCounts = zeroCounts();
  readonly connections = new Set<SimConnection>();
  private nextConnectionId = 1;
  private nextRequestId = 0;
  private inFlight = 0;
  /** Sent in remoteControl/status/changed. */
  readonly installationId: string;
  /** The plan's windows, filled by every model response; null without a plan. */
  readonly planMeter: PlanMeter | null;

  constructor(readonly opts: SimServerOptions) {
    this.installationId = uuidv7(opts.clock.now(), opts.prng);
    this.planMeter = opts.plan ? new PlanMeter(opts.plan, opts.clock.now(), opts.prng.fork("plan")) : null;
  }

  /** `account/rateLimits/updated` params after a model response (all null without a plan). */
  private rateLimitsUpdate(): Record<string, unknown> {
    return this.planMeter ? { rateLimits: this.planMeter.snapshot(this.clock.now(), false) } : RATE_LIMITS;
  }

  get name(): string {
    return this.opts.name;
  }

  get clock(): SimClock {
    return this.opts.clock;
  }

  // ---- transport side -------------------------------------------------------------------------

  /** A client connected (after auth). */
  attach(sink: FrameSink): SimConnection {
    const conn = new SimConnection(this.nextConnectionId++, sink);
    this.connections.add(conn);
    return conn;
  }

  /** A client went away: its subscriptions end (threads may unload 60 s later). */
  detach(conn: SimConnection): void {
    this.connections.delete(conn);
    for (const t of conn.subscriptions) {
      t.subscribers.delete(conn);
      this.maybeScheduleUnload(t);
    }
    conn.subscriptions.clear();
  }

  /** One text frame from a client. */
  receive(conn: SimConnection, text: string): void {
    let msg: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        throw new Error("not an object");
      msg = parsed as Record<string, unknown>;
    } catch {
      conn.send(JSON.stringify({ error: { code: -32700, message: "Parse error" }, id: null }), null);
      return;
    }
    const method = typeof msg.method === "string" ? msg.method : null;
    const id = msg.id as number | string | undefined;
    if (method === null) {
      if (id !== undefined && ("result" in msg || "error" in msg)) this.onClientResponse(conn, id, msg);
      return;
    }
    if (id === undefined || id === null) {
      if (method === "initialized") onInitialized(this, conn);
      return;
    }
    if (!READ_ONLY_METHODS.has(method)) {
      this.violation(conn, "mutatingRequest", `${method} sent to ${this.name}`);
    }
    if (this.opts.responseDelayMs <= 0) {
      this.respond(conn, id, handleRequest(this, conn, method, msg.params));
      return;
    }
    if (this.inFlight >= this.opts.maxInFlightRequests) {
      this.respond(conn, id, { error: OVERLOADED });
      return;
    }
    this.inFlight++;
    conn.inFlight++;
    this.opts.scheduler.after(this.opts.responseDelayMs, () => {
      this.inFlight--;
      conn.inFlight--;
      if (!this.connections.has(conn)) return;
      this.respond(conn, id, handleRequest(this, conn, method, msg.params));
    });
  }

  /** Close every client socket (their side sees 1006, like a restarted app-server). */
  closeConnections(): void {
    for (const conn of [...this.connections]) {
      this.detach(conn);
      conn.close();
    }
  }

  // ---- developer side -------------------------------------------------------------------------

  /** `thread/start` by the developer's own client: a loaded idle thread, announced to everyone. */
  createThread(init: Pick<SimThread, "model" | "cwd" | "gitInfo">): SimThread {
    const now = this.clock.now();
    const id = uuidv7(now, this.opts.prng);
    const date = new Date(now).toISOString();
    const day = date.slice(0, 10).replaceAll("-", "/");
    const stamp = date.slice(0, 19).replaceAll(":", "-");
    const thread: SimThread = {
      id,
      createdAtMs: now,
      updatedAtMs: now,
      preview: "",
      ...init,
      path: `${this.opts.codexHome}/sessions/${day}/rollout-${stamp}-${id}.jsonl`,
      status: { type: "idle" },
      loaded: true,
      persisted: false,
      subscribers: new Set(),
      developerAttached: true,
      total: zeroCounts(),
      last: null,
      lastUsageTurnId: null,
      turns: [],
      pending: null,
      unloadTask: null,
      contextTokens: 0,
    };
    this.threads.set(id, thread);
    this.broadcast("thread/started", { thread: threadShape(thread, this.opts.originator) });
    return thread;
  }

  /** The developer's client leaves the thread (switched to another one). */
  releaseThread(t: SimThread): void {
    t.developerAttached = false;
    this.maybeScheduleUnload(t);
  }

  /** Every status transition goes to every connection (facts §1). */
  setStatus(t: SimThread, status: SimStatus): void {
    t.status = status;
    this.broadcast("thread/status/changed", { threadId: t.id, status: statusShape(status) });
    if (status.type === "active") this.cancelUnload(t);
    else this.maybeScheduleUnload(t);
  }

  /** A notification for the thread's subscribers only (turn, item, usage, error…). */
  toSubscribers(t: SimThread, method: string, params: Record<string, unknown>): void {
    if (!anyWants(t.subscribers, method)) return;
    const text = JSON.stringify({ method, params, emittedAtMs: this.clock.now() });
    for (const s of t.subscribers) s.send(text, method);
  }

  /**
   * One model response served: the thread's cumulative `total` grows and every subscriber gets
   * `thread/tokenUsage/updated` with total and last (facts §3), then the rate-limit snapshot.
   */
  recordUsage(t: SimThread, turnId: string, usage: WireTokenCounts): void {
    addCounts(t.total, usage);
    addCounts(this.served, usage);
    t.last = copyCounts(usage);
    t.lastUsageTurnId = turnId;
    this.toSubscribers(t, "thread/tokenUsage/updated", tokenUsageParams(t.id, turnId, t.total, usage));
    this.planMeter?.add(usage.totalTokens, this.clock.now());
    this.toSubscribers(t, "account/rateLimits/updated", this.rateLimitsUpdate());
  }

  /**
   * The echo a response.failed or interrupted turn emits: previous total and last under the new
   * turnId (facts §3 "Trap"). Measured: a thread without any usage yet gets only the rate limits.
   */
  echoUsage(t: SimThread, turnId: string): void {
    if (t.last)
      this.toSubscribers(t, "thread/tokenUsage/updated", tokenUsageParams(t.id, turnId, t.total, t.last));
    this.toSubscribers(t, "account/rateLimits/updated", this.rateLimitsUpdate());
  }

  /**
   * A server request (approval, question) to every subscriber, same id for all (facts §4). The
   * developer answers through `answer`; a client's answer also wins (recorded as a violation).
   */
  serverRequest(
    t: SimThread,
    method: string,
    turnId: string,
    params: Record<string, unknown>,
    onResolved: (result: unknown) => void,
  ): PendingRequest {
    const pending: PendingRequest = {
      id: this.nextRequestId++,
      method,
      params,
      turnId,
      resolve: (result) => {
        if (t.pending !== pending) return;
        t.pending = null;
        onResolved(result);
      },
    };
    t.pending = pending;
    const text = JSON.stringify({ method, id: pending.id, params });
    for (const s of t.subscribers) s.send(text, null);
    return pending;
  }

  /** `serverRequest/resolved` to the subscribers. */
  announceResolved(t: SimThread, requestId: number): void {
    this.toSubscribers(t, "serverRequest/resolved", { threadId: t.id, requestId });
  }

  // ---- internals ------------------------------------------------------------------------------

  private onClientResponse(conn: SimConnection, id: number | string, msg: Record<string, unknown>): void {
    this.violation(
      conn,
      "response",
      `answered server request ${String(id)}: ${JSON.stringify(msg).slice(0, 200)}`,
    );
    // Like 0.169.0, the first answer from any subscriber wins (facts §4).
    for (const t of conn.subscriptions) {
      if (t.pending && t.pending.id === id) {
        t.pending.resolve(("result" in msg ? msg.result : null) ?? { decision: "cancel" });
        return;
      }
    }
  }

  /** Load an unloaded thread (cold resume): everyone sees it turn idle. */
  load(t: SimThread): void {
    t.loaded = true;
    this.setStatus(t, { type: "idle" });
  }

  /** Unload after `unloadAfterMs` once the thread is not active and nobody holds it (facts §2). */
  maybeScheduleUnload(t: SimThread): void {
    if (!t.loaded || t.unloadTask || t.status.type === "active") return;
    if (t.subscribers.size > 0 || t.developerAttached) return;
    t.unloadTask = this.opts.scheduler.after(this.opts.unloadAfterMs, () => {
      t.unloadTask = null;
      if (t.status.type === "active" || t.subscribers.size > 0 || t.developerAttached || !t.loaded) return;
      t.loaded = false;
      this.setStatus(t, { type: "notLoaded" });
      this.broadcast("thread/closed", { threadId: t.id });
    });
  }

  /** A subscriber or a turn arrived: the thread stays loaded. */
  cancelUnload(t: SimThread): void {
    t.unloadTask?.cancel();
    t.unloadTask = null;
  }

  /** A notification for every initialized connection (serialized once). */
  broadcast(method: string, params: Record<string, unknown>): void {
    let text: string | null = null;
    for (const c of this.connections) {
      if (!c.initialized || !c.wants(method)) continue;
      text ??= JSON.stringify({ method, params, emittedAtMs: this.clock.now() });
      c.send(text, method);
    }
  }

  /** A notification for one connection. */
  sendTo(conn: SimConnection, method: string, params: Record<string, unknown>): void {
    conn.send(JSON.stringify({ method, params, emittedAtMs: this.clock.now() }), method);
  }

  private respond(conn: SimConnection, id: number | string, outcome: RpcOutcome | null): void {
    if (outcome === null) return;
    const frame = "error" in outcome ? { error: outcome.error, id } : { id, result: outcome.result };
    conn.send(JSON.stringify(frame), null);
    outcome.after?.();
  }

  /** Record client misbehaviour for the fleet's `violations`. */
  violation(conn: SimConnection, kind: Violation["kind"], detail: string): void {
    this.opts.onViolation({
      server: this.name,
      connection: conn.id,
      client: conn.clientName,
      kind,
      detail,
      atMs: Date.now(),
    });
  }
}

function anyWants(subs: Set<Subscriber>, method: string): boolean {
  for (const s of subs) if (s.wants(method)) return true;
  return false;
}
