import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { normalizeFrame } from "../src/normalize.ts";

const NOW = 1_800_000_000_000;
const fixturesDir = join(import.meta.dirname, "fixtures/real-0.169.0");

function capturedFrames(): { file: string; frame: Record<string, unknown> }[] {
  const out: { file: string; frame: Record<string, unknown> }[] = [];
  for (const file of readdirSync(fixturesDir)) {
    for (const line of readFileSync(join(fixturesDir, file), "utf8").split("\n")) {
      if (!line.trim()) continue;
      const rec = JSON.parse(line) as { dir: string; frame: Record<string, unknown> };
      if (rec.dir === "in") out.push({ file, frame: rec.frame });
    }
  }
  return out;
}

describe("normalizeFrame on frames captured from the real app-server 0.169.0", () => {
  const frames = capturedFrames();

  it("has captures to check", () => {
    expect(frames.length).toBeGreaterThan(300);
  });

  it("classifies every captured frame without an invalid one", () => {
    const invalid = frames
      .map(({ file, frame }) => ({
        file,
        method: frame.method,
        r: normalizeFrame(JSON.stringify(frame), NOW),
      }))
      .filter((x) => x.r.type === "invalid");
    expect(invalid).toEqual([]);
  });

  it("knows every method the real server sent (none counted as unknown)", () => {
    const unknown = new Set<string>();
    for (const { frame } of frames) {
      const r = normalizeFrame(JSON.stringify(frame), NOW);
      if (r.type === "event" && r.event.kind === "unknown") unknown.add(r.event.method);
    }
    expect([...unknown]).toEqual([]);
  });

  it("reads token usage totals exactly as sent", () => {
    const usage = frames.filter(({ frame }) => frame.method === "thread/tokenUsage/updated");
    expect(usage.length).toBeGreaterThan(5);
    for (const { frame } of usage) {
      const r = normalizeFrame(JSON.stringify(frame), NOW);
      const p = frame.params as { threadId: string; tokenUsage: { total: Record<string, number> } };
      expect(r.type === "event" && r.event.kind === "tokenUsage" && r.event.total.totalTokens).toBe(
        p.tokenUsage.total.totalTokens,
      );
      expect(r.type === "event" && r.event.atMs).toBe(frame.emittedAtMs);
    }
  });

  it("turns the captured approval into a recorded server request with a command preview", () => {
    const req = frames.find(({ frame }) => frame.method === "item/commandExecution/requestApproval");
    expect(req).toBeDefined();
    const r = normalizeFrame(JSON.stringify(req?.frame), NOW);
    expect(r).toMatchObject({
      type: "event",
      event: { kind: "serverRequest", requestKind: "commandApproval", requestId: req?.frame.id },
    });
    if (r.type === "event" && r.event.kind === "serverRequest") expect(r.event.preview).toMatch(/touch/);
  });
});

