/**
 * One read-only WebSocket connection to a codex app-server: bearer auth, initialize handshake,
 * reconnect with capped jittered backoff, ping/pong liveness, sequential requests with -32001
 * retry, and the observer's safety guard (DESIGN "The observer must be harmless").
 *
 * Every frame leaves through `sendGuarded`, the only call to `ws.send` in the collector: it
 * refuses anything that is not an allowlisted request or the `initialized` notification, and it
 * can never produce a response, so a server request (an approval) is never answered.
 */
import { cut, WIRE_LIMITS } from "@codex-fleet/protocol/bounds";
import type { FleetEvent } from "@codex-fleet/protocol/events";
import { type Frame, normalizeFrame } from "@codex-fleet/protocol/normalize";
import type { TargetReason, TargetState } from "@codex-fleet/protocol/status";
import {
  ALLOWED_CLIENT_METHODS,
  ALLOWED_CLIENT_NOTIFICATIONS,
  OPT_OUT_NOTIFICATION_METHODS,
} from "@codex-fleet/protocol/wire";
import WebSocket from "ws";
import { backoffDelayMs } from "../lib/backoff.ts";
import { destinationProblem, guardedLookup, type Resolver } from "../net/destination.ts";
import type { GateTicket, HandshakeGate } from "./handshake-gate.ts";

export interface ConnectionStatus {
  state: TargetState;
  reason: TargetReason | null;
  error: string | null;
  sinceMs: number;
  attempt: number;
  nextAttemptAtMs: number | null;
  userAgent: string | null;
}

export interface ConnectionOptions {
  url: string;
  /** Bearer token, revealed only into the Authorization header. */
  token: { reveal(): string } | null;
  ca?: string | Buffer | undefined;
  connectTimeoutMs: number;
  pingIntervalMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  stableAfterMs: number;
  maxPayloadBytes: number;
  requestTimeoutMs: number;
  /** Invalid frames tolerated per minute before the peer is dropped as hostile. */
  maxInvalidPerMinute?: number;
  /**
   * Bytes a target may send per minute (default 256 MiB) before it is disconnected as a flood:
   * parsing is synchronous, and one server streaming large valid frames would otherwise take the
   * event loop from every other target.
   */
  maxBytesPerMinute?: number;
  /** Requests that may wait for their turn; past this, request() rejects at once. */
  maxQueuedRequests?: number;
  clientVersion: string;
  /** `network.allowLinkLocal`: link-local and cloud metadata destinations (default: refused). */
  allowLinkLocal?: boolean;
  /** Resolves the target's host name (default: the system resolver); every address is checked. */
  resolver?: Resolver;
  /** Shared by a fleet's connections: each opening handshake waits for a slot (handshake-gate.ts). */
  handshakeGate?: HandshakeGate;
  random?: () => number;
  now?: () => number;
}

export interface ConnectionHandlers {
  /** After initialize + initialized: the connection is usable. */
  onOpen(): void;
  onEvent(event: FleetEvent): void;
  onStatus(status: ConnectionStatus): void;
  /** A frame that could not be understood (counted per target, never thrown). */
  onInvalid?(reason: string, method: string | null): void;
  /** Every frame sent, after the guard (tests and metrics). */
  onSent?(frame: Record<string, unknown>): void;
  onFrame?(frame: Frame, bytes: number): void;
}

/** Error raised before anything reaches the socket when a method is not on the allowlist. */
export class DisallowedMethodError extends Error {
  readonly code = "DISALLOWED_METHOD";
  constructor(method: string) {
    super(`refused to send '${method}': not on the observer's allowlist`);
  }
}

/** A JSON-RPC error answered by the server. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    /** The server's own message (cut to the error-message bound). */
    readonly serverMessage: string,
    readonly method: string,
  ) {
    super(`${method}: ${serverMessage} (${code})`);
  }
}

export class ConnectionClosedError extends Error {
  readonly code = "CONNECTION_CLOSED";
}

/** JSON-RPC "Server overloaded; retry later." (facts §7). */
const OVERLOADED = -32001;
const MAX_OVERLOAD_RETRIES = 6;

