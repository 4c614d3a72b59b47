/**
 * /api/v1/live: each client gets a snapshot, then changes. Changes are coalesced per thread and
 * target over a short tick so a busy fleet sends one frame per thing per tick, not per event.
 * A client that cannot keep up (send buffer over the bound) is dropped; it reconnects and gets
 * a fresh snapshot, so nothing is silently lost.
 */
import type { AlertView, TargetView, ThreadView } from "@codex-fleet/protocol/api";
import type { LiveMessage } from "@codex-fleet/protocol/live";
import type { LimitChange } from "../fleet/plan-limits.ts";

export interface LiveSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  readonly bufferedAmount: number;
}

/** A thread's view as JSON (`JSON.stringify(view)`), made once and kept while the thread is unchanged. */
export type ThreadViewJson = string & { readonly __threadView: never };

export function threadViewJson(view: ThreadView): ThreadViewJson {
  return JSON.stringify(view) as ThreadViewJson;
}

export interface LiveSnapshot {
  targets: TargetView[];
  /** Bounded (snapshot.ts), already serialised: most threads are unchanged between two connects. */
  threads: readonly ThreadViewJson[];
  /** How many threads there are in all. */
  threadsTotal?: number;
  alerts: AlertView[];
}

export interface LiveSource {
  snapshot(): LiveSnapshot;
}

/**
 * The snapshot frame: exactly `JSON.stringify({ type: "snapshot", serverTimeMs, ...snap })` with
 * the threads as their views (test/unit/live/hub-snapshot.test.ts), its threads' JSON reused.
 */
export function snapshotFrame(serverTimeMs: number, snap: LiveSnapshot): string {
  const total = snap.threadsTotal === undefined ? "" : `,"threadsTotal":${JSON.stringify(snap.threadsTotal)}`;
  return (
    `{"type":"snapshot","serverTimeMs":${JSON.stringify(serverTimeMs)},"targets":${JSON.stringify(snap.targets)}` +
    `,"threads":[${snap.threads.join(",")}]${total},"alerts":${JSON.stringify(snap.alerts)}}`
  );
}

export interface LiveHubOptions {
  tickMs?: number;
  maxBufferedBytes?: number;
  maxClients?: number;
  now?: () => number;
}

/** Fans changes out to live clients. */
export class LiveHub {
  private clients = new Set<LiveSocket>();
  /**
   * Latest change per thread/target since the last tick; views are built at the tick (see
   * threadChanged). null: the thread left the collector's memory (threadRemoved).
   */
  private threads = new Map<string, ThreadView | (() => ThreadView) | null>();
  private targets = new Map<string, TargetView | (() => TargetView)>();
  private alerts = new Map<string, AlertView>();
  /** Latest row per target and limit id since the last tick (issue 14). */
  private limits = new Map<string, LimitChange>();
  private usage: LiveMessage[] = [];
  private timer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout;
  private readonly tickMs: number;
  private readonly maxBuffered: number;
  private readonly now: () => number;

  constructor(
    private readonly source: LiveSource,
    private readonly opts: LiveHubOptions = {},
  ) {
    this.tickMs = opts.tickMs ?? 20;
    this.maxBuffered = opts.maxBufferedBytes ?? 4 * 1024 * 1024;
    this.now = opts.now ?? Date.now;
    this.pingTimer = setInterval(() => this.broadcast({ type: "ping", serverTimeMs: this.now() }), 25_000);
    this.pingTimer.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Register a client and send it the snapshot. Returns false when the hub is full. */
  add(socket: LiveSocket): boolean {
    if (this.clients.size >= (this.opts.maxClients ?? 1000)) {
      socket.close(1013, "too many live clients");
      return false;
    }
    this.clients.add(socket);
    this.sendRaw(socket, snapshotFrame(this.now(), this.source.snapshot()));
    return true;
  }

  remove(socket: LiveSocket): void {
    this.clients.delete(socket);
  }

  thread(view: ThreadView): void {
    this.threadChanged(view.id, view);
  }

  target(view: TargetView): void {
    this.targetChanged(view.name, view);
  }

  /**
   * A thread changed; `view` may be a function that builds its view. It is called at the next tick,
   * once however often the thread changed meanwhile, and never while no client is connected: at
   * thousands of events a second most changes are superseded before anyone could see them.
   */
  threadChanged(id: string, view: ThreadView | (() => ThreadView)): void {
    if (this.clients.size === 0) return;
    this.threads.set(id, view);
    this.schedule();
  }

  /** The collector no longer holds this thread (history now): clients drop it at the next tick. */
  threadRemoved(id: string): void {
    if (this.clients.size === 0) return;
    this.threads.set(id, null);
    this.schedule();
  }

  /** A target changed; like threadChanged (a target's view counts its threads: worth deferring). */
  targetChanged(name: string, view: TargetView | (() => TargetView)): void {
    if (this.clients.size === 0) return;
    this.targets.set(name, view);
    this.schedule();
  }

  alert(view: AlertView): void {
    this.alerts.set(view.id, view);
    this.schedule();
  }

  /** A plan limit changed: the newest row per target and limit goes out at the next tick. */
  limitsChanged(change: LimitChange): void {
    if (this.clients.size === 0) return;
    this.limits.set(change.key, change);
    this.schedule();
  }

  usageCounted(u: { threadId: string; target: string; atMs: number; totalTokens: number }): void {
    if (this.usage.length < 1000) this.usage.push({ type: "usage", ...u });
    this.schedule();
  }

  close(): void {
    clearInterval(this.pingTimer);
    if (this.timer) clearTimeout(this.timer);
    for (const c of this.clients) c.close(1001, "server shutting down");
    this.clients.clear();
  }

  private schedule(): void {
    if (this.timer || this.clients.size === 0) {
      if (this.clients.size === 0) this.drop();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.tick();
    }, this.tickMs);
  }

  private drop(): void {
    this.threads.clear();
    this.targets.clear();
    this.alerts.clear();
    this.limits.clear();
    this.usage = [];
  }

  private tick(): void {
    const messages: LiveMessage[] = [
      ...[...this.targets.values()].map((t) => ({
        type: "target" as const,
        target: typeof t === "function" ? t() : t,
      })),
      ...[...this.threads].map(
        ([threadId, t]): LiveMessage =>
          t === null
            ? { type: "threadRemoved", threadId }
            : { type: "thread", thread: typeof t === "function" ? t() : t },
      ),
      ...[...this.alerts.values()].map((alert) => ({ type: "alert" as const, alert })),
      ...[...this.limits.values()].map((c) => ({ type: "limits" as const, row: c.row() })),
      ...this.usage,
    ];
    this.drop();
    for (const m of messages) this.broadcast(m);
  }

  private broadcast(m: LiveMessage): void {
    if (this.clients.size === 0) return;
    const data = JSON.stringify(m);
    for (const c of this.clients) this.sendRaw(c, data);
  }

  private sendRaw(c: LiveSocket, data: string): void {
    if (c.bufferedAmount > this.maxBuffered) {
      this.clients.delete(c);
      c.close(1013, "live client too slow; reconnect for a fresh snapshot");
      return;
    }
    try {
      c.send(data);
    } catch {
      this.clients.delete(c);
    }
  }
}
