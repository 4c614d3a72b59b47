/**
 * A scripted fake codex app-server for misbehaviour the real one won't produce (STYLE "Tests"):
 * a real `ws` WebSocketServer behind a raw node:http server on 127.0.0.1:0, so that a test can
 * also refuse the upgrade (401/403 with a body, like 0.169.0, facts §6) or accept TCP and never
 * answer. It answers the observer's handshake like 0.169.0 (`initialize` → `userAgent` …,
 * the thread lists → empty pages), then runs the test's script, and records everything the
 * client sends so a test can prove that nothing it sent was a response.
 */
import { createServer, type IncomingHttpHeaders, STATUS_CODES } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { WebSocket, WebSocketServer } from "ws";

/** How the peer treats one HTTP upgrade. */
export type UpgradeMode =
  | { kind: "accept" }
  | { kind: "refuse"; status: number; body: string }
  /** Accept the TCP connection and never answer the upgrade (a silent peer). */
  | { kind: "hang" };

/** A request's fate: a result, a JSON-RPC error, or no answer at all. */
export type Answer = { result: unknown } | { error: { code: number; message: string } } | "silent";

/** One frame the client sent. `frame` is null for text that is not a JSON object. */
export interface ReceivedFrame {
  conn: number;
  raw: string;
  binary: boolean;
  frame: Record<string, unknown> | null;
}

/** One accepted WebSocket connection, as seen from the peer. */
export interface PeerConnection {
  readonly index: number;
  readonly headers: IncomingHttpHeaders;
  readonly ws: WebSocket;
  readonly received: ReceivedFrame[];
  /** Pings received from the client. */
  pings: number;
  readonly isOpen: boolean;
  /** Resolves when the socket has closed, whoever closed it. */
  readonly closed: Promise<void>;
  /** JSON-encode and send. */
  send(frame: unknown): void;
  sendText(text: string): void;
  sendBinary(bytes: Buffer): void;
  /** Send `count` frames made by `make(i)`, yielding to the socket every `batch` frames. Stops if the socket closes. */
  flood(count: number, make: (i: number) => string | Buffer, batch?: number): Promise<number>;
  /** Drop the TCP connection without a close frame (what a crashed or restarted server does: 1006). */
  destroy(): void;
  close(code?: number, reason?: string): void;
}

/** Options of {@link startScriptedPeer}; every one has a 0.169.0-like default. */
export interface ScriptedPeerOptions {
  /** Per upgrade (0-based index of the attempt): accept, refuse or hang. Default: accept. */
  upgrade?: UpgradeMode | ((attempt: number) => UpgradeMode);
  /** `ws` answers pings by itself unless this is false (a peer whose pongs never come). */
  autoPong?: boolean;
  /** After each auto-pong, send `{"method":"peer/ponged"}` so a test knows the pong went first. */
  pongMarker?: boolean;
  /** Wait this long before each answer (lets a test see whether a client pipelines requests). */
  answerDelayMs?: number;
  /** Answer a request; return undefined to fall back to the 0.169.0-like defaults. */
  answer?(method: string, params: unknown, conn: PeerConnection): Answer | undefined;
  /** Run once per connection after the client sent `initialized`. */
  script?(conn: PeerConnection): void | Promise<void>;
}

/** A running scripted peer. */
export interface ScriptedPeer {
  url: string;
  port: number;
  /** Headers of every upgrade request, in order, refused and hung ones too. */
  upgrades: IncomingHttpHeaders[];
  connections: PeerConnection[];
  /** Every frame any client sent, in order. */
  received: ReceivedFrame[];
  /** Requests received and not answered yet; and the most there ever were at once. */
  inFlight: number;
  maxInFlight: number;
  /** Errors thrown by scripts (a closed socket mid-script is normal and not recorded). */
  scriptErrors: unknown[];
  /** Frames the client sent that are responses (`result`, `error`, or an id without a method): must stay empty. */
  responsesFromClient(): ReceivedFrame[];
  /** Requests the client sent with this method. */
  requests(method: string): Record<string, unknown>[];
  close(): Promise<void>;
}

/** What 0.169.0 answers to `initialize` (real capture, packages/protocol/test/fixtures/real-0.169.0). */
export function initializeResult(params: unknown): Record<string, unknown> {
  const info = (params as { clientInfo?: { name?: unknown; version?: unknown } } | null)?.clientInfo;
  const name = typeof info?.name === "string" ? info.name : "unknown";
  const version = typeof info?.version === "string" ? info.version : "0";
  return {
    userAgent: `codex_vscode/0.169.0 (Debian 12.0.0; x86_64) xterm (${name}; ${version})`,
    codexHome: "/home/dev/.codex",
    platformFamily: "unix",
    platformOs: "linux",
  };
}

