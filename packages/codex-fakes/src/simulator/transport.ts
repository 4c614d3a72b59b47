/**
 * WebSocket endpoints for simulated app-servers on 127.0.0.1: either one HTTP server per
 * simulated server (its own port, path `/`, like `codex app-server --listen ws://…`) or one
 * shared HTTP server per 1,000 servers routing `/s/<index>` (thousands of servers without thousands
 * of listeners).
 * The upgrade is checked like 0.169.0 does it (facts §6): an `Origin` header → 403; with a
 * capability token, a missing, malformed or wrong `Authorization: Bearer` → 401 with the same
 * messages; `GET /readyz` and `/healthz` → 200 without auth; anything else → 400.
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import type { SimServer } from "./sim-server.ts";

/** How simulated servers are exposed. */
export type ListenMode = "perServer" | "shared";

/** The running endpoints. */
export interface Transport {
  urls: string[];
  close(): Promise<void>;
}

const MAX_PAYLOAD = 16 * 1024 * 1024;

/**
 * Shared mode opens one port per this many servers, each listening with a backlog as large: a
 * collector connects to its whole fleet at once, and past a listener's backlog (Node's default
 * 511) the kernel drops SYNs, which the client resends only after 1, 3, 7, 15 s — the bench
 * would time the simulator's one port, not the collector (10,000 servers: 24–40 s to follow).
 */
const SERVERS_PER_SHARED_PORT = 1_000;

function reject(socket: Duplex, status: number, reason: string, body: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** 0.169.0's capability-token check; null when the upgrade may proceed. */
export function authFailure(req: IncomingMessage, token: string | null): string | null {
  if (token === null) return null;
  const header = req.headers.authorization;
  if (header === undefined) return "missing websocket bearer token";
  const match = /^bearer\s+(.+)$/i.exec(header.trim());
  if (!match?.[1]) return "invalid authorization header";
  const given = Buffer.from(match[1].trim());
  const expected = Buffer.from(token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return "invalid websocket bearer token";
  return null;
}

/** Listen for every server; resolves once all ports are bound. */
export async function startTransport(
  servers: readonly SimServer[],
  mode: ListenMode,
  host: string,
): Promise<Transport> {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_PAYLOAD });
  const http: Server[] = [];
  const onUpgrade = (
    sim: SimServer | undefined,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ): void => {
    socket.on("error", () => {});
    if (!sim) {
      reject(socket, 404, "Not Found", "");
      return;
    }
    if (req.headers.origin !== undefined) {
      reject(socket, 403, "Forbidden", "");
      return;
    }
    const failure = authFailure(req, sim.opts.token);
    if (failure) {
      reject(socket, 401, "Unauthorized", failure);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = sim.attach({ send: (text) => ws.send(text), close: () => ws.terminate() });
      ws.on("message", (data, isBinary) => {
        if (!isBinary) sim.receive(conn, data.toString());
      });
      ws.on("close", () => sim.detach(conn));
      ws.on("error", () => ws.terminate());
    });
  };
  const makeHttp = (route: (path: string) => SimServer | undefined): Server => {
    const server = createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      if (req.headers.origin !== undefined) res.writeHead(403).end();
      else if (req.method === "GET" && /(^|\/)(readyz|healthz)$/.test(path)) res.writeHead(200).end();
      else res.writeHead(400).end();
    });
    server.on("upgrade", (req, socket, head) => {
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      onUpgrade(route(path), req, socket, head);
    });
    server.on("clientError", (_err, socket) => socket.destroy());
    http.push(server);
    return server;
  };
  const listen = (server: Server): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ port: 0, host, backlog: SERVERS_PER_SHARED_PORT }, () =>
        resolve((server.address() as AddressInfo).port),
      );
    });

  let urls: string[];
  if (mode === "shared") {
    const route = (path: string) => {
      const m = /^\/s\/(\d+)\/?$/.exec(path);
      return m ? servers[Number(m[1])] : undefined;
    };
    const ports: number[] = [];
    for (let i = 0; i < Math.max(1, Math.ceil(servers.length / SERVERS_PER_SHARED_PORT)); i++)
      ports.push(await listen(makeHttp(route)));
    urls = servers.map((_, i) => `ws://${host}:${ports[Math.floor(i / SERVERS_PER_SHARED_PORT)]}/s/${i}`);
  } else {
    urls = [];
    for (const sim of servers) {
      const port = await listen(makeHttp((path) => (path === "/" ? sim : undefined)));
      urls.push(`ws://${host}:${port}`);
    }
  }
  return {
    urls,
    close: async () => {
      for (const sim of servers) sim.closeConnections();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await Promise.all(
        http.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
    },
  };
}