interface QueuedRequest {
  method: string;
  params: unknown;
  retries: number;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export const OBSERVER_CLIENT_NAME = "codex_fleet_observer";

/** A self-healing connection to one target. Call start() once and stop() to end it. */
export class TargetConnection {
  private ws: WebSocket | null = null;
  private status: ConnectionStatus;
  private attempt = 0;
  private stopped = true;
  private retryTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private stableTimer: NodeJS.Timeout | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private awaitingPong = false;
  private nextId = 1;
  private queue: QueuedRequest[] = [];
  /** Requests answered -32001, waiting for their retry. */
  private retrying: Map<QueuedRequest, NodeJS.Timeout> | null = null;
  private inFlight: {
    id: number;
    req: QueuedRequest;
    timer: NodeJS.Timeout;
  } | null = null;
  private ready = false;
  /** The slot (or the place in line) of the current opening handshake at the handshake gate. */
  private gateTicket: GateTicket | null = null;
  private invalidWindowStart = 0;
  private bytesWindowStart = 0;
  private bytesInWindow = 0;
  private invalidInWindow = 0;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    private readonly opts: ConnectionOptions,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.status = {
      state: "stopped",
      reason: null,
      error: null,
      sinceMs: this.now(),
      attempt: 0,
      nextAttemptAtMs: null,
      userAgent: null,
    };
  }

  get current(): ConnectionStatus {
    return this.status;
  }

  get isReady(): boolean {
    return this.ready;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Close the socket and stop reconnecting; pending requests reject. */
  stop(): void {
    this.stopped = true;
    this.leaveGate();
    this.clearTimers();
    this.failPending(new ConnectionClosedError("connection stopped"));
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    if (ws) {
      ws.removeAllListeners();
      ws.on("error", () => {});
      if (ws.readyState === WebSocket.OPEN) {
        // A close frame (1001 going away) tells the app-server this was a goodbye, not a crash
        // (1006); a peer that never answers it is cut off after a second.
        ws.close(1001, "observer stopping");
        setTimeout(() => ws.terminate(), 1000).unref();
      } else ws.terminate();
    }
    this.setStatus({ state: "stopped", reason: null, error: null, nextAttemptAtMs: null });
  }

  /**
   * Send an allowlisted request and resolve with its result. Requests go one at a time per
   * connection (facts §7: the limit is on requests in flight); -32001 is retried with backoff.
   */
  request(method: string, params: unknown): Promise<unknown> {
    if (!ALLOWED_CLIENT_METHODS.has(method)) return Promise.reject(new DisallowedMethodError(method));
    if (!this.ready) return Promise.reject(new ConnectionClosedError("not connected"));
    if (this.queue.length >= (this.opts.maxQueuedRequests ?? 1000)) {
      return Promise.reject(new Error(`request queue full (${this.queue.length}) for ${method}`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ method, params, retries: 0, resolve, reject });
      this.pump();
    });
  }

  private connect(): void {
    if (this.stopped) return;
    this.setStatus({
      state: "connecting",
      reason: this.status.reason,
      error: this.status.error,
      nextAttemptAtMs: null,
    });
    const gate = this.opts.handshakeGate;
    if (gate) this.gateTicket = gate.enter((ticket) => this.dial(ticket));
    else this.dial(null);
  }

