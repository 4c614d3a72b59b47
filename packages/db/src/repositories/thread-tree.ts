/**
 * Sub-agent trees: a thread spawned by another (`parent_thread_id`) rolls up to its root thread.
 *
 * The root is resolved when read, by a bounded walk up the parent links, never stored. A stored
 * root would be a derived value that goes stale: a parent may be written after its child (another
 * target, a late backfill), in a concurrent transaction that cannot see the child yet, or never
 * (pruned, or on a target this collector does not follow); each case needs a re-rooting update
 * that can race. The walk is right whatever the order of arrival, and it is cheap: parents are
 * primary-key lookups and real trees are a few levels deep.
 *
 * The links come from app-servers that are not trusted: the walk stops at {@link MAX_TREE_DEPTH}
 * hops and at a thread already on its path (a cycle), so it always ends. The root is the last id
 * reached — a parent never seen counts as the root of its children (siblings whose parent lives on
 * another target still roll up together). Every thread has exactly one root, so grouping usage by
 * root neither loses nor double counts a token, hostile links included.
 */
import type { Pool, PoolClient } from "pg";

/** The longest walk up (or down) a tree: deeper links are treated as a root (or not listed). */
export const MAX_TREE_DEPTH = 32;
/** At most this many threads of one tree are summed; more is reported as truncated. */
export const MAX_TREE_THREADS = 10_000;
/** At most this many threads of a tree are listed (the totals still cover the whole tree). */
export const MAX_TREE_LISTED = 200;

/**
 * SQL of a CTE body (for `WITH RECURSIVE name(start, id, parent, depth, path) AS (…)`) walking up
 * from each thread id that `seedSql` selects (one column named `id`). Pick the root per `start`
 * with `DISTINCT ON (start) … ORDER BY start, depth DESC`.
 */
export function rootWalkSql(seedSql: string, cte: string): string {
  return `SELECT s.id AS start, s.id, th.parent_thread_id AS parent, 0 AS depth, ARRAY[s.id] AS path
       FROM (${seedSql}) s LEFT JOIN thread th ON th.id = s.id
     UNION ALL
     SELECT w.start, w.parent, p.parent_thread_id, w.depth + 1, w.path || w.parent
       FROM ${cte} w LEFT JOIN thread p ON p.id = w.parent
      WHERE w.parent IS NOT NULL AND w.depth < ${MAX_TREE_DEPTH} AND NOT w.parent = ANY(w.path)`;
}

/** One thread of a tree, with its counted totals. */
export interface TreeNode {
  id: string;
  parentThreadId: string | null;
  /** Hops below the root. */
  depth: number;
  /** False for an id only known as someone's parent (never seen, pruned, or on another target). */
  known: boolean;
  name: string | null;
  status: string | null;
  subAgentKind: string | null;
  subAgentDepth: number | null;
  totalTokens: number;
  costUsd: number;
  unpricedTokens: number;
}

export interface TreeTotals {
  threads: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningOutputTokens: number;
  totalTokens: number;
  costUsd: number;
  unpricedTokens: number;
}

export interface ThreadTree {
  rootThreadId: string;
  /** From the root down to the thread's parent (empty for a root). */
  ancestors: string[];
  /** The root first, then by depth and id; at most MAX_TREE_LISTED. */
  nodes: TreeNode[];
  /** Counted totals of every thread of the tree (up to MAX_TREE_THREADS). */
  totals: TreeTotals;
  /** More threads than listed (or than summed, when `totals.threads` is MAX_TREE_THREADS). */
  truncated: boolean;
}

