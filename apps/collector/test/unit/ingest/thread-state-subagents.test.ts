/** Sub-agent lineage in the thread reducer: set from thread metadata, set once, written. */
import type { ThreadInfo } from "@codex-fleet/protocol/events";
import { describe, expect, it } from "vitest";
import { reduce, type ThreadState } from "../../../src/ingest/thread-state.ts";

const T = 1_795_245_000_000;

function info(over: Partial<ThreadInfo> = {}): ThreadInfo {
  return {
    id: "child",
    model: "gpt-5.4",
    modelProvider: "openai",
    cwd: null,
    gitBranch: null,
    gitOrigin: null,
    source: "subAgent",
    name: null,
    cliVersion: "0.169.0",
    status: { type: "idle", activeFlags: [] },
    createdAtMs: T,
    updatedAtMs: T,
    parentThreadId: "root",
    subAgent: { kind: "thread_spawn", depth: 1 },
    ...over,
  };
}

describe("thread reducer: sub-agent lineage", () => {
  it("takes the parent, kind and depth from thread/read metadata of a thread first met by its usage", () => {
    const first = reduce(undefined, "alice", {
      kind: "threadStatus",
      atMs: T,
      threadId: "child",
      status: { type: "active", activeFlags: [] },
    });
    expect(first.state).toMatchObject({ parentThreadId: null, subAgentKind: null, subAgentDepth: null });
    const read = reduce(first.state, "alice", { kind: "threadMetadata", atMs: T + 1, thread: info() });
    expect(read.state).toMatchObject({
      parentThreadId: "root",
      subAgentKind: "thread_spawn",
      subAgentDepth: 1,
    });
    const written = read.ops.find((op) => op.op === "thread");
    expect(written?.op === "thread" && written.state.parentThreadId).toBe("root");
  });

  it("never re-parents: a later report with another parent (or none) keeps the first", () => {
    const s = reduce(undefined, "alice", { kind: "threadStarted", atMs: T, thread: info() })
      .state as ThreadState;
    const moved = reduce(s, "alice", {
      kind: "threadStarted",
      atMs: T + 1,
      thread: info({ parentThreadId: "elsewhere", subAgent: { kind: "review", depth: null } }),
    }).state;
    expect(moved).toMatchObject({ parentThreadId: "root", subAgentKind: "thread_spawn", subAgentDepth: 1 });
    const none = reduce(moved, "alice", {
      kind: "threadMetadata",
      atMs: T + 2,
      thread: info({ parentThreadId: null, subAgent: null }),
    }).state;
    expect(none).toMatchObject({ parentThreadId: "root", subAgentKind: "thread_spawn" });
  });
});
