/**
 * A scripted stand-in for the OpenAI Responses API, for running the real `codex app-server`
 * 0.169.0 offline (see codex-app-server-facts.md, "Running the real app-server offline").
 *
 * Per-thread identification (measured with 0.169.0): every `POST /v1/responses` carries the
 * app-server thread id in the `thread-id` and `session-id` headers (hyphens, not underscores),
 * in `x-client-request-id`, and as `prompt_cache_key` in the JSON body; the `x-codex-turn-metadata`
 * header is a JSON object with `thread_id`, `session_id` and `turn_id` (the app-server turn id).
 * `servedByThread` keys on `thread-id` (fallback `prompt_cache_key`), `servedByTurn` on
 * `x-codex-turn-metadata.turn_id`.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Token usage of one scripted model response (input includes cached tokens and cache writes).
 * `cacheWrite` is sent as `input_tokens_details.cache_write_tokens`, which codex 0.169.0 reports
 * as `cacheWriteInputTokens` (measured: pricing.real.test.ts); absent = not sent.
 */
export type StepUsage = {
  input: number;
  cached: number;
  output: number;
  reasoning: number;
  cacheWrite?: number;
};

/**
 * Extra HTTP response headers of one step, e.g. codex's rate-limit headers
 * (`x-codex-primary-used-percent`, …: facts "Rate limits and credits", and {@link rateLimitHeaders}).
 */
export type StepHeaders = { headers?: Record<string, string> };

/** One scripted model behaviour; each `POST /v1/responses` consumes one step. */
export type MockStep =
  | ({ kind: "reply"; usage?: StepUsage; text?: string; delayMs?: number } & StepHeaders)
  | ({ kind: "toolCall"; command: string; usage?: StepUsage; delayMs?: number } & StepHeaders)
  /**
   * Any function call, e.g. the multi-agent `spawn_agent` (0.169.0 offers it inside the namespace
   * tool `multi_agent_v1` when `[features] multi_agent = true`: measured).
   */
  | ({
      kind: "functionCall";
      name: string;
      namespace?: string;
      arguments: unknown;
      usage?: StepUsage;
      delayMs?: number;
    } & StepHeaders)
  | { kind: "http500" }
  /**
   * HTTP 429 "usage limit" with the given headers (e.g. `x-codex-rate-limit-reached-type`): codex
   * fails the turn with `usageLimitExceeded` (facts "Rate limits and credits").
   */
  | ({ kind: "http429" } & StepHeaders)
  | { kind: "failed"; delayMs?: number }
  | { kind: "hang" };

/** Totals in the same field names as app-server's `TokenUsageBreakdown`, so tests can `toEqual`. */
export type UsageTotals = {
  totalTokens: number;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteInputTokens: number;
  outputTokens: number;
  reasoningOutputTokens: number;
};

/** One request the stand-in received. */
export type RecordedRequest = {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  /** Thread id from the `thread-id` header (or `prompt_cache_key`), if any. */
  threadId: string | null;
  /** Turn id from the `x-codex-turn-metadata` header, if any. */
  turnId: string | null;
  step: MockStep | null;
};

/** A running stand-in. */
export type MockModel = {
  /** e.g. `http://127.0.0.1:PORT/v1` — the `base_url` for config.toml. */
  baseUrl: string;
  port: number;
  /** Queue steps consumed in order by upcoming `POST /v1/responses`. */
  push(...steps: MockStep[]): void;
  requests: RecordedRequest[];
  /** Sum of usage served in `response.completed` events (ground truth). */
  served: UsageTotals;
  /** Same, per thread id. */
  servedByThread: Map<string, UsageTotals>;
  /** Same, per app-server turn id. */
  servedByTurn: Map<string, UsageTotals>;
  /** Resolves when a `hang` step has started streaming (index in order of hangs). */
  waitForHang(): Promise<void>;
  /** End every hanging stream (without `response.completed`). */
  releaseHangs(): void;
  /**
   * What `GET /backend-api/wham/usage` answers (the ChatGPT usage read behind
   * `account/rateLimits/read`, facts "Rate limits and credits"); null (the default): 404.
   * `/backend-api/wham/settings/user` is always 404 (harmless, measured).
   */
  setWhamUsage(body: unknown): void;
  close(): Promise<void>;
};

