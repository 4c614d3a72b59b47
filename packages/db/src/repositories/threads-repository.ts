/** Thread and turn reads: the in-memory fleet state at start, and thread detail for the API. */
import type { TurnStatus } from "@codex-fleet/protocol/status";
import type { Pool, PoolClient } from "pg";
import type { ThreadSnapshot } from "./ingest-types.ts";

/** A thread as stored, with the cumulative total counted so far. */
export interface StoredThread extends ThreadSnapshot {
  countedTotalTokens: number;
  /** Open recovery obligation (DESIGN "What is owed is persistent"): first owed, last marked, why. */
  owedSinceMs: number | null;
  owedAtMs: number | null;
  owedReason: string | null;
}

export interface StoredTurn {
  id: string;
  threadId: string;
  model: string | null;
  status: TurnStatus;
  errorMessage: string | null;
  codexErrorInfo: string | null;
  startedAtMs: number | null;
  completedAtMs: number | null;
  durationMs: number | null;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningOutputTokens: number;
  totalTokens: number;
  costUsd: number;
  unpricedTokens: number;
  priceVersion: string | null;
  backfill: boolean;
  contextTokens: number | null;
}

export interface ThreadTotals {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningOutputTokens: number;
  totalTokens: number;
  costUsd: number;
  unpricedTokens: number;
}

const ms = (col: string) => `(extract(epoch from ${col}) * 1000)::float8`;

const THREAD_COLUMNS = `th.id, th.target_id AS "targetId", th.model, th.model_provider AS "modelProvider", th.cwd, th.repo,
  th.git_branch AS "gitBranch", th.git_origin AS "gitOrigin", th.source, th.name, th.cli_version AS "cliVersion",
  th.status, th.active_flags AS "activeFlags", ${ms("th.status_since")} AS "statusSinceMs",
  ${ms("th.last_event_at")} AS "lastEventAtMs", th.current_turn_id AS "currentTurnId",
  ${ms("th.current_turn_started_at")} AS "currentTurnStartedAtMs", th.last_turn_id AS "lastTurnId",
  th.last_turn_status AS "lastTurnStatus", th.last_error_message AS "lastErrorMessage",
  th.last_codex_error_info AS "lastCodexErrorInfo", th.context_tokens AS "contextTokens",
  th.model_context_window AS "modelContextWindow", th.pending_requests AS "pendingRequests",
  ${ms("th.created_at")} AS "createdAtMs", ${ms("th.updated_at")} AS "updatedAtMs",
  th.counted_total_tokens AS "countedTotalTokens", ${ms("th.owed_since")} AS "owedSinceMs",
  ${ms("th.owed_at")} AS "owedAtMs", th.owed_reason AS "owedReason",
  th.parent_thread_id AS "parentThreadId", th.sub_agent_kind AS "subAgentKind", th.sub_agent_depth AS "subAgentDepth",
  CASE WHEN th.goal_status IS NULL THEN NULL ELSE jsonb_build_object('status', th.goal_status,
    'tokenBudget', th.goal_token_budget,
    'tokensUsed', th.goal_tokens_used, 'updatedAtMs', ${ms("th.goal_updated_at")},
    'statusSinceMs', ${ms("COALESCE(th.goal_status_since, th.status_since)")}) END AS goal`;

/**
 * The working set (issue 13): the threads the collector holds in memory — live feed, thread list,
 * alerts, the observer's reconnect checks. A thread is held while it is owed a total (its recovery
 * is re-armed from memory), loaded in its app-server (any status but `notLoaded`: it can turn
 * active, wait on a human or fail at any moment, and the observer must check it at the next
 * connect), or heard from since `heldSinceMs` (config `retention.threadMemoryDays`). Everything else
 * is history: stored, counted, answered by GET /api/v1/threads/:id, not held.
 *
 * One rule, two spellings: `isHeldThread` for memory (the fleet's sweep) and HELD_SQL for the load
 * at start; the db tests check that they agree.
 */
export function isHeldThread(
  t: Pick<StoredThread, "owedSinceMs" | "status" | "lastEventAtMs" | "statusSinceMs">,
  heldSinceMs: number,
): boolean {
  return (
    t.owedSinceMs !== null || t.status !== "notLoaded" || (t.lastEventAtMs ?? t.statusSinceMs) >= heldSinceMs
  );
}