describe("normalizeFrame on hand-made frames", () => {
  const usage = (total: unknown) =>
    JSON.stringify({
      method: "thread/tokenUsage/updated",
      params: {
        threadId: "t1",
        turnId: "u1",
        tokenUsage: { total, last: total, modelContextWindow: 1000 },
      },
      emittedAtMs: 5,
    });
  const counts = {
    totalTokens: 10,
    inputTokens: 8,
    cachedInputTokens: 2,
    outputTokens: 2,
    reasoningOutputTokens: 1,
  };

  it.each([
    ["malformed JSON", "{not json", "malformed JSON"],
    ["a JSON array", "[1,2]", "frame is not a JSON object"],
    ["a JSON string", '"hi"', "frame is not a JSON object"],
    ["null", "null", "frame is not a JSON object"],
    ["an object with neither method nor id", "{}", "neither method nor id"],
    ["a non-string method", '{"method":5}', "method is not a string"],
    ["a negative token count", usage({ ...counts, inputTokens: -1 }), "params.tokenUsage.total.inputTokens"],
    [
      "a fractional token count",
      usage({ ...counts, outputTokens: 1.5 }),
      "params.tokenUsage.total.outputTokens",
    ],
    [
      "a token count beyond 2^53",
      usage({ ...counts, totalTokens: 2 ** 60 }),
      "params.tokenUsage.total.totalTokens",
    ],
    ["a string token count", usage({ ...counts, totalTokens: "10" }), "params.tokenUsage.total.totalTokens"],
    [
      "a missing threadId",
      '{"method":"thread/status/changed","params":{"status":{"type":"idle"}}}',
      "params.threadId",
    ],
    [
      "a status without a type (an unknown type is kept: open-enums.test.ts)",
      '{"method":"thread/status/changed","params":{"threadId":"t","status":{"kind":"idle"}}}',
      "params.status",
    ],
    ["a bad response id", '{"id":{"x":1},"result":{}}', "response id"],
  ])("reports %s as invalid", (_name, data, reason) => {
    const r = normalizeFrame(data, NOW);
    expect(r.type).toBe("invalid");
    if (r.type === "invalid") expect(r.reason).toContain(reason);
  });

  it("normalizes a valid usage frame", () => {
    expect(normalizeFrame(usage(counts), NOW)).toEqual({
      type: "event",
      event: {
        kind: "tokenUsage",
        atMs: 5,
        threadId: "t1",
        turnId: "u1",
        total: {
          inputTokens: 8,
          cachedInputTokens: 2,
          cacheWriteInputTokens: 0, // absent on the wire: 0
          outputTokens: 2,
          reasoningOutputTokens: 1,
          totalTokens: 10,
        },
        last: {
          inputTokens: 8,
          cachedInputTokens: 2,
          cacheWriteInputTokens: 0,
          outputTokens: 2,
          reasoningOutputTokens: 1,
          totalTokens: 10,
        },
        modelContextWindow: 1000,
      },
    });
  });

  it("does carry cacheWriteInputTokens through when the server sends it", () => {
    const r = normalizeFrame(usage({ ...counts, cacheWriteInputTokens: 3 }), NOW);
    expect(r).toMatchObject({
      type: "event",
      event: { total: { cacheWriteInputTokens: 3, inputTokens: 8 } },
    });
  });

  it.each([
    ["negative", -1],
    ["fractional", 1.5],
    ["a string", "3"],
  ])("does refuse a %s cacheWriteInputTokens", (_name, value) => {
    const r = normalizeFrame(usage({ ...counts, cacheWriteInputTokens: value }), NOW);
    expect(r.type).toBe("invalid");
    if (r.type === "invalid") expect(r.reason).toContain("cacheWriteInputTokens");
  });

  it.each([
    ["an unknown method", '{"method":"future/thing","params":{}}', "unknown"],
    ["a known but unconsumed method", '{"method":"thread/queue/changed","params":{}}', "ignored"],
  ])("counts %s without failing", (_name, data, kind) => {
    expect(normalizeFrame(data, NOW)).toMatchObject({ type: "event", event: { kind, atMs: NOW } });
  });

  it.each([
    ['"internalServerError"', { name: "internalServerError", code: null }],
    [
      '{"responseStreamDisconnected":{"httpStatusCode":502}}',
      { name: "responseStreamDisconnected", code: 502 },
    ],
    ["null", { name: null, code: null }],
  ])("flattens codexErrorInfo %s", (info, want) => {
    const r = normalizeFrame(
      `{"method":"error","params":{"threadId":"t","turnId":"u","willRetry":true,"error":{"message":"m","codexErrorInfo":${info}}}}`,
      NOW,
    );
    expect(r).toMatchObject({
      type: "event",
      event: {
        kind: "error",
        willRetry: true,
        error: { codexErrorInfo: want.name, httpStatusCode: want.code },
      },
    });
  });

  it("falls back to the receive time when emittedAtMs is missing or nonsense", () => {
    for (const emitted of ["", ',"emittedAtMs":"x"', ',"emittedAtMs":-5']) {
      const r = normalizeFrame(`{"method":"thread/closed","params":{"threadId":"t"}${emitted}}`, NOW);
      expect(r).toMatchObject({ type: "event", event: { kind: "threadClosed", atMs: NOW } });
    }
  });

  it("classifies server requests by method and never needs their params to be valid", () => {
    expect(
      normalizeFrame(
        '{"id":7,"method":"item/tool/requestUserInput","params":{"threadId":"t","turnId":"u"}}',
        NOW,
      ),
    ).toMatchObject({
      type: "event",
      event: { kind: "serverRequest", requestId: 7, requestKind: "userInput", threadId: "t" },
    });
    expect(normalizeFrame('{"id":"x","method":"something/new","params":42}', NOW)).toMatchObject({
      type: "event",
      event: { kind: "serverRequest", requestId: "x", requestKind: "unknown:something/new", threadId: null },
    });
  });

  it("drops the thread preview (the user's prompt) from thread metadata", () => {
    const r = normalizeFrame(
      JSON.stringify({
        method: "thread/started",
        params: {
          thread: {
            id: "t",
            preview: "secret prompt",
            cwd: "/w",
            createdAt: 100,
            status: { type: "idle" },
            gitInfo: { branch: "main", originUrl: "git@github.com:a/b.git" },
          },
        },
      }),
      NOW,
    );
    expect(JSON.stringify(r)).not.toContain("secret prompt");
    expect(r).toMatchObject({ event: { thread: { id: "t", createdAtMs: 100_000, gitBranch: "main" } } });
  });
});
