/**
 * The accounting rule (DESIGN "Accounting — exactly once, by construction") for a whole batch of
 * cumulative token reports, set-based: the baselines of every thread in the batch are read under
 * their row locks in one statement, the rule runs here over the reports in order, and one
 * statement moves every baseline — each conditioned on the value read — and writes the ledger
 * rows, the turn counters and the hourly rollup. That statement is the batch's turn statement
 * (ingest-repository.ts upsertTurns, built from `countedCtes`): the token increments ride on the
 * turn upsert and the hourly tokens on its usage_hourly upsert, so each turn row and each hourly
 * row is written once per batch. A constant number of round trips per batch instead of six per
 * report; same rows, same results, same row-lock order (thread ids sorted, then turns, then hours).
 */

import type { TokenCounts } from "@codex-fleet/protocol/events";
import type { PoolClient } from "pg";
import type { BatchResult, PriceFn, UsageReportRow } from "./ingest-types.ts";

const FIELDS = [
  "inputTokens",
  "cachedInputTokens",
  "outputTokens",
  "reasoningOutputTokens",
  "totalTokens",
] as const;

/** A thread's counted baseline as stored. */
export interface Baseline {
  counted: TokenCounts;
  /** A report has been counted for this thread before (baseline_at is set). */
  hasBaseline: boolean;
  /** When the thread's open recovery obligation was last marked (null: nothing owed). */
  owedAtMs?: number | null;
}

/** One counted report, ready to be written: the ledger row and what it adds to turn and rollup. */
export interface CountedRow {
  ord: number;
  report: UsageReportRow;
  team: string;
  delta: TokenCounts;
  costUsd: number | null;
  unpricedTokens: number;
  priceVersion: string;
  backfill: boolean;
  /** Input of the request that decided the long-context tier (see `tierRequest`). */
  requestInputTokens: number;
  cumulative: TokenCounts;
}

/** What the rule decided for a batch. */
export interface AccountingPlan {
  rows: CountedRow[];
  /** Per thread that grew: the baseline read (the UPDATE's condition) and where it moves. */
  moves: { threadId: string; from: TokenCounts; to: TokenCounts }[];
  echoes: number;
  decreased: BatchResult["decreased"];
  /**
   * Threads whose recovery obligation is met: a report received at or after the mark that does
   * not fall below the baseline (grew, or an echo equal to it) is the thread's latest total.
   */
  cleared: { threadId: string; receivedAtMs: number }[];
}

/**
 * Cache writes are a part of the input and are not in `totalTokens`' parts list of the rule
 * above: their delta follows the counted cache-write baseline, bounded by the input that is not
 * cached in this delta (a thread counted before the baseline existed starts at 0; the bound keeps
 * its first delta from claiming the whole history's writes).
 */
function cacheWriteDelta(total: TokenCounts, counted: TokenCounts, delta: TokenCounts): number {
  const grown = Math.max(0, (total.cacheWriteInputTokens ?? 0) - (counted.cacheWriteInputTokens ?? 0));
  return Math.min(grown, Math.max(0, delta.inputTokens - delta.cachedInputTokens));
}

/**
 * Which request decides a delta's long-context tier. One live report is one model response: its
 * delta equals the report's `last`, and the delta's own input decides. A delta that covers several
 * responses (a backfill, reports missed while away) cannot be split: it is priced as one request
 * whose size is the last response's input (in a growing context, the largest of them), and marked.
 */
export function tierRequest(
  delta: TokenCounts,
  last: TokenCounts,
): { requestInputTokens: number; merged: boolean } {
  const merged = delta.totalTokens !== last.totalTokens;
  return {
    requestInputTokens: merged ? Math.min(last.inputTokens, delta.inputTokens) : delta.inputTokens,
    merged,
  };
}

/**
 * Apply the rule to `reports` in order. Per counter: count only growth past the baseline, and
 * never move the baseline down. A total below it is almost always stale — an older report replayed
 * after a reconnect, a lagging collector's buffer at handover, or a second app-server on the same
 * CODEX_HOME that loaded an older rollout (facts §5; 0.169.0 has no request that lowers a thread's
 * total). Re-baselining down on it would count everything between it and the baseline again when
 * the fresh totals arrive. The price of this rule is an undercount if history really was rewritten
 * (restored CODEX_HOME): logged by the caller from `decreased`.
 */
