/**
 * The collector's write path: one transaction per batch of thread snapshots, turn patches and
 * cumulative token reports. Accounting follows DESIGN "Accounting — exactly once, by construction":
 * delta = total − counted, moved forward under a row lock and conditioned on the old value, in
 * the same transaction as the ledger row, the turn counters and the hourly rollup.
 * The baseline never moves down: a total below it is a stale replay far more often than rewritten
 * history (see countUsage), and moving down would count the same tokens again on the way back up.
 */
import type { Pool, PoolClient } from "pg";

export interface TokenCounts {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningOutputTokens: number;
  totalTokens: number;
}

/** A request the server is waiting on (an approval): recorded, never answered. */
export interface PendingRequestRow {
  requestId: string | number;
  method: string;
  requestKind: string;
  turnId: string | null;
  itemId: string | null;
  preview: string | null;
  sinceMs: number;
}

/** A thread's live state as persisted: the one declaration the collector's state and reads extend. */
export interface ThreadSnapshot {
  id: string;
  targetId: string;
  model: string | null;
  modelProvider: string | null;
  cwd: string | null;
  repo: string | null;
  gitBranch: string | null;
  gitOrigin: string | null;
  source: string | null;
  name: string | null;
  cliVersion: string | null;
  status: "idle" | "active" | "systemError" | "notLoaded";
  activeFlags: string[];
  statusSinceMs: number;
  lastEventAtMs: number | null;
  currentTurnId: string | null;
  currentTurnStartedAtMs: number | null;
  lastTurnId: string | null;
  lastTurnStatus: "inProgress" | "completed" | "failed" | "interrupted" | null;
  lastErrorMessage: string | null;
  lastCodexErrorInfo: string | null;
  contextTokens: number | null;
  modelContextWindow: number | null;
  pendingRequests: PendingRequestRow[];
  createdAtMs: number | null;
  updatedAtMs: number | null;
}

export interface TurnPatchRow {
  id: string;
  threadId: string;
  targetId: string;
  model?: string | null;
  status?: string;
  errorMessage?: string | null;
  codexErrorInfo?: string | null;
  startedAtMs?: number | null;
  completedAtMs?: number | null;
  durationMs?: number | null;
  contextTokens?: number | null;
}

export interface UsageReportRow {
  threadId: string;
  turnId: string | null;
  targetId: string;
  model: string;
  repo: string;
  atMs: number;
  total: TokenCounts;
  last: TokenCounts;
}

export interface Price {
  /** null when the model has no price: the tokens are unpriced, never $0. */
  costUsd: number | null;
  unpricedTokens: number;
  priceVersion: string;
}

export type PriceFn = (model: string, atMs: number, tokens: TokenCounts) => Price;

export interface CountedUsage {
  threadId: string;
  turnId: string | null;
  targetId: string;
  atMs: number;
  delta: TokenCounts;
  cumulative: TokenCounts;
  costUsd: number | null;
  backfill: boolean;
}

export interface BatchResult {
  counted: CountedUsage[];
  echoes: number;
  /**
   * Reports with a counter below the counted baseline (a stale replay, or rewritten history): for
   * the log. They count nothing and the baseline is NOT moved down (see countUsage).
   */
  decreased: { threadId: string; from: TokenCounts; to: TokenCounts }[];
  endedTurns: number;
}

const FIELDS = [
  "inputTokens",
  "cachedInputTokens",
  "outputTokens",
  "reasoningOutputTokens",
  "totalTokens",
] as const;
const TERMINAL = ["completed", "failed", "interrupted"];

