/**
 * One real WebSocket client of a simulated app-server (usually the collector): its handshake
 * state, its opt-outs, the threads it subscribed to, and a send that honours
 * `optOutNotificationMethods` (facts: "opt-out works").
 */
import type { SimThread, Subscriber } from "./state.ts";

/** The minimal socket a connection writes to (a `ws` WebSocket in production, a fake in tests). */
export interface FrameSink {
  send(text: string): void;
  close(): void;
}

/** A client connection and what the server remembers about it. */
export class SimConnection implements Subscriber {
  /** `initialize` answered: the connection receives broadcasts from now on. */
  initialized = false;
  clientName = "";
  clientVersion = "";
  private optOut: ReadonlySet<string> | null = null;
  /** Threads this connection resumed and has not unsubscribed. */
  readonly subscriptions = new Set<SimThread>();
  /** Requests answered later (responseDelayMs) that still count as in flight. */
  inFlight = 0;
  framesSent = 0;

  constructor(
    readonly id: number,
    private readonly sink: FrameSink,
  ) {}

  /** Remember the client's identity and opt-outs from `initialize` params. */
  configure(params: unknown): void {
    const p = (params ?? {}) as {
      clientInfo?: { name?: unknown; version?: unknown };
      capabilities?: { optOutNotificationMethods?: unknown } | null;
    };
    this.clientName = typeof p.clientInfo?.name === "string" ? p.clientInfo.name : "unknown";
    this.clientVersion = typeof p.clientInfo?.version === "string" ? p.clientInfo.version : "0";
    const list = p.capabilities?.optOutNotificationMethods;
    this.optOut = Array.isArray(list)
      ? new Set(list.filter((m): m is string => typeof m === "string"))
      : null;
  }

  /** Would a notification of `method` reach this client? */
  wants(method: string): boolean {
    return this.optOut === null || !this.optOut.has(method);
  }

  send(text: string, method: string | null): void {
    if (method !== null && !this.wants(method)) return;
    this.framesSent++;
    this.sink.send(text);
  }

  close(): void {
    this.sink.close();
  }
}