/** isHeldThread over `th` (a thread row); `$since` a timestamp parameter. */
const heldSql = (since: string) =>
  `(th.owed_since IS NOT NULL OR th.status <> 'notLoaded' OR COALESCE(th.last_event_at, th.status_since) >= ${since})`;

/**
 * The threads the collector holds at start: the working set (isHeldThread) of the given targets
 * (default: every target configured, or added through the API and not deleted, paused ones too), at most the newest `perTarget` of each (by last event) — never a
 * fleet-wide limit: one target's flood must not push another target's threads out of memory —
 * plus every thread owed a total.
 */
export async function loadThreads(args: {
  pool: Pool;
  perTarget: number;
  /** Only these targets' threads (a target taken over from another collector). */
  targetIds?: readonly string[];
  /** Threads heard from since then are held (isHeldThread). */
  heldSinceMs: number;
}): Promise<StoredThread[]> {
  const { rows } = await args.pool.query<StoredThread>(
    `SELECT ${THREAD_COLUMNS} FROM (
       SELECT th.*, row_number() OVER (PARTITION BY th.target_id ORDER BY th.last_event_at DESC NULLS LAST, th.id) AS rn
       FROM thread th
       WHERE ($2::text[] IS NULL OR th.target_id = ANY($2::text[]))
         AND ($2::text[] IS NOT NULL OR th.target_id IN (SELECT id FROM target WHERE enabled OR paused))
         AND ${heldSql("to_timestamp($3::float8 / 1000.0) AT TIME ZONE 'UTC'")}) th
     -- A thread still owed a total is always loaded: its recovery is re-armed from memory.
     WHERE th.rn <= $1 OR th.owed_since IS NOT NULL`,
    [args.perTarget, args.targetIds ? [...args.targetIds] : null, args.heldSinceMs],
  );
  return rows;
}

/**
 * Threads with an open recovery obligation, matching the usage filters (a thread matches model
 * and repo by its own metadata, team by its target's). GET /api/v1/usage `pendingThreads`.
 */
