/**
 * Sub-agent lineage read off the wire (issue 11): every `SubAgentSource` variant of app-server v2
 * (`source: {subAgent: …}`), an unknown one, and hostile parent ids. The thread_spawn shape is the
 * one a real 0.169.0 returned from `thread/read` of a spawned agent.
 */
import { describe, expect, it } from "vitest";
import { lineageOf, toThreadInfo } from "../src/normalize.ts";
import { ThreadSchema } from "../src/wire.ts";

const PARENT = "01a24a06-7f9b-74e0-922f-79e1b278549d";
const CHILD = "01a24a06-8193-7561-b84b-4c02be8053c2";

const info = (over: Record<string, unknown>) => toThreadInfo(ThreadSchema.parse({ id: CHILD, ...over }));

describe("sub-agent lineage", () => {
  it("reads a spawned agent as measured on 0.169.0", () => {
    const t = info({
      parentThreadId: PARENT,
      source: {
        subAgent: {
          thread_spawn: {
            parent_thread_id: PARENT,
            depth: 1,
            agent_path: null,
            agent_nickname: "Poincare",
            agent_role: null,
          },
        },
      },
    });
    expect(t).toMatchObject({
      parentThreadId: PARENT,
      subAgent: { kind: "thread_spawn", depth: 1 },
      source: "subAgent",
    });
  });

  it.each([
    ["vscode", "vscode", null],
    ["a custom source", { custom: "my-tool" }, null],
    ["a review sub-agent", { subAgent: "review" }, { kind: "review", depth: null }],
    ["a compact sub-agent", { subAgent: "compact" }, { kind: "compact", depth: null }],
    [
      "a memory consolidation",
      { subAgent: "memory_consolidation" },
      { kind: "memory_consolidation", depth: null },
    ],
    ["an other sub-agent", { subAgent: { other: "guardian" } }, { kind: "other", depth: null }],
    ["an unknown string kind", { subAgent: "planner" }, { kind: "unknown:planner", depth: null }],
    [
      "an unknown object kind",
      { subAgent: { brand_new: { depth: 3 } } },
      { kind: "unknown:brand_new", depth: 3 },
    ],
    ["an empty subAgent object", { subAgent: {} }, null],
    ["a null subAgent", { subAgent: null }, null],
    ["no source", undefined, null],
  ])("reads %s", (_name, source, subAgent) => {
    expect(info({ source }).subAgent).toEqual(subAgent);
  });

  it("takes the spawn's parent when parentThreadId is absent", () => {
    const t = info({ source: { subAgent: { thread_spawn: { parent_thread_id: PARENT, depth: 2 } } } });
    expect(t.parentThreadId).toBe(PARENT);
  });

  it.each([
    ["the thread itself", CHILD],
    ["an over-long id", "p".repeat(201)],
    ["an empty id", ""],
    ["a NUL", "a\u0000b"],
    ["a number", 42],
    ["an object", { id: PARENT }],
  ])("refuses a parent that is %s, keeping the thread", (_name, bad) => {
    const t = lineageOf(CHILD, null, { subAgent: { thread_spawn: { parent_thread_id: bad, depth: 1 } } });
    expect(t).toEqual({ parentThreadId: null, subAgent: { kind: "thread_spawn", depth: 1 } });
    // The same id in parentThreadId: the frame still parses, the parent is unknown.
    if (typeof bad === "string") expect(info({ parentThreadId: bad }).parentThreadId).toBeNull();
  });

  it.each([
    ["negative", -1],
    ["fractional", 1.5],
    ["absurd", 1e12],
    ["a string", "2"],
  ])("drops a %s depth", (_name, depth) => {
    expect(
      lineageOf(CHILD, null, { subAgent: { thread_spawn: { parent_thread_id: PARENT, depth } } }).subAgent,
    ).toEqual({
      kind: "thread_spawn",
      depth: null,
    });
  });

  it("cuts an over-long unknown kind", () => {
    const kind = lineageOf(CHILD, null, { subAgent: "k".repeat(500) }).subAgent?.kind ?? "";
    expect(kind.startsWith("unknown:kkk")).toBe(true);
    expect(kind.length).toBeLessThanOrEqual(8 + 100);
  });
});
