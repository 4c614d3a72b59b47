/**
 * The collector's write path: one transaction per batch of thread snapshots, turn patches and
 * cumulative token reports. Accounting follows DESIGN "Accounting — exactly once, by construction":
 * delta = total − counted, moved forward under a row lock and conditioned on the old value, in
 * the same transaction as the ledger row, the turn counters and the hourly rollup.
 * The baseline never moves down: a total below it is a stale replay far more often than rewritten
 * history (see usage-accounting.ts), and moving down would count the same tokens again on the way
 * back up. The reports of a batch are counted set-based (usage-accounting.ts).
 *
 * Per batch: the thread snapshots' upsert, then one statement (upsertTurns) that moves the
 * baselines and activity marks (one write per thread row), appends the ledger, upserts each turn
 * once (patch and token increments together) and each hourly row once (usage_hourly: tokens and
 * turn ends; activity_hourly: observed time, waits, turn starts and ends). A turn patched twice in
 * a batch takes one more statement per extra patch (runs by occurrence).
 */

import type { ActivityKind, WaitKind } from "@codex-fleet/protocol/activity";
import { ACTIVITY_KINDS, ANSWER_BOUNDS_MS, TURN_DURATION_BOUNDS_MS } from "@codex-fleet/protocol/activity";
import type { Pool, PoolClient } from "pg";
import { inTransaction } from "../transaction.ts";
import type {
  ActivitySpanRow,
  BatchResult,
  OwedMark,
  PriceFn,
  ThreadSnapshot,
  TurnPatchRow,
  UsageReportRow,
  WaitEndRow,
} from "./ingest-types.ts";
import {
  COUNTED_HOURLY_ROWS,
  type CountedWrite,
  countedCtes,
  finishCounted,
  NOTHING_COUNTED,
  planUsageBatch,
} from "./usage-accounting.ts";

const TERMINAL = ["completed", "failed", "interrupted"];

/** Write one batch in one transaction. Operations apply in the order given within each kind. */
export async function writeIngestBatch(args: {
  pool: Pool;
  threads: ThreadSnapshot[];
  turns: TurnPatchRow[];
  usage: UsageReportRow[];
  /** Recovery obligations to persist (before the usage: a report received after a mark clears it). */
  owed?: OwedMark[];
  /** Observed status time and ended waits (issue 15), each counted once (see ActivitySpanRow). */
  spans?: ActivitySpanRow[];
  waits?: WaitEndRow[];
  price: PriceFn;
}): Promise<BatchResult> {
  const { pool, threads, turns, usage, price } = args;
  const owed = args.owed ?? [];
  const spans = args.spans ?? [];
  const waits = args.waits ?? [];
  return inTransaction(pool, "BEGIN", async (client) => {
    // Lock every thread row this batch touches in one order (by id), so two collectors writing
    // overlapping batches queue behind each other instead of deadlocking.
    const ids = [
      ...new Set([
        ...threads.map((t) => t.id),
        ...turns.map((t) => t.threadId),
        ...usage.map((u) => u.threadId),
        ...owed.map((o) => o.threadId),
        ...spans.map((s) => s.threadId),
        ...waits.map((w) => w.threadId),
      ]),
    ].sort();
    await client.query("SELECT 1 FROM thread WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE", [ids]);
    for (const run of distinctRuns(threads, (t) => t.id)) await upsertThreads(client, run);
    await writeGoals(client, threads);
    if (owed.length > 0) await markOwed(client, owed);
    if (spans.length > 0 || waits.length > 0)
      await stubActivityThreads(client, spans, waits, new Set(threads.map((t) => t.id)));
    const result: BatchResult = { counted: [], echoes: 0, decreased: [], endedTurns: 0, cleared: [] };
    const counted = await planUsageBatch(client, usage, price, result);
    // The first run holds the first patch of every turn, and the counted reports and the observed
    // time ride on it: each turn row is written once (its patch and its token increments together),
    // the baselines and activity marks move in the same statement (countedCtes, ACTIVITY_CTES), and
    // each hourly row is upserted once.
    const runs = occurrenceRuns(turns, (t) => t.id);
    const activity = spans.length > 0 || waits.length > 0 ? { spans, waits } : null;
    if (runs.length === 0 && (counted || activity)) runs.push([]);
    for (const [i, run] of runs.entries()) {
      const write = i === 0 ? counted : null;
      const { ended, moved } = await upsertTurns(client, run, write, i === 0 ? activity : null);
      result.endedTurns += ended;
      if (write) finishCounted(write, moved, result);
    }
    return result;
  });
}