/** The tree `threadId` belongs to: its path from the root, the tree's threads and their totals. */
export async function readThreadTree(args: {
  pool: Pool | PoolClient;
  threadId: string;
}): Promise<ThreadTree> {
  const { pool, threadId } = args;
  const up = await pool.query<{ id: string; depth: number }>(
    `WITH RECURSIVE walk(start, id, parent, depth, path) AS (${rootWalkSql("SELECT $1::text AS id", "walk")})
     SELECT id, depth FROM walk ORDER BY depth DESC`,
    [threadId],
  );
  const path = up.rows.map((r) => r.id);
  const rootThreadId = path[0] ?? threadId;
  const ancestors = path.slice(0, -1);

  const { rows } = await pool.query<
    TreeNode & {
      inputTokens: number;
      cachedInputTokens: number;
      outputTokens: number;
      reasoningOutputTokens: number;
    }
  >(
    `WITH RECURSIVE down(id, parent, depth, path) AS (
       SELECT $1::text, NULL::text, 0, ARRAY[$1::text]
       UNION ALL
       SELECT c.id, c.parent_thread_id, d.depth + 1, d.path || c.id
         FROM down d JOIN thread c ON c.parent_thread_id = d.id
        WHERE d.depth < ${MAX_TREE_DEPTH} AND NOT c.id = ANY(d.path)
     ), nodes AS MATERIALIZED (
       -- A thread reachable twice (only a hostile server makes one) is counted once.
       SELECT DISTINCT ON (id) id, parent, depth FROM (SELECT * FROM down LIMIT ${MAX_TREE_THREADS * 4}) x
       ORDER BY id, depth
     ), cost AS (
       SELECT u.thread_id, sum(u.cost_usd) AS cost, sum(u.unpriced_tokens) AS unpriced
       FROM usage_event u WHERE u.thread_id IN (SELECT id FROM nodes) GROUP BY u.thread_id
     )
     SELECT n.id, COALESCE(th.parent_thread_id, n.parent) AS "parentThreadId", n.depth, th.id IS NOT NULL AS known, th.name, th.status,
        th.sub_agent_kind AS "subAgentKind", th.sub_agent_depth AS "subAgentDepth",
        COALESCE(th.counted_input_tokens, 0)::float8 AS "inputTokens",
        COALESCE(th.counted_cached_input_tokens, 0)::float8 AS "cachedInputTokens",
        COALESCE(th.counted_output_tokens, 0)::float8 AS "outputTokens",
        COALESCE(th.counted_reasoning_output_tokens, 0)::float8 AS "reasoningOutputTokens",
        COALESCE(th.counted_total_tokens, 0)::float8 AS "totalTokens",
        COALESCE(c.cost, 0)::float8 AS "costUsd", COALESCE(c.unpriced, 0)::float8 AS "unpricedTokens"
     FROM nodes n LEFT JOIN thread th ON th.id = n.id LEFT JOIN cost c ON c.thread_id = n.id
     ORDER BY n.depth, n.id LIMIT ${MAX_TREE_THREADS}`,
    [rootThreadId],
  );
  const totals: TreeTotals = {
    threads: rows.length,
    inputTokens: 0,
    cachedInputTokens: 0,
    outputTokens: 0,
    reasoningOutputTokens: 0,
    totalTokens: 0,
    costUsd: 0,
    unpricedTokens: 0,
  };
  const nodes: TreeNode[] = [];
  for (const r of rows) {
    totals.inputTokens += r.inputTokens;
    totals.cachedInputTokens += r.cachedInputTokens;
    totals.outputTokens += r.outputTokens;
    totals.reasoningOutputTokens += r.reasoningOutputTokens;
    totals.totalTokens += r.totalTokens;
    totals.costUsd += r.costUsd;
    totals.unpricedTokens += r.unpricedTokens;
    if (nodes.length < MAX_TREE_LISTED)
      nodes.push({
        id: r.id,
        parentThreadId: r.parentThreadId,
        depth: r.depth,
        known: r.known,
        name: r.name,
        status: r.status,
        subAgentKind: r.subAgentKind,
        subAgentDepth: r.subAgentDepth,
        totalTokens: r.totalTokens,
        costUsd: r.costUsd,
        unpricedTokens: r.unpricedTokens,
      });
  }
  return {
    rootThreadId,
    ancestors,
    nodes,
    totals,
    truncated: rows.length > nodes.length || rows.length >= MAX_TREE_THREADS,
  };
}