function defaultAnswer(method: string, params: unknown): Answer {
  switch (method) {
    case "initialize":
      return { result: initializeResult(params) };
    case "thread/loaded/list":
    case "thread/list":
      return { result: { data: [], nextCursor: null } };
    case "thread/turns/list":
      return { result: { data: [], nextCursor: null, backwardsCursor: null } };
    case "thread/resume": {
      const threadId = (params as { threadId?: unknown } | null)?.threadId;
      return { error: { code: -32600, message: `no rollout found for thread id ${String(threadId)}` } };
    }
    default:
      return { error: { code: -32600, message: `Invalid request: unknown variant \`${method}\`` } };
  }
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Start a scripted peer on 127.0.0.1, port 0. */
export async function startScriptedPeer(opts: ScriptedPeerOptions = {}): Promise<ScriptedPeer> {
  const sockets = new Set<Socket>();
  const upgrades: IncomingHttpHeaders[] = [];
  const connections: PeerConnection[] = [];
  const received: ReceivedFrame[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const wss = new WebSocketServer({
    noServer: true,
    autoPong: opts.autoPong ?? true,
    perMessageDeflate: false,
  });
  // Other paths answer 400, like 0.169.0 (facts §6).
  const server = createServer((_req, res) => {
    res.writeHead(400);
    res.end();
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  const peer: ScriptedPeer = {
    url: "",
    port: 0,
    upgrades,
    connections,
    received,
    inFlight: 0,
    maxInFlight: 0,
    scriptErrors: [],
    responsesFromClient: () =>
      received.filter(
        (r) =>
          r.frame !== null &&
          ("result" in r.frame ||
            "error" in r.frame ||
            (r.frame.id !== undefined && r.frame.method === undefined)),
      ),
    requests: (method) =>
      received.flatMap((r) =>
        r.frame && r.frame.method === method && r.frame.id !== undefined ? [r.frame] : [],
      ),
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const c of wss.clients) c.terminate();
      for (const s of sockets) s.destroy();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const reply = (conn: PeerConnection, id: unknown, answer: Answer) => {
    if (answer === "silent") return;
    const send = () => {
      peer.inFlight--;
      if (conn.isOpen) conn.send({ id, ...answer });
    };
    if (opts.answerDelayMs) {
      const t = setTimeout(() => {
        timers.delete(t);
        send();
      }, opts.answerDelayMs);
      timers.add(t);
    } else send();
  };

  const onConnection = (ws: WebSocket, headers: IncomingHttpHeaders) => {
    const index = connections.length;
    let resolveClosed!: () => void;
    const closed = new Promise<void>((r) => {
      resolveClosed = r;
    });
    const conn: PeerConnection = {
      index,
      headers,
      ws,
      received: [],
      pings: 0,
      get isOpen() {
        return ws.readyState === WebSocket.OPEN;
      },
      closed,
      send: (frame) => conn.sendText(JSON.stringify(frame)),
      sendText: (text) => {
        if (conn.isOpen) ws.send(text);
      },
      sendBinary: (bytes) => {
        if (conn.isOpen) ws.send(bytes, { binary: true });
      },
      async flood(count, make, batch = 500) {
        let sent = 0;
        for (let i = 0; i < count && conn.isOpen; i++) {
          const data = make(i);
          if (i % batch === batch - 1) {
            // Wait until this frame is handed to the kernel: keeps the peer's own buffer small.
            await new Promise<void>((r) => ws.send(data, { binary: typeof data !== "string" }, () => r()));
          } else ws.send(data, { binary: typeof data !== "string" });
          sent++;
        }
        return sent;
      },
      destroy: () => (ws as unknown as { _socket: Socket })._socket.destroy(),
      close: (code, reason) => ws.close(code, reason),
    };
    connections.push(conn);
    ws.on("close", () => resolveClosed());
    ws.on("error", () => {});
    ws.on("ping", () => {
      conn.pings++;
      // `ws` sent the pong before emitting "ping", so this marker arrives after it.
      if (opts.pongMarker && (opts.autoPong ?? true))
        conn.send({ method: "peer/ponged", params: { n: conn.pings } });
    });
    ws.on("message", (data, isBinary) => {
      const raw = isBinary ? "" : data.toString();
      const rec: ReceivedFrame = {
        conn: index,
        raw,
        binary: isBinary,
        frame: isBinary ? null : parseObject(raw),
      };
      received.push(rec);
      conn.received.push(rec);
      const f = rec.frame;
      if (!f || typeof f.method !== "string") return;
      if (f.id === undefined) {
        if (f.method === "initialized" && opts.script) {
          Promise.resolve()
            .then(() => opts.script?.(conn))
            .catch((err: unknown) => {
              if (conn.isOpen) peer.scriptErrors.push(err);
            });
        }
        return;
      }
      peer.inFlight++;
      peer.maxInFlight = Math.max(peer.maxInFlight, peer.inFlight);
      const answer = opts.answer?.(f.method, f.params, conn) ?? defaultAnswer(f.method, f.params);
      if (answer === "silent") peer.inFlight--;
      reply(conn, f.id, answer);
    });
  };

  server.on("upgrade", (req, socket: Socket, head) => {
    // Node drops its own socket error listener before 'upgrade': a client that resets a refused or
    // hung upgrade would otherwise be an uncaught ECONNRESET in the test process.
    socket.on("error", () => {});
    const attempt = upgrades.length;
    upgrades.push(req.headers);
    const mode =
      typeof opts.upgrade === "function" ? opts.upgrade(attempt) : (opts.upgrade ?? { kind: "accept" });
    if (mode.kind === "hang") return;
    if (mode.kind === "refuse") {
      const body = Buffer.from(mode.body);
      socket.end(
        `HTTP/1.1 ${mode.status} ${STATUS_CODES[mode.status] ?? "Refused"}\r\n` +
          `content-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${mode.body}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req.headers));
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  peer.port = port;
  peer.url = `ws://127.0.0.1:${port}`;
  return peer;
}

// Captured at import, before any test installs fake timers.
const realSetTimeout = globalThis.setTimeout;
const realNow = Date.now;

/** Poll `cond` (with real timers, even while a test fakes them) until it holds or the deadline passes. */
export async function waitFor(
  what: string | (() => string),
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = realNow() + timeoutMs;
  while (!(await cond())) {
    if (realNow() > deadline)
      throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((r) => realSetTimeout(r, 5));
  }
}
