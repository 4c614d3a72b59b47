/**
 * TargetConnection against scripted peers (real `ws` servers on 127.0.0.1:0): failure reasons,
 * auth, backoff and its reset, -32001 retries, one request at a time, the read-only guard and
 * hostile frames. Timing logic runs on fake timers; socket I/O stays real.
 */

import { type AddressInfo, createServer } from "node:net";
import { freePort } from "@codex-fleet/codex-fakes/app-server";
import {
  type PeerConnection,
  type ScriptedPeer,
  type ScriptedPeerOptions,
  startScriptedPeer,
  waitFor,
} from "@codex-fleet/codex-fakes/scripted-peer";
import type { FleetEvent } from "@codex-fleet/protocol/events";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  ConnectionClosedError,
  type ConnectionOptions,
  type ConnectionStatus,
  DisallowedMethodError,
  RATE_LIMIT_READ_PARAMS,
  RpcError,
  TargetConnection,
} from "../../../src/fleet/connection.ts";
import { HandshakeGate } from "../../../src/fleet/handshake-gate.ts";
import { backoffDelayMs } from "../../../src/lib/backoff.ts";

const TOKEN = "s3cret-token-for-tests";
const BASE = { minBackoffMs: 40, maxBackoffMs: 400 };

interface Harness {
  conn: TargetConnection;
  statuses: ConnectionStatus[];
  events: FleetEvent[];
  invalid: string[];
  sent: Record<string, unknown>[];
  responses: { id: unknown; error: unknown }[];
  backoffs(): ConnectionStatus[];
}

const peers: ScriptedPeer[] = [];
const conns: TargetConnection[] = [];

async function peer(opts: ScriptedPeerOptions = {}): Promise<ScriptedPeer> {
  const p = await startScriptedPeer(opts);
  peers.push(p);
  return p;
}

function open(url: string, over: Partial<ConnectionOptions> = {}): Harness {
  const h = { statuses: [], events: [], invalid: [], sent: [], responses: [] } as unknown as Harness;
  h.backoffs = () => h.statuses.filter((s) => s.state === "backoff");
  h.conn = new TargetConnection(
    {
      url,
      token: { reveal: () => TOKEN },
      connectTimeoutMs: 2000,
      pingIntervalMs: 600_000,
      ...BASE,
      stableAfterMs: 1000,
      maxPayloadBytes: 64 * 1024,
      requestTimeoutMs: 2000,
      clientVersion: "test",
      random: () => 0,
      now: () => Date.now(),
      ...over,
    },
    {
      onOpen: () => {},
      onEvent: (e) => h.events.push(e),
      onStatus: (s) => h.statuses.push(s),
      onInvalid: (reason, method) => h.invalid.push(method ? `${method}: ${reason}` : reason),
      onSent: (f) => h.sent.push(structuredClone(f)),
      onFrame: (f) => {
        if (f.type === "response") h.responses.push({ id: f.id, error: f.error });
      },
    },
  );
  conns.push(h.conn);
  h.conn.start();
  return h;
}

const isOpen = (h: Harness) => () => h.conn.current.state === "open";
const backoffCount = (h: Harness, n: number) => () => h.backoffs().length >= n;

/** A round trip: once it resolves, every frame the client sent before it has reached the peer (one socket, in order). */
async function barrier(h: Harness): Promise<void> {
  await h.conn.request("thread/loaded/list", { cursor: null, limit: 1 });
}

afterEach(async () => {
  vi.useRealTimers();
  for (const c of conns.splice(0)) c.stop();
  await Promise.all(peers.splice(0).map((p) => p.close()));
});

function fakeClock(): void {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
}

