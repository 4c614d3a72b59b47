import type { TokenCounts } from "@codex-fleet/protocol/events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import { sampleActivityPeak } from "../src/repositories/activity-peak.ts";
import { writeIngestBatch } from "../src/repositories/ingest-repository.ts";
import type {
  ActivitySpanRow,
  PriceFn,
  TurnPatchRow,
  UsageReportRow,
  WaitEndRow,
} from "../src/repositories/ingest-types.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";
import { dailyTargetGrain, peakDailyGrain } from "./support/activity-grains.ts";
import { threadSnapshot } from "./support/thread-snapshot.ts";

let testDb: TestDatabase;
let db: Db;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
}, 60_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
/** 10:00 UTC: hours in the tests are H(10), H(11)… */
const H = (h: number, m = 0, s = 0) => Date.UTC(2026, 10, 21, h, m, s);
const iso = (ms: number) => new Date(ms).toISOString();

const price: PriceFn = () => ({ costUsd: null, unpricedTokens: 0, priceVersion: "unpriced" });

interface Subject {
  threadId: string;
  targetId: string;
  team: string;
}

let seq = 0;
/** A thread on a target of its own (team `team-N`), so the target's rollup rows belong to one test. */
async function fresh(state = "open"): Promise<Subject> {
  seq++;
  const s = { threadId: `th-${seq}`, targetId: `tgt-${seq}`, team: `team-${seq}` };
  await db.pool.query("INSERT INTO target (id, team, url, state) VALUES ($1, $2, 'ws://127.0.0.1:1', $3)", [
    s.targetId,
    s.team,
    state,
  ]);
  return s;
}

/** Another thread on the same target. */
function sibling(s: Subject, n: number): Subject {
  return { ...s, threadId: `${s.threadId}-${n}` };
}

const MODEL = "gpt-test";
const REPO = "github.com/acme/api";

function span(s: Subject, kind: ActivitySpanRow["kind"], fromMs: number, toMs: number): ActivitySpanRow {
  return { threadId: s.threadId, targetId: s.targetId, kind, model: MODEL, repo: REPO, fromMs, toMs };
}

function wait(
  s: Subject,
  kind: WaitEndRow["kind"],
  outcome: WaitEndRow["outcome"],
  startMs: number,
  endMs: number,
): WaitEndRow {
  return {
    threadId: s.threadId,
    targetId: s.targetId,
    kind,
    outcome,
    model: MODEL,
    repo: REPO,
    startMs,
    endMs,
  };
}

function write(args: {
  spans?: ActivitySpanRow[];
  waits?: WaitEndRow[];
  turns?: TurnPatchRow[];
  usage?: UsageReportRow[];
  threads?: Subject[];
}) {
  return writeIngestBatch({
    pool: db.pool,
    threads: (args.threads ?? []).map((s) =>
      threadSnapshot(s.threadId, s.targetId, H(9), { model: MODEL, repo: REPO }),
    ),
    turns: args.turns ?? [],
    usage: args.usage ?? [],
    spans: args.spans,
    waits: args.waits,
    price,
  });
}

const COUNTERS = [
  "working_ms",
  "approval_wait_ms",
  "input_wait_ms",
  "system_error_ms",
  "approval_waits",
  "input_waits",
  "answered_waits",
  "answer_ms",
  ...Array.from({ length: 10 }, (_, i) => `ans_h${i}` as const),
  "turns_started",
  "turns_completed",
  "turns_failed",
  "turns_interrupted",
  "timed_turns",
  "turn_ms",
  ...Array.from({ length: 10 }, (_, i) => `dur_h${i}` as const),
] as const;
type Counter = (typeof COUNTERS)[number];
/** One rollup row: its key and only its non-zero counters (so expectations name what they mean). */
type Row = { at: string; team: string; model: string; repo: string } & Partial<Record<Counter, number>>;

async function rows(table: "activity_hourly" | "activity_daily", targetId: string): Promise<Row[]> {
  const at = table === "activity_hourly" ? "hour" : "day";
  const { rows } = await db.pool.query(
    `SELECT ${at} AS at, team, model, repo, ${COUNTERS.map((c) => `${c}::float8 AS ${c}`).join(", ")}
     FROM ${table} WHERE target_id = $1 ORDER BY ${at}, model, repo`,
    [targetId],
  );
  return rows.map((r) => {
    const out: Row = { at: iso((r.at as Date).getTime()), team: r.team, model: r.model, repo: r.repo };
    for (const c of COUNTERS) if (Number(r[c]) !== 0) out[c] = Number(r[c]);
    return out;
  });
}
const hourly = (s: Subject) => rows("activity_hourly", s.targetId);