/** Usage served when the queue is empty. */
export const DEFAULT_USAGE: StepUsage = { input: 500, cached: 100, output: 20, reasoning: 5 };

/** A fresh all-zero totals record. */
export function zeroTotals(): UsageTotals {
  return {
    totalTokens: 0,
    inputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteInputTokens: 0,
    outputTokens: 0,
    reasoningOutputTokens: 0,
  };
}

function addUsage(into: UsageTotals, u: StepUsage): void {
  into.inputTokens += u.input;
  into.cachedInputTokens += u.cached;
  into.cacheWriteInputTokens += u.cacheWrite ?? 0;
  into.outputTokens += u.output;
  into.reasoningOutputTokens += u.reasoning;
  into.totalTokens += u.input + u.output;
}

function sse(res: ServerResponse, type: string, data: Record<string, unknown>): void {
  res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
}

function wireUsage(u: StepUsage): Record<string, unknown> {
  return {
    input_tokens: u.input,
    input_tokens_details: {
      cached_tokens: u.cached,
      ...(u.cacheWrite === undefined ? {} : { cache_write_tokens: u.cacheWrite }),
    },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning },
    total_tokens: u.input + u.output,
  };
}

function turnIdOf(headers: IncomingHttpHeaders): string | null {
  const raw = headers["x-codex-turn-metadata"];
  if (typeof raw !== "string") return null;
  try {
    const meta = JSON.parse(raw) as { turn_id?: unknown };
    return typeof meta.turn_id === "string" ? meta.turn_id : null;
  } catch {
    return null;
  }
}

