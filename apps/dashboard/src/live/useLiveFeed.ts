/** Hook owning the live feed: one socket, reducer state, REST fallback while the feed is down. */
import {
  AlertListSchema,
  type AlertView,
  TargetListSchema,
  ThreadListSchema,
} from "@codex-fleet/protocol/api";
import { type LimitsResponse, LimitsResponseSchema } from "@codex-fleet/protocol/limits";
import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { ApiRequestError, apiFetch } from "../lib/api-client.ts";
import {
  DEFAULT_LIVE_SOCKET,
  defaultLiveUrl,
  type LiveConnection,
  LiveSocket,
  type LiveSocketOptions,
  type WebSocketConstructor,
} from "./live-socket.ts";
import { emptyLiveData, type LiveAction, type LiveData, liveReducer } from "./live-store.ts";
import { setServerClockOffset } from "./useNow.ts";

/** What the live context hands to pages. */
export type LiveFeed = {
  data: LiveData;
  connection: LiveConnection;
  /** Error of the REST fallback, when neither the feed nor the fallback produced data. */
  fallbackError: unknown;
  /** Whether GET /api/v1/alerts answered (false after a 404: alerts not enabled). */
  alertsEnabled: boolean | null;
  /** Error of the last GET /api/v1/limits (undefined once it answered). */
  limitsError: unknown;
  /** Reconnect now and reload the fallback (retry buttons). */
  retry: () => void;
  /** GET /api/v1/limits again (the Plan limits page's retry). */
  reloadLimits: () => void;
};

export type LiveFeedOptions = Partial<LiveSocketOptions> & {
  url?: string;
  WebSocketImpl?: WebSocketConstructor;
};

const initialConnection: LiveConnection = {
  state: "connecting",
  attempt: 0,
  retryAtMs: null,
  lastError: null,
  malformed: 0,
};

/**
 * Connects to /api/v1/live for the lifetime of the caller. The first message is a snapshot; later
 * upserts merge into it. If a connection attempt fails before any snapshot arrived, the targets,
 * threads and alerts are loaded once over REST so the fleet is still visible while the socket
 * retries with backoff (no polling: the fallback runs once per outage, or on retry()).
 */