/** Write one batch in one transaction. Operations apply in the order given within each kind. */
export async function writeIngestBatch(args: {
  pool: Pool;
  threads: ThreadSnapshot[];
  turns: TurnPatchRow[];
  usage: UsageReportRow[];
  price: PriceFn;
}): Promise<BatchResult> {
  const { pool, threads, turns, usage, price } = args;
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    // Lock every thread row this batch touches in one order (by id), so two collectors writing
    // overlapping batches queue behind each other instead of deadlocking.
    const ids = [
      ...new Set([
        ...threads.map((t) => t.id),
        ...turns.map((t) => t.threadId),
        ...usage.map((u) => u.threadId),
      ]),
    ].sort();
    await client.query("SELECT 1 FROM thread WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE", [ids]);
    for (const run of distinctRuns(threads, (t) => t.id)) await upsertThreads(client, run);
    for (const run of distinctRuns(turns, (t) => t.id)) await upsertTurns(client, run);
    const result: BatchResult = { counted: [], echoes: 0, decreased: [], endedTurns: 0 };
    for (const report of usage) await countUsage(client, report, price, result);
    if (turns.length > 0) result.endedTurns = await countEndedTurns(client, turns);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
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

const ts = (col: string) =>
  `CASE WHEN x.${col} IS NULL THEN NULL ELSE to_timestamp(x.${col} / 1000.0) AT TIME ZONE 'UTC' END`;

async function upsertThreads(client: PoolClient, threads: ThreadSnapshot[]): Promise<void> {
  await client.query(
    `INSERT INTO thread (id, target_id, model, model_provider, cwd, repo, git_branch, git_origin, source, name,
        cli_version, status, active_flags, status_since, last_event_at, current_turn_id, current_turn_started_at,
        last_turn_id, last_turn_status, last_error_message, last_codex_error_info, context_tokens,
        model_context_window, pending_requests, created_at, updated_at)
     SELECT x.id, x."targetId", x.model, x."modelProvider", x.cwd, x.repo, x."gitBranch", x."gitOrigin", x.source,
        x.name, x."cliVersion", x.status, ARRAY(SELECT jsonb_array_elements_text(x."activeFlags")),
        ${ts('"statusSinceMs"')}, ${ts('"lastEventAtMs"')}, x."currentTurnId", ${ts('"currentTurnStartedAtMs"')},
        x."lastTurnId", x."lastTurnStatus", x."lastErrorMessage", x."lastCodexErrorInfo", x."contextTokens",
        x."modelContextWindow", x."pendingRequests", ${ts('"createdAtMs"')}, ${ts('"updatedAtMs"')}
     FROM jsonb_to_recordset($1::jsonb) AS x(id text, "targetId" text, model text, "modelProvider" text, cwd text,
        repo text, "gitBranch" text, "gitOrigin" text, source text, name text, "cliVersion" text, status text,
        "activeFlags" jsonb, "statusSinceMs" float8, "lastEventAtMs" float8, "currentTurnId" text,
        "currentTurnStartedAtMs" float8, "lastTurnId" text, "lastTurnStatus" text, "lastErrorMessage" text,
        "lastCodexErrorInfo" text, "contextTokens" int, "modelContextWindow" int, "pendingRequests" jsonb,
        "createdAtMs" float8, "updatedAtMs" float8)
     ON CONFLICT (id) DO UPDATE SET target_id = EXCLUDED.target_id, model = EXCLUDED.model,
        model_provider = EXCLUDED.model_provider, cwd = EXCLUDED.cwd, repo = EXCLUDED.repo,
        git_branch = EXCLUDED.git_branch, git_origin = EXCLUDED.git_origin, source = EXCLUDED.source,
        name = EXCLUDED.name, cli_version = EXCLUDED.cli_version, status = EXCLUDED.status,
        active_flags = EXCLUDED.active_flags, status_since = EXCLUDED.status_since,
        last_event_at = GREATEST(thread.last_event_at, EXCLUDED.last_event_at),
        current_turn_id = EXCLUDED.current_turn_id, current_turn_started_at = EXCLUDED.current_turn_started_at,
        last_turn_id = EXCLUDED.last_turn_id, last_turn_status = EXCLUDED.last_turn_status,
        last_error_message = EXCLUDED.last_error_message, last_codex_error_info = EXCLUDED.last_codex_error_info,
        context_tokens = EXCLUDED.context_tokens, model_context_window = EXCLUDED.model_context_window,
        pending_requests = EXCLUDED.pending_requests, created_at = COALESCE(EXCLUDED.created_at, thread.created_at),
        updated_at = COALESCE(EXCLUDED.updated_at, thread.updated_at)`,
    [JSON.stringify(threads)],
  );
}

async function upsertTurns(client: PoolClient, turns: TurnPatchRow[]): Promise<void> {
  // A turn may be patched before its thread snapshot was ever written (a late subscriber).
  await client.query(
    `INSERT INTO thread (id, target_id)
     SELECT DISTINCT x."threadId", x."targetId" FROM jsonb_to_recordset($1::jsonb) AS x("threadId" text, "targetId" text)
     ON CONFLICT (id) DO NOTHING`,
    [JSON.stringify(turns.map((t) => ({ threadId: t.threadId, targetId: t.targetId })))],
  );
  await client.query(
    `INSERT INTO turn (id, thread_id, target_id, model, status, error_message, codex_error_info, started_at,
        completed_at, duration_ms, context_tokens)
     SELECT x.id, x."threadId", x."targetId", x.model, COALESCE(x.status, 'inProgress'), x."errorMessage",
        x."codexErrorInfo", ${ts('"startedAtMs"')}, ${ts('"completedAtMs"')}, x."durationMs", x."contextTokens"
     FROM jsonb_to_recordset($1::jsonb) AS x(id text, "threadId" text, "targetId" text, model text, status text,
        "errorMessage" text, "codexErrorInfo" text, "startedAtMs" float8, "completedAtMs" float8,
        "durationMs" int, "contextTokens" int)
     ON CONFLICT (id) DO UPDATE SET
        model = COALESCE(EXCLUDED.model, turn.model),
        -- 'inProgress' is the default and never overrides; a terminal status is final (backfill and
        -- live events may arrive in either order).
        status = CASE WHEN turn.status = ANY($2::text[]) OR EXCLUDED.status = 'inProgress'
                      THEN turn.status ELSE EXCLUDED.status END,
        error_message = COALESCE(EXCLUDED.error_message, turn.error_message),
        codex_error_info = COALESCE(EXCLUDED.codex_error_info, turn.codex_error_info),
        started_at = COALESCE(turn.started_at, EXCLUDED.started_at),
        completed_at = COALESCE(EXCLUDED.completed_at, turn.completed_at),
        duration_ms = COALESCE(EXCLUDED.duration_ms, turn.duration_ms),
        context_tokens = COALESCE(EXCLUDED.context_tokens, turn.context_tokens)`,
    [JSON.stringify(turns), TERMINAL],
  );
}

interface BaselineRow {
  input: number;
  cached: number;
  output: number;
  reasoning: number;
  total: number;
  has_baseline: boolean;
  team: string | null;
}

/** The accounting rule for one cumulative report. Appends what it did to `result`. */
async function countUsage(
  client: PoolClient,
  r: UsageReportRow,
  price: PriceFn,
  result: BatchResult,
): Promise<void> {
  await client.query(`INSERT INTO thread (id, target_id) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, [
    r.threadId,
    r.targetId,
  ]);
  const { rows } = await client.query<BaselineRow>(
    `SELECT th.counted_input_tokens AS input, th.counted_cached_input_tokens AS cached,
            th.counted_output_tokens AS output, th.counted_reasoning_output_tokens AS reasoning,
            th.counted_total_tokens AS total, th.baseline_at IS NOT NULL AS has_baseline, tg.team
     FROM thread th LEFT JOIN target tg ON tg.id = $2 WHERE th.id = $1 FOR UPDATE OF th`,
    [r.threadId, r.targetId],
  );
  const row = rows[0];
  if (!row) throw new Error(`thread ${r.threadId} vanished inside the accounting transaction`);
  const counted: TokenCounts = {
    inputTokens: Number(row.input),
    cachedInputTokens: Number(row.cached),
    outputTokens: Number(row.output),
    reasoningOutputTokens: Number(row.reasoning),
    totalTokens: Number(row.total),
  };
  // Per counter: count only growth past the baseline, and never move the baseline down. A total
  // below the baseline is almost always stale — an older report replayed after a reconnect, a lagging
  // collector's buffer at handover, or a second app-server on the same CODEX_HOME that loaded an older
  // rollout (facts §5; 0.169.0 has no request that lowers a thread's total). Re-baselining down on it
  // would count everything between it and the baseline again when the fresh totals arrive. The price
  // of this rule is an undercount if history really was rewritten (restored CODEX_HOME): logged.
  const delta = {} as TokenCounts;
  const next = {} as TokenCounts;
  let fell = false;
  let grew = false;
  for (const f of FIELDS) {
    const d = r.total[f] - counted[f];
    if (d < 0) fell = true;
    if (d > 0) grew = true;
    delta[f] = Math.max(0, d);
    next[f] = Math.max(counted[f], r.total[f]);
  }
  if (fell) result.decreased.push({ threadId: r.threadId, from: counted, to: r.total });
  if (!grew) {
    // An echo (failed/interrupted turns repeat the previous total) or a replay: nothing new.
    if (!fell) result.echoes++;
    return;
  }
  const moved = await client.query(
    `UPDATE thread SET counted_input_tokens = $2, counted_cached_input_tokens = $3, counted_output_tokens = $4,
        counted_reasoning_output_tokens = $5, counted_total_tokens = $6, baseline_at = COALESCE(baseline_at, now())
     WHERE id = $1 AND counted_input_tokens = $7 AND counted_cached_input_tokens = $8 AND counted_output_tokens = $9
        AND counted_reasoning_output_tokens = $10 AND counted_total_tokens = $11`,
    [r.threadId, ...FIELDS.map((f) => next[f]), ...FIELDS.map((f) => counted[f])],
  );
  if (moved.rowCount !== 1) throw new Error(`baseline of thread ${r.threadId} moved concurrently`);
  // First sight mid-life: usage before this response happened while we were away (backfill).
  const backfill = !row.has_baseline && r.total.totalTokens !== r.last.totalTokens;
  const p = price(r.model, r.atMs, delta);
  const team = row.team ?? "";
  await client.query(
    `INSERT INTO usage_event (thread_id, turn_id, target_id, team, model, repo, at, input_tokens, cached_input_tokens,
        output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens, price_version, backfill,
        cumulative_total)
     VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7 / 1000.0) AT TIME ZONE 'UTC', $8, $9, $10, $11, $12, $13, $14,
        $15, $16, $17)`,
    [
      r.threadId,
      r.turnId,
      r.targetId,
      team,
      r.model,
      r.repo,
      r.atMs,
      ...FIELDS.map((f) => delta[f]),
      p.costUsd ?? 0,
      p.unpricedTokens,
      p.priceVersion,
      backfill,
      next.totalTokens,
    ],
  );
  if (r.turnId) {
    await client.query(
      `INSERT INTO turn (id, thread_id, target_id, model, input_tokens, cached_input_tokens, output_tokens,
          reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens, price_version, backfill)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (id) DO UPDATE SET input_tokens = turn.input_tokens + EXCLUDED.input_tokens,
          cached_input_tokens = turn.cached_input_tokens + EXCLUDED.cached_input_tokens,
          output_tokens = turn.output_tokens + EXCLUDED.output_tokens,
          reasoning_output_tokens = turn.reasoning_output_tokens + EXCLUDED.reasoning_output_tokens,
          total_tokens = turn.total_tokens + EXCLUDED.total_tokens,
          cost_usd = turn.cost_usd + EXCLUDED.cost_usd,
          unpriced_tokens = turn.unpriced_tokens + EXCLUDED.unpriced_tokens,
          price_version = EXCLUDED.price_version,
          backfill = turn.backfill OR EXCLUDED.backfill,
          model = COALESCE(turn.model, EXCLUDED.model)`,
      [
        r.turnId,
        r.threadId,
        r.targetId,
        r.model,
        ...FIELDS.map((f) => delta[f]),
        p.costUsd ?? 0,
        p.unpricedTokens,
        p.priceVersion,
        backfill,
      ],
    );
  }
  await client.query(
    `INSERT INTO usage_hourly (hour, target_id, team, model, repo, input_tokens, cached_input_tokens, output_tokens,
        reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens)
     VALUES (date_trunc('hour', to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC'), $2, $3, $4, $5, $6, $7, $8, $9, $10,
        $11, $12)
     ON CONFLICT (hour, target_id, team, model, repo) DO UPDATE SET
        input_tokens = usage_hourly.input_tokens + EXCLUDED.input_tokens,
        cached_input_tokens = usage_hourly.cached_input_tokens + EXCLUDED.cached_input_tokens,
        output_tokens = usage_hourly.output_tokens + EXCLUDED.output_tokens,
        reasoning_output_tokens = usage_hourly.reasoning_output_tokens + EXCLUDED.reasoning_output_tokens,
        total_tokens = usage_hourly.total_tokens + EXCLUDED.total_tokens,
        cost_usd = usage_hourly.cost_usd + EXCLUDED.cost_usd,
        unpriced_tokens = usage_hourly.unpriced_tokens + EXCLUDED.unpriced_tokens`,
    [
      r.atMs,
      r.targetId,
      team,
      r.model,
      r.repo,
      ...FIELDS.map((f) => delta[f]),
      p.costUsd ?? 0,
      p.unpricedTokens,
    ],
  );
  result.counted.push({
    threadId: r.threadId,
    turnId: r.turnId,
    targetId: r.targetId,
    atMs: r.atMs,
    delta,
    cumulative: next,
    costUsd: p.costUsd,
    backfill,
  });
}

/** Count each turn's end once in the rollup (turns, failedTurns), keyed by its completion hour. */
async function countEndedTurns(client: PoolClient, turns: TurnPatchRow[]): Promise<number> {
  const ids = [...new Set(turns.filter((t) => t.status && TERMINAL.includes(t.status)).map((t) => t.id))];
  if (ids.length === 0) return 0;
  const { rows } = await client.query<{ n: number }>(
    `WITH ended AS (
       UPDATE turn t SET end_counted = true
       WHERE t.id = ANY($1::text[]) AND NOT t.end_counted AND t.status = ANY($2::text[])
       RETURNING t.target_id, t.thread_id, t.model, t.status, COALESCE(t.completed_at, t.started_at) AS at
     ), keyed AS (
       SELECT date_trunc('hour', COALESCE(e.at, now() AT TIME ZONE 'UTC')) AS hour, e.target_id,
              COALESCE(tg.team, '') AS team, COALESCE(e.model, th.model, 'unknown') AS model,
              COALESCE(th.repo, '') AS repo, count(*) AS turns, count(*) FILTER (WHERE e.status = 'failed') AS failed
       FROM ended e LEFT JOIN target tg ON tg.id = e.target_id LEFT JOIN thread th ON th.id = e.thread_id
       GROUP BY 1, 2, 3, 4, 5
     ), ins AS (
       INSERT INTO usage_hourly (hour, target_id, team, model, repo, turns, failed_turns)
       SELECT hour, target_id, team, model, repo, turns, failed FROM keyed
       ON CONFLICT (hour, target_id, team, model, repo) DO UPDATE SET
          turns = usage_hourly.turns + EXCLUDED.turns, failed_turns = usage_hourly.failed_turns + EXCLUDED.failed_turns
       RETURNING 1
     )
     SELECT COALESCE(sum(turns), 0)::int AS n FROM keyed`,
    [ids, TERMINAL],
  );
  return Number(rows[0]?.n ?? 0);
}