  private dial(ticket: GateTicket | null): void {
    this.gateTicket = ticket;
    // SSRF (net/destination.ts): the URL's text here, every resolved address in `lookup`, which
    // also hands the socket the addresses it checked.
    const policy = { allowLinkLocal: this.opts.allowLinkLocal ?? false };
    const problem = destinationProblem(this.opts.url, policy);
    if (problem !== null) {
      this.scheduleRetry("config", problem);
      return;
    }
    const headers: Record<string, string> = {};
    if (this.opts.token) headers.Authorization = `Bearer ${this.opts.token.reveal()}`;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.opts.url, {
        headers,
        maxPayload: this.opts.maxPayloadBytes,
        handshakeTimeout: this.opts.connectTimeoutMs,
        perMessageDeflate: false,
        followRedirects: false,
        lookup: guardedLookup(policy, this.opts.resolver),
        ...(this.opts.ca ? { ca: this.opts.ca } : {}),
      });
    } catch (err) {
      this.scheduleRetry("config", errorText(err));
      return;
    }
    this.ws = ws;
    let failure: { reason: TargetReason; error: string } | null = null;
    // The handshake timeout covers the HTTP upgrade; this one also covers initialize.
    this.connectTimer = setTimeout(() => {
      failure = { reason: "timeout", error: `no answer within ${this.opts.connectTimeoutMs} ms` };
      ws.terminate();
    }, this.opts.connectTimeoutMs);

    ws.on("unexpected-response", (_req, res) => {
      // Status only, never the body: a target URL can point at any HTTP service, and its answer
      // must not become readable to viewers through lastError (SSRF).
      const code = res.statusCode ?? 0;
      failure = httpFailure(code);
      res.destroy();
      ws.terminate();
    });
    ws.on("error", (err: NodeJS.ErrnoException) => {
      if (failure) return;
      failure = classifySocketError(err);
    });
    let upgraded = false;
    ws.on("open", () => {
      upgraded = true;
      this.onSocketOpen(ws);
    });
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        this.invalid("binary frame", null);
        return;
      }
      if (this.flooded(ws, byteLength(data))) return;
      const text = data.toString();
      this.onMessage(text);
    });
    ws.on("pong", () => {
      this.awaitingPong = false;
    });
    ws.on("close", (code, reasonBuf) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const wasReady = this.ready;
      this.ready = false;
      this.clearTimers();
      this.failPending(new ConnectionClosedError("connection closed"));
      if (this.stopped) return;
      if (!failure) {
        const why = reasonBuf.toString().slice(0, 200);
        failure =
          code === 1009
            ? { reason: "protocol", error: `frame larger than ${this.opts.maxPayloadBytes} bytes` }
            : {
                // Refused only when the upgrade never happened; a close after it is a drop.
                reason: wasReady || upgraded ? "dropped" : "refused",
                error: wasReady || upgraded ? `socket closed (${code}${why ? ` ${why}` : ""})` : NO_WEBSOCKET,
              };
      }
      this.scheduleRetry(failure.reason, failure.error);
    });
  }

  private onSocketOpen(ws: WebSocket): void {
    const id = this.nextId++;
    this.sendGuarded(ws, {
      id,
      method: "initialize",
      params: {
        clientInfo: {
          name: OBSERVER_CLIENT_NAME,
          title: "codex-fleet observer (read-only)",
          version: this.opts.clientVersion,
        },
        capabilities: {
          experimentalApi: true,
          // Never opt into attestation/generate or human-approval requests: the observer answers nothing.
          requestAttestation: false,
          optOutNotificationMethods: OPT_OUT_NOTIFICATION_METHODS,
        },
      },
    });
    this.handshakeId = id;
  }

  private handshakeId: number | null = null;

  private onMessage(text: string): void {
    const frame = normalizeFrame(text, this.now());
    this.handlers.onFrame?.(frame, text.length);
    switch (frame.type) {
      case "invalid":
        this.invalid(frame.reason, frame.method);
        return;
      case "event":
        this.handlers.onEvent(frame.event);
        return;
      case "response":
        this.onResponse(frame);
        return;
    }
  }

  private onResponse(frame: Extract<Frame, { type: "response" }>): void {
    const ws = this.ws;
    if (frame.id === this.handshakeId && ws) {
      this.handshakeId = null;
      if (frame.error) {
        this.scheduleRetryAfterClose("protocol", `initialize failed: ${frame.error.message}`);
        return;
      }
      const result = frame.result as { userAgent?: unknown } | null;
      const userAgent =
        typeof result?.userAgent === "string" ? cut(result.userAgent, WIRE_LIMITS.version) : null;
      this.sendGuarded(ws, { method: "initialized" });
      if (this.connectTimer) clearTimeout(this.connectTimer);
      this.connectTimer = null;
      this.ready = true;
      this.leaveGate();
      this.setStatus({ state: "open", reason: null, error: null, nextAttemptAtMs: null, userAgent });
      this.startPing(ws);
      this.stableTimer = setTimeout(() => {
        this.attempt = 0;
      }, this.opts.stableAfterMs);
      this.handlers.onOpen();
      this.pump();
      return;
    }
    const inflight = this.inFlight;
    if (!inflight || inflight.id !== frame.id) {
      this.invalid(`response to unknown request id ${String(frame.id).slice(0, 40)}`, null);
      return;
    }
    clearTimeout(inflight.timer);
    this.inFlight = null;
    if (frame.error) {
      if (frame.error.code === OVERLOADED && inflight.req.retries < MAX_OVERLOAD_RETRIES) {
        const req = inflight.req;
        req.retries++;
        const delay = backoffDelayMs(req.retries, { minBackoffMs: 100, maxBackoffMs: 5000 }, this.random);
        // Tracked so that a close rejects it (failPending) instead of leaving it to fire later
        // and resend on the next connection.
        const timer = setTimeout(() => {
          this.retrying?.delete(req);
          this.queue.unshift(req);
          this.pump();
        }, delay);
        timer.unref();
        this.retrying ??= new Map();
        this.retrying.set(req, timer);
        return;
      }
      inflight.req.reject(new RpcError(frame.error.code, frame.error.message, inflight.req.method));
    } else {
      inflight.req.resolve(frame.result);
    }
    this.pump();
  }

  private pump(): void {
    const ws = this.ws;
    if (!ws || !this.ready || this.inFlight) return;
    const req = this.queue.shift();
    if (!req) return;
    const id = this.nextId++;
    const timer = setTimeout(() => {
      if (this.inFlight?.id !== id) return;
      this.inFlight = null;
      req.reject(new Error(`${req.method}: no answer within ${this.opts.requestTimeoutMs} ms`));
      this.pump();
    }, this.opts.requestTimeoutMs);
    this.inFlight = { id, req, timer };
    try {
      this.sendGuarded(ws, { id, method: req.method, params: req.params });
    } catch (err) {
      clearTimeout(timer);
      this.inFlight = null;
      req.reject(err instanceof Error ? err : new Error(String(err)));
      this.pump();
    }
  }

  /** The one place a frame is written. Only allowlisted requests and `initialized` pass. */
  private sendGuarded(ws: WebSocket, frame: Record<string, unknown>): void {
    const method = frame.method;
    if (typeof method !== "string") throw new DisallowedMethodError("(no method: responses are never sent)");
    if ("result" in frame || "error" in frame) throw new DisallowedMethodError(`${method} (response)`);
    const isRequest = frame.id !== undefined;
    const allowed = isRequest ? ALLOWED_CLIENT_METHODS.has(method) : ALLOWED_CLIENT_NOTIFICATIONS.has(method);
    if (!allowed) throw new DisallowedMethodError(method);
    if (method === "thread/resume") {
      // DESIGN rule 2: resume always excludes turns (no history replay on the wire).
      const p = frame.params as Record<string, unknown> | undefined;
      if (p?.excludeTurns !== true)
        throw new DisallowedMethodError("thread/resume without excludeTurns: true");
    }
    if (method === "account/rateLimits/read" && !isPlainRateLimitRead(frame.params)) {
      // Issue 14: the read takes flags that act on the account (`supportsLunaReserve` lets the
      // backend record an experiment exposure); the observer sends exactly this one, which only
      // skips the reset-credit lookup.
      throw new DisallowedMethodError(
        "account/rateLimits/read with params other than {excludeResetCreditDetails: true}",
      );
    }
    ws.send(JSON.stringify(frame));
    this.handlers.onSent?.(frame);
  }

  private startPing(ws: WebSocket): void {
    this.awaitingPong = false;
    this.pingTimer = setInterval(() => {
      if (this.awaitingPong) {
        // No pong since the last ping: the peer is gone without a close frame.
        this.scheduleRetryAfterClose("timeout", `no pong within ${this.opts.pingIntervalMs} ms`);
        ws.terminate();
        return;
      }
      this.awaitingPong = true;
      try {
        ws.ping();
      } catch {
        ws.terminate();
      }
    }, this.opts.pingIntervalMs);
  }

  /** Close the socket ourselves (liveness, hostile peer, failed handshake) and back off. */
  private scheduleRetryAfterClose(reason: TargetReason, error: string): void {
    const ws = this.ws;
    if (ws) {
      this.ws = null;
      this.ready = false;
      this.clearTimers();
      this.failPending(new ConnectionClosedError(error));
      ws.removeAllListeners();
      ws.on("error", () => {});
      ws.terminate();
      this.scheduleRetry(reason, error);
    }
  }

  /** Count a frame's bytes; past the minute's budget, close (and back off) before parsing it. */
  private flooded(ws: WebSocket, bytes: number): boolean {
    if (this.ws !== ws) return true; // closed meanwhile: frames still buffered are not read
    const t = this.now();
    if (t - this.bytesWindowStart > 60_000) {
      this.bytesWindowStart = t;
      this.bytesInWindow = 0;
    }
    this.bytesInWindow += bytes;
    const max = this.opts.maxBytesPerMinute ?? DEFAULT_MAX_BYTES_PER_MINUTE;
    if (this.bytesInWindow <= max) return false;
    this.scheduleRetryAfterClose("protocol", `sent more than ${max} bytes within a minute (flood)`);
    return true;
  }

  private invalid(reason: string, method: string | null): void {
    this.handlers.onInvalid?.(reason, method);
    const t = this.now();
    if (t - this.invalidWindowStart > 60_000) {
      this.invalidWindowStart = t;
      this.invalidInWindow = 0;
    }
    this.invalidInWindow++;
    if (this.invalidInWindow > (this.opts.maxInvalidPerMinute ?? 1000)) {
      this.scheduleRetryAfterClose("protocol", `too many invalid frames (last: ${reason})`);
    }
  }

  private scheduleRetry(reason: TargetReason, error: string): void {
    this.leaveGate();
    if (this.stopped) return;
    if (this.retryTimer) return;
    const delay = backoffDelayMs(this.attempt, this.opts, this.random);
    this.attempt++;
    this.setStatus({ state: "backoff", reason, error, nextAttemptAtMs: this.now() + delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  /** The opening handshake ended (open, failed or stopped): give its slot to the next target. */
  private leaveGate(): void {
    this.gateTicket?.release();
    this.gateTicket = null;
  }

  private setStatus(patch: Partial<ConnectionStatus>): void {
    const next: ConnectionStatus = { ...this.status, ...patch, attempt: this.attempt };
    if (next.state !== this.status.state || next.reason !== this.status.reason) next.sinceMs = this.now();
    this.status = next;
    this.handlers.onStatus(next);
  }

  private failPending(err: Error): void {
    if (this.inFlight) {
      clearTimeout(this.inFlight.timer);
      this.inFlight.req.reject(err);
      this.inFlight = null;
    }
    const q = [...(this.retrying?.keys() ?? []), ...this.queue];
    for (const timer of this.retrying?.values() ?? []) clearTimeout(timer);
    this.retrying = null;
    this.queue = [];
    for (const r of q) r.reject(err);
  }

  private clearTimers(): void {
    for (const t of [this.pingTimer, this.stableTimer, this.connectTimer]) if (t) clearTimeout(t);
    this.pingTimer = this.stableTimer = this.connectTimer = null;
    if (this.stopped && this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
  }
}

/** The only params `account/rateLimits/read` may carry: exactly `{excludeResetCreditDetails: true}`. */
export const RATE_LIMIT_READ_PARAMS = Object.freeze({ excludeResetCreditDetails: true });

function isPlainRateLimitRead(params: unknown): boolean {
  if (typeof params !== "object" || params === null || Array.isArray(params)) return false;
  const keys = Object.keys(params);
  return (
    keys.length === 1 &&
    keys[0] === "excludeResetCreditDetails" &&
    (params as Record<string, unknown>).excludeResetCreditDetails === true
  );
}

export const DEFAULT_MAX_BYTES_PER_MINUTE = 256 * 1024 * 1024;

/** The size of a received message (ws hands a Buffer, or fragments as an array of them). */
function byteLength(data: WebSocket.RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

/** What an HTTP answer without a WebSocket upgrade means (its body is never read). */
export function httpFailure(status: number): { reason: TargetReason; error: string } {
  if (status === 401)
    return { reason: "unauthorized", error: "HTTP 401 (bearer token missing or not accepted)" };
  if (status === 403) return { reason: "forbidden", error: "HTTP 403 (forbidden)" };
  return { reason: "protocol", error: `HTTP ${status} (not a codex app-server WebSocket)` };
}

/**
 * One text for a closed port and for a port whose service is not HTTP (it resets, hangs up or
 * answers garbage): lastError, which viewers read, must not make the collector a port scanner.
 */
const NO_WEBSOCKET = "connection refused or closed before a WebSocket upgrade";

function classifySocketError(err: NodeJS.ErrnoException): { reason: TargetReason; error: string } {
  const code = err.code ?? "";
  if (code === "EDESTINATION") return { reason: "config", error: err.message };
  if (
    code === "ECONNREFUSED" ||
    code === "ECONNRESET" ||
    code === "EPIPE" ||
    code.startsWith("HPE_") ||
    /socket hang up/i.test(err.message)
  )
    return { reason: "refused", error: NO_WEBSOCKET };
  if (code === "ENOTFOUND" || code === "EHOSTUNREACH" || code === "ENETUNREACH" || code === "EAI_AGAIN")
    return { reason: "unreachable", error: err.message };
  if (code === "ETIMEDOUT" || /timed out|timeout/i.test(err.message))
    return { reason: "timeout", error: err.message };
  if (code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" || /max payload/i.test(err.message))
    return { reason: "protocol", error: `frame too large: ${err.message}` };
  if (code.startsWith("WS_ERR")) return { reason: "protocol", error: err.message };
  if (code.startsWith("ERR_TLS") || code.includes("CERT") || code === "DEPTH_ZERO_SELF_SIGNED_CERT")
    return { reason: "protocol", error: `TLS: ${err.message}` };
  return { reason: "dropped", error: err.message || code || "socket error" };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
