import { LiveMessageSchema } from "@codex-fleet/protocol/live";
import { describe, expect, it } from "vitest";
import { threadView } from "../../../src/api/views.ts";
import { emptyThread } from "../../../src/ingest/thread-state.ts";
import { type LiveSnapshot, snapshotFrame, threadViewJson } from "../../../src/live/hub.ts";

const thread = (id: string, name: string | null) =>
  threadView(
    {
      ...emptyThread(id, "dev-1", 1_700_000_000_000),
      name,
      status: "active",
      activeFlags: ["waitingOnApproval"],
      goal: {
        objective: "ship",
        status: "active",
        tokenBudget: 1000,
        tokensUsed: 10,
        createdAt: 1,
        updatedAt: 2,
        updatedAtMs: 3,
        statusSinceMs: 4,
      } as never,
    },
    'team "a"',
  );

describe("snapshotFrame (the live snapshot, its threads' JSON reused)", () => {
  const alert = { id: "a1" } as unknown as LiveSnapshot["alerts"][number];
  const target = { name: "dev-1", labels: { x: "y" } } as unknown as LiveSnapshot["targets"][number];
  const views = [
    thread("t1", 'quote " backslash \\ newline \n'),
    thread("t2", "\u2028 ünïcödé 🎉"),
    thread("t3", null),
  ];
  const cases: { name: string; snap: Omit<LiveSnapshot, "threads">; threads: typeof views }[] = [
    { name: "empty", snap: { targets: [], alerts: [] }, threads: [] },
    { name: "with a total", snap: { targets: [target], alerts: [alert], threadsTotal: 12 }, threads: views },
    { name: "without a total", snap: { targets: [target, target], alerts: [] }, threads: views.slice(1) },
    { name: "a total of 0", snap: { targets: [], alerts: [alert], threadsTotal: 0 }, threads: [] },
  ];
  for (const c of cases)
    it(`is JSON.stringify of the snapshot message: ${c.name}`, () => {
      const frame = snapshotFrame(1234.5, { ...c.snap, threads: c.threads.map(threadViewJson) });
      // The message as the hub sent it before: the source's snapshot spread into it, in this order.
      const message = {
        type: "snapshot",
        serverTimeMs: 1234.5,
        targets: c.snap.targets,
        threads: c.threads,
        threadsTotal: c.snap.threadsTotal,
        alerts: c.snap.alerts,
      };
      expect(frame).toBe(JSON.stringify(message));
      expect(JSON.parse(frame)).toEqual(JSON.parse(JSON.stringify(message)));
    });

  it("is a snapshot message the dashboard accepts", () => {
    const frame = snapshotFrame(1, {
      targets: [],
      threads: views.map(threadViewJson),
      threadsTotal: 3,
      alerts: [],
    });
    const parsed = LiveMessageSchema.safeParse(JSON.parse(frame));
    expect(parsed.success).toBe(true);
    expect(parsed.data?.type === "snapshot" && parsed.data.threads.map((t) => t.id)).toEqual([
      "t1",
      "t2",
      "t3",
    ]);
  });
});
