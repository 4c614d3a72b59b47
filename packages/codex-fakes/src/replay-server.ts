/**
 * Serves a recording of app-server frames (the bench's recorder makes one) to real clients, one
 * WebSocket endpoint per recorded server (`/s/<i>` on one port). It answers the handshake and the
 * observer's read-only requests the way an app-server with nothing to backfill does, and on
 * `stream()` pushes every server's frames to its client in order, interleaving the servers in
 * small chunks and respecting each socket's backpressure.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

/** What is replayed: per server, its `initialize` result and its frames in order, as sent. */
export interface ReplayRecording {
  servers: readonly { initializeResult: unknown; frames: readonly Buffer[] }[];
}

/** A running replay server. */
export interface ReplayServer {
  urls: string[];
  /** Clients that finished `initialize` + `initialized`. */
  readonly ready: number;
  /** Requests the clients sent after the handshake, by method. */
  readonly requests: Map<string, number>;
  /** Push every recorded frame; resolves once the last one is handed to its socket. */
  stream(): Promise<void>;
  close(): Promise<void>;
}

interface Client {
  ws: WebSocket;
  index: number;
  initialized: boolean;
}

const CHUNK = 32;
const HIGH_WATER = 256 * 1024;

function answer(method: string): { result?: unknown; error?: { code: number; message: string } } {
  switch (method) {
    case "thread/loaded/list":
    case "thread/list":
      return { result: { data: [], nextCursor: null } };
    case "thread/turns/list":
      return { result: { data: [], nextCursor: null, backwardsCursor: null } };
    case "thread/resume":
      return { result: {} };
    case "thread/unsubscribe":
      return { result: { status: "unsubscribed" } };
    default:
      return { error: { code: -32600, message: `${method} is not served by the replay server` } };
  }
}

/** Listen on 127.0.0.1:0. */
export async function startReplayServer(recording: ReplayRecording): Promise<ReplayServer> {
  const clients: Client[] = [];
  const requests = new Map<string, number>();
  let ready = 0;
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const http: Server = createServer((_req, res) => res.writeHead(400).end());
  http.on("upgrade", (req, socket, head) => {
    // Node drops its own socket error listener before 'upgrade' (a reset would be uncaught).
    socket.on("error", () => {});
    const m = /^\/s\/(\d+)$/.exec(req.url ?? "");
    const index = m ? Number(m[1]) : -1;
    const rec = recording.servers[index];
    if (!rec) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const client: Client = { ws, index, initialized: false };
      clients.push(client);
      ws.on("message", (data) => {
        const f = JSON.parse(data.toString()) as { id?: number; method?: string };
        if (f.method === "initialized") {
          if (!client.initialized) ready++;
          client.initialized = true;
          return;
        }
        if (f.id === undefined || f.method === undefined) return;
        if (f.method === "initialize") {
          ws.send(JSON.stringify({ id: f.id, result: rec.initializeResult }));
          return;
        }
        requests.set(f.method, (requests.get(f.method) ?? 0) + 1);
        ws.send(JSON.stringify({ id: f.id, ...answer(f.method) }));
      });
      ws.on("error", () => ws.terminate());
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    urls: recording.servers.map((_, i) => `ws://127.0.0.1:${port}/s/${i}`),
    get ready() {
      return ready;
    },
    requests,
    stream: async () => {
      const active = clients.filter((c) => c.initialized);
      const next = active.map(() => 0);
      for (;;) {
        let pending = 0;
        let sent = 0;
        for (const [k, c] of active.entries()) {
          const frames = recording.servers[c.index]?.frames ?? [];
          let i = next[k] ?? 0;
          if (i >= frames.length) continue;
          pending++;
          if (c.ws.bufferedAmount > HIGH_WATER) continue;
          const end = Math.min(frames.length, i + CHUNK);
          for (; i < end; i++) c.ws.send(frames[i] as Buffer, { binary: false });
          sent += end - (next[k] ?? 0);
          next[k] = i;
        }
        if (pending === 0) return;
        // Let the sockets drain (and the event loop breathe) before the next round.
        await new Promise((r) => (sent === 0 ? setTimeout(r, 1) : setImmediate(r)));
      }
    },
    close: async () => {
      for (const c of clients) c.ws.terminate();
      wss.close();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