export function planAccounting(args: {
  reports: readonly UsageReportRow[];
  baselines: ReadonlyMap<string, Baseline>;
  teams: ReadonlyMap<string, string>;
  price: PriceFn;
}): AccountingPlan {
  const current = new Map<string, Baseline>();
  const plan: AccountingPlan = { rows: [], moves: [], echoes: 0, decreased: [], cleared: [] };
  const cleared = new Map<string, number>();
  const moved = new Map<string, { from: TokenCounts; to: TokenCounts }>();
  for (const [ord, r] of args.reports.entries()) {
    const base = current.get(r.threadId) ?? args.baselines.get(r.threadId);
    if (!base) throw new Error(`thread ${r.threadId} vanished inside the accounting transaction`);
    const counted = base.counted;
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
    delta.cacheWriteInputTokens = cacheWriteDelta(r.total, counted, delta);
    next.cacheWriteInputTokens = Math.max(
      counted.cacheWriteInputTokens ?? 0,
      r.total.cacheWriteInputTokens ?? 0,
    );
    if (fell) plan.decreased.push({ threadId: r.threadId, from: counted, to: r.total });
    // A stale total (below the baseline) says nothing about what is owed; any other report
    // received after the mark is the thread's latest total, counted now or already.
    const owedAt = args.baselines.get(r.threadId)?.owedAtMs;
    if (!fell && owedAt != null && r.receivedAtMs !== undefined && r.receivedAtMs >= owedAt)
      cleared.set(r.threadId, Math.max(cleared.get(r.threadId) ?? 0, r.receivedAtMs));
    if (!grew) {
      // An echo (failed/interrupted turns repeat the previous total) or a replay: nothing new.
      if (!fell) plan.echoes++;
      continue;
    }
    // First sight mid-life: usage before this response happened while we were away (backfill).
    const backfill = !base.hasBaseline && r.total.totalTokens !== r.last.totalTokens;
    const tier = tierRequest(delta, r.last);
    const p = args.price(r.model, r.atMs, delta, tier);
    plan.rows.push({
      ord,
      report: r,
      team: args.teams.get(r.targetId) ?? "",
      delta,
      costUsd: p.costUsd,
      unpricedTokens: p.unpricedTokens,
      priceVersion: p.priceVersion,
      backfill,
      requestInputTokens: tier.requestInputTokens,
      cumulative: next,
    });
    current.set(r.threadId, { counted: next, hasBaseline: true });
    const m = moved.get(r.threadId);
    if (m) m.to = next;
    else moved.set(r.threadId, { from: counted, to: next });
  }
  for (const [threadId, m] of moved) plan.moves.push({ threadId, ...m });
  for (const [threadId, receivedAtMs] of cleared) plan.cleared.push({ threadId, receivedAtMs });
  return plan;
}

interface BaselineRow {
  id: string;
  input: number;
  cached: number;
  output: number;
  reasoning: number;
  total: number;
  cache_write: number;
  has_baseline: boolean;
  owed_at_ms: number | null;
}

/**
 * What a batch's counted reports write, ready for the one conditioned statement that also writes
 * the turns (ingest-repository.ts upsertTurns, with COUNTED_CTES and COUNTED_HOURLY_ROWS):
 * `moves` and `rows` are its JSON parameters; `expectedMoves` is how many baselines it must move.
 */
export interface CountedWrite {
  /** Per thread: [id, new×5, old×5, new cache writes] (the caller may append the row's other marks). */
  moves: (string | number | null)[][];
  rows: string;
  expectedMoves: number;
  plan: AccountingPlan;
}

/** No report counted: the statement's counted CTEs write nothing. */
export const NOTHING_COUNTED: Omit<CountedWrite, "plan"> = { moves: [], rows: "[]", expectedMoves: 0 };

/**
 * Read the baselines of a batch's threads under their row locks, apply the rule, clear the
 * obligations met, and return what the counted reports write (null: nothing grew). Appends the
 * echoes, decreases and cleared obligations to `result`; the counted rows are appended by
 * `finishCounted` once the statement has moved every baseline.
 */
