import { describe, expect, it } from "vitest";
import { packMessages, type ReplicaMessage, readPayload } from "../../../src/cluster/replica-messages.ts";
import { emptyThread } from "../../../src/ingest/thread-state.ts";

const bytes = (s: string) => Buffer.byteLength(s, "utf8");
const thread = (id: string, cwd: string | null = null): ReplicaMessage => ({
  k: "thread",
  state: { ...emptyThread(id, "sim", 1000), cwd },
});

describe("packMessages / readPayload", () => {
  it("does round-trip every kind, in order, in one payload when it fits", () => {
    const messages: ReplicaMessage[] = [
      thread("th-1"),
      {
        k: "target",
        name: "sim",
        state: {
          status: {
            state: "open",
            reason: null,
            error: null,
            sinceMs: 5,
            attempt: 0,
            nextAttemptAtMs: null,
            userAgent: "ua",
          },
          lastEventAtMs: 6,
          lastContactAtMs: null,
          connectedSinceMs: 5,
          lastInvalid: null,
        },
      },
      { k: "usage", threadId: "th-1", targetId: "sim", atMs: 7, totalTokens: 42 },
      {
        k: "failed",
        targetId: "sim",
        event: {
          kind: "turnCompleted",
          atMs: 8,
          threadId: "th-1",
          turn: {
            id: "tu-1",
            status: "failed",
            error: { message: "boom", codexErrorInfo: "internalServerError", httpStatusCode: 500 },
            startedAtMs: 1,
            completedAtMs: 8,
            durationMs: 7,
          },
        },
      },
      { k: "managed" },
      { k: "alerts" },
    ];
    const payloads = packMessages("me", messages, 7999);
    expect(payloads).toHaveLength(1);
    expect(readPayload(payloads[0] ?? "")).toEqual({ from: "me", messages });
  });

  it("does split into payloads within the byte limit, keeping the order", () => {
    const messages = Array.from({ length: 200 }, (_, i) => thread(`th-${i}`, `/home/dév/${i}`));
    const payloads = packMessages("me", messages, 7999);
    expect(payloads.length).toBeGreaterThan(1);
    for (const p of payloads) expect(bytes(p)).toBeLessThanOrEqual(7999);
    const back = payloads.flatMap((p) => readPayload(p)?.messages ?? []);
    expect(back).toEqual(messages);
  });

  it("does send a state larger than a payload as its re-read form", () => {
    const big = thread("th-big", `/${"é".repeat(4000)}`); // 8 KB of UTF-8, 4 K characters
    const payloads = packMessages("me", [thread("th-1"), big], 7999);
    for (const p of payloads) expect(bytes(p)).toBeLessThanOrEqual(7999);
    const back = payloads.flatMap((p) => readPayload(p)?.messages ?? []);
    expect(back).toEqual([thread("th-1"), { k: "thread?", id: "th-big" }]);
  });

  it("does drop malformed payloads and skip unknown or malformed messages", () => {
    expect(readPayload("not json")).toBeNull();
    expect(readPayload(JSON.stringify({ v: 2, from: "x", m: [] }))).toBeNull();
    expect(readPayload(JSON.stringify({ v: 1, from: "", m: [] }))).toBeNull();
    const read = readPayload(
      JSON.stringify({
        v: 1,
        from: "x",
        m: [
          { k: "future-kind" },
          { k: "thread", state: { id: 1 } },
          { k: "usage", threadId: "t" },
          { k: "limits", row: { target: "alice", primary: "64 %" } },
          { k: "alerts" },
        ],
      }),
    );
    expect(read).toEqual({ from: "x", messages: [{ k: "alerts" }] });
  });
});
