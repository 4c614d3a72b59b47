import { describe, expect, it } from "vitest";
import { CUT_MARKER, cut, WIRE_LIMITS } from "../src/bounds.ts";
import { normalizeFrame } from "../src/normalize.ts";

const frame = (m: unknown) => normalizeFrame(JSON.stringify(m), 1000);
const total = (n: number) => ({
  totalTokens: n,
  inputTokens: n,
  cachedInputTokens: 0,
  outputTokens: 0,
  reasoningOutputTokens: 0,
});

describe("cut", () => {
  it("keeps short text, cuts long text to the limit with the marker, removes NUL", () => {
    expect(cut("gpt-5", 200)).toBe("gpt-5");
    const long = cut("x".repeat(500), 200);
    expect(long).toHaveLength(200);
    expect(long.endsWith(CUT_MARKER)).toBe(true);
    expect(cut("a\u0000b", 10)).toBe("ab");
  });

  it("never splits a surrogate pair", () => {
    const text = "😀".repeat(300);
    const c = cut(text, 101);
    expect(c.length).toBeLessThanOrEqual(101);
    expect(c.endsWith(CUT_MARKER)).toBe(true);
    expect(Buffer.from(c, "utf8").toString("utf8")).toBe(c);
    expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(c)).toBe(false);
  });
});

describe("strings off the wire are bounded", () => {
  it("cuts a thread's text fields and keeps the frame", () => {
    const f = frame({
      method: "thread/started",
      params: {
        thread: {
          id: "th-1",
          model: "m".repeat(4000),
          cwd: `/${"d".repeat(10_000)}`,
          name: "n".repeat(5000),
          cliVersion: "v".repeat(500),
          gitInfo: { branch: "b".repeat(1000), originUrl: "u".repeat(5000), sha: "s".repeat(500) },
          status: { type: "active", activeFlags: Array.from({ length: 50 }, () => "f".repeat(300)) },
        },
      },
    });
    expect(f.type).toBe("event");
    if (f.type !== "event" || f.event.kind !== "threadStarted") throw new Error("not a thread");
    const t = f.event.thread;
    expect(t.model).toHaveLength(WIRE_LIMITS.model);
    expect(t.cwd).toHaveLength(WIRE_LIMITS.cwd);
    expect(t.name).toHaveLength(WIRE_LIMITS.name);
    expect(t.cliVersion).toHaveLength(WIRE_LIMITS.version);
    expect(t.gitBranch).toHaveLength(WIRE_LIMITS.gitBranch);
    expect(t.gitOrigin).toHaveLength(WIRE_LIMITS.gitOriginUrl);
    expect(t.status.activeFlags).toHaveLength(WIRE_LIMITS.activeFlags);
    expect(t.status.activeFlags[0]).toHaveLength(WIRE_LIMITS.kind);
  });

  it("refuses an id past its limit, but keeps a token report whose turn id is unusable", () => {
    const longId = "t".repeat(WIRE_LIMITS.id + 1);
    expect(frame({ method: "thread/closed", params: { threadId: longId } }).type).toBe("invalid");
    const f = frame({
      method: "thread/tokenUsage/updated",
      params: { threadId: "th-1", turnId: longId, tokenUsage: { total: total(70), last: total(70) } },
    });
    if (f.type !== "event" || f.event.kind !== "tokenUsage") throw new Error(`not a token report: ${f.type}`);
    expect(f.event.turnId).toBeNull();
    expect(f.event.total.totalTokens).toBe(70);
  });

  it("records a server request whose thread id is unusable, with a bounded method and preview", () => {
    const method = `x/${"y".repeat(5000)}`;
    const f = frame({ id: 1, method, params: { threadId: "t".repeat(6000), command: "c".repeat(50_000) } });
    if (f.type !== "event" || f.event.kind !== "serverRequest") throw new Error("not a request");
    expect(f.event.threadId).toBeNull();
    expect(f.event.method).toHaveLength(WIRE_LIMITS.id);
    expect(f.event.preview?.length).toBeLessThanOrEqual(120);
  });

  it("cuts model/rerouted and error texts, and unknown method names", () => {
    const r = frame({
      method: "model/rerouted",
      params: { threadId: "th", turnId: "tu", fromModel: "a".repeat(4000), toModel: "b".repeat(4000) },
    });
    if (r.type !== "event" || r.event.kind !== "modelRerouted") throw new Error("not a reroute");
    expect(r.event.toModel).toHaveLength(WIRE_LIMITS.model);
    const e = frame({
      method: "error",
      params: { threadId: "th", error: { message: "e".repeat(200_000), codexErrorInfo: "k".repeat(500) } },
    });
    if (e.type !== "event" || e.event.kind !== "error") throw new Error("not an error");
    expect(e.event.error.message).toHaveLength(WIRE_LIMITS.errorMessage);
    expect(e.event.error.codexErrorInfo).toHaveLength(WIRE_LIMITS.kind);
    const u = frame({ method: `u/${"z".repeat(100_000)}`, params: {} });
    if (u.type !== "event" || u.event.kind !== "unknown") throw new Error("not unknown");
    expect(u.event.method).toHaveLength(WIRE_LIMITS.id);
  });
});
