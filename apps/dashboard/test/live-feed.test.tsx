import { act, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type LiveFeedOptions, useLiveFeed } from "../src/live/useLiveFeed.ts";
import { FakeWebSocket } from "./fake-websocket.ts";
import { ALERTS, NOW, snapshotMessage, TARGETS, THREAD_IDS, THREADS, thread } from "./fixtures.ts";
import { apiError, PENDING, stubFetch } from "./stub-fetch.ts";

const OPTIONS: LiveFeedOptions = {
  WebSocketImpl: FakeWebSocket,
  url: "ws://dashboard.test/api/v1/live",
  random: () => 0,
  minDelayMs: 1000,
  maxDelayMs: 8000,
  growth: 2,
  jitter: 0.5,
  connectTimeoutMs: 5000,
  minUptimeMs: 3000,
};

function mount(options: LiveFeedOptions = OPTIONS) {
  return renderHook(() => useLiveFeed(options));
}

async function flush() {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(0);
  });
}

describe("useLiveFeed", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: NOW });
    // The REST fallback must not answer unless a test says so.
    stubFetch({
      "GET /api/v1/targets": PENDING,
      "GET /api/v1/threads": PENDING,
      "GET /api/v1/alerts": PENDING,
    });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("does apply the snapshot, then upserts of targets, threads and alerts, when they arrive in order", () => {
    const { result } = mount();
    expect(result.current.connection.state).toBe("connecting");
    expect(result.current.data.source).toBe("none");
    const socket = FakeWebSocket.latest();
    expect(socket.url).toBe("ws://dashboard.test/api/v1/live");

    act(() => {
      socket.open();
      socket.receive(snapshotMessage());
    });
    expect(result.current.connection.state).toBe("open");
    expect(result.current.data.source).toBe("snapshot");
    expect(result.current.data.targets.size).toBe(TARGETS.length);
    expect(result.current.data.threads.size).toBe(THREADS.length);
    expect(result.current.data.alerts.size).toBe(2);

    const resumed = thread({
      id: THREAD_IDS.approval,
      status: "active",
      activeFlags: [],
      statusSince: new Date(NOW).toISOString(),
    });
    const brandNew = thread({ id: "019a8f3e-ffff-7000-8000-000000000099", status: "active" });
    act(() => {
      socket.receive({ type: "thread", thread: resumed });
      socket.receive({ type: "thread", thread: brandNew });
      socket.receive({ type: "target", target: { ...TARGETS[2], state: "open", reason: null } });
      socket.receive({
        type: "alert",
        alert: { ...ALERTS[0], state: "resolved", resolvedAt: new Date(NOW).toISOString() },
      });
    });
    const { data } = result.current;
    expect(data.threads.size).toBe(THREADS.length + 1);
    expect(data.threads.get(THREAD_IDS.approval)?.activeFlags).toEqual([]);
    expect(data.threads.get(brandNew.id)?.status).toBe("active");
    expect(data.targets.get("carol")?.state).toBe("open");
    expect(data.alerts.get("al-1")?.state).toBe("resolved");
  });

  it("does replace everything when a later snapshot arrives (after a reconnect)", () => {
    const { result } = mount();
    act(() => {
      FakeWebSocket.latest().open();
      FakeWebSocket.latest().receive(snapshotMessage());
      FakeWebSocket.latest().drop();
    });
    act(() => {
      vi.advanceTimersByTime(1000);
    });
    act(() => {
      FakeWebSocket.latest().open();
      FakeWebSocket.latest().receive(
        snapshotMessage({ targets: TARGETS.slice(0, 1), threads: THREADS.slice(1, 2), alerts: [] }),
      );
    });
    expect([...result.current.data.targets.keys()]).toEqual(["alice"]);
    expect([...result.current.data.threads.keys()]).toEqual([THREAD_IDS.working]);
    expect(result.current.data.alerts.size).toBe(0);
  });

  it("does ignore and count malformed frames when the server sends garbage", () => {
    const { result } = mount();
    act(() => {
      const socket = FakeWebSocket.latest();
      socket.open();
      socket.receive(snapshotMessage());
      socket.receive("{not json");
      socket.receive({ type: "thread", thread: { id: 42 } });
      socket.receive({ type: "nope" });
    });
    expect(result.current.connection.malformed).toBe(3);
    expect(result.current.data.threads.size).toBe(THREADS.length);
  });

  it("does count usage ticks and keep only the newest 200 when a burst arrives", () => {
    const { result } = mount();
    act(() => {
      const socket = FakeWebSocket.latest();
      socket.open();
      socket.receive(snapshotMessage());
      for (let index = 0; index < 250; index++) {
        socket.receive({
          type: "usage",
          threadId: THREAD_IDS.working,
          target: "alice",
          atMs: NOW + index,
          totalTokens: 1000 + index,
        });
      }
    });
    expect(result.current.data.usageVersion).toBe(250);
    expect(result.current.data.usageTicks).toHaveLength(200);
    expect(result.current.data.usageTicks[0]?.atMs).toBe(NOW + 50);
  });

  it("does reconnect with exponential backoff when connections keep failing", () => {
    const { result } = mount();
    const expectedDelays = [1000, 2000, 4000, 8000, 8000];
    for (const [attempt, delay] of expectedDelays.entries()) {
      act(() => FakeWebSocket.latest().drop());
      expect(result.current.connection.state).toBe("waiting");
      expect(result.current.connection.attempt).toBe(attempt + 1);
      expect(result.current.connection.retryAtMs).toBe(Date.now() + delay);
      const sockets = FakeWebSocket.instances.length;
      act(() => {
        vi.advanceTimersByTime(delay - 1);
      });
      expect(FakeWebSocket.instances).toHaveLength(sockets);
      act(() => {
        vi.advanceTimersByTime(1);
      });
      expect(FakeWebSocket.instances).toHaveLength(sockets + 1);
      expect(result.current.connection.state).toBe("connecting");
    }
  });

  it("does reset the backoff when a connection stayed up for minUptimeMs", () => {
    const { result } = mount();
    act(() => FakeWebSocket.latest().drop());
    act(() => {
      vi.advanceTimersByTime(1000);
    });
    act(() => FakeWebSocket.latest().drop());
    expect(result.current.connection.retryAtMs).toBe(Date.now() + 2000);
    act(() => {
      vi.advanceTimersByTime(2000);
    });
    act(() => FakeWebSocket.latest().open());
    act(() => {
      vi.advanceTimersByTime(3000);
    });
    act(() => FakeWebSocket.latest().drop());
    expect(result.current.connection.retryAtMs).toBe(Date.now() + 1000);
  });

  it("does not reset the backoff when a connection drops right after opening", () => {
    const { result } = mount();
    act(() => FakeWebSocket.latest().drop());
    act(() => {
      vi.advanceTimersByTime(1000);
    });
    act(() => FakeWebSocket.latest().open());
    act(() => {
      vi.advanceTimersByTime(500);
    });
    act(() => FakeWebSocket.latest().drop());
    expect(result.current.connection.retryAtMs).toBe(Date.now() + 2000);
  });

  it.each([
    { random: 0, expected: 1000 },
    { random: 0.5, expected: 750 },
    { random: 1, expected: 500 },
  ])(
    "does take a random share off each delay ($expected ms) when random() = $random",
    ({ random, expected }) => {
      const { result } = mount({ ...OPTIONS, random: () => random });
      act(() => FakeWebSocket.latest().drop());
      expect(result.current.connection.retryAtMs).toBe(Date.now() + expected);
    },
  );

  it("does abandon a handshake that never opens after connectTimeoutMs", () => {
    const { result } = mount();
    const first = FakeWebSocket.latest();
    act(() => {
      vi.advanceTimersByTime(5000);
    });
    expect(first.closedByClient).not.toBeNull();
    expect(result.current.connection.state).toBe("waiting");
    expect(result.current.connection.lastError).toBe("connect timeout");
  });

  it("does close the socket and stop retrying when the component unmounts", () => {
    const { unmount } = mount();
    const socket = FakeWebSocket.latest();
    act(() => socket.open());
    unmount();
    expect(socket.closedByClient?.code).toBe(1000);
    act(() => {
      vi.advanceTimersByTime(60_000);
    });
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it("does close a still-connecting socket only once it opens when the component unmounts", () => {
    const { unmount } = mount();
    const socket = FakeWebSocket.latest();
    unmount();
    expect(socket.closedByClient).toBeNull();
    act(() => socket.open());
    expect(socket.closedByClient?.code).toBe(1000);
  });

  it("does reconnect at once when retry() is called during the backoff wait", () => {
    const { result } = mount();
    act(() => FakeWebSocket.latest().drop());
    expect(FakeWebSocket.instances).toHaveLength(1);
    act(() => result.current.retry());
    expect(FakeWebSocket.instances).toHaveLength(2);
  });

  it("does load the fleet over REST when the first attempt fails before any snapshot", async () => {
    const fetchStub = stubFetch({
      "GET /api/v1/targets": { body: TARGETS },
      "GET /api/v1/threads": { body: THREADS },
      "GET /api/v1/alerts": apiError(404, "not_found", "alerts are not enabled"),
    });
    const { result } = mount();
    act(() => FakeWebSocket.latest().drop());
    await flush();
    expect(result.current.data.source).toBe("rest");
    expect(result.current.data.threads.size).toBe(THREADS.length);
    expect(result.current.alertsEnabled).toBe(false);
    expect(fetchStub.callsTo("/api/v1/targets")).toHaveLength(1);

    // No polling: more failed attempts do not refetch.
    for (const delay of [1000, 2000]) {
      act(() => {
        vi.advanceTimersByTime(delay);
      });
      act(() => FakeWebSocket.latest().drop());
      await flush();
    }
    expect(fetchStub.callsTo("/api/v1/targets")).toHaveLength(1);

    // The live snapshot takes over.
    act(() => {
      vi.advanceTimersByTime(4000);
    });
    act(() => {
      FakeWebSocket.latest().open();
      FakeWebSocket.latest().receive(snapshotMessage({ threads: THREADS.slice(0, 1) }));
    });
    expect(result.current.data.source).toBe("snapshot");
    expect(result.current.data.threads.size).toBe(1);
  });

  it("does load the fleet over REST when the first live frames do not parse", async () => {
    const fetchStub = stubFetch({
      "GET /api/v1/targets": { body: TARGETS },
      "GET /api/v1/threads": { body: THREADS },
      "GET /api/v1/alerts": { body: ALERTS },
    });
    const { result } = mount();
    act(() => {
      FakeWebSocket.latest().open();
      FakeWebSocket.latest().receive({ ...snapshotMessage(), targets: [{ name: "alice" }] });
    });
    await flush();
    expect(result.current.connection.malformed).toBe(1);
    expect(result.current.data.source).toBe("rest");
    expect(result.current.data.targets.size).toBe(TARGETS.length);
    expect(fetchStub.callsTo("/api/v1/targets")).toHaveLength(1);
  });

  it("does report which field is wrong when a REST answer does not match the protocol", async () => {
    stubFetch({
      "GET /api/v1/targets": { body: [{ ...TARGETS[0], state: "sleeping" }] },
      "GET /api/v1/threads": { body: THREADS },
    });
    const { result } = mount();
    act(() => FakeWebSocket.latest().drop());
    await flush();
    expect(result.current.data.source).toBe("none");
    expect(String(result.current.fallbackError)).toContain("[0].state");
  });

  it("does report the fallback error when both the feed and REST fail", async () => {
    stubFetch({
      "GET /api/v1/targets": apiError(500, "internal", "database unavailable"),
      "GET /api/v1/threads": { body: [] },
    });
    const { result } = mount();
    act(() => FakeWebSocket.latest().drop());
    await flush();
    expect(result.current.data.source).toBe("none");
    expect(String(result.current.fallbackError)).toContain("database unavailable");
  });
});
