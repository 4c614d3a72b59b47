import type { FailureRow, UsageGroupKey } from "@codex-fleet/protocol/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import { type FailureFilters, queryFailures } from "../src/queries/failures.ts";
import { queryUsage } from "../src/queries/usage.ts";
import { writeIngestBatch } from "../src/repositories/ingest-repository.ts";
import type { PriceFn, ThreadSnapshot, TurnPatchRow } from "../src/repositories/ingest-types.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

let testDb: TestDatabase;
let db: Db;

const H = (day: number, hour: number, minute = 0) => Date.UTC(2026, 10, day, hour, minute);
const HOUR_MS = 3_600_000;
const price: PriceFn = (_model, _at, t) => ({
  costUsd: null,
  unpricedTokens: t.totalTokens,
  priceVersion: "x",
});

const TARGETS = [
  { id: "alice", team: "payments" },
  { id: "bob", team: "payments" },
  { id: "carol", team: "search" },
];
// th-c is a sub-agent of th-a (same tree across targets); th-b is a root of its own.
const THREADS = [
  { id: "th-a", targetId: "alice", model: "gpt-5.5", repo: "github.com/acme/api", parentThreadId: null },
  { id: "th-b", targetId: "bob", model: "gpt-5.4", repo: "github.com/acme/web", parentThreadId: null },
  { id: "th-c", targetId: "carol", model: "gpt-5.5", repo: null, parentThreadId: "th-a" },
];

interface Fixture {
  id: string;
  thread: "th-a" | "th-b" | "th-c";
  status: "failed" | "completed" | "interrupted";
  kind: string | null;
  /** The turn's end (completedAt); null: only startedAt is known. */
  endMs: number | null;
  startMs: number;
  /** The turn's own model (a reroute); else the thread's. */
  model?: string;
}

const f = (
  id: string,
  thread: Fixture["thread"],
  status: Fixture["status"],
  kind: string | null,
  endMs: number | null,
  extra: Partial<Fixture> = {},
): Fixture => ({ id, thread, status, kind, endMs, startMs: (endMs ?? 0) - 60_000, ...extra });

// Two days around midnight, three developers in two teams; known, unknown and missing kinds;
// turns that completed or were interrupted (never failures); one failure known by its start only.
const FIXTURE: Fixture[] = [
  f("t01", "th-a", "failed", "usageLimitExceeded", H(20, 22, 10)),
  f("t02", "th-a", "failed", "usageLimitExceeded", H(20, 23, 5)),
  f("t03", "th-a", "failed", "contextWindowExceeded", H(21, 0, 30)),
  f("t04", "th-a", "completed", null, H(21, 1)),
  f("t05", "th-a", "interrupted", null, H(21, 2)),
  f("t06", "th-b", "failed", "rateLimitExceeded", H(21, 0, 10)),
  f("t07", "th-b", "failed", "internalServerError", H(21, 10, 59)),
  f("t08", "th-b", "failed", null, H(21, 11)),
  f("t09", "th-c", "failed", "usageLimitExceeded", H(21, 10, 1), { model: "gpt-5.4-mini" }),
  f("t10", "th-c", "failed", "somethingNewExceeded", H(22, 0, 0)),
  f("t11", "th-c", "failed", "responseStreamDisconnected", H(19, 23, 59)),
  f("t12", "th-b", "failed", "usageLimitExceeded", null, { startMs: H(21, 5, 30) }),
  f("t13", "th-c", "completed", null, H(21, 10, 2)),
  f("t14", "th-c", "failed", "sessionBudgetExceeded", H(21, 10, 20)),
];

function snapshot(t: (typeof THREADS)[number]): ThreadSnapshot {
  return {
    ...t,
    modelProvider: null,
    cwd: null,
    gitBranch: null,
    gitOrigin: null,
    source: null,
    name: null,
    cliVersion: null,
    subAgentKind: t.parentThreadId === null ? null : "thread_spawn",
    subAgentDepth: t.parentThreadId === null ? null : 1,
    status: "idle",
    activeFlags: [],
    statusSinceMs: H(19, 0),
    lastEventAtMs: null,
    currentTurnId: null,
    currentTurnStartedAtMs: null,
    lastTurnId: null,
    lastTurnStatus: null,
    lastErrorMessage: null,
    lastCodexErrorInfo: null,
    contextTokens: null,
    modelContextWindow: null,
    pendingRequests: [],
    createdAtMs: null,
    updatedAtMs: null,
  };
}

const threadOf = (x: Fixture) => THREADS.find((t) => t.id === x.thread) as (typeof THREADS)[number];
const atOf = (x: Fixture) => x.endMs ?? x.startMs;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
const KEY: Record<UsageGroupKey, (x: Fixture) => string> = {
  day: (x) => `${iso(atOf(x)).slice(0, 10)}T00:00:00Z`,
  hour: (x) => iso(Math.floor(atOf(x) / HOUR_MS) * HOUR_MS),
  target: (x) => threadOf(x).targetId,
  team: (x) => TARGETS.find((t) => t.id === threadOf(x).targetId)?.team ?? "",
  model: (x) => x.model ?? threadOf(x).model,
  repo: (x) => threadOf(x).repo ?? "",
  rootThread: (x) => threadOf(x).parentThreadId ?? x.thread,
};