export async function countOwedThreads(args: {
  pool: Pool;
  filters?: { team?: string[]; target?: string[]; model?: string[]; repo?: string[] };
}): Promise<number> {
  const f = args.filters ?? {};
  const { rows } = await args.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM thread th LEFT JOIN target tg ON tg.id = th.target_id
     WHERE th.owed_since IS NOT NULL
       AND ($1::text[] IS NULL OR COALESCE(tg.team, '') = ANY($1::text[]))
       AND ($2::text[] IS NULL OR th.target_id = ANY($2::text[]))
       AND ($3::text[] IS NULL OR COALESCE(th.model, 'unknown') = ANY($3::text[]))
       AND ($4::text[] IS NULL OR COALESCE(th.repo, '') = ANY($4::text[]))`,
    [f.team ?? null, f.target ?? null, f.model ?? null, f.repo ?? null],
  );
  return Number(rows[0]?.n ?? 0);
}

/** These threads as stored, those that are (threads heard from again after leaving memory). */
export async function readThreads(args: { pool: Pool; ids: readonly string[] }): Promise<StoredThread[]> {
  const { rows } = await args.pool.query<StoredThread>(
    `SELECT ${THREAD_COLUMNS} FROM thread th WHERE th.id = ANY($1::text[])`,
    [[...args.ids]],
  );
  return rows;
}

/** One thread as stored (a thread the collector does not hold in memory), or null. */
export async function readThread(args: { pool: Pool; id: string }): Promise<StoredThread | null> {
  const { rows } = await args.pool.query<StoredThread>(
    `SELECT ${THREAD_COLUMNS} FROM thread th WHERE th.id = $1`,
    [args.id],
  );
  return rows[0] ?? null;
}

const TURN_COLUMNS = `t.id, t.thread_id AS "threadId", t.model, t.status, t.error_message AS "errorMessage",
  t.codex_error_info AS "codexErrorInfo", ${ms("t.started_at")} AS "startedAtMs",
  ${ms("t.completed_at")} AS "completedAtMs", t.duration_ms AS "durationMs", t.input_tokens AS "inputTokens",
  t.cached_input_tokens AS "cachedInputTokens", t.output_tokens AS "outputTokens",
  t.reasoning_output_tokens AS "reasoningOutputTokens", t.total_tokens AS "totalTokens",
  t.cost_usd AS "costUsd", t.unpriced_tokens AS "unpricedTokens", t.price_version AS "priceVersion",
  t.backfill, t.context_tokens AS "contextTokens"`;

/** A thread's newest `$2` turns (the subquery `x`), put oldest first by `ORDER BY ${TURNS_ORDER}`. */
const NEWEST_TURNS = `SELECT ${TURN_COLUMNS} FROM turn t WHERE t.thread_id = $1
  ORDER BY t.started_at DESC NULLS FIRST, t.id DESC LIMIT $2`;
const TURNS_ORDER = `x."startedAtMs" ASC NULLS LAST, x.id ASC`;

/** The thread's counted totals (its accounting baseline) and its cost from the ledger. */
const TOTALS = `SELECT th.counted_input_tokens AS "inputTokens", th.counted_cached_input_tokens AS "cachedInputTokens",
    th.counted_output_tokens AS "outputTokens", th.counted_reasoning_output_tokens AS "reasoningOutputTokens",
    th.counted_total_tokens AS "totalTokens", COALESCE(c.cost, 0) AS "costUsd", COALESCE(c.unpriced, 0) AS "unpricedTokens"
  FROM thread th, LATERAL (SELECT sum(u.cost_usd) AS cost, sum(u.unpriced_tokens) AS unpriced
                           FROM usage_event u WHERE u.thread_id = th.id) c
  WHERE th.id = $1`;

/** One thread's turns, oldest first (bounded to the newest `limit`). */
export async function listTurns(args: {
  pool: Pool | PoolClient;
  threadId: string;
  limit?: number;
}): Promise<StoredTurn[]> {
  const { rows } = await args.pool.query<StoredTurn>(
    `SELECT * FROM (${NEWEST_TURNS}) x ORDER BY ${TURNS_ORDER}`,
    [args.threadId, args.limit ?? 500],
  );
  return rows;
}

/** The counted totals of a thread (its accounting baseline) and its cost from the ledger. */
export async function threadTotals(args: {
  pool: Pool | PoolClient;
  threadId: string;
}): Promise<ThreadTotals | null> {
  const { rows } = await args.pool.query<ThreadTotals>(TOTALS, [args.threadId]);
  return rows[0] ?? null;
}

type DetailRow = StoredTurn & { known: boolean | null } & {
  [K in (typeof TOTAL_KEYS)[number] as `tot_${K}`]: number | null;
};

const TOTAL_KEYS = [
  "inputTokens",
  "cachedInputTokens",
  "outputTokens",
  "reasoningOutputTokens",
  "totalTokens",
  "costUsd",
  "unpricedTokens",
] as const;

/**
 * A thread's turns and counted totals in ONE statement (one snapshot: the per-turn sum and the
 * total never disagree because an ingest commit landed between two reads) — one round trip where
 * a REPEATABLE READ transaction of two queries took four. Every row carries the totals (`tot_*`,
 * null when the thread is not stored); a thread without turns is one row without a turn.
 */
export async function readThreadDetail(args: {
  pool: Pool;
  threadId: string;
  limit?: number;
}): Promise<{ turns: StoredTurn[]; totals: ThreadTotals | null }> {
  const { rows } = await args.pool.query<DetailRow>(
    `SELECT tot.known, ${TOTAL_KEYS.map((k) => `tot."${k}" AS "tot_${k}"`).join(", ")}, x.*
     FROM (SELECT 1) one
     LEFT JOIN (SELECT true AS known, * FROM (${TOTALS}) t) tot ON true
     LEFT JOIN LATERAL (${NEWEST_TURNS}) x ON true
     ORDER BY ${TURNS_ORDER}`,
    [args.threadId, args.limit ?? 500],
  );
  const first = rows[0];
  let totals: ThreadTotals | null = null;
  if (first?.known) {
    totals = {} as ThreadTotals;
    for (const k of TOTAL_KEYS) totals[k] = first[`tot_${k}`] ?? 0;
  }
  const turns: StoredTurn[] = [];
  for (const r of rows) {
    if (r.id === null) continue; // the row of a thread without turns
    const {
      known: _k,
      tot_inputTokens: _1,
      tot_cachedInputTokens: _2,
      tot_outputTokens: _3,
      tot_reasoningOutputTokens: _4,
      tot_totalTokens: _5,
      tot_costUsd: _6,
      tot_unpricedTokens: _7,
      ...turn
    } = r;
    turns.push(turn);
  }
  return { turns, totals };
}