/** The hourly rows of a target, each only with the given counters (absent = 0). */
async function hourlyOf(s: Subject, ...cols: Counter[]): Promise<Record<string, number | string>[]> {
  return (await hourly(s)).map((r) => {
    const out: Record<string, number | string> = { at: r.at };
    for (const c of cols) if (r[c] !== undefined) out[c] = r[c] as number;
    return out;
  });
}

async function threadMarks(s: Subject) {
  const { rows } = await db.pool.query(
    "SELECT activity_until, wait_counted_until FROM thread WHERE id = $1",
    [s.threadId],
  );
  const r = rows[0];
  return {
    activityUntil: r?.activity_until ? iso(r.activity_until.getTime()) : null,
    waitCountedUntil: r?.wait_counted_until ? iso(r.wait_counted_until.getTime()) : null,
  };
}

describe("activity spans", () => {
  it("splits a span at hour boundaries and keys it by target team, model and repo", async () => {
    const s = await fresh();
    await write({ threads: [s], spans: [span(s, "working", H(10, 40), H(12, 10))] });
    expect(await hourly(s)).toEqual([
      { at: iso(H(10)), team: s.team, model: MODEL, repo: REPO, working_ms: 20 * MIN },
      { at: iso(H(11)), team: s.team, model: MODEL, repo: REPO, working_ms: 60 * MIN },
      { at: iso(H(12)), team: s.team, model: MODEL, repo: REPO, working_ms: 10 * MIN },
    ]);
    expect(await threadMarks(s)).toEqual({ activityUntil: iso(H(12, 10)), waitCountedUntil: null });
  });

  it("counts each kind into its own column", async () => {
    const s = await fresh();
    await write({
      spans: [
        span(s, "working", H(10, 0), H(10, 1)),
        span(s, "waitingOnApproval", H(10, 1), H(10, 3)),
        span(s, "waitingOnInput", H(10, 3), H(10, 6)),
        span(s, "systemError", H(10, 6), H(10, 10)),
      ],
    });
    expect(await hourlyOf(s, "working_ms", "approval_wait_ms", "input_wait_ms", "system_error_ms")).toEqual([
      {
        at: iso(H(10)),
        working_ms: MIN,
        approval_wait_ms: 2 * MIN,
        input_wait_ms: 3 * MIN,
        system_error_ms: 4 * MIN,
      },
    ]);
  });

  it("counts the same batch once when it is written twice (a retried batch)", async () => {
    const s = await fresh();
    const batch = {
      threads: [s],
      spans: [span(s, "working", H(10, 50), H(11, 5)), span(s, "waitingOnApproval", H(11, 5), H(11, 7))],
    };
    await write(batch);
    const once = await hourly(s);
    expect(once).toHaveLength(2);
    await write(batch);
    expect(await hourly(s)).toEqual(once);
  });

  it("counts the union when two batches carry overlapping spans (two instances during a handover)", async () => {
    const s = await fresh();
    await write({ spans: [span(s, "working", H(10, 0), H(10, 30))] });
    await write({ spans: [span(s, "working", H(10, 20), H(10, 50))] });
    // A span entirely before what was counted counts nothing (and does not move the mark back).
    await write({ spans: [span(s, "working", H(10, 5), H(10, 15))] });
    expect(await hourlyOf(s, "working_ms")).toEqual([{ at: iso(H(10)), working_ms: 50 * MIN }]);
    expect((await threadMarks(s)).activityUntil).toBe(iso(H(10, 50)));
  });

  it("counts a batch once when several instances write it at the same time, new threads too", async () => {
    // Several rounds: the race (two writers creating the same thread row) does not show every time.
    for (let round = 0; round < 5; round++) {
      const s = await fresh();
      const t = sibling(s, 2);
      const batch = {
        spans: [span(s, "working", H(10, 0), H(10, 40)), span(t, "working", H(10, 0), H(10, 10))],
        waits: [wait(t, "input", "answered", H(10, 0), H(10, 10))],
      };
      await Promise.all([write(batch), write(batch), write(batch), write(batch)]);
      expect(await hourlyOf(s, "working_ms", "input_waits")).toEqual([
        { at: iso(H(10)), working_ms: 50 * MIN, input_waits: 1 },
      ]);
    }
  });

  it("clamps several spans of one thread in one batch against the running end, in any order", async () => {
    const s = await fresh();
    await write({ spans: [span(s, "working", H(10, 0), H(10, 5))] });
    await write({
      spans: [
        span(s, "working", H(10, 25), H(10, 30)),
        span(s, "working", H(10, 2), H(10, 10)), // 10:02–10:05 already counted
        span(s, "waitingOnApproval", H(10, 10), H(10, 25)),
        span(s, "working", H(10, 2), H(10, 10)), // the same span twice in the batch
        span(s, "working", H(10, 12), H(10, 20)), // inside the approval span: counts nothing
      ],
    });
    expect(await hourlyOf(s, "working_ms", "approval_wait_ms")).toEqual([
      { at: iso(H(10)), working_ms: 15 * MIN, approval_wait_ms: 15 * MIN },
    ]);
    expect((await threadMarks(s)).activityUntil).toBe(iso(H(10, 30)));
  });

  it("clamps each thread on its own (threads of one target are summed)", async () => {
    const s = await fresh();
    const t = sibling(s, 2);
    await write({ spans: [span(s, "working", H(10, 0), H(10, 30))] });
    await write({
      spans: [span(s, "working", H(10, 0), H(10, 40)), span(t, "working", H(10, 0), H(10, 40))],
    });
    expect(await hourlyOf(s, "working_ms")).toEqual([{ at: iso(H(10)), working_ms: 80 * MIN }]);
    expect((await threadMarks(t)).activityUntil).toBe(iso(H(10, 40)));
  });

  it("keys by team '' when the target has no team, and drops empty spans", async () => {
    seq++;
    const s = { threadId: `th-${seq}`, targetId: `tgt-${seq}`, team: "" };
    await db.pool.query("INSERT INTO target (id, url) VALUES ($1, 'ws://127.0.0.1:1')", [s.targetId]);
    await write({ spans: [span(s, "working", H(10, 5), H(10, 5)), span(s, "working", H(10, 5), H(10, 6))] });
    expect(await hourly(s)).toEqual([
      { at: iso(H(10)), team: "", model: MODEL, repo: REPO, working_ms: MIN },
    ]);
  });
});