function addTo(map: Map<string, UsageTotals>, key: string | null, u: StepUsage): void {
  if (key === null) return;
  const t = map.get(key) ?? zeroTotals();
  addUsage(t, u);
  map.set(key, t);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function threadIdOf(headers: IncomingHttpHeaders, body: unknown): string | null {
  const header = headers["thread-id"];
  if (typeof header === "string" && header !== "") return header;
  if (body && typeof body === "object" && "prompt_cache_key" in body) {
    const key = (body as { prompt_cache_key?: unknown }).prompt_cache_key;
    if (typeof key === "string") return key;
  }
  return null;
}

/** One rate-limit window as codex's response headers carry it (`x-codex-<name>-…`). */
export type HeaderWindow = { usedPercent: number; windowMinutes: number; resetAtSeconds: number };

/**
 * codex's rate-limit response headers (facts "Rate limits and credits"): the windows, and credits
 * when given (both flags are needed, or codex reports no credits).
 */
export function rateLimitHeaders(opts: {
  primary?: HeaderWindow;
  secondary?: HeaderWindow;
  credits?: { hasCredits: boolean; unlimited: boolean; balance?: string };
  limitName?: string;
}): Record<string, string> {
  const h: Record<string, string> = {};
  for (const name of ["primary", "secondary"] as const) {
    const w = opts[name];
    if (!w) continue;
    h[`x-codex-${name}-used-percent`] = String(w.usedPercent);
    h[`x-codex-${name}-window-minutes`] = String(w.windowMinutes);
    h[`x-codex-${name}-reset-at`] = String(w.resetAtSeconds);
  }
  if (opts.credits) {
    h["x-codex-credits-has-credits"] = String(opts.credits.hasCredits);
    h["x-codex-credits-unlimited"] = String(opts.credits.unlimited);
    if (opts.credits.balance !== undefined) h["x-codex-credits-balance"] = opts.credits.balance;
  }
  if (opts.limitName !== undefined) h["x-codex-limit-name"] = opts.limitName;
  return h;
}

/** Start the stand-in on 127.0.0.1, port 0. */
export async function startMockModel(): Promise<MockModel> {
  const queue: MockStep[] = [];
  const requests: RecordedRequest[] = [];
  const served = zeroTotals();
  const servedByThread = new Map<string, UsageTotals>();
  const servedByTurn = new Map<string, UsageTotals>();
  const hanging = new Set<ServerResponse>();
  const hangWaiters: Array<() => void> = [];
  let hangsStarted = 0;
  let hangsAwaited = 0;
  let seq = 0;
  let whamUsage: unknown = null;

  const complete = (res: ServerResponse, id: string, usage: StepUsage, rec: RecordedRequest) => {
    sse(res, "response.completed", { response: { id, usage: wireUsage(usage) } });
    addUsage(served, usage);
    addTo(servedByThread, rec.threadId, usage);
    addTo(servedByTurn, rec.turnId, usage);
    res.end();
  };

  const serveStep = async (res: ServerResponse, step: MockStep, rec: RecordedRequest) => {
    const n = ++seq;
    const id = `resp_mock_${n}`;
    if (step.kind === "http500") {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "mock 500", type: "server_error" } }));
      return;
    }
    if (step.kind === "http429") {
      res.writeHead(429, { "content-type": "application/json", ...step.headers });
      res.end(
        JSON.stringify({
          error: { type: "usage_limit_reached", message: "mock usage limit reached", plan_type: "plus" },
        }),
      );
      return;
    }
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      ...("headers" in step ? step.headers : {}),
    });
    sse(res, "response.created", { response: { id } });
    if (step.kind === "hang") {
      hanging.add(res);
      res.on("close", () => hanging.delete(res));
      hangsStarted++;
      for (const w of hangWaiters.splice(0)) w();
      return;
    }
    if ("delayMs" in step && step.delayMs) await sleep(step.delayMs);
    if (step.kind === "failed") {
      sse(res, "response.failed", {
        response: { id, error: { code: "server_error", message: "mock response.failed" } },
      });
      res.end();
      return;
    }
    const usage = step.usage ?? DEFAULT_USAGE;
    if (step.kind === "toolCall" || step.kind === "functionCall") {
      const item = {
        type: "function_call",
        id: `fc_mock_${n}`,
        call_id: `call_mock_${n}`,
        ...(step.kind === "toolCall"
          ? { name: "exec_command", arguments: JSON.stringify({ cmd: step.command }) }
          : {
              name: step.name,
              ...(step.namespace ? { namespace: step.namespace } : {}),
              arguments: JSON.stringify(step.arguments),
            }),
      };
      sse(res, "response.output_item.added", { output_index: 0, item });
      sse(res, "response.output_item.done", { output_index: 0, item });
      complete(res, id, usage, rec);
      return;
    }
    const text = step.text ?? `mock reply #${n}`;
    const msgId = `msg_mock_${n}`;
    sse(res, "response.output_item.added", {
      output_index: 0,
      item: { type: "message", role: "assistant", id: msgId, content: [] },
    });
    sse(res, "response.output_text.delta", {
      item_id: msgId,
      output_index: 0,
      content_index: 0,
      delta: text,
    });
    sse(res, "response.output_item.done", {
      output_index: 0,
      item: {
        type: "message",
        role: "assistant",
        id: msgId,
        content: [{ type: "output_text", text, annotations: [] }],
      },
    });
    complete(res, id, usage, rec);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : null;
      } catch {
        // keep raw text
      }
      const path = (req.url ?? "").split("?")[0] ?? "";
      const rec: RecordedRequest = {
        method: req.method ?? "",
        path,
        headers: req.headers,
        body,
        threadId: threadIdOf(req.headers, body),
        turnId: turnIdOf(req.headers),
        step: null,
      };
      requests.push(rec);
      if (req.method === "POST" && path.endsWith("/responses")) {
        const step: MockStep = queue.shift() ?? { kind: "reply" };
        rec.step = step;
        serveStep(res, step, rec).catch(() => res.destroy());
        return;
      }
      if (req.method === "GET" && path.endsWith("/backend-api/wham/usage") && whamUsage !== null) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(whamUsage));
        return;
      }
      if (req.method === "GET" && path.endsWith("/models")) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ models: [] }));
        return;
      }
      res.writeHead(404);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    port,
    push: (...steps) => queue.push(...steps),
    requests,
    served,
    servedByThread,
    servedByTurn,
    waitForHang() {
      const target = ++hangsAwaited;
      if (hangsStarted >= target) return Promise.resolve();
      return new Promise((resolve) => {
        const check = () => (hangsStarted >= target ? resolve() : hangWaiters.push(check));
        hangWaiters.push(check);
      });
    },
    releaseHangs() {
      for (const res of hanging) res.end();
      hanging.clear();
    },
    setWhamUsage(body) {
      whamUsage = body;
    },
    async close() {
      for (const res of hanging) res.destroy();
      hanging.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