/**
 * Persist recovery obligations: `owed_since` keeps the first mark (what the product shows),
 * `owed_at` moves to the latest (only a report received at or after it clears the obligation).
 * One mark per thread per batch (the writer keeps the latest per thread), in id order.
 */
async function markOwed(client: PoolClient, marks: OwedMark[]): Promise<void> {
  const first = new Map<string, OwedMark>();
  const last = new Map<string, OwedMark>();
  for (const m of marks) {
    const f = first.get(m.threadId);
    const l = last.get(m.threadId);
    if (!f || m.atMs < f.atMs) first.set(m.threadId, m);
    if (!l || m.atMs >= l.atMs) last.set(m.threadId, m);
  }
  const rows = [...first.values()].sort((a, b) => (a.threadId < b.threadId ? -1 : 1));
  await client.query(
    `INSERT INTO thread (id, target_id, owed_since, owed_at, owed_reason)
     SELECT x.id, x."targetId", to_timestamp(x.since / 1000.0) AT TIME ZONE 'UTC',
        to_timestamp(x."atMs" / 1000.0) AT TIME ZONE 'UTC', x.reason
     FROM jsonb_to_recordset($1::jsonb) AS x(id text, "targetId" text, since float8, "atMs" float8, reason text)
     ORDER BY x.id
     ON CONFLICT (id) DO UPDATE SET owed_since = COALESCE(thread.owed_since, EXCLUDED.owed_since),
        owed_at = GREATEST(thread.owed_at, EXCLUDED.owed_at),
        owed_reason = CASE WHEN thread.owed_since IS NULL THEN EXCLUDED.owed_reason ELSE thread.owed_reason END`,
    [
      JSON.stringify(
        rows.map((m) => ({
          id: m.threadId,
          targetId: m.targetId,
          since: m.atMs,
          atMs: last.get(m.threadId)?.atMs ?? m.atMs,
          reason: m.reason,
        })),
      ),
    ],
  );
}

/**
 * Consecutive runs of rows without a repeated key, in order: one INSERT … ON CONFLICT DO UPDATE
 * may touch a row only once ("cannot affect row a second time"), and a batch may patch a turn twice.
 */