describe("activity waits", () => {
  it("counts an answered wait with its duration and histogram bucket in the hour it ended", async () => {
    const s = await fresh();
    await write({
      threads: [s],
      waits: [
        // 45 s: above the 30 s bound, within 60 s → ans_h2; ends in the 11:00 hour.
        wait(s, "approval", "answered", H(10, 59, 30), H(11, 0, 15)),
      ],
    });
    expect(await hourly(s)).toEqual([
      {
        at: iso(H(11)),
        team: s.team,
        model: MODEL,
        repo: REPO,
        approval_waits: 1,
        answered_waits: 1,
        answer_ms: 45 * SEC,
        ans_h2: 1,
      },
    ]);
    expect(await threadMarks(s)).toEqual({ activityUntil: null, waitCountedUntil: iso(H(11, 0, 15)) });
  });

  it("puts a duration on a bound in that bound's bucket and one past the last bound in the last bucket", async () => {
    const s = await fresh();
    await write({
      waits: [
        wait(s, "input", "answered", H(6), H(6) + 10 * SEC), // exactly 10 s → ans_h0
        wait(s, "input", "answered", H(6, 1), H(6, 1) + 10 * SEC + 1), // just over → ans_h1
        wait(s, "approval", "answered", H(6, 2), H(10, 2) + 1), // 4 h + 1 ms → ans_h9
      ],
    });
    expect(
      await hourlyOf(
        s,
        "approval_waits",
        "input_waits",
        "answered_waits",
        "answer_ms",
        "ans_h0",
        "ans_h1",
        "ans_h9",
      ),
    ).toEqual([
      { at: iso(H(6)), input_waits: 2, answered_waits: 2, answer_ms: 20 * SEC + 1, ans_h0: 1, ans_h1: 1 },
      { at: iso(H(10)), approval_waits: 1, answered_waits: 1, answer_ms: 4 * HOUR + 1, ans_h9: 1 },
    ]);
  });

  it("counts unanswered and unknown waits without a duration", async () => {
    const s = await fresh();
    await write({
      waits: [
        wait(s, "approval", "unanswered", H(10, 0), H(10, 5)),
        wait(s, "input", "unknown", H(10, 6), H(10, 9)),
      ],
    });
    expect(await hourly(s)).toEqual([
      { at: iso(H(10)), team: s.team, model: MODEL, repo: REPO, approval_waits: 1, input_waits: 1 },
    ]);
  });

  it("counts a wait once when it is replayed, alone or in the same batch", async () => {
    const s = await fresh();
    const w1 = wait(s, "approval", "answered", H(10, 0), H(10, 1));
    const w2 = wait(s, "input", "answered", H(10, 2), H(10, 4));
    await write({ waits: [w1, w1] });
    await write({ waits: [w1] });
    await write({ waits: [w2, w1] });
    await write({ waits: [w1, w2] });
    expect(await hourlyOf(s, "approval_waits", "input_waits", "answered_waits", "answer_ms")).toEqual([
      { at: iso(H(10)), approval_waits: 1, input_waits: 1, answered_waits: 2, answer_ms: 3 * MIN },
    ]);
    expect((await threadMarks(s)).waitCountedUntil).toBe(iso(H(10, 4)));
  });

  it("writes spans and waits of one thread in one batch", async () => {
    const s = await fresh();
    await write({
      spans: [span(s, "working", H(10, 0), H(10, 1)), span(s, "waitingOnApproval", H(10, 1), H(10, 2))],
      waits: [wait(s, "approval", "answered", H(10, 1), H(10, 2))],
    });
    expect(await hourlyOf(s, "working_ms", "approval_wait_ms", "approval_waits", "answer_ms")).toEqual([
      { at: iso(H(10)), working_ms: MIN, approval_wait_ms: MIN, approval_waits: 1, answer_ms: MIN },
    ]);
    expect(await threadMarks(s)).toEqual({ activityUntil: iso(H(10, 2)), waitCountedUntil: iso(H(10, 2)) });
  });
});