export async function planUsageBatch(
  client: PoolClient,
  reports: readonly UsageReportRow[],
  price: PriceFn,
  result: BatchResult,
): Promise<CountedWrite | null> {
  if (reports.length === 0) return null;
  const threadTargets = new Map<string, string>();
  for (const r of reports) if (!threadTargets.has(r.threadId)) threadTargets.set(r.threadId, r.targetId);
  const ids = [...threadTargets.keys()].sort();
  await client.query(
    `INSERT INTO thread (id, target_id) SELECT * FROM unnest($1::text[], $2::text[]) ORDER BY 1
     ON CONFLICT (id) DO NOTHING`,
    [ids, ids.map((id) => threadTargets.get(id))],
  );
  const { rows: stored } = await client.query<BaselineRow>(
    `SELECT id, counted_input_tokens AS input, counted_cached_input_tokens AS cached,
            counted_output_tokens AS output, counted_reasoning_output_tokens AS reasoning,
            counted_total_tokens AS total, counted_cache_write_input_tokens AS cache_write,
            baseline_at IS NOT NULL AS has_baseline,
            (extract(epoch from owed_at) * 1000)::float8 AS owed_at_ms
     FROM thread WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`,
    [ids],
  );
  const { rows: teamRows } = await client.query<{ id: string; team: string }>(
    "SELECT id, team FROM target WHERE id = ANY($1::text[])",
    [[...new Set(reports.map((r) => r.targetId))]],
  );
  const baselines = new Map<string, Baseline>(
    stored.map((row) => [
      row.id,
      {
        counted: {
          inputTokens: Number(row.input),
          cachedInputTokens: Number(row.cached),
          outputTokens: Number(row.output),
          reasoningOutputTokens: Number(row.reasoning),
          totalTokens: Number(row.total),
          cacheWriteInputTokens: Number(row.cache_write),
        },
        hasBaseline: row.has_baseline,
        owedAtMs: row.owed_at_ms === null ? null : Math.round(Number(row.owed_at_ms)),
      },
    ]),
  );
  const plan = planAccounting({
    reports,
    baselines,
    teams: new Map(teamRows.map((t) => [t.id, t.team ?? ""])),
    price,
  });
  result.echoes += plan.echoes;
  result.decreased.push(...plan.decreased);
  if (plan.cleared.length > 0) {
    // Same transaction as the counted rows: a crash either keeps both or neither. The rows are
    // locked (FOR UPDATE above), so the mark read is the mark cleared.
    await client.query(
      `UPDATE thread SET owed_since = NULL, owed_at = NULL, owed_reason = NULL
       WHERE id = ANY($1::text[]) AND owed_at IS NOT NULL`,
      [plan.cleared.map((c) => c.threadId)],
    );
    result.cleared = [...(result.cleared ?? []), ...plan.cleared];
  }
  if (plan.rows.length === 0) return null;
  return {
    moves: plan.moves.map((m) => [
      m.threadId,
      ...FIELDS.map((f) => m.to[f]),
      ...FIELDS.map((f) => m.from[f]),
      m.to.cacheWriteInputTokens ?? 0,
    ]),
    rows: JSON.stringify(
      plan.rows.map((c) => ({
        ord: c.ord,
        threadId: c.report.threadId,
        turnId: c.report.turnId,
        targetId: c.report.targetId,
        team: c.team,
        model: c.report.model,
        repo: c.report.repo,
        atMs: c.report.atMs,
        input: c.delta.inputTokens,
        cached: c.delta.cachedInputTokens,
        cacheWrite: c.delta.cacheWriteInputTokens ?? 0,
        requestInput: c.requestInputTokens,
        output: c.delta.outputTokens,
        reasoning: c.delta.reasoningOutputTokens,
        total: c.delta.totalTokens,
        cost: c.costUsd ?? 0,
        unpriced: c.unpricedTokens,
        priceVersion: c.priceVersion,
        backfill: c.backfill,
        cumulative: c.cumulative.totalTokens,
      })),
    ),
    expectedMoves: plan.moves.length,
    plan,
  };
}

/**
 * After the statement: it must have moved every baseline it was planned to (each UPDATE is
 * conditioned on the value read; a baseline that moved under us means the plan is stale — throw,
 * and the transaction rolls back with everything it wrote). Then report the counted rows.
 */
export function finishCounted(write: CountedWrite, moved: number, result: BatchResult): void {
  if (moved !== write.expectedMoves)
    throw new Error(`baselines moved concurrently (${moved} of ${write.expectedMoves} threads)`);
  for (const c of write.plan.rows)
    result.counted.push({
      threadId: c.report.threadId,
      turnId: c.report.turnId,
      targetId: c.report.targetId,
      atMs: c.report.atMs,
      delta: c.delta,
      cumulative: c.cumulative,
      costUsd: c.costUsd,
      backfill: c.backfill,
    });
}

