/** Enums read off the wire are open: unknown variants are kept as `unknown:<name>`, never dropped. */
import { describe, expect, it } from "vitest";
import { ThreadViewSchema, TurnViewSchema } from "../src/api.ts";
import { CUT_MARKER, WIRE_LIMITS } from "../src/bounds.ts";
import { isWaitingOn } from "../src/events.ts";
import { normalizeFrame, serverRequestKind, unknownVariantsOf } from "../src/normalize.ts";
import {
  isOpenEnumValue,
  THREAD_STATUSES,
  ThreadStatusTypeSchema,
  TurnStatusSchema,
  unknownVariant,
} from "../src/status.ts";

const NOW = 1_800_000_000_000;
const frame = (method: string, params: unknown) => normalizeFrame(JSON.stringify({ method, params }), NOW);
const turn = (status: string) => ({
  id: "u1",
  status,
  error: null,
  startedAt: 1,
  completedAt: 2,
  durationMs: 1000,
});

describe("unknown thread statuses", () => {
  it("keeps a thread/status/changed with {type: 'paused'} as unknown:paused", () => {
    expect(
      frame("thread/status/changed", { threadId: "t", status: { type: "paused", activeFlags: ["x"] } }),
    ).toEqual({
      type: "event",
      event: {
        kind: "threadStatus",
        atMs: NOW,
        threadId: "t",
        status: { type: "unknown:paused", activeFlags: [] },
      },
    });
  });

  it("keeps a thread/started whose thread has an unknown status", () => {
    const r = frame("thread/started", { thread: { id: "t", status: { type: "hibernating" } } });
    expect(r).toMatchObject({
      type: "event",
      event: { kind: "threadStarted", thread: { status: { type: "unknown:hibernating" } } },
    });
  });

  it("still reads known statuses and their flags as before", () => {
    const r = frame("thread/status/changed", {
      threadId: "t",
      status: { type: "active", activeFlags: ["waitingOnApproval"] },
    });
    expect(r).toMatchObject({ event: { status: { type: "active", activeFlags: ["waitingOnApproval"] } } });
    // A known type with a broken shape is not turned into an unknown variant.
    expect(
      frame("thread/status/changed", { threadId: "t", status: { type: "active", activeFlags: 5 } }).type,
    ).toBe("invalid");
  });

  it("cuts an unknown variant's name to WIRE_LIMITS.kind", () => {
    const r = frame("thread/status/changed", { threadId: "t", status: { type: "z".repeat(5000) } });
    if (r.type !== "event" || r.event.kind !== "threadStatus") throw new Error("expected a status event");
    expect(r.event.status.type.length).toBe("unknown:".length + WIRE_LIMITS.kind);
    expect(r.event.status.type.endsWith(CUT_MARKER)).toBe(true);
  });
});

describe("unknown turn statuses", () => {
  it("keeps a turn/completed with status 'cancelled' as unknown:cancelled", () => {
    expect(frame("turn/completed", { threadId: "t", turn: turn("cancelled") })).toMatchObject({
      type: "event",
      event: {
        kind: "turnCompleted",
        threadId: "t",
        turn: { id: "u1", status: "unknown:cancelled", durationMs: 1000 },
      },
    });
  });

  it("keeps a turn/started with an unknown status and reads known ones as is", () => {
    expect(frame("turn/started", { threadId: "t", turn: turn("queued") })).toMatchObject({
      event: { kind: "turnStarted", turn: { status: "unknown:queued" } },
    });
    expect(frame("turn/completed", { threadId: "t", turn: turn("failed") })).toMatchObject({
      event: { turn: { status: "failed" } },
    });
  });
});