function turn(s: Subject, id: string, over: Partial<TurnPatchRow>): TurnPatchRow {
  return { id: `${s.threadId}/${id}`, threadId: s.threadId, targetId: s.targetId, model: MODEL, ...over };
}

describe("activity turns", () => {
  it("counts a start by its start hour and an end once by its end hour, with its duration bucket", async () => {
    const s = await fresh();
    await write({ threads: [s], turns: [turn(s, "a", { status: "inProgress", startedAtMs: H(10, 55) })] });
    expect(await hourlyOf(s, "turns_started", "turns_completed")).toEqual([
      { at: iso(H(10)), turns_started: 1 },
    ]);
    // 20 s (reported): above 15 s, within 30 s → dur_h2.
    const end = turn(s, "a", { status: "completed", completedAtMs: H(11, 2), durationMs: 20 * SEC });
    await write({ turns: [end] });
    await write({ turns: [end] }); // patched twice: counted once
    await write({ turns: [turn(s, "a", { status: "failed", completedAtMs: H(11, 3) })] }); // final status kept
    expect(
      await hourlyOf(
        s,
        "turns_started",
        "turns_completed",
        "turns_failed",
        "timed_turns",
        "turn_ms",
        "dur_h2",
      ),
    ).toEqual([
      { at: iso(H(10)), turns_started: 1 },
      { at: iso(H(11)), turns_completed: 1, timed_turns: 1, turn_ms: 20 * SEC, dur_h2: 1 },
    ]);
  });

  it("counts outcomes, times a turn from its start and end when no duration was reported, and leaves an untimed one out", async () => {
    const s = await fresh();
    await write({
      turns: [
        // 2 h: past the last bound (1 h) → dur_h9.
        turn(s, "f", { status: "failed", startedAtMs: H(10, 0), completedAtMs: H(12, 0) }),
        // exactly 5 s → dur_h0.
        turn(s, "c", { status: "completed", startedAtMs: H(12, 10), completedAtMs: H(12, 10, 5) }),
        // No start: ended but not timed.
        turn(s, "i", { status: "interrupted", completedAtMs: H(12, 20) }),
        // A negative reported duration is not a duration; start and end are not known either.
        turn(s, "n", { status: "completed", completedAtMs: H(12, 30), durationMs: -1 }),
      ],
    });
    const cols: Counter[] = [
      "turns_started",
      "turns_completed",
      "turns_failed",
      "turns_interrupted",
      "timed_turns",
      "turn_ms",
      "dur_h0",
      "dur_h9",
    ];
    expect(await hourlyOf(s, ...cols)).toEqual([
      { at: iso(H(10)), turns_started: 1 },
      {
        at: iso(H(12)),
        turns_started: 3,
        turns_completed: 2,
        turns_failed: 1,
        turns_interrupted: 1,
        timed_turns: 2,
        turn_ms: 2 * HOUR + 5 * SEC,
        dur_h0: 1,
        dur_h9: 1,
      },
    ]);
    // usage_hourly's turn counts are unchanged in meaning: every end once, by end hour.
    const { rows: usage } = await db.pool.query(
      "SELECT hour, turns::int, failed_turns::int FROM usage_hourly WHERE target_id = $1 ORDER BY hour",
      [s.targetId],
    );
    expect(usage.map((r) => [iso(r.hour.getTime()), r.turns, r.failed_turns])).toEqual([[iso(H(12)), 4, 1]]);
  });

  it("counts a turn patched twice in one batch once (started and ended)", async () => {
    const s = await fresh();
    await write({
      turns: [
        turn(s, "a", { status: "inProgress", startedAtMs: H(10, 0) }),
        turn(s, "a", { status: "completed", completedAtMs: H(10, 1), durationMs: 60 * SEC }),
        turn(s, "a", { status: "completed", completedAtMs: H(10, 1), durationMs: 60 * SEC }),
      ],
    });
    expect(await hourlyOf(s, "turns_started", "turns_completed", "timed_turns", "dur_h3")).toEqual([
      { at: iso(H(10)), turns_started: 1, turns_completed: 1, timed_turns: 1, dur_h3: 1 },
    ]);
  });

  it("counts the start of a turn that this batch's usage reports create before its patch", async () => {
    const s = await fresh();
    const zero: TokenCounts = {
      inputTokens: 0,
      cachedInputTokens: 0,
      outputTokens: 0,
      reasoningOutputTokens: 0,
      totalTokens: 0,
    };
    const tokens = { ...zero, inputTokens: 8, totalTokens: 10 };
    const report: UsageReportRow = {
      threadId: s.threadId,
      turnId: `${s.threadId}/a`,
      targetId: s.targetId,
      model: MODEL,
      repo: REPO,
      atMs: H(10, 1),
      total: tokens,
      last: tokens,
    };
    await write({ usage: [report], turns: [turn(s, "a", { status: "inProgress", startedAtMs: H(10, 0) })] });
    // A later batch with more usage and the end: the start is not counted again.
    const more = { ...tokens, inputTokens: 16, totalTokens: 20 };
    await write({
      usage: [{ ...report, atMs: H(10, 2), total: more, last: tokens }],
      turns: [turn(s, "a", { status: "completed", completedAtMs: H(10, 3) })],
    });
    expect(await hourlyOf(s, "turns_started", "turns_completed", "timed_turns", "turn_ms")).toEqual([
      { at: iso(H(10)), turns_started: 1, turns_completed: 1, timed_turns: 1, turn_ms: 3 * MIN },
    ]);
  });
});

