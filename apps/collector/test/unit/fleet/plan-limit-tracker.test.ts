/**
 * PlanLimitTracker's timing on fake timers (STYLE: never sleeps): one read at connect, then one
 * per `rateLimitPollMs` (none with 0), nothing after the connection closed, "unavailable" logged
 * once however often it is read, and pushed reports that arrive while the stored states load
 * applied after them. The connection and the database are stand-ins here: what they do is covered
 * against the real app-server and Postgres in plan-limits.real.test.ts.
 */
import type { PlanLimitReport } from "@codex-fleet/protocol/limits";
import { afterEach, describe, expect, it, vi } from "vitest";
import { RpcError } from "../../../src/fleet/connection.ts";
import { PlanLimitLoader } from "../../../src/fleet/plan-limit-loader.ts";
import { BUSY_RETRY_MS, PlanLimitTracker } from "../../../src/fleet/plan-limit-tracker.ts";
import type { PlanLimitWriter } from "../../../src/fleet/plan-limit-writer.ts";

const UNAVAILABLE = "codex account authentication required to read rate limits";

function harness(opts: {
  pollMs: number;
  answer: () => unknown;
  loadDelayMs?: number;
  busy?: () => boolean;
}) {
  const reads: unknown[] = [];
  const sources: { status: string; reason: string | null }[] = [];
  const saved: { limitId: string; primary: number | null }[] = [];
  const logs: string[] = [];
  const rows: string[] = [];
  const tracker = new PlanLimitTracker({
    targetId: "alice",
    team: () => "payments",
    connection: {
      isReady: true,
      request: async (method: string, params: unknown) => {
        reads.push({ method, params });
        return opts.answer();
      },
    },
    loader: new PlanLimitLoader({
      pool: {
        query: () => new Promise((resolve) => setTimeout(() => resolve({ rows: [] }), opts.loadDelayMs ?? 0)),
      } as never,
      now: () => Date.now(),
    }),
    writer: {
      saveLimit: (_t: string, state: { limitId: string; primary: { usedPercent: number } | null }) =>
        saved.push({ limitId: state.limitId, primary: state.primary?.usedPercent ?? null }),
      saveSource: (e: { status: string; reason: string | null }) => sources.push(e),
    } as unknown as PlanLimitWriter,
    pollMs: opts.pollMs,
    now: () => Date.now(),
    publish: (row) => rows.push(`${row.target}/${row.limitId}`),
    log: (level, msg) => logs.push(`${level}: ${msg}`),
    ...(opts.busy ? { busy: opts.busy } : {}),
  });
  return { tracker, reads, sources, saved, logs, rows };
}

const READ = {
  rateLimits: {
    limitId: "codex",
    planType: "plus",
    primary: { usedPercent: 12, windowDurationMins: 300, resetsAt: 1_900_000_000 },
    secondary: null,
    credits: null,
  },
  rateLimitsByLimitId: null,
};

afterEach(() => {
  vi.useRealTimers();
});

describe("PlanLimitTracker", () => {
  it("does read once at connect and never again with rateLimitPollMs 0", async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    const h = harness({ pollMs: 0, answer: () => READ });
    h.tracker.onOpen();
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(h.reads).toEqual([
      { method: "account/rateLimits/read", params: { excludeResetCreditDetails: true } },
    ]);
    expect(h.saved).toEqual([{ limitId: "codex", primary: 12 }]);
    expect(h.sources.map((s) => s.status)).toEqual(["ok"]);
    expect(h.rows).toEqual(["alice/codex"]);
  });

  it("does read every rateLimitPollMs while open and stop when the connection closes", async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    const h = harness({ pollMs: 10_000, answer: () => READ });
    h.tracker.onOpen();
    await vi.advanceTimersByTimeAsync(25_000);
    expect(h.reads).toHaveLength(3); // at 0, 10 s, 20 s
    h.tracker.onClose();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.reads).toHaveLength(3);
  });

  it("does log an unavailable target once, record every read, and keep polling", async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    const h = harness({
      pollMs: 10_000,
      answer: () => {
        throw new RpcError(-32600, UNAVAILABLE, "account/rateLimits/read");
      },
    });
    h.tracker.onOpen();
    await vi.advanceTimersByTimeAsync(35_000);
    expect(h.reads).toHaveLength(4);
    expect(h.sources).toEqual(
      Array.from({ length: 4 }, () =>
        expect.objectContaining({ status: "unavailable", reason: UNAVAILABLE }),
      ),
    );
    expect(h.logs.filter((l) => l.includes("not available"))).toEqual([
      "info: plan limits not available for this target",
    ]);
    expect(h.saved).toEqual([]);
  });

  it("does apply reports pushed while the stored states load, after them", async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    const h = harness({ pollMs: 0, answer: () => ({ rateLimits: null }), loadDelayMs: 1000 });
    h.tracker.onOpen();
    const pushed: PlanLimitReport = {
      limitId: "codex",
      limitName: null,
      planType: null,
      primary: { usedPercent: 55, windowDurationMins: 300, resetsAtMs: null },
      secondary: null,
      credits: null,
      rateLimitReachedType: null,
      spendControlReached: null,
      source: "updated",
    };
    h.tracker.receive([pushed], Date.now());
    expect(h.saved).toEqual([]);
    await vi.advanceTimersByTimeAsync(1500);
    expect(h.saved).toEqual([{ limitId: "codex", primary: 55 }]);
  });

  it("does read only after the start-up scan has settled, never ahead of it", async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    const h = harness({ pollMs: 0, answer: () => READ });
    let settle: () => void = () => {};
    h.tracker.onOpen(new Promise<void>((resolve) => (settle = resolve)));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.reads).toEqual([]);
    settle();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.reads).toHaveLength(1);
  });

  it("does put a read off while a thread is active, and read once it is quiet", async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    let active = true;
    const h = harness({ pollMs: 300_000, answer: () => READ, busy: () => active });
    h.tracker.onOpen();
    await vi.advanceTimersByTimeAsync(2 * BUSY_RETRY_MS);
    expect(h.reads).toEqual([]);
    active = false;
    await vi.advanceTimersByTimeAsync(BUSY_RETRY_MS);
    expect(h.reads).toHaveLength(1);
    // The next poll is due a whole interval later, not at the next busy retry.
    await vi.advanceTimersByTimeAsync(300_000 - 1);
    expect(h.reads).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.reads).toHaveLength(2);
  });
});
