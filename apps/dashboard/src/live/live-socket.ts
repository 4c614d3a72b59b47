/** Reconnecting WebSocket client for /api/v1/live: backoff with jitter, connect timeout, liveness. */
import { type LiveMessage, parseLiveMessage } from "@codex-fleet/protocol/live";
import { type BackoffOptions, backoffDelayMs, DEFAULT_BACKOFF } from "./backoff.ts";

/** Connection state shown in the header and used by pages to pick loading/error views. */
export type LiveConnection = {
  state: "connecting" | "open" | "waiting" | "stopped";
  /** Failed attempts since the last stable connection. */
  attempt: number;
  /** Client time of the next reconnect attempt while `waiting`. */
  retryAtMs: number | null;
  /** Why the last connection ended, for the tooltip. */
  lastError: string | null;
  /** Frames that failed to parse (ignored, counted). */
  malformed: number;
};

/** The subset of the DOM WebSocket this client uses; tests pass a fake class. */
export type WebSocketLike = {
  readyState: number;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  close(code?: number, reason?: string): void;
};
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** All knobs with defaults (see DEFAULT_LIVE_SOCKET). */
export type LiveSocketOptions = BackoffOptions & {
  /** Give up on a handshake that has not opened after this long. */
  connectTimeoutMs: number;
  /** A connection that stayed open this long resets the attempt counter. */
  minUptimeMs: number;
  /**
   * Once the server has shown it sends `ping` frames, a silence this long means a dead peer
   * (browsers cannot send protocol pings themselves). 0 disables.
   */
  idleTimeoutMs: number;
  random: () => number;
  now: () => number;
  WebSocketImpl: WebSocketConstructor;
};

export const DEFAULT_LIVE_SOCKET: Omit<LiveSocketOptions, "WebSocketImpl"> = {
  ...DEFAULT_BACKOFF,
  connectTimeoutMs: 10_000,
  minUptimeMs: 5_000,
  idleTimeoutMs: 90_000,
  random: Math.random,
  // Read Date.now at call time (not a reference taken at load) so fake clocks apply.
  now: () => Date.now(),
};

/** `ws(s)://<this host>/api/v1/live`, following the page's scheme. */
export function defaultLiveUrl(): string {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}/api/v1/live`;
}

/** Keeps one live connection up until `stop()`; reports messages and state through callbacks. */
export class LiveSocket {
  private socket: WebSocketLike | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private uptimeTimer: ReturnType<typeof setTimeout> | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private serverPings = false;
  private connection: LiveConnection = {
    state: "stopped",
    attempt: 0,
    retryAtMs: null,
    lastError: null,
    malformed: 0,
  };

  constructor(
    private readonly url: string,
    private readonly options: LiveSocketOptions,
    private readonly onMessage: (message: LiveMessage) => void,
    private readonly onConnection: (connection: LiveConnection) => void,
  ) {}

  /** Open the first connection. */
  start(): void {
    if (this.connection.state !== "stopped") return;
    this.connect();
  }

  /** Close for good: no more retries or callbacks. */
  stop(): void {
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      detach(socket);
      // Closing a socket that is still connecting makes browsers log an error (React's dev
      // double-mount does this on every load): let it open, then close it.
      if (socket.readyState === 0) socket.onopen = () => socket.close(1000, "dashboard closed");
      else socket.close(1000, "dashboard closed");
    }
    this.connection = { ...this.connection, state: "stopped", retryAtMs: null };
  }

  /** Skip the remaining backoff wait (retry button, browser back online). */
  reconnectNow(): void {
    if (this.connection.state !== "waiting") return;
    this.clearTimers();
    this.connect();
  }

  private connect(): void {
    this.serverPings = false;
    this.update({ state: "connecting", retryAtMs: null });
    let socket: WebSocketLike;
    try {
      socket = new this.options.WebSocketImpl(this.url);
    } catch (error) {
      this.scheduleRetry(error instanceof Error ? error.message : "could not create WebSocket");
      return;
    }
    this.socket = socket;
    this.connectTimer = setTimeout(() => this.drop(socket, "connect timeout"), this.options.connectTimeoutMs);
    socket.onopen = () => {
      this.clearTimer("connectTimer");
      this.update({ state: "open", lastError: null });
      this.uptimeTimer = setTimeout(() => this.update({ attempt: 0 }), this.options.minUptimeMs);
    };
    socket.onmessage = (event) => {
      if (typeof event.data !== "string") return;
      const message = parseLiveMessage(event.data);
      if (!message) {
        this.update({ malformed: this.connection.malformed + 1 });
        return;
      }
      if (message.type === "ping") this.serverPings = true;
      this.armIdleTimer(socket);
      this.onMessage(message);
    };
    socket.onclose = (event) => {
      this.drop(socket, event.code === 1000 ? "closed by server" : `closed (code ${event.code})`);
    };
    socket.onerror = () => {
      // A close event always follows an error event; the retry is scheduled there.
    };
  }

  /** Forget `socket` (if still current) and schedule the next attempt. */
  private drop(socket: WebSocketLike, reason: string): void {
    if (this.socket !== socket) return;
    this.socket = null;
    detach(socket);
    if (socket.readyState <= 1) socket.close(4000, reason);
    this.scheduleRetry(reason);
  }

  private scheduleRetry(reason: string): void {
    this.clearTimers();
    const delay = backoffDelayMs(this.connection.attempt, this.options, this.options.random);
    this.update({
      state: "waiting",
      attempt: this.connection.attempt + 1,
      retryAtMs: this.options.now() + delay,
      lastError: reason,
    });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private armIdleTimer(socket: WebSocketLike): void {
    if (!this.serverPings || this.options.idleTimeoutMs <= 0) return;
    this.clearTimer("idleTimer");
    this.idleTimer = setTimeout(
      () => this.drop(socket, "no frames from server (dead peer)"),
      this.options.idleTimeoutMs,
    );
  }

  private update(patch: Partial<LiveConnection>): void {
    this.connection = { ...this.connection, ...patch };
    this.onConnection(this.connection);
  }

  private clearTimer(name: "retryTimer" | "connectTimer" | "uptimeTimer" | "idleTimer"): void {
    const timer = this[name];
    if (timer !== null) clearTimeout(timer);
    this[name] = null;
  }

  private clearTimers(): void {
    this.clearTimer("retryTimer");
    this.clearTimer("connectTimer");
    this.clearTimer("uptimeTimer");
    this.clearTimer("idleTimer");
  }
}

function detach(socket: WebSocketLike): void {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  socket.onerror = null;
}