describe("TargetConnection failure reasons", () => {
  const oversize = { method: "thread/goal/updated", params: { pad: "x".repeat(70 * 1024) } };
  it.each<{
    name: string;
    peer: ScriptedPeerOptions | null;
    over?: Partial<ConnectionOptions>;
    reason: string;
    error: RegExp;
    wasOpen: boolean;
  }>([
    { name: "nothing listens", peer: null, reason: "refused", error: /connection refused/, wasOpen: false },
    {
      name: "the upgrade gets 401",
      peer: { upgrade: { kind: "refuse", status: 401, body: "invalid websocket bearer token" } },
      reason: "unauthorized",
      error: /^HTTP 401 \(bearer token missing or not accepted\)$/,
      wasOpen: false,
    },
    {
      name: "the upgrade gets 403",
      peer: { upgrade: { kind: "refuse", status: 403, body: "" } },
      reason: "forbidden",
      error: /^HTTP 403 \(forbidden\)$/,
      wasOpen: false,
    },
    {
      name: "the peer accepts TCP and never answers the upgrade",
      peer: { upgrade: { kind: "hang" } },
      over: { connectTimeoutMs: 150 },
      reason: "timeout",
      error: /timed out|no answer within 150 ms/,
      wasOpen: false,
    },
    {
      name: "the peer never answers initialize",
      peer: { answer: (m) => (m === "initialize" ? "silent" : undefined) },
      over: { connectTimeoutMs: 150 },
      reason: "timeout",
      error: /^no answer within 150 ms$/,
      wasOpen: false,
    },
    {
      name: "initialize is answered with an error",
      peer: {
        answer: (m) =>
          m === "initialize" ? { error: { code: -32600, message: "Not initialized" } } : undefined,
      },
      reason: "protocol",
      error: /^initialize failed: Not initialized$/,
      wasOpen: false,
    },
    {
      name: "the socket is destroyed after open (no close frame)",
      peer: { script: (c) => c.destroy() },
      reason: "dropped",
      error: /socket closed \(1006\)/,
      wasOpen: true,
    },
    {
      name: "a frame is larger than maxPayloadBytes",
      peer: { script: (c) => c.send(oversize) },
      reason: "protocol",
      error: /frame too large/,
      wasOpen: true,
    },
  ])(
    "does back off with the right reason when $name",
    async ({ peer: script, over, reason, error, wasOpen }) => {
      const url = script ? (await peer(script)).url : `ws://127.0.0.1:${await freePort()}`;
      const h = open(url, over);
      await waitFor("a backoff", backoffCount(h, 1));
      const first = h.backoffs()[0];
      expect({ reason: first?.reason, attempt: first?.attempt }).toEqual({ reason, attempt: 1 });
      expect(first?.error).toMatch(error);
      expect(h.statuses.some((s) => s.state === "open")).toBe(wasOpen);
      expect(first?.error).not.toContain(TOKEN);
    },
  );

  // SSRF (issue "Hostile input, round two", finding 4): what a viewer reads in lastError.
  it("does never echo the body of an HTTP answer without a WebSocket upgrade", async () => {
    const p = await peer({ upgrade: { kind: "refuse", status: 404, body: "ami-id SECRET-METADATA-BODY" } });
    const h = open(p.url);
    await waitFor("a backoff", backoffCount(h, 1));
    expect(h.backoffs()[0]).toMatchObject({
      reason: "protocol",
      error: "HTTP 404 (not a codex app-server WebSocket)",
    });
    expect(JSON.stringify(h.statuses)).not.toContain("SECRET");
  });

  it("does report a non-HTTP service like a closed port (no port scanning through lastError)", async () => {
    const server = createServer((socket) => socket.end("SSH-2.0-OpenSSH_9.2\r\n"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const openPort = open(`ws://127.0.0.1:${port}`);
      const closedPort = open(`ws://127.0.0.1:${await freePort()}`);
      await waitFor("backoffs", () => backoffCount(openPort, 1)() && backoffCount(closedPort, 1)());
      const pick = (h: Harness) => ({ reason: h.backoffs()[0]?.reason, error: h.backoffs()[0]?.error });
      expect(pick(openPort)).toEqual(pick(closedPort));
      expect(pick(openPort)).toEqual({
        reason: "refused",
        error: "connection refused or closed before a WebSocket upgrade",
      });
    } finally {
      server.close();
    }
  });

  it.each([
    "ws://169.254.169.254/latest/meta-data/",
    "ws://[::ffff:169.254.169.254]/",
    "ws://2852039166/",
    "ws://metadata.google.internal/",
  ])("does refuse the link-local or metadata destination %s without connecting", async (url) => {
    const h = open(url);
    await waitFor("a backoff", backoffCount(h, 1));
    expect(h.backoffs()[0]).toMatchObject({
      reason: "config",
      error: expect.stringMatching(/refusing to connect/),
    });
  });

  it("does check every address a name resolves to at connect time, and connect to the checked one", async () => {
    const p = await peer();
    const port = new URL(p.url).port;
    // A name that resolves to the peer and to the metadata address: refused, the peer never sees it.
    const rebound = open(`ws://rebind.test:${port}`, {
      resolver: async () => [
        { address: "127.0.0.1", family: 4 },
        { address: "169.254.169.254", family: 4 },
      ],
    });
    await waitFor("a backoff", backoffCount(rebound, 1));
    expect(rebound.backoffs()[0]).toMatchObject({
      reason: "config",
      error: expect.stringMatching(/rebind\.test: it resolves to a link-local address/),
    });
    expect(p.upgrades).toHaveLength(0);
    // The same name resolving to loopback only: the socket goes where the resolver said.
    const good = open(`ws://rebind.test:${port}`, {
      resolver: async () => [{ address: "127.0.0.1", family: 4 }],
    });
    await waitFor("open", isOpen(good));
    // network.allowLinkLocal lets a deployment reach link-local addresses on purpose.
    const allowed = open(`ws://rebind.test:${port}`, {
      allowLinkLocal: true,
      resolver: async () => [{ address: "127.0.0.1", family: 4 }],
    });
    await waitFor("open", isOpen(allowed));
  });

  it.each([
    { token: TOKEN, want: `Bearer ${TOKEN}` },
    { token: null, want: undefined },
  ])("does send the Authorization header when token=$token", async ({ token }) => {
    const p = await peer();
    const h = open(p.url, { token: token === null ? null : { reveal: () => token } });
    await waitFor("open", isOpen(h));
    const headers = p.upgrades[0] ?? {};
    expect(headers.authorization).toBe(token === null ? undefined : `Bearer ${TOKEN}`);
    // Any Origin header makes 0.169.0 answer 403 (facts §6).
    expect(headers.origin).toBeUndefined();
    expect(h.conn.current.userAgent).toBe(
      "codex_vscode/0.169.0 (Debian 12.0.0; x86_64) xterm (codex_fleet_observer; test)",
    );
  });
});

describe("TargetConnection backoff (fake clock)", () => {
  it("does reconnect after each failure with a delay that grows to the cap", async () => {
    fakeClock();
    const p = await peer({
      upgrade: { kind: "refuse", status: 401, body: "missing websocket bearer token" },
    });
    const h = open(p.url);
    for (let attempt = 0; attempt < 6; attempt++) {
      await waitFor(`backoff #${attempt + 1}`, backoffCount(h, attempt + 1));
      expect(p.upgrades).toHaveLength(attempt + 1);
      const s = h.backoffs()[attempt] as ConnectionStatus;
      const delay = backoffDelayMs(attempt, BASE, () => 0);
      expect(delay).toBe(Math.min(400, 40 * 2 ** attempt) / 2);
      const got = { reason: s.reason, attempt: s.attempt, waitMs: (s.nextAttemptAtMs ?? 0) - Date.now() };
      expect(got).toEqual({ reason: "unauthorized", attempt: attempt + 1, waitMs: delay });
      vi.advanceTimersByTime(delay - 1);
      expect(h.conn.current.state).toBe("backoff");
      vi.advanceTimersByTime(1);
      expect(h.conn.current.state).toBe("connecting");
    }
  });

  it.each([
    { uptimeMs: 999, wantWaitMs: backoffDelayMs(2, BASE, () => 0), wantAttempt: 3 },
    { uptimeMs: 1000, wantWaitMs: backoffDelayMs(0, BASE, () => 0), wantAttempt: 1 },
  ])(
    "does reset the attempt count only after stableAfterMs of uptime (uptime $uptimeMs ms)",
    async ({ uptimeMs, wantWaitMs, wantAttempt }) => {
      fakeClock();
      const p = await peer();
      const h = open(p.url);
      // Two quick drops: attempts 1 and 2.
      for (let i = 0; i < 2; i++) {
        await waitFor("open", isOpen(h));
        p.connections[i]?.destroy();
        await waitFor("backoff", backoffCount(h, i + 1));
        vi.advanceTimersByTime(backoffDelayMs(i, BASE, () => 0));
      }
      await waitFor("open", isOpen(h));
      vi.advanceTimersByTime(uptimeMs);
      p.connections[2]?.destroy();
      await waitFor("third backoff", backoffCount(h, 3));
      const s = h.backoffs()[2] as ConnectionStatus;
      const got = { attempt: s.attempt, waitMs: (s.nextAttemptAtMs ?? 0) - Date.now(), reason: s.reason };
      expect(got).toEqual({ attempt: wantAttempt, waitMs: wantWaitMs, reason: "dropped" });
    },
  );

  it.each([
    { autoPong: false, wantState: "backoff" },
    { autoPong: true, wantState: "open" },
  ])(
    "does drop a peer at the ping after an unanswered one, and keep one that pongs (autoPong=$autoPong)",
    async ({ autoPong, wantState }) => {
      fakeClock();
      const p = await peer({ autoPong, pongMarker: true });
      const h = open(p.url, { pingIntervalMs: 5000 });
      await waitFor("open", isOpen(h));
      for (let n = 1; n <= 3; n++) {
        vi.advanceTimersByTime(5000);
        await waitFor(`ping #${n} at the peer`, () => (p.connections[0]?.pings ?? 0) >= n);
        if (!autoPong) break;
        // Wait until the pong is in: the peer's marker follows it on the same socket.
        await waitFor(`pong #${n}`, () => h.events.filter((e) => e.kind === "unknown").length >= n);
      }
      vi.advanceTimersByTime(5000);
      expect(h.conn.current.state).toBe(wantState);
      if (!autoPong)
        expect(h.conn.current).toMatchObject({ reason: "timeout", error: "no pong within 5000 ms" });
    },
  );

  it("does retry -32001 with growing backoff and resolve once the peer has room", async () => {
    fakeClock();
    let overloaded = 3;
    const p = await peer({
      answer: (m) =>
        m === "thread/list" && overloaded-- > 0
          ? { error: { code: -32001, message: "Server overloaded; retry later." } }
          : m === "thread/list"
            ? { result: { data: [], nextCursor: "done" } }
            : undefined,
    });
    const h = open(p.url);
    await waitFor("open", isOpen(h));
    const result = h.conn.request("thread/list", { limit: 1 });
    for (let retry = 1; retry <= 3; retry++) {
      await waitFor(`overload #${retry}`, () => h.responses.filter((r) => r.error).length >= retry);
      const delay = backoffDelayMs(retry, { minBackoffMs: 100, maxBackoffMs: 5000 }, () => 0);
      const sentBefore = h.sent.length;
      vi.advanceTimersByTime(delay - 1);
      expect(h.sent).toHaveLength(sentBefore);
      vi.advanceTimersByTime(1);
      expect(h.sent).toHaveLength(sentBefore + 1);
    }
    await expect(result).resolves.toEqual({ data: [], nextCursor: "done" });
    const ids = p.requests("thread/list").map((f) => f.id);
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(4);
  });

  it("does reject with the RpcError after six -32001 retries", async () => {
    fakeClock();
    const p = await peer({
      answer: (m) =>
        m === "thread/list"
          ? { error: { code: -32001, message: "Server overloaded; retry later." } }
          : undefined,
    });
    const h = open(p.url);
    await waitFor("open", isOpen(h));
    const result = h.conn.request("thread/list", { limit: 1 });
    result.catch(() => {});
    for (let retry = 1; retry <= 6; retry++) {
      await waitFor(`overload #${retry}`, () => h.responses.filter((r) => r.error).length >= retry);
      vi.advanceTimersByTime(backoffDelayMs(retry, { minBackoffMs: 100, maxBackoffMs: 5000 }, () => 0));
    }
    await expect(result).rejects.toMatchObject({ code: -32001, method: "thread/list" });
    await expect(result).rejects.toBeInstanceOf(RpcError);
    expect(p.requests("thread/list")).toHaveLength(7);
  });

  it("does reject a request waiting for its -32001 retry when the socket drops, and never send it later", async () => {
    fakeClock();
    const p = await peer({
      answer: (m, _p, c) => {
        if (m !== "thread/read") return undefined;
        setImmediate(() => c.destroy());
        return { error: { code: -32001, message: "Server overloaded; retry later." } };
      },
    });
    const h = open(p.url);
    await waitFor("open", isOpen(h));
    const result = h.conn.request("thread/read", { threadId: "t1" });
    result.catch(() => {});
    await waitFor("dropped", backoffCount(h, 1));
    await expect(result).rejects.toBeInstanceOf(ConnectionClosedError);
    vi.advanceTimersByTime(backoffDelayMs(0, BASE, () => 0));
    await waitFor("reopened", isOpen(h));
    vi.advanceTimersByTime(10_000);
    await barrier(h);
    expect(p.requests("thread/read")).toHaveLength(1);
  });

  it("does stop reconnecting and reject pending requests when stopped", async () => {
    fakeClock();
    const p = await peer({ answer: (m) => (m === "thread/list" ? "silent" : undefined) });
    const h = open(p.url);
    await waitFor("open", isOpen(h));
    const pending = h.conn.request("thread/list", {});
    const queued = h.conn.request("thread/read", { threadId: "x" });
    h.conn.stop();
    await expect(pending).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(queued).rejects.toBeInstanceOf(ConnectionClosedError);
    vi.advanceTimersByTime(60_000);
    expect(h.conn.current.state).toBe("stopped");
    expect(p.upgrades).toHaveLength(1);
    await expect(h.conn.request("thread/list", {})).rejects.toBeInstanceOf(ConnectionClosedError);
  });
});

describe("TargetConnection at a handshake gate", () => {
  it("does dial only when a slot is free, and free it once open or failed", async () => {
    const handshakeGate = new HandshakeGate({ max: 1, holdMaxMs: 60_000 });
    const hung = await peer({ upgrade: { kind: "hang" } });
    const good = await peer();
    const a = open(hung.url, { handshakeGate, connectTimeoutMs: 300 });
    const b = open(good.url, { handshakeGate });
    await waitFor("the hung upgrade", () => hung.upgrades.length === 1);
    // b waits for a's slot: shown connecting, not dialled.
    expect(b.conn.current.state).toBe("connecting");
    expect(good.upgrades).toHaveLength(0);
    await waitFor("a's timeout", backoffCount(a, 1));
    await waitFor("b open", isOpen(b));
    expect(handshakeGate.inFlight).toBe(0); // a failed, b opened: both slots given back
  });

  it("does give the slot of a handshake that never ends to the next target after holdMaxMs", async () => {
    const handshakeGate = new HandshakeGate({ max: 1, holdMaxMs: 100 });
    const hung = await peer({ upgrade: { kind: "hang" } });
    const good = await peer();
    const a = open(hung.url, { handshakeGate, connectTimeoutMs: 60_000 });
    const b = open(good.url, { handshakeGate });
    await waitFor("b open", isOpen(b));
    expect(a.conn.current.state).toBe("connecting");
  });

  it("does never dial a target stopped while it waited for a slot", async () => {
    const handshakeGate = new HandshakeGate({ max: 1, holdMaxMs: 60_000 });
    const hung = await peer({ upgrade: { kind: "hang" } });
    const second = await peer();
    const a = open(hung.url, { handshakeGate, connectTimeoutMs: 60_000 });
    const b = open(second.url, { handshakeGate });
    await waitFor("the hung upgrade", () => hung.upgrades.length === 1);
    b.conn.stop();
    a.conn.stop(); // a's slot is free: nobody may take it
    await new Promise((r) => setTimeout(r, 100));
    expect(second.upgrades).toHaveLength(0);
    expect(b.conn.current.state).toBe("stopped");
    expect(handshakeGate.inFlight).toBe(0);
  });
});

describe("TargetConnection requests", () => {
  it("does keep one request in flight at a time when many are made at once", async () => {
    const p = await peer({ answerDelayMs: 20 });
    const h = open(p.url);
    await waitFor("open", isOpen(h));
    const methods = [
      "thread/list",
      "thread/loaded/list",
      "thread/turns/list",
      "thread/list",
      "thread/loaded/list",
    ];
    await Promise.all(methods.map((m) => h.conn.request(m, { threadId: "t", limit: 1 })));
    expect(p.maxInFlight).toBe(1);
    const seen = p.received.flatMap((r) => (r.frame?.id !== undefined ? [r.frame.method] : []));
    expect(seen).toEqual(["initialize", ...methods]);
  });

  it("does time out a request the peer never answers and go on with the next", async () => {
    const p = await peer({ answer: (m) => (m === "thread/read" ? "silent" : undefined) });
    const h = open(p.url, { requestTimeoutMs: 100 });
    await waitFor("open", isOpen(h));
    const lost = h.conn.request("thread/read", { threadId: "t" });
    const next = h.conn.request("thread/list", {});
    await expect(lost).rejects.toThrow("thread/read: no answer within 100 ms");
    await expect(next).resolves.toEqual({ data: [], nextCursor: null });
    expect(h.conn.current.state).toBe("open");
  });

  it.each([
    ["turn/start", { threadId: "t", input: [{ type: "text", text: "hi", text_elements: [] }] }],
    ["thread/start", { cwd: "/tmp" }],
    ["turn/interrupt", { threadId: "t", turnId: "u" }],
    ["fs/readFile", { path: "/etc/passwd" }],
    ["thread/unarchive", { threadId: "t" }],
    ["command/exec", { command: ["touch", "/tmp/pwned"] }],
    ["thread/goal/set", { threadId: "t", goal: "x" }],
    ["initialized", undefined],
    ["item/commandExecution/requestApproval", { decision: "accept" }],
  ])("does refuse %s before anything reaches the peer", async (method, params) => {
    const p = await peer();
    const h = open(p.url);
    await waitFor("open", isOpen(h));
    const sentBefore = h.sent.length;
    const err = await h.conn.request(method, params).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DisallowedMethodError);
    expect(err).toMatchObject({ code: "DISALLOWED_METHOD" });
    expect(h.sent).toHaveLength(sentBefore);
    await barrier(h);
    // Frames arrive in order: a refused frame sent before the barrier would be listed here.
    expect(p.received.map((r) => r.frame?.method)).toEqual([
      "initialize",
      "initialized",
      "thread/loaded/list",
    ]);
  });

  it.each([
    [{ threadId: "t" }, false],
    [{ threadId: "t", excludeTurns: false }, false],
    [{ threadId: "t", excludeTurns: "true" }, false],
    [undefined, false],
    [{ threadId: "t", excludeTurns: true }, true],
  ])("does send thread/resume %j only with excludeTurns: true (sent=%s)", async (params, sent) => {
    const p = await peer();
    const h = open(p.url);
    await waitFor("open", isOpen(h));
    const err = await h.conn.request("thread/resume", params).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(sent ? RpcError : DisallowedMethodError);
    await barrier(h);
    expect(p.requests("thread/resume")).toHaveLength(sent ? 1 : 0);
  });
});