describe("server request kinds", () => {
  it.each([
    ["item/tool/requestUserInput", "userInput"],
    ["item/permissions/requestApproval", "permissionsApproval"],
    ["item/fileChange/requestApproval", "fileChangeApproval"],
    ["item/commandExecution/requestApproval", "commandApproval"],
    ["applyPatchApproval", "fileChangeApproval"],
    ["execCommandApproval", "commandApproval"],
    ["mcpServer/elicitation/request", "elicitation"],
    ["item/tool/call", "toolCall"],
    ["account/somethingNew", "unknown:account/somethingNew"],
    ["toString", "unknown:toString"],
  ])("classifies %s as %s", (method, kind) => {
    expect(serverRequestKind(method)).toBe(kind);
    expect(normalizeFrame(JSON.stringify({ id: 3, method, params: { threadId: "t" } }), NOW)).toMatchObject({
      type: "event",
      event: { kind: "serverRequest", requestId: 3, method, requestKind: kind, threadId: "t" },
    });
  });

  it("cuts an unknown method's kind", () => {
    expect(serverRequestKind("m".repeat(150)).length).toBe("unknown:".length + WIRE_LIMITS.kind);
  });

  it("makes approvals, requestUserInput and elicitations count as waiting, tool calls not", () => {
    const active = (requestKind: string) => ({
      status: "active",
      activeFlags: [],
      pendingRequests: [{ requestKind }],
    });
    expect(isWaitingOn(active("commandApproval"), "waitingOnApproval")).toBe(true);
    expect(isWaitingOn(active("permissionsApproval"), "waitingOnApproval")).toBe(true);
    expect(isWaitingOn(active("userInput"), "waitingOnUserInput")).toBe(true);
    expect(isWaitingOn(active("userInput"), "waitingOnApproval")).toBe(false);
    expect(isWaitingOn(active("elicitation"), "waitingOnUserInput")).toBe(true);
    expect(isWaitingOn(active("toolCall"), "waitingOnUserInput")).toBe(false);
    expect(isWaitingOn(active("toolCall"), "waitingOnApproval")).toBe(false);
    expect(isWaitingOn({ ...active("commandApproval"), status: "idle" }, "waitingOnApproval")).toBe(false);
    expect(
      isWaitingOn(
        { status: "active", activeFlags: ["waitingOnUserInput"], pendingRequests: [] },
        "waitingOnUserInput",
      ),
    ).toBe(true);
  });
});

describe("counting unknown variants", () => {
  it("lists every unknown variant an event carries", () => {
    const events = [
      frame("thread/status/changed", { threadId: "t", status: { type: "paused" } }),
      frame("thread/status/changed", {
        threadId: "t",
        status: { type: "active", activeFlags: ["waitingOnApproval", "waitingOnGod"] },
      }),
      frame("turn/completed", { threadId: "t", turn: turn("cancelled") }),
      normalizeFrame('{"id":1,"method":"brand/new","params":{}}', NOW),
      frame("turn/completed", { threadId: "t", turn: turn("completed") }),
    ];
    expect(events.map((f) => (f.type === "event" ? unknownVariantsOf(f.event) : null))).toEqual([
      [{ field: "threadStatus", value: "paused" }],
      [{ field: "activeFlag", value: "waitingOnGod" }],
      [{ field: "turnStatus", value: "cancelled" }],
      [{ field: "requestKind", value: "brand/new" }],
      [],
    ]);
  });
});

describe("stored and API values", () => {
  it("accepts known values and unknown:<name>, nothing else", () => {
    expect(ThreadStatusTypeSchema.safeParse("idle").success).toBe(true);
    expect(ThreadStatusTypeSchema.safeParse("unknown:paused").success).toBe(true);
    expect(ThreadStatusTypeSchema.safeParse("paused").success).toBe(false);
    expect(TurnStatusSchema.safeParse("unknown:cancelled").success).toBe(true);
    expect(TurnStatusSchema.safeParse("cancelled").success).toBe(false);
    expect(ThreadViewSchema.shape.status.safeParse(unknownVariant("paused")).success).toBe(true);
    expect(TurnViewSchema.shape.status.safeParse("unknown:cancelled").success).toBe(true);
  });

  it("lets API filters name an unknown status", () => {
    expect(isOpenEnumValue(THREAD_STATUSES, "idle")).toBe(true);
    expect(isOpenEnumValue(THREAD_STATUSES, "unknown:paused")).toBe(true);
    expect(isOpenEnumValue(THREAD_STATUSES, "unknown:")).toBe(false);
    expect(isOpenEnumValue(THREAD_STATUSES, "paused")).toBe(false);
    expect(isOpenEnumValue(THREAD_STATUSES, `unknown:${"x".repeat(101)}`)).toBe(false);
  });
});