/** The oracle: the same counts computed over the fixture in JS. */
function expected(fromMs: number, toMs: number, groupBy: UsageGroupKey[], filters: FailureFilters) {
  const fromHour = Math.floor(fromMs / HOUR_MS) * HOUR_MS;
  const groups = new Map<string, FailureRow>();
  const kinds = new Map<string | null, number>();
  for (const x of FIXTURE) {
    const hour = Math.floor(atOf(x) / HOUR_MS) * HOUR_MS;
    if (x.status !== "failed" || hour < fromHour || hour >= toMs) continue;
    const keyed = { team: KEY.team(x), target: KEY.target(x), model: KEY.model(x), repo: KEY.repo(x) };
    const filtered = (["team", "target", "model", "repo"] as const).some((k) => {
      const values = filters[k];
      return values && values.length > 0 && !values.includes(keyed[k]);
    });
    if (filtered) continue;
    if (filters.kind && filters.kind.length > 0 && (x.kind === null || !filters.kind.includes(x.kind)))
      continue;
    kinds.set(x.kind, (kinds.get(x.kind) ?? 0) + 1);
    if (groupBy.length === 0) continue;
    const id = [...groupBy.map((k) => KEY[k](x)), x.kind].join("\u0000");
    const row = groups.get(id) ?? {
      ...Object.fromEntries(groupBy.map((k) => [k, KEY[k](x)])),
      kind: x.kind,
      failedTurns: 0,
    };
    row.failedTurns++;
    groups.set(id, row);
  }
  const kindList = [...kinds].map(([kind, failedTurns]) => ({ kind, failedTurns }));
  return { rows: [...groups.values()], kinds: kindList };
}

const byKeys = (groupBy: UsageGroupKey[]) => (a: FailureRow, b: FailureRow) => {
  const ka = [...groupBy.map((k) => a[k]), a.kind].join("\u0000");
  const kb = [...groupBy.map((k) => b[k]), b.kind].join("\u0000");
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};
const byKind = (a: { kind: string | null }, b: { kind: string | null }) =>
  (a.kind ?? "").localeCompare(b.kind ?? "");

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
  for (const t of TARGETS)
    await db.pool.query("INSERT INTO target (id, team, url) VALUES ($1, $2, 'ws://127.0.0.1:1')", [
      t.id,
      t.team,
    ]);
  // The product's write path: each turn starts, then ends (in a later batch), so that the rollups
  // (/usage failedTurns) are written exactly as in production and can be compared.
  const base = (x: Fixture): TurnPatchRow => ({
    id: x.id,
    threadId: x.thread,
    targetId: threadOf(x).targetId,
    model: x.model ?? null,
  });
  await writeIngestBatch({
    pool: db.pool,
    threads: THREADS.map(snapshot),
    turns: FIXTURE.map((x) => ({ ...base(x), status: "inProgress", startedAtMs: x.startMs })),
    usage: [],
    price,
  });
  await writeIngestBatch({
    pool: db.pool,
    threads: [],
    turns: FIXTURE.map((x) => ({
      ...base(x),
      status: x.status,
      errorMessage: x.kind === null && x.status !== "failed" ? null : `failed: ${x.kind}`,
      codexErrorInfo: x.kind,
      completedAtMs: x.endMs,
    })),
    usage: [],
    price,
  });
}, 60_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

const ALL = { fromMs: H(20, 0), toMs: H(23, 0) };