/**
 * The counted reports' part of the one statement that writes a batch's turns (ingest-repository.ts
 * upsertTurns), as CTEs over the parameters `moves` and `rows` (CountedWrite):
 * `moved` moves every baseline, each conditioned on the value read (the single decider: a delta is
 * counted iff its statement moved the baseline; the caller checks the count) — with `sameRowSet`,
 * what else the statement writes to those thread rows (a statement may write a row once) —, `ledger` appends the
 * ledger rows, `counted` is the rows (cost cast to the column's numeric(20,10) per row before any
 * sum, exactly as one INSERT per report would store it) and `counted_turns` their sums per turn —
 * the increments the turn upsert adds to each turn row, so a turn row is written once per batch.
 */
export const countedCtes = (
  moves: string,
  rows: string,
  /**
   * More of the same thread row to write with its move: a SET over `m.mu` and `m.mw`, the 13th
   * and 14th elements of a move (null when absent), which the caller appends.
   */
  sameRowSet?: string,
) => `
m AS (
  SELECT x->>0 AS id, (x->>1)::int8 AS ni, (x->>2)::int8 AS nc, (x->>3)::int8 AS no, (x->>4)::int8 AS nr,
         (x->>5)::int8 AS nt, (x->>6)::int8 AS oi, (x->>7)::int8 AS oc, (x->>8)::int8 AS oo, (x->>9)::int8 AS orr,
         (x->>10)::int8 AS ot, (x->>11)::int8 AS ncw, (x->>12)::float8 AS mu, (x->>13)::float8 AS mw
  FROM jsonb_array_elements(${moves}::jsonb) AS x
), moved AS (
  UPDATE thread t SET counted_input_tokens = m.ni, counted_cached_input_tokens = m.nc, counted_output_tokens = m.no,
     counted_reasoning_output_tokens = m.nr, counted_total_tokens = m.nt,
     counted_cache_write_input_tokens = GREATEST(t.counted_cache_write_input_tokens, m.ncw),
     baseline_at = COALESCE(t.baseline_at, now())${sameRowSet ? `, ${sameRowSet}` : ""}
  FROM m
  WHERE t.id = m.id AND t.counted_input_tokens = m.oi AND t.counted_cached_input_tokens = m.oc
     AND t.counted_output_tokens = m.oo AND t.counted_reasoning_output_tokens = m.orr AND t.counted_total_tokens = m.ot
  RETURNING 1
), counted AS (
  SELECT x.*, x.cost::numeric(20, 10) AS cost_usd, to_timestamp(x."atMs" / 1000.0) AT TIME ZONE 'UTC' AS at
  FROM jsonb_to_recordset(${rows}::jsonb) AS x(ord int, "threadId" text, "turnId" text, "targetId" text, team text,
     model text, repo text, "atMs" float8, input int8, cached int8, "cacheWrite" int8, "requestInput" int8, output int8,
     reasoning int8, total int8, cost numeric, unpriced int8, "priceVersion" text, backfill boolean, cumulative int8)
), ledger AS (
  INSERT INTO usage_event (thread_id, turn_id, target_id, team, model, repo, at, input_tokens, cached_input_tokens,
     output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens, price_version, backfill,
     cumulative_total, cache_write_input_tokens, request_input_tokens)
  SELECT "threadId", "turnId", "targetId", team, model, repo, at, input, cached, output, reasoning, total, cost_usd,
     unpriced, "priceVersion", backfill, cumulative, "cacheWrite", "requestInput"
  FROM counted ORDER BY ord
), counted_turns AS (
  SELECT "turnId" AS id, (array_agg("threadId" ORDER BY ord))[1] AS thread_id,
     (array_agg("targetId" ORDER BY ord))[1] AS target_id, (array_agg(model ORDER BY ord))[1] AS model,
     sum(input) AS input, sum(cached) AS cached, sum(output) AS output, sum(reasoning) AS reasoning,
     sum(total) AS total, sum(cost_usd) AS cost_usd, sum(unpriced) AS unpriced,
     (array_agg("priceVersion" ORDER BY ord DESC))[1] AS price_version, bool_or(backfill) AS backfill
  FROM counted WHERE "turnId" IS NOT NULL GROUP BY "turnId"
)`;

/**
 * The counted reports' rows for usage_hourly (keyed by the report's hour, target, team, model and
 * repo), in the column order (hour, target_id, team, model, repo, turns, failed, input, cached,
 * output, reasoning, total, cost_usd, unpriced): the turn statement upserts them with its turn ends
 * in one upsert.
 */
export const COUNTED_HOURLY_ROWS = `
  SELECT date_trunc('hour', at) AS hour, "targetId" AS target_id, team, model, repo, 0::int8 AS turns,
     0::int8 AS failed, input, cached, output, reasoning, total, cost_usd, unpriced
  FROM counted`;