describe("activity_daily", () => {
  it("follows activity_hourly per day", async () => {
    const s = await fresh();
    const day = (d: number, h: number, m = 0) => Date.UTC(2026, 10, d, h, m);
    await write({
      threads: [s], // turns are keyed by the thread's repo, like usage_hourly's turns
      spans: [span(s, "working", day(21, 23, 30), day(22, 0, 45))],
      waits: [wait(s, "input", "answered", day(21, 23, 0), day(21, 23, 5))],
      turns: [
        turn(s, "a", { status: "completed", startedAtMs: day(21, 23, 50), completedAtMs: day(22, 0, 10) }),
      ],
    });
    await write({ spans: [span(s, "working", day(22, 0, 30), day(22, 1, 0))] });
    const daily = await rows("activity_daily", s.targetId);
    expect(daily).toEqual([
      {
        at: iso(day(21, 0)),
        team: s.team,
        model: MODEL,
        repo: REPO,
        working_ms: 30 * MIN,
        input_waits: 1,
        answered_waits: 1,
        answer_ms: 5 * MIN,
        ans_h4: 1,
        turns_started: 1,
      },
      {
        at: iso(day(22, 0)),
        team: s.team,
        model: MODEL,
        repo: REPO,
        working_ms: 60 * MIN,
        turns_completed: 1,
        timed_turns: 1,
        turn_ms: 20 * MIN,
        dur_h7: 1,
      },
    ]);
    // Equal to the hourly rows summed per day, counter by counter.
    const byDay = new Map<string, Row>();
    for (const r of await hourly(s)) {
      const d = `${r.at.slice(0, 10)}T00:00:00.000Z`;
      const acc: Row = byDay.get(d) ?? { at: d, team: r.team, model: r.model, repo: r.repo };
      for (const c of COUNTERS) if (r[c] !== undefined) acc[c] = (acc[c] ?? 0) + (r[c] as number);
      byDay.set(d, acc);
    }
    expect([...byDay.values()]).toEqual(daily);
  });
});

