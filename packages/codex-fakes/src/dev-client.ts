/** A simulated developer: a JSON-RPC client of the real app-server over WebSocket. */
import WebSocket from "ws";

/** A JSON-RPC frame as sent by app-server (no `"jsonrpc"` member). */
export type Frame = {
  id?: number | string;
  method?: string;
  params?: Record<string, unknown> & { threadId?: string };
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
  emittedAtMs?: number;
};

/** A server→client request (e.g. `item/commandExecution/requestApproval`). */
export type ServerRequest = { id: number | string; method: string; params: Record<string, unknown> };

/** Answers a server request; return `undefined` to stay silent (never answer). */
export type ServerRequestHandler = (req: ServerRequest) => unknown | Promise<unknown>;

/** Options for {@link connectDevClient}. */
export type DevClientOptions = {
  url: string;
  token: string | null;
  /** `clientInfo.name`; the first client to initialize brands the server (facts: Surprises). */
  name?: string;
  capabilities?: Record<string, unknown> | null;
  /** Called with every frame sent or received (for captures). */
  onFrame?: (dir: "in" | "out", frame: Frame) => void;
  /** Skip `initialize`/`initialized` (to test the handshake by hand). */
  skipInitialize?: boolean;
};

/** A connected client. */
export type DevClient = {
  /** Every frame received, in order. */
  frames: Frame[];
  initializeResult: unknown;
  request<T = unknown>(method: string, params?: unknown, timeoutMs?: number): Promise<T>;
  notify(method: string, params?: unknown): void;
  startThread(opts: { cwd: string; approvalPolicy?: string }): Promise<string>;
  startTurn(threadId: string, text: string): Promise<string>;
  /** Resolves with the `turn/completed` params of the next (or given) turn of the thread. */
  waitForTurnCompleted(threadId: string, turnId?: string, timeoutMs?: number): Promise<TurnCompleted>;
  interrupt(threadId: string, turnId: string): Promise<unknown>;
  onServerRequest(handler: ServerRequestHandler): void;
  /** Resolves with the first received frame (past or future) matching the predicate. */
  waitFor(predicate: (f: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  notifications(method: string, threadId?: string): Frame[];
  close(): Promise<void>;
};

/** `turn/completed` params. */
export type TurnCompleted = {
  threadId: string;
  turn: { id: string; status: string; error: unknown; durationMs: number | null };
};

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; method: string };

/** Connect with `Authorization: Bearer`, then `initialize` + `initialized`. */
export async function connectDevClient(opts: DevClientOptions): Promise<DevClient> {
  const headers: Record<string, string> = {};
  if (opts.token !== null) headers.Authorization = `Bearer ${opts.token}`;
  const ws = new WebSocket(opts.url, { headers });
  const frames: Frame[] = [];
  const pending = new Map<number, Pending>();
  const waiters = new Set<{ pred: (f: Frame) => boolean; resolve: (f: Frame) => void }>();
  let handler: ServerRequestHandler | null = null;
  let nextId = 1;

  const send = (frame: Frame) => {
    opts.onFrame?.("out", frame);
    ws.send(JSON.stringify(frame));
  };

  ws.on("message", (data) => {
    const frame = JSON.parse(data.toString()) as Frame;
    frames.push(frame);
    opts.onFrame?.("in", frame);
    if (frame.method === undefined && typeof frame.id === "number" && pending.has(frame.id)) {
      const p = pending.get(frame.id) as Pending;
      pending.delete(frame.id);
      if (frame.error) p.reject(new Error(`${p.method}: ${frame.error.code} ${frame.error.message}`));
      else p.resolve(frame.result);
    } else if (frame.method !== undefined && frame.id !== undefined && handler) {
      const req = { id: frame.id, method: frame.method, params: frame.params ?? {} };
      Promise.resolve(handler(req)).then((result) => {
        if (result !== undefined && ws.readyState === WebSocket.OPEN) send({ id: req.id, result });
      });
    }
    for (const w of waiters) {
      if (w.pred(frame)) {
        waiters.delete(w);
        w.resolve(frame);
      }
    }
  });
  ws.on("close", () => {
    for (const p of pending.values()) p.reject(new Error(`socket closed before ${p.method} answered`));
    pending.clear();
  });

  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) =>
      reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)),
    );
  });

  const request = <T>(method: string, params?: unknown, timeoutMs = 15_000): Promise<T> => {
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${method} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, {
        method,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      send(params === undefined ? { id, method } : { id, method, params: params as Frame["params"] });
    });
  };

  const waitFor = (pred: (f: Frame) => boolean, timeoutMs = 15_000): Promise<Frame> => {
    const seen = frames.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (f: Frame) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`waitFor timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(w);
    });
  };

  let initializeResult: unknown = null;
  if (!opts.skipInitialize) {
    initializeResult = await request("initialize", {
      clientInfo: { name: opts.name ?? "codex_vscode", title: null, version: "1.0.0" },
      capabilities: opts.capabilities ?? null,
    });
    send({ method: "initialized" });
  }

  return {
    frames,
    initializeResult,
    request,
    notify: (method, params) =>
      send(params === undefined ? { method } : { method, params: params as Frame["params"] }),
    async startThread({ cwd, approvalPolicy }) {
      const res = await request<{ thread: { id: string } }>("thread/start", {
        cwd,
        ...(approvalPolicy ? { approvalPolicy } : {}),
      });
      return res.thread.id;
    },
    async startTurn(threadId, text) {
      const res = await request<{ turn: { id: string } }>("turn/start", {
        threadId,
        input: [{ type: "text", text, text_elements: [] }],
      });
      return res.turn.id;
    },
    async waitForTurnCompleted(threadId, turnId, timeoutMs = 20_000) {
      const already = new Set(
        frames.filter((f) => f.method === "turn/completed" && f.params?.threadId === threadId),
      );
      const f = await waitFor((fr) => {
        if (fr.method !== "turn/completed" || fr.params?.threadId !== threadId) return false;
        const turn = fr.params.turn as { id: string };
        return turnId ? turn.id === turnId : !already.has(fr);
      }, timeoutMs);
      return f.params as unknown as TurnCompleted;
    },
    interrupt: (threadId, turnId) => request("turn/interrupt", { threadId, turnId }),
    onServerRequest(h) {
      handler = h;
    },
    waitFor,
    notifications: (method, threadId) =>
      frames.filter(
        (f) =>
          f.method === method &&
          f.id === undefined &&
          (threadId === undefined || f.params?.threadId === threadId),
      ),
    close() {
      if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
      return new Promise((resolve) => {
        ws.once("close", () => resolve());
        ws.close();
      });
    },
  };
}