describe("queryFailures", () => {
  it.each<{
    name: string;
    fromMs?: number;
    toMs?: number;
    groupBy: UsageGroupKey[];
    filters?: FailureFilters;
  }>([
    { name: "only per-kind totals when groupBy is empty", groupBy: [] },
    { name: "day × kind rows when grouped by day", groupBy: ["day"] },
    { name: "hour × kind rows when grouped by hour", groupBy: ["hour"] },
    { name: "developer × model × kind rows when grouped by target,model", groupBy: ["target", "model"] },
    { name: "team × kind rows when grouped by team", groupBy: ["team"] },
    { name: "an '' repo row for the thread without a repo", groupBy: ["repo"] },
    {
      name: "a sub-agent's failures under its root when grouped by rootThread",
      groupBy: ["rootThread", "day"],
    },
    {
      name: "only that team's failures when filtered by team",
      groupBy: ["target"],
      filters: { team: ["search"] },
    },
    {
      name: "only the rerouted model's failure when filtered by model",
      groupBy: ["target"],
      filters: { model: ["gpt-5.4-mini"] },
    },
    {
      name: "only the kinds asked for when filtered by kind",
      groupBy: ["day"],
      filters: { kind: ["usageLimitExceeded", "rateLimitExceeded"] },
    },
    {
      name: "the intersection when filtered by target and kind",
      groupBy: ["hour"],
      filters: { target: ["bob"], kind: ["usageLimitExceeded"] },
    },
    { name: "nothing when a filter matches nothing", groupBy: ["team"], filters: { repo: ["nowhere"] } },
    {
      name: "the hour containing `from` when from is mid-hour",
      fromMs: H(21, 0, 20),
      toMs: H(21, 6),
      groupBy: ["hour"],
    },
    {
      name: "the hour containing `to` when to is mid-hour",
      fromMs: H(21, 1),
      toMs: H(21, 10, 30),
      groupBy: ["hour"],
    },
    {
      name: "no hour starting at `to` when to is on the hour",
      fromMs: H(21, 0),
      toMs: H(22, 0),
      groupBy: ["hour"],
    },
  ])("returns $name", async ({ fromMs = ALL.fromMs, toMs = ALL.toMs, groupBy, filters = {} }) => {
    const got = await queryFailures({ pool: db.pool, fromMs, toMs, groupBy, filters });
    const want = expected(fromMs, toMs, groupBy, filters);
    expect([...got.rows].sort(byKeys(groupBy))).toEqual([...want.rows].sort(byKeys(groupBy)));
    expect([...got.kinds].sort(byKind)).toEqual([...want.kinds].sort(byKind));
    const total = want.kinds.reduce((sum, k) => sum + k.failedTurns, 0);
    expect(got.failedTurns).toBe(total);
    if (groupBy.length > 0) expect(got.rows.reduce((sum, r) => sum + r.failedTurns, 0)).toBe(total);
  });

  it("matches hand-counted figures for the whole fixture", async () => {
    const got = await queryFailures({ ...ALL, pool: db.pool, groupBy: ["target"], filters: {} });
    // t11 is before the range; t04, t05 and t13 did not fail; everything else did.
    expect(got.failedTurns).toBe(10);
    expect(got.kinds).toEqual([
      { kind: "usageLimitExceeded", failedTurns: 4 },
      { kind: null, failedTurns: 1 },
      { kind: "contextWindowExceeded", failedTurns: 1 },
      { kind: "internalServerError", failedTurns: 1 },
      { kind: "rateLimitExceeded", failedTurns: 1 },
      { kind: "sessionBudgetExceeded", failedTurns: 1 },
      { kind: "somethingNewExceeded", failedTurns: 1 },
    ]);
    expect(got.rows.filter((r) => r.target === "alice")).toEqual([
      { target: "alice", kind: "contextWindowExceeded", failedTurns: 1 },
      { target: "alice", kind: "usageLimitExceeded", failedTurns: 2 },
    ]);
    expect(got.rows.filter((r) => r.target === "bob")).toEqual([
      { target: "bob", kind: "internalServerError", failedTurns: 1 },
      { target: "bob", kind: "rateLimitExceeded", failedTurns: 1 },
      { target: "bob", kind: "usageLimitExceeded", failedTurns: 1 },
      { target: "bob", kind: null, failedTurns: 1 },
    ]);
  });

  it.each([
    { name: "the whole fixture", fromMs: H(19, 0), toMs: H(23, 0), filters: {} },
    { name: "a mid-hour window", fromMs: H(21, 0, 20), toMs: H(21, 10, 30), filters: {} },
    { name: "one team", ...ALL, filters: { team: ["payments"] } },
    { name: "one model", ...ALL, filters: { model: ["gpt-5.5"] } },
  ])("counts as many failures as /usage's failedTurns over $name", async ({ fromMs, toMs, filters }) => {
    const failures = await queryFailures({ pool: db.pool, fromMs, toMs, groupBy: ["day"], filters });
    const usage = await queryUsage({ pool: db.pool, fromMs, toMs, groupBy: [], filters });
    expect(failures.failedTurns).toBeGreaterThan(0);
    expect(failures.failedTurns).toBe(usage.totals.failedTurns);
  });

  it("keeps at most `limit` rows while the per-kind totals still cover everything", async () => {
    const got = await queryFailures({ ...ALL, pool: db.pool, groupBy: ["hour"], filters: {}, limit: 2 });
    expect(got.rows).toHaveLength(2);
    expect(got.failedTurns).toBe(10);
  });

  it("reads failed turns through the partial index turn_failed_at_idx", async () => {
    // Capture the statement queryFailures sends, then EXPLAIN exactly that statement.
    let sent: { sql: string; params: unknown[] } | undefined;
    const recording = {
      query: (sql: string, params: unknown[]) => {
        sent = { sql, params };
        return db.pool.query(sql, params);
      },
    } as unknown as Db["pool"];
    await queryFailures({ ...ALL, pool: recording, groupBy: ["day", "target", "model"], filters: {} });
    if (!sent) throw new Error("queryFailures sent no statement");
    const client = await db.pool.connect();
    try {
      await client.query("BEGIN");
      // Tiny tables favour a sequential scan; forbidding it shows whether the index can serve the
      // query's predicate at all (same expression, same partial condition).
      await client.query("SET LOCAL enable_seqscan = off");
      const { rows } = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN ${sent.sql}`, sent.params);
      const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
      expect(plan).toMatch(
        /Index (Only )?Scan using turn_failed_at_idx on turn t|Bitmap Index Scan on turn_failed_at_idx/,
      );
      await client.query("ROLLBACK");
    } finally {
      client.release();
    }
  });
});