describe("sampleActivityPeak", () => {
  async function peaks(hourMs: number) {
    const { rows } = await db.pool.query(
      "SELECT scope, key, peak FROM activity_peak WHERE hour = $1::timestamp ORDER BY scope, key",
      [iso(hourMs).replace("Z", "")],
    );
    return rows.map((r) => [r.scope, r.key, r.peak]);
  }

  async function setActive(
    subjects: Subject[],
    active: boolean,
    extra: Partial<{ model: string; repo: string }> = {},
  ) {
    await writeIngestBatch({
      pool: db.pool,
      threads: subjects.map((s) =>
        threadSnapshot(s.threadId, s.targetId, H(9), { status: active ? "active" : "idle", ...extra }),
      ),
      turns: [],
      usage: [],
      price,
    });
  }

  it("writes nothing when no thread is active", async () => {
    // Threads of the other tests are idle or never loaded.
    expect(await sampleActivityPeak({ pool: db.pool, atMs: H(3, 10) })).toBe(0);
    expect(await peaks(H(3))).toEqual([]);
  });

  it("keeps the most active threads per scope in the hour, counting open targets only", async () => {
    const a = await fresh();
    const b = await fresh();
    const stale = await fresh("backoff");
    const a2 = sibling(a, 2);
    const a3 = sibling(a, 3);
    await setActive([a, a2], true, { model: "m1", repo: "r1" });
    await setActive([a3], true); // no model or repo known
    await setActive([b], true, { model: "m1", repo: "r2" });
    await setActive([stale], true, { model: "m1", repo: "r1" });

    expect(await sampleActivityPeak({ pool: db.pool, atMs: H(4, 0, 15) })).toBe(10);
    const first = [
      ["fleet", "", 4],
      ["model", "m1", 3],
      ["model", "unknown", 1],
      ["repo", "", 1],
      ["repo", "r1", 2],
      ["repo", "r2", 1],
      ["target", a.targetId, 3],
      ["target", b.targetId, 1],
      ["team", a.team, 3],
      ["team", b.team, 1],
    ];
    expect(await peaks(H(4))).toEqual(first);

    // Fewer active later in the hour: the peaks stay.
    await setActive([a2, a3], false);
    expect(await sampleActivityPeak({ pool: db.pool, atMs: H(4, 30) })).toBe(8);
    expect(await peaks(H(4))).toEqual(first);

    // More active: raised. The next hour starts from what is active then.
    const a4 = sibling(a, 4);
    const a5 = sibling(a, 5);
    const a6 = sibling(a, 6);
    await setActive([a2, a4, a5, a6], true, { model: "m1", repo: "r1" });
    await sampleActivityPeak({ pool: db.pool, atMs: H(4, 59, 59) });
    await setActive([a4, a5, a6], false);
    await sampleActivityPeak({ pool: db.pool, atMs: H(5) });
    expect(await peaks(H(4))).toEqual([
      ["fleet", "", 6],
      ["model", "m1", 6],
      ["model", "unknown", 1],
      ["repo", "", 1],
      ["repo", "r1", 5],
      ["repo", "r2", 1],
      ["target", a.targetId, 5],
      ["target", b.targetId, 1],
      ["team", a.team, 5],
      ["team", b.team, 1],
    ]);
    expect(await peaks(H(5))).toEqual([
      ["fleet", "", 3],
      ["model", "m1", 3],
      ["repo", "r1", 2],
      ["repo", "r2", 1],
      ["target", a.targetId, 2],
      ["target", b.targetId, 1],
      ["team", a.team, 2],
      ["team", b.team, 1],
    ]);
  });
});

// Last: everything the tests above wrote through the ingest path and the sampler.
describe("activity grains", () => {
  it("keep activity_daily_target equal to activity_daily summed over model and repo", async () => {
    const { stored, summed } = await dailyTargetGrain(db.pool);
    expect(summed.length).toBeGreaterThan(10);
    expect(stored).toEqual(summed);
  });

  it("keep activity_peak_daily equal to activity_peak's maximum per day", async () => {
    const { stored, summed } = await peakDailyGrain(db.pool);
    expect(summed.length).toBeGreaterThan(5);
    expect(stored).toEqual(summed);
  });
});
