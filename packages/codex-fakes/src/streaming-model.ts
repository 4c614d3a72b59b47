/**
 * A stand-in for the OpenAI Responses API that streams replies the way the real one does: one
 * `response.output_text.delta` per token (about four characters), so the real app-server forwards
 * a realistic number of `item/agentMessage/delta` notifications to a full client. The SSE framing
 * and usage fields are those of mock-model.ts (facts: "Running the real app-server
 * offline"); each step is consumed by one `POST /v1/responses`.
 */
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Usage of one response (input includes cached tokens). */
export interface StreamUsage {
  input: number;
  cached: number;
  output: number;
  reasoning: number;
}

/** One scripted response. */
export type StreamStep =
  | { kind: "reply"; usage: StreamUsage; text: string; delayMs?: number }
  | { kind: "toolCall"; usage: StreamUsage; command: string; delayMs?: number };

/** A running stand-in. */
export interface StreamingModel {
  baseUrl: string;
  push(...steps: StreamStep[]): void;
  /** Sum of totalTokens served. */
  readonly servedTokens: number;
  close(): Promise<void>;
}

const CHARS_PER_TOKEN = 4;

function sse(res: ServerResponse, type: string, data: Record<string, unknown>): void {
  res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
}

/** Listen on 127.0.0.1:0. */
export async function startStreamingModel(): Promise<StreamingModel> {
  const queue: StreamStep[] = [];
  let served = 0;
  let n = 0;
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url?.startsWith("/v1/models")) {
      res.writeHead(200, { "content-type": "application/json" }).end('{"models":[]}');
      return;
    }
    req.resume();
    req.on("end", () => void serve(res));
  });
  const serve = async (res: ServerResponse): Promise<void> => {
    const step = queue.shift();
    if (!step) {
      res.writeHead(500).end();
      return;
    }
    const id = `resp_stream_${++n}`;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    sse(res, "response.created", { response: { id } });
    if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
    if (step.kind === "toolCall") {
      const item = {
        type: "function_call",
        id: `fc_${n}`,
        call_id: `call_${n}`,
        name: "exec_command",
        arguments: JSON.stringify({ cmd: step.command }),
      };
      sse(res, "response.output_item.added", { output_index: 0, item });
      sse(res, "response.output_item.done", { output_index: 0, item });
    } else {
      const msgId = `msg_${n}`;
      sse(res, "response.output_item.added", {
        output_index: 0,
        item: { type: "message", role: "assistant", id: msgId, content: [] },
      });
      for (let i = 0; i < step.text.length; i += CHARS_PER_TOKEN) {
        sse(res, "response.output_text.delta", {
          item_id: msgId,
          output_index: 0,
          content_index: 0,
          delta: step.text.slice(i, i + CHARS_PER_TOKEN),
        });
      }
      sse(res, "response.output_item.done", {
        output_index: 0,
        item: {
          type: "message",
          role: "assistant",
          id: msgId,
          content: [{ type: "output_text", text: step.text }],
        },
      });
    }
    const u = step.usage;
    sse(res, "response.completed", {
      response: {
        id,
        usage: {
          input_tokens: u.input,
          input_tokens_details: { cached_tokens: u.cached },
          output_tokens: u.output,
          output_tokens_details: { reasoning_tokens: u.reasoning },
          total_tokens: u.input + u.output,
        },
      },
    });
    served += u.input + u.output;
    res.end();
  };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    push: (...steps) => queue.push(...steps),
    get servedTokens() {
      return served;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