function distinctRuns<T>(rows: T[], key: (row: T) => string): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  const keys = new Set<string>();
  for (const row of rows) {
    const k = key(row);
    if (keys.has(k)) {
      runs.push(run);
      run = [];
      keys.clear();
    }
    run.push(row);
    keys.add(k);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * Runs by occurrence: the k-th patch of each turn goes to run k, in order. Each run patches a turn
 * at most once, a turn's patches apply in their order, and the first run holds every patched turn
 * (rows of different turns do not depend on each other's order).
 */
function occurrenceRuns<T>(rows: T[], key: (row: T) => string): T[][] {
  const runs: T[][] = [];
  const seen = new Map<string, number>();
  for (const row of rows) {
    const k = key(row);
    const n = seen.get(k) ?? 0;
    seen.set(k, n + 1);
    if (runs.length === n) runs.push([]);
    runs[n]?.push(row);
  }
  return runs;
}

const ts = (col: string) =>
  `CASE WHEN x.${col} IS NULL THEN NULL ELSE to_timestamp(x.${col} / 1000.0) AT TIME ZONE 'UTC' END`;

async function upsertThreads(client: PoolClient, threads: ThreadSnapshot[]): Promise<void> {
  await client.query(
    `INSERT INTO thread (id, target_id, model, model_provider, cwd, repo, git_branch, git_origin, source, name,
        cli_version, status, active_flags, status_since, last_event_at, current_turn_id, current_turn_started_at,
        last_turn_id, last_turn_status, last_error_message, last_codex_error_info, context_tokens,
        model_context_window, pending_requests, created_at, updated_at, parent_thread_id, sub_agent_kind,
        sub_agent_depth)
     SELECT x.id, x."targetId", x.model, x."modelProvider", x.cwd, x.repo, x."gitBranch", x."gitOrigin", x.source,
        x.name, x."cliVersion", x.status, ARRAY(SELECT jsonb_array_elements_text(x."activeFlags")),
        ${ts('"statusSinceMs"')}, ${ts('"lastEventAtMs"')}, x."currentTurnId", ${ts('"currentTurnStartedAtMs"')},
        x."lastTurnId", x."lastTurnStatus", x."lastErrorMessage", x."lastCodexErrorInfo", x."contextTokens",
        x."modelContextWindow", x."pendingRequests", ${ts('"createdAtMs"')}, ${ts('"updatedAtMs"')},
        x."parentThreadId", x."subAgentKind", x."subAgentDepth"
     FROM jsonb_to_recordset($1::jsonb) AS x(id text, "targetId" text, model text, "modelProvider" text, cwd text,
        repo text, "gitBranch" text, "gitOrigin" text, source text, name text, "cliVersion" text, status text,
        "activeFlags" jsonb, "statusSinceMs" float8, "lastEventAtMs" float8, "currentTurnId" text,
        "currentTurnStartedAtMs" float8, "lastTurnId" text, "lastTurnStatus" text, "lastErrorMessage" text,
        "lastCodexErrorInfo" text, "contextTokens" int, "modelContextWindow" int, "pendingRequests" jsonb,
        "createdAtMs" float8, "updatedAtMs" float8, "parentThreadId" text, "subAgentKind" text,
        "subAgentDepth" int)
     -- A snapshot that does not know a value (a thread the collector met again without its
     -- metadata) never erases a known one: metadata only ever moves to another known value. Only
     -- the current turn and the last error legitimately become unknown again (a turn ended; a turn
     -- succeeded), so they take the snapshot as it is.
     ON CONFLICT (id) DO UPDATE SET target_id = EXCLUDED.target_id,
        model = COALESCE(EXCLUDED.model, thread.model),
        model_provider = COALESCE(EXCLUDED.model_provider, thread.model_provider),
        cwd = COALESCE(EXCLUDED.cwd, thread.cwd), repo = COALESCE(EXCLUDED.repo, thread.repo),
        git_branch = COALESCE(EXCLUDED.git_branch, thread.git_branch),
        git_origin = COALESCE(EXCLUDED.git_origin, thread.git_origin),
        source = COALESCE(EXCLUDED.source, thread.source), name = COALESCE(EXCLUDED.name, thread.name),
        cli_version = COALESCE(EXCLUDED.cli_version, thread.cli_version), status = EXCLUDED.status,
        active_flags = EXCLUDED.active_flags, status_since = EXCLUDED.status_since,
        last_event_at = GREATEST(thread.last_event_at, EXCLUDED.last_event_at),
        current_turn_id = EXCLUDED.current_turn_id, current_turn_started_at = EXCLUDED.current_turn_started_at,
        last_turn_id = COALESCE(EXCLUDED.last_turn_id, thread.last_turn_id),
        last_turn_status = COALESCE(EXCLUDED.last_turn_status, thread.last_turn_status),
        last_error_message = EXCLUDED.last_error_message, last_codex_error_info = EXCLUDED.last_codex_error_info,
        context_tokens = COALESCE(EXCLUDED.context_tokens, thread.context_tokens),
        model_context_window = COALESCE(EXCLUDED.model_context_window, thread.model_context_window),
        pending_requests = EXCLUDED.pending_requests, created_at = COALESCE(EXCLUDED.created_at, thread.created_at),
        updated_at = COALESCE(EXCLUDED.updated_at, thread.updated_at),
        -- A thread's parent is set once: a later report cannot re-parent it (a hostile server
        -- moving threads between trees).
        parent_thread_id = COALESCE(thread.parent_thread_id, EXCLUDED.parent_thread_id),
        sub_agent_kind = COALESCE(thread.sub_agent_kind, EXCLUDED.sub_agent_kind),
        sub_agent_depth = COALESCE(thread.sub_agent_depth, EXCLUDED.sub_agent_depth)`,
    [JSON.stringify(threads)],
  );
}

/**
 * Write the goals the snapshots know (the last one per thread; a snapshot without `goal` keeps the
 * stored one, `goal: null` clears it), after the thread rows exist. One statement, in id order.
 */
async function writeGoals(client: PoolClient, threads: ThreadSnapshot[]): Promise<void> {
  const last = new Map<string, { id: string; goal: ThreadSnapshot["goal"] }>();
  for (const t of threads) if (t.goal !== undefined) last.set(t.id, { id: t.id, goal: t.goal });
  if (last.size === 0) return;
  const rows = [...last.values()]
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map(({ id, goal }) => ({ id, set: goal !== null, ...goal }));
  // Every snapshot knows its goal (usually none): a row whose goal is already the one sent is not
  // rewritten (an UPDATE of every snapshotted thread, bench scenario 2).
  await client.query(
    `UPDATE thread SET goal_status = g.status, goal_token_budget = g.budget, goal_tokens_used = g.used,
        goal_updated_at = g.updated_at, goal_status_since = g.since
     FROM (
       SELECT x.id, CASE WHEN x.set THEN x.status END AS status, CASE WHEN x.set THEN x."tokenBudget" END AS budget,
          CASE WHEN x.set THEN x."tokensUsed" END AS used, CASE WHEN x.set THEN ${ts('"updatedAtMs"')} END AS updated_at,
          CASE WHEN x.set THEN ${ts('"statusSinceMs"')} END AS since
       FROM jsonb_to_recordset($1::jsonb) AS x(id text, set boolean, status text, "tokenBudget" bigint,
          "tokensUsed" bigint, "updatedAtMs" float8, "statusSinceMs" float8)
     ) g
     WHERE thread.id = g.id
       AND (thread.goal_status, thread.goal_token_budget, thread.goal_tokens_used, thread.goal_updated_at,
            thread.goal_status_since) IS DISTINCT FROM (g.status, g.budget, g.used, g.updated_at, g.since)`,
    [JSON.stringify(rows)],
  );
}

/** activity_hourly's column for each kind of observed time and each kind of wait. */
const KIND_COLUMN: Record<ActivityKind, string> = {
  working: "working_ms",
  waitingOnApproval: "approval_wait_ms",
  waitingOnInput: "input_wait_ms",
  systemError: "system_error_ms",
};
const WAIT_COLUMN: Record<WaitKind, string> = { approval: "approval_waits", input: "input_waits" };

/** The histogram columns `prefix`0 … `prefix`N for bounds of length N (the last one is open). */
const bucketColumns = (prefix: string, bounds: readonly number[]) =>
  Array.from({ length: bounds.length + 1 }, (_, i) => `${prefix}${i}`);
const ANSWER_COLUMNS = bucketColumns("ans_h", ANSWER_BOUNDS_MS);
const DURATION_COLUMNS = bucketColumns("dur_h", TURN_DURATION_BOUNDS_MS);

/** SQL for the histogram bucket of `expr` (ms): bucketOf — the first bound ≥ it, else the last bucket. */
function bucketSql(bounds: readonly number[], expr: string): string {
  return `CASE ${bounds.map((b, i) => `WHEN ${expr} <= ${b} THEN ${i}`).join(" ")} ELSE ${bounds.length} END`;
}

/** `col = activity_hourly.col + EXCLUDED.col` for each column (upsert-and-increment). */
const incrementSql = (cols: readonly string[]) =>
  cols.map((c) => `${c} = activity_hourly.${c} + EXCLUDED.${c}`).join(", ");

/** A timestamp(3) from integer ms since the epoch, exactly (no float seconds). */
const msToTs = (ms: string) => `(TIMESTAMP '1970-01-01' + (${ms}) * INTERVAL '1 millisecond')`;
/** Integer ms since the epoch of a timestamp (UTC) column. */
const tsToMs = (col: string) => `(extract(epoch FROM ${col}) * 1000)::int8`;
const HOUR_MS = 3_600_000;

const SPAN_COLUMNS = ACTIVITY_KINDS.map((k) => KIND_COLUMN[k]);
const WAIT_ROLLUP_COLUMNS = [...Object.values(WAIT_COLUMN), "answered_waits", "answer_ms", ...ANSWER_COLUMNS];

/**
 * Observed time and ended waits, as CTEs of the turn statement (upsertTurns; spans $5, waits $6).
 * Exactly once: a thread's spans count only past its stored `activity_until` and past the ends of
 * its earlier spans in this batch (a window over the batch, by start), and `activity_until` moves
 * to the latest end; a wait counts only when it ends past `wait_counted_until` and past the earlier
 * waits' ends in this batch, which moves to the latest end. The thread rows are locked
 * (writeIngestBatch) and every CTE reads them as they were when the statement started, so the
 * clamp and the move cannot disagree. `contrib` is what they add to activity_hourly (upserted with
 * the turns' starts and ends, in key order), `thread_marks` where each thread's marks move (one
 * write per thread row: with its baseline move when it has one, else alone).
 */
const ACTIVITY_CTES = `
s AS (
  SELECT x."threadId", x."targetId", x.kind, x.model, x.repo, x.ord,
     round(x."fromMs")::int8 AS f, round(x."toMs")::int8 AS t
  FROM jsonb_to_recordset($5::jsonb) AS x(ord int, "threadId" text, "targetId" text, kind text, model text,
     repo text, "fromMs" float8, "toMs" float8)
), sc AS (
  SELECT s.*, GREATEST(s.f,
     max(s.t) OVER (PARTITION BY s."threadId" ORDER BY s.f, s.ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
     ${tsToMs("th.activity_until")}) AS cf
  FROM s LEFT JOIN thread th ON th.id = s."threadId"
), pieces AS (
  -- Split at hour boundaries: hour h (ms / ${HOUR_MS}) gets the part of [cf, t) inside it.
  SELECT sc."targetId", sc.model, sc.repo, sc.kind, h,
     LEAST(sc.t, (h + 1) * ${HOUR_MS}) - GREATEST(sc.cf, h * ${HOUR_MS}) AS ms
  FROM sc CROSS JOIN LATERAL generate_series(sc.cf / ${HOUR_MS}, (sc.t - 1) / ${HOUR_MS}) AS h
  WHERE sc.t > sc.cf
), w AS (
  SELECT x."threadId", x."targetId", x.kind, x.outcome, x.model, x.repo, x.ord,
     round(x."startMs")::int8 AS s0, round(x."endMs")::int8 AS e
  FROM jsonb_to_recordset($6::jsonb) AS x(ord int, "threadId" text, "targetId" text, kind text, outcome text,
     model text, repo text, "startMs" float8, "endMs" float8)
), wc AS (
  SELECT w.*, GREATEST(0, w.e - w.s0) AS d, ${bucketSql(ANSWER_BOUNDS_MS, "GREATEST(0, w.e - w.s0)")} AS b
  FROM (
    SELECT w.*, GREATEST(
       max(w.e) OVER (PARTITION BY w."threadId" ORDER BY w.e, w.ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
       ${tsToMs("th.wait_counted_until")}) AS counted_until
    FROM w LEFT JOIN thread th ON th.id = w."threadId"
  ) w
  WHERE w.counted_until IS NULL OR w.e > w.counted_until
), contrib AS (
  SELECT h, "targetId", model, repo,
     ${ACTIVITY_KINDS.map((k) => `CASE WHEN kind = '${k}' THEN ms ELSE 0 END AS ${KIND_COLUMN[k]}`).join(", ")},
     ${WAIT_ROLLUP_COLUMNS.map((c) => `0 AS ${c}`).join(", ")}
  FROM pieces
  UNION ALL
  SELECT e / ${HOUR_MS}, "targetId", model, repo, ${SPAN_COLUMNS.map((c) => `0 AS ${c}`).join(", ")},
     ${Object.entries(WAIT_COLUMN)
       .map(([k, c]) => `CASE WHEN kind = '${k}' THEN 1 ELSE 0 END AS ${c}`)
       .join(", ")},
     CASE WHEN outcome = 'answered' THEN 1 ELSE 0 END, CASE WHEN outcome = 'answered' THEN d ELSE 0 END,
     ${ANSWER_COLUMNS.map((_, i) => `CASE WHEN outcome = 'answered' AND b = ${i} THEN 1 ELSE 0 END`).join(", ")}
  FROM wc
)`;
/**
 * A thread's activity marks move, as a SET of its row (alias t) from `mu` (the latest span end) and
 * `mw` (the latest wait end), raw ms or null, of the row aliased `src` (threadMarks).
 */
const marksSet = (
  src: string,
) => `activity_until = GREATEST(t.activity_until, ${msToTs(`round(${src}.mu)::int8`)}),
   wait_counted_until = GREATEST(t.wait_counted_until, ${msToTs(`round(${src}.mw)::int8`)})`;

/**
 * Where each thread's activity marks move: the latest end of its spans and of its waits in the
 * batch (raw ms; the statement rounds them as it rounds the spans: round is monotonic). Computed
 * here so that the statement writes them with the thread's baseline move without joining two
 * sets of unknown size (the planner, blind to their sizes, picked a nested loop: quadratic).
 */
function threadMarks(
  spans: ActivitySpanRow[],
  waits: WaitEndRow[],
): Map<string, [number | null, number | null]> {
  const marks = new Map<string, [number | null, number | null]>();
  for (const s of spans) {
    const m = marks.get(s.threadId) ?? [null, null];
    m[0] = m[0] === null ? s.toMs : Math.max(m[0], s.toMs);
    marks.set(s.threadId, m);
  }
  for (const w of waits) {
    const m = marks.get(w.threadId) ?? [null, null];
    m[1] = m[1] === null ? w.endMs : Math.max(m[1], w.endMs);
    marks.set(w.threadId, m);
  }
  return marks;
}

/**
 * A thread without a row yet cannot be locked: the turn statement would read "nothing counted"
 * from its snapshot while another instance creates and counts it. Creating the row first waits for
 * that instance's commit, so the next statement reads its marks. (Usually the batch snapshotted the
 * thread with its status change, and this is skipped.) `snapshotted`: the threads this transaction
 * already upserted (their rows exist and are ours).
 */
async function stubActivityThreads(
  client: PoolClient,
  spans: ActivitySpanRow[],
  waits: WaitEndRow[],
  snapshotted: ReadonlySet<string>,
): Promise<void> {
  const missing = new Map<string, string>();
  for (const r of [...spans, ...waits])
    if (!snapshotted.has(r.threadId) && !missing.has(r.threadId)) missing.set(r.threadId, r.targetId);
  if (missing.size === 0) return;
  const ids = [...missing.keys()].sort();
  await client.query(
    `INSERT INTO thread (id, target_id) SELECT * FROM unnest($1::text[], $2::text[]) ORDER BY 1
     ON CONFLICT (id) DO NOTHING`,
    [ids, ids.map((id) => missing.get(id))],
  );
}

/** activity_hourly's turn counters (upsertTurns). */
const TURN_ROLLUP_COLUMNS = [
  "turns_started",
  "turns_completed",
  "turns_failed",
  "turns_interrupted",
  "timed_turns",
  "turn_ms",
  ...DURATION_COLUMNS,
];
/** activity_hourly's observed time and waits (ACTIVITY_CTES' contrib). */
const OBSERVED_COLUMNS = [...SPAN_COLUMNS, ...WAIT_ROLLUP_COLUMNS];
/** Every activity_hourly counter the turn statement adds to. */
const ACTIVITY_ROLLUP_COLUMNS = [...TURN_ROLLUP_COLUMNS, ...OBSERVED_COLUMNS];

/** turn's token counters, as the counted reports' per-turn sums (countedCtes' counted_turns) name them. */
const TURN_TOKEN_COLUMNS: [string, string][] = [
  ["input_tokens", "input"],
  ["cached_input_tokens", "cached"],
  ["output_tokens", "output"],
  ["reasoning_output_tokens", "reasoning"],
  ["total_tokens", "total"],
  ["cost_usd", "cost_usd"],
  ["unpriced_tokens", "unpriced"],
];
/** usage_hourly's counters, in COUNTED_HOURLY_ROWS' order after the key. */
const HOURLY_COLUMNS = [
  "turns",
  "failed_turns",
  "input_tokens",
  "cached_input_tokens",
  "output_tokens",
  "reasoning_output_tokens",
  "total_tokens",
  "cost_usd",
  "unpriced_tokens",
];

/**
 * Upsert a run of turn patches with the batch's counted reports (`counted`, first run only), and
 * count the turns that end with it, in one statement: each turn row is written once — its patch
 * and its token increments together — and `before` (the rows as they were when the statement
 * started) tells which ones turned terminal now, so each turn's end lands in the rollups
 * (usage_hourly's turns and failedTurns; activity_hourly's outcome, duration sum and histogram)
 * exactly once, keyed by its completion hour. A patched turn whose row did not exist before counts
 * as started, keyed by its start hour (a turn only the reports name is created, not started). The
 * same statement moves the baselines, conditioned (countedCtes: the single decider), and writes
 * the ledger; the reports' tokens and the turn ends share one usage_hourly upsert. With `activity`
 * (first run only) it also counts the observed time and ended waits (ACTIVITY_CTES) into the same
 * activity_hourly upsert as the turns' starts and ends, and moves each thread's activity marks in
 * the one write of its row. Returns how many turns ended and how many baselines moved.
 */
async function upsertTurns(
  client: PoolClient,
  turns: TurnPatchRow[],
  counted: CountedWrite | null,
  activity: { spans: ActivitySpanRow[]; waits: WaitEndRow[] } | null,
): Promise<{ ended: number; moved: number }> {
  const c = counted ?? NOTHING_COUNTED;
  // Each thread's activity marks go with its baseline move, or alone when it has none.
  const marks = activity ? threadMarks(activity.spans, activity.waits) : new Map();
  const moves = c.moves.map((m) => [...m, ...(marks.get(m[0] as string) ?? [null, null])]);
  for (const m of c.moves) marks.delete(m[0] as string);
  // Turns only the reports name (not patched in this run): created, never started by this statement.
  const patched = new Set(turns.map((t) => t.id));
  const reportOnly = [...new Set(counted?.plan.rows.flatMap((r) => r.report.turnId ?? []) ?? [])].filter(
    (id) => !patched.has(id),
  );
  const { rows } = await client.query<{ n: number; moved: number }>(
    `WITH x AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id text, "threadId" text, "targetId" text, model text,
          status text, "errorMessage" text, "codexErrorInfo" text, "startedAtMs" float8, "completedAtMs" float8,
          "durationMs" int, "contextTokens" int)
     ), ${ACTIVITY_CTES}, ${countedCtes("$3", "$4", marksSet("m"))}, marked AS (
       -- The marks of the threads without a baseline move (those with one move with it).
       UPDATE thread t SET ${marksSet("mk")}
       FROM (SELECT x->>0 AS id, (x->>1)::float8 AS mu, (x->>2)::float8 AS mw FROM jsonb_array_elements($7::jsonb) x) mk
       WHERE t.id = mk.id
     ), stubs AS (
       -- A turn may be patched before its thread snapshot was ever written (a late subscriber).
       INSERT INTO thread (id, target_id) SELECT DISTINCT "threadId", "targetId" FROM x ORDER BY 1
       ON CONFLICT (id) DO NOTHING
     ), before AS (
       SELECT t.id, t.end_counted, t.model FROM turn t
       WHERE t.id IN (SELECT id FROM x UNION ALL SELECT id FROM counted_turns)
     ), up AS (
       INSERT INTO turn (id, thread_id, target_id, model, status, error_message, codex_error_info, started_at,
          completed_at, duration_ms, context_tokens, end_counted, ${TURN_TOKEN_COLUMNS.map(([col]) => col).join(", ")},
          price_version, backfill)
       SELECT COALESCE(x.id, u.id), COALESCE(x."threadId", u.thread_id), COALESCE(x."targetId", u.target_id),
          -- The patch's model, else the stored one, else the reports' (patches rarely know it).
          COALESCE(x.model, b.model, u.model), COALESCE(x.status, 'inProgress'), x."errorMessage",
          x."codexErrorInfo", ${ts('"startedAtMs"')}, ${ts('"completedAtMs"')}, x."durationMs", x."contextTokens",
          COALESCE(x.status, 'inProgress') = ANY($2::text[]),
          ${TURN_TOKEN_COLUMNS.map(([, v]) => `COALESCE(u.${v}, 0)`).join(", ")}, u.price_version,
          COALESCE(u.backfill, false)
       FROM x FULL JOIN counted_turns u ON u.id = x.id LEFT JOIN before b ON b.id = COALESCE(x.id, u.id)
       ORDER BY 1
       ON CONFLICT (id) DO UPDATE SET
          model = COALESCE(EXCLUDED.model, turn.model),
          -- 'inProgress' is the default and never overrides; a terminal status is final (backfill and
          -- live events may arrive in either order).
          status = CASE WHEN turn.status = ANY($2::text[]) OR EXCLUDED.status = 'inProgress'
                        THEN turn.status ELSE EXCLUDED.status END,
          end_counted = turn.end_counted OR turn.status = ANY($2::text[]) OR EXCLUDED.status = ANY($2::text[]),
          error_message = COALESCE(EXCLUDED.error_message, turn.error_message),
          codex_error_info = COALESCE(EXCLUDED.codex_error_info, turn.codex_error_info),
          started_at = COALESCE(turn.started_at, EXCLUDED.started_at),
          completed_at = COALESCE(EXCLUDED.completed_at, turn.completed_at),
          duration_ms = COALESCE(EXCLUDED.duration_ms, turn.duration_ms),
          context_tokens = COALESCE(EXCLUDED.context_tokens, turn.context_tokens),
          ${TURN_TOKEN_COLUMNS.map(([col]) => `${col} = turn.${col} + EXCLUDED.${col}`).join(", ")},
          price_version = COALESCE(EXCLUDED.price_version, turn.price_version),
          backfill = turn.backfill OR EXCLUDED.backfill
       RETURNING turn.id, turn.thread_id, turn.target_id, turn.model, turn.status, turn.end_counted,
          COALESCE(turn.completed_at, turn.started_at) AS at, turn.started_at, turn.completed_at, turn.duration_ms
     ), ended AS (
       SELECT up.* FROM up LEFT JOIN before b ON b.id = up.id
       WHERE up.end_counted AND NOT COALESCE(b.end_counted, false)
     ), ended_keyed AS (
       SELECT date_trunc('hour', COALESCE(e.at, now() AT TIME ZONE 'UTC')) AS hour, e.target_id,
              COALESCE(tg.team, '') AS team, COALESCE(e.model, th.model, 'unknown') AS model,
              COALESCE(th.repo, '') AS repo, e.status,
              -- The duration the server reported, else the span between the known start and end.
              CASE WHEN e.duration_ms >= 0 THEN e.duration_ms::int8
                   WHEN e.completed_at >= e.started_at THEN ${tsToMs("e.completed_at")} - ${tsToMs("e.started_at")}
              END AS d
       FROM ended e LEFT JOIN target tg ON tg.id = e.target_id LEFT JOIN thread th ON th.id = e.thread_id
     ), keyed AS (
       SELECT hour, target_id, team, model, repo, count(*) AS turns, count(*) FILTER (WHERE status = 'failed') AS failed
       FROM ended_keyed GROUP BY 1, 2, 3, 4, 5
     ), ins AS (
       INSERT INTO usage_hourly (hour, target_id, team, model, repo, ${HOURLY_COLUMNS.join(", ")})
       SELECT hour, target_id, team, model, repo, ${HOURLY_COLUMNS.map((_, i) => `sum(h${i})`).join(", ")}
       FROM (
         SELECT hour, target_id, team, model, repo, turns, failed, 0::int8, 0::int8, 0::int8, 0::int8, 0::int8,
            0::numeric, 0::int8
         FROM keyed
         UNION ALL ${COUNTED_HOURLY_ROWS}
       ) AS k (hour, target_id, team, model, repo, ${HOURLY_COLUMNS.map((_, i) => `h${i}`).join(", ")})
       GROUP BY 1, 2, 3, 4, 5 ORDER BY 2, 3, 4, 5, 1
       ON CONFLICT (hour, target_id, team, model, repo) DO UPDATE SET
          ${HOURLY_COLUMNS.map((col) => `${col} = usage_hourly.${col} + EXCLUDED.${col}`).join(", ")}
     ), started AS (
       SELECT date_trunc('hour', COALESCE(up.started_at, up.completed_at, now() AT TIME ZONE 'UTC')) AS hour,
              up.target_id, COALESCE(tg.team, '') AS team, COALESCE(up.model, th.model, 'unknown') AS model,
              COALESCE(th.repo, '') AS repo
       FROM up LEFT JOIN before b ON b.id = up.id LEFT JOIN target tg ON tg.id = up.target_id
          LEFT JOIN thread th ON th.id = up.thread_id
       WHERE b.id IS NULL AND NOT up.id = ANY($8::text[])
     ), activity AS (
       SELECT hour, target_id, team, model, repo, 1 AS turns_started, 0 AS turns_completed, 0 AS turns_failed,
          0 AS turns_interrupted, 0 AS timed_turns, 0::int8 AS turn_ms, ${DURATION_COLUMNS.map((c) => `0 AS ${c}`).join(", ")},
          ${OBSERVED_COLUMNS.map((c) => `0::int8 AS ${c}`).join(", ")}
       FROM started
       UNION ALL
       SELECT hour, target_id, team, model, repo, 0, (status = 'completed')::int, (status = 'failed')::int,
          (status = 'interrupted')::int, (d IS NOT NULL)::int, COALESCE(d, 0),
          ${DURATION_COLUMNS.map((_, i) => `(d IS NOT NULL AND ${bucketSql(TURN_DURATION_BOUNDS_MS, "d")} = ${i})::int`).join(", ")},
          ${OBSERVED_COLUMNS.map(() => "0").join(", ")}
       FROM ended_keyed
       UNION ALL
       SELECT ${msToTs(`c.h * ${HOUR_MS}`)}, c."targetId", COALESCE(tg.team, ''), c.model, c.repo,
          ${TURN_ROLLUP_COLUMNS.map(() => "0").join(", ")}, ${OBSERVED_COLUMNS.map((col) => `c.${col}`).join(", ")}
       FROM contrib c LEFT JOIN target tg ON tg.id = c."targetId"
     ), act_ins AS (
       INSERT INTO activity_hourly (hour, target_id, team, model, repo, ${ACTIVITY_ROLLUP_COLUMNS.join(", ")})
       SELECT hour, target_id, team, model, repo, ${ACTIVITY_ROLLUP_COLUMNS.map((c) => `sum(${c})`).join(", ")}
       FROM activity GROUP BY 1, 2, 3, 4, 5 ORDER BY 2, 3, 4, 5, 1
       ON CONFLICT (hour, target_id, team, model, repo) DO UPDATE SET ${incrementSql(ACTIVITY_ROLLUP_COLUMNS)}
     )
     SELECT COALESCE(sum(turns), 0)::int AS n, (SELECT count(*) FROM moved)::int AS moved FROM keyed`,
    [
      JSON.stringify(turns),
      TERMINAL,
      JSON.stringify(moves),
      c.rows,
      JSON.stringify(activity?.spans.map((s, ord) => ({ ord, ...s })) ?? []),
      JSON.stringify(activity?.waits.map((w, ord) => ({ ord, ...w })) ?? []),
      JSON.stringify([...marks].map(([id, [mu, mw]]) => [id, mu, mw])),
      reportOnly,
    ],
  );
  return { ended: Number(rows[0]?.n ?? 0), moved: Number(rows[0]?.moved ?? 0) };
}