describe("account/rateLimits/read guard", () => {
  it.each([
    [{ excludeResetCreditDetails: true }, true],
    [{}, false],
    [undefined, false],
    [{ excludeResetCreditDetails: false }, false],
    [{ excludeResetCreditDetails: "true" }, false],
    [{ excludeResetCreditDetails: true, supportsLunaReserve: true }, false],
    [{ supportsLunaReserve: false }, false],
    [[true], false],
  ])(
    "does send account/rateLimits/read %j only as {excludeResetCreditDetails: true} (sent=%s)",
    async (params, sent) => {
      const p = await peer();
      const h = open(p.url);
      await waitFor("open", isOpen(h));
      const err = await h.conn.request("account/rateLimits/read", params).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(sent ? RpcError : DisallowedMethodError);
      await barrier(h);
      expect(p.requests("account/rateLimits/read")).toHaveLength(sent ? 1 : 0);
      if (sent) expect(p.requests("account/rateLimits/read")[0]?.params).toEqual(RATE_LIMIT_READ_PARAMS);
    },
  );
});

describe("TargetConnection against hostile frames", () => {
  const approval = {
    id: 0,
    method: "item/commandExecution/requestApproval",
    params: { threadId: "t1", turnId: "u1", itemId: "i1", command: "rm -rf ~", cwd: "/home/dev" },
  };
  it("does record server requests and answer none of them", async () => {
    const p = await peer({
      script: (c) => {
        c.send(approval);
        c.send({
          id: "s-1",
          method: "item/fileChange/requestApproval",
          params: { threadId: "t1", turnId: "u1", itemId: "i2" },
        });
        c.send({
          id: 2,
          method: "item/tool/requestUserInput",
          params: { threadId: "t1", turnId: "u1", itemId: "i3", questions: [] },
        });
        c.send({ id: 3, method: "mcpServer/elicitation/request", params: {} });
        c.send({ id: 4, method: "attestation/generate", params: {} });
        c.send({ method: "peer/done" });
      },
    });
    const h = open(p.url);
    await waitFor("all sent", () => h.events.some((e) => e.kind === "unknown" && e.method === "peer/done"));
    await barrier(h);
    const requests = h.events.filter((e) => e.kind === "serverRequest");
    expect(requests.map((e) => e.kind === "serverRequest" && [e.requestKind, e.requestId])).toEqual([
      ["commandApproval", 0],
      ["fileChangeApproval", "s-1"],
      ["userInput", 2],
      ["elicitation", 3],
      ["unknown:attestation/generate", 4],
    ]);
    expect(p.responsesFromClient()).toEqual([]);
    expect(p.received.every((r) => typeof r.frame?.method === "string")).toBe(true);
  });

  it.each<[string, (c: PeerConnection) => void, string]>([
    ["garbage text", (c) => c.sendText("}{ not json"), "malformed JSON"],
    ["a binary frame", (c) => c.sendBinary(Buffer.from([0, 1, 2, 255])), "binary frame"],
    ["a JSON array", (c) => c.sendText("[1,2,3]"), "frame is not a JSON object"],
    ["a JSON number", (c) => c.sendText("42"), "frame is not a JSON object"],
    ["a non-string method", (c) => c.send({ method: 7, params: {} }), "method is not a string"],
    ["neither method nor id", (c) => c.send({ params: {} }), "neither method nor id"],
    [
      "a response to an id never asked",
      (c) => c.send({ id: 9999, result: { ok: true } }),
      "response to unknown request id 9999",
    ],
    [
      "wrong-typed params",
      (c) =>
        c.send({
          method: "thread/tokenUsage/updated",
          params: { threadId: "t", turnId: "u", tokenUsage: { total: "lots" } },
        }),
      "thread/tokenUsage/updated: params.tokenUsage.total",
    ],
    [
      "a status with a number id",
      (c) => c.send({ method: "thread/status/changed", params: { threadId: 5, status: { type: "idle" } } }),
      "thread/status/changed: params.threadId",
    ],
  ])("does count %s as invalid and stay open", async (_name, send, reason) => {
    const p = await peer({ script: (c) => send(c) });
    const h = open(p.url);
    await waitFor("an invalid frame", () => h.invalid.length >= 1);
    expect(h.invalid[0]).toContain(reason);
    await barrier(h);
    expect(h.conn.current.state).toBe("open");
    expect(p.responsesFromClient()).toEqual([]);
  });

  it("does count an unknown method as an event, not as invalid", async () => {
    const p = await peer({ script: (c) => c.send({ method: "future/shiny/thing", params: { x: 1 } }) });
    const h = open(p.url);
    await waitFor("event", () => h.events.length >= 1);
    expect(h.events[0]).toMatchObject({ kind: "unknown", method: "future/shiny/thing" });
    expect(h.invalid).toEqual([]);
  });

  it.each([
    { frames: 20, wantState: "open" },
    { frames: 21, wantState: "backoff" },
  ])(
    "does drop a peer as hostile only past maxInvalidPerMinute ($frames invalid frames)",
    async ({ frames, wantState }) => {
      const p = await peer({
        script: async (c) => {
          await c.flood(frames, (i) => `garbage ${i}`);
          c.send({ method: "peer/done" });
        },
      });
      const h = open(p.url, { maxInvalidPerMinute: 20, minBackoffMs: 60_000, maxBackoffMs: 60_000 });
      await waitFor("flood seen", () => h.invalid.length >= frames);
      if (wantState === "open") {
        await waitFor("done marker", () => h.events.length >= 1);
        await barrier(h);
      } else await waitFor("backoff", backoffCount(h, 1));
      expect(h.conn.current.state).toBe(wantState);
      if (wantState === "backoff") {
        expect(h.conn.current).toMatchObject({
          reason: "protocol",
          error: "too many invalid frames (last: malformed JSON)",
        });
        // Nothing after the limit was processed (not even the valid marker): closed at once.
        expect(h.invalid).toHaveLength(21);
        expect(h.events).toEqual([]);
      }
    },
  );

  it.each([
    { frames: 9, wantState: "open" },
    { frames: 12, wantState: "backoff" },
  ])(
    "does drop a peer flooding valid frames only past maxBytesPerMinute ($frames frames of 100 KiB, budget 1 MiB)",
    async ({ frames, wantState }) => {
      const big = "x".repeat(100 * 1024);
      const p = await peer({
        script: async (c) => {
          for (let i = 0; i < frames; i++) c.send({ method: "future/big", params: { i, big } });
          c.send({ method: "peer/done" });
        },
      });
      const h = open(p.url, {
        maxBytesPerMinute: 1024 * 1024,
        maxPayloadBytes: 16 * 1024 * 1024,
        minBackoffMs: 60_000,
        maxBackoffMs: 60_000,
      });
      if (wantState === "open") {
        await waitFor("every frame and the marker", () => h.events.length >= frames + 1);
        await barrier(h);
        expect(h.conn.current.state).toBe("open");
      } else {
        await waitFor("backoff", backoffCount(h, 1));
        expect(h.conn.current).toMatchObject({
          state: "backoff",
          reason: "protocol",
          error: "sent more than 1048576 bytes within a minute (flood)",
        });
        // Closed before parsing the frame over the budget: 10 frames (1,000 KiB and their
        // envelopes) fit, the 11th does not, and nothing after it was read.
        expect(h.events.length).toBe(10);
      }
      expect(h.invalid).toEqual([]);
    },
  );

  it("does count invalid frames per minute, so a slow trickle is never dropped", async () => {
    fakeClock();
    const p = await peer();
    const h = open(p.url, { maxInvalidPerMinute: 20 });
    await waitFor("open", isOpen(h));
    const c = p.connections[0] as PeerConnection;
    const trickle = async (n: number) => {
      const before = h.invalid.length;
      for (let i = 0; i < n; i++) c.sendText(`garbage ${i}`);
      await waitFor(
        `${n} invalid frames`,
        () => h.invalid.length >= before + n || h.conn.current.state !== "open",
      );
    };
    await trickle(20);
    vi.advanceTimersByTime(60_001);
    await trickle(20);
    await barrier(h);
    expect(h.conn.current.state).toBe("open");
    await trickle(1);
    expect(h.conn.current).toMatchObject({ state: "backoff", reason: "protocol" });
  });
});