export function useLiveFeed(options: LiveFeedOptions = {}): LiveFeed {
  const [data, dispatch] = useReducer(
    (state: LiveData, action: LiveAction) => liveReducer(state, action),
    undefined,
    emptyLiveData,
  );
  const [connection, setConnection] = useState<LiveConnection>(initialConnection);
  const [fallbackError, setFallbackError] = useState<unknown>(undefined);
  const [alertsEnabled, setAlertsEnabled] = useState<boolean | null>(null);
  const [limitsError, setLimitsError] = useState<unknown>(undefined);
  const [limitsGeneration, setLimitsGeneration] = useState(0);
  const socketRef = useRef<LiveSocket | null>(null);
  const fallbackState = useRef<"idle" | "loading" | "done">("idle");
  const optionsRef = useRef(options);

  const loadFallback = useCallback(async () => {
    if (fallbackState.current === "loading") return;
    fallbackState.current = "loading";
    try {
      const [targets, threads, alerts] = await Promise.all([
        apiFetch("/api/v1/targets", TargetListSchema),
        apiFetch("/api/v1/threads", ThreadListSchema),
        // Alerts are optional: a failure here must not hide the fleet.
        loadAlerts().catch(() => undefined),
      ]);
      if (alerts !== undefined) setAlertsEnabled(alerts !== null);
      dispatch({ type: "rest", targets, threads, alerts: alerts ?? [], nowMs: Date.now() });
      setFallbackError(undefined);
      fallbackState.current = "done";
    } catch (error) {
      setFallbackError(error);
      fallbackState.current = "idle";
    }
  }, []);

  useEffect(() => {
    const { url, WebSocketImpl, ...rest } = optionsRef.current;
    const Impl = WebSocketImpl ?? (globalThis.WebSocket as unknown as WebSocketConstructor | undefined);
    if (!Impl) {
      setConnection({ ...initialConnection, state: "stopped", lastError: "WebSocket not available" });
      void loadFallback();
      return;
    }
    const socket = new LiveSocket(
      url ?? defaultLiveUrl(),
      { ...DEFAULT_LIVE_SOCKET, ...rest, WebSocketImpl: Impl },
      (message) => {
        if (message.type === "snapshot") {
          setFallbackError(undefined);
          fallbackState.current = "idle";
        }
        if (message.type === "snapshot" || message.type === "ping") {
          setServerClockOffset(message.serverTimeMs - Date.now());
        }
        dispatch({ type: "message", message, nowMs: Date.now() });
      },
      setConnection,
    );
    socketRef.current = socket;
    socket.start();
    const online = () => socket.reconnectNow();
    window.addEventListener("online", online);
    return () => {
      window.removeEventListener("online", online);
      socket.stop();
      socketRef.current = null;
    };
  }, [loadFallback]);

  // While the feed is down, or sends frames that do not parse, and never delivered a snapshot,
  // show the REST view (once per outage); if that does not parse either, its error is shown.
  const needsFallback =
    (connection.state === "waiting" || connection.malformed > 0) && data.source !== "snapshot";
  useEffect(() => {
    if (needsFallback && fallbackState.current === "idle" && fallbackError === undefined) void loadFallback();
  }, [needsFallback, fallbackError, loadFallback]);

  // Whether alerts exist is learnt from the snapshot's alerts or from one GET (404 = disabled).
  useEffect(() => {
    if (alertsEnabled !== null || data.source !== "snapshot") return;
    if (data.alerts.size > 0) {
      setAlertsEnabled(true);
      return;
    }
    let cancelled = false;
    loadAlerts().then(
      (alerts) => !cancelled && setAlertsEnabled(alerts !== null),
      () => !cancelled && setAlertsEnabled(null),
    );
    return () => {
      cancelled = true;
    };
  }, [alertsEnabled, data.source, data.alerts.size]);

  // Plan limits are not in the snapshot: read them over REST after every snapshot (each
  // (re)connect) and after the REST fallback, then live `limits` messages keep them current.
  // biome-ignore lint/correctness/useExhaustiveDependencies: loadedAtMs and the generation are the triggers.
  useEffect(() => {
    if (data.loadedAtMs === null) return;
    const controller = new AbortController();
    loadLimits(controller.signal).then(
      (response) => {
        if (controller.signal.aborted) return;
        setLimitsError(undefined);
        dispatch({ type: "limits", response });
      },
      (error: unknown) => !controller.signal.aborted && setLimitsError(error),
    );
    return () => controller.abort();
  }, [data.loadedAtMs, limitsGeneration]);
  const reloadLimits = useCallback(() => setLimitsGeneration((value) => value + 1), []);

  const retry = useCallback(() => {
    socketRef.current?.reconnectNow();
    setFallbackError(undefined);
    fallbackState.current = "idle";
    void loadFallback();
  }, [loadFallback]);

  return { data, connection, fallbackError, alertsEnabled, limitsError, retry, reloadLimits };
}

/** GET /api/v1/limits, or null when the collector has no such endpoint (404: an older version). */
async function loadLimits(signal: AbortSignal): Promise<LimitsResponse | null> {
  try {
    return await apiFetch("/api/v1/limits", LimitsResponseSchema, { signal });
  } catch (error) {
    if (error instanceof ApiRequestError && error.isNotFound) return null;
    throw error;
  }
}

/** GET /api/v1/alerts, or null when the collector has no alerts endpoint (404). */
async function loadAlerts(): Promise<AlertView[] | null> {
  try {
    return await apiFetch("/api/v1/alerts", AlertListSchema);
  } catch (error) {
    if (error instanceof ApiRequestError && error.isNotFound) return null;
    throw error;
  }
}
