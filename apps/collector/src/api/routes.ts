/** HTTP API v1 (DESIGN "Interfaces"): targets, threads, thread detail, usage, health, metrics. */

import type { DbPool } from "@codex-fleet/db/client";
import { queryFailures } from "@codex-fleet/db/queries/failures";
import { MAX_USAGE_ROWS, MAX_USAGE_TOP, queryUsage, usageTopProblem } from "@codex-fleet/db/queries/usage";
import { readThreadTree } from "@codex-fleet/db/repositories/thread-tree";
import {
  countOwedThreads,
  readThread,
  readThreadDetail,
} from "@codex-fleet/db/repositories/threads-repository";
import {
  type FailuresResponse,
  FailuresResponseSchema,
  TargetListSchema,
  type TargetView,
  type ThreadDetail,
  ThreadDetailSchema,
  ThreadListSchema,
  USAGE_GROUP_KEYS,
  type UsageGroupKey,
  type UsageResponse,
  UsageResponseSchema,
} from "@codex-fleet/protocol/api";
import { isOpenEnumValue, THREAD_STATUSES } from "@codex-fleet/protocol/status";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { Fleet } from "../fleet/fleet.ts";
import { toCsv } from "../http/csv.ts";
import { badParam, notFound } from "../http/errors.ts";
import { describeRoute, type ParsedQuery, pathParams } from "../http/openapi.ts";
import { eachOf, noQuery, qp, query } from "../http/params.ts";
import { threadFromStored } from "../ingest/thread-state.ts";
import type { Metrics } from "../metrics.ts";
import { registerActivityRoutes } from "./activity-routes.ts";
import { registerLimitsRoutes } from "./limits-routes.ts";
import {
  DEFAULT_THREAD_PAGE,
  encodeThreadCursor,
  MAX_THREAD_PAGE,
  threadCursorParam,
  threadOrder,
} from "./thread-page.ts";
import { targetView, threadView } from "./views.ts";
import { toWindow, windowParams } from "./window-query.ts";

const COUNTER_COLUMNS = [
  "turns",
  "failedTurns",
  "inputTokens",
  "cachedInputTokens",
  "outputTokens",
  "reasoningOutputTokens",
  "totalTokens",
  "costUsd",
  "unpricedTokens",
];

export interface RouteDeps {
  fleet: Fleet;
  pool: DbPool;
  metrics: Metrics;
  isReady(): boolean;
  /** Targets paused through the admin API (GET /api/v1/targets?paused=true): not in the Fleet. */
  pausedTargets?: () => TargetView[];
  /** From when the hourly rollups hold every hour (retention `hourlyDays`): queryUsage's `hourlyKeptFromMs`. */
  hourlyKeptFromMs?: () => number;
}

export function registerRoutes(fastify: FastifyInstance, deps: RouteDeps): void {
  const app = fastify.withTypeProvider<ParsedQuery>();
  const { fleet, pool } = deps;
  const teamOf = (target: string) => fleet.targets.get(target)?.config.team ?? "";

  const health = (summary: string, response: z.ZodType) =>
    describeRoute({ tags: ["health"], summary, open: true, response: { 200: response } });
  app.get("/healthz", health("Liveness", z.object({ ok: z.literal(true) })), async () => ({
    ok: true,
  }));
  app.get(
    "/readyz",
    {
      ...describeRoute({
        tags: ["health"],
        summary: "Readiness: 503 while Postgres cannot be reached",
        open: true,
        response: { 200: z.object({ ready: z.boolean() }), 503: z.object({ ready: z.boolean() }) },
      }),
    },
    async (_req, reply) => {
      const ready = deps.isReady();
      return reply.status(ready ? 200 : 503).send({ ready });
    },
  );
  app.get(
    "/metrics",
    {
      ...describeRoute({
        tags: ["health"],
        summary: "Prometheus metrics (viewer access when authentication is on)",
        response: { 200: { content: { "text/plain": { schema: z.string() } } } },
      }),
    },
    async (_req, reply) => reply.type("text/plain; version=0.0.4").send(deps.metrics.render()),
  );

  const targetsSchema = describeRoute({
    tags: ["targets"],
    summary: "Every target with its connection state",
    query: query({
      format: qp.format,
      paused: qp.enum(
        ["true", "false"],
        "true: the targets paused through the admin API instead (followed by no collector)",
      ),
    }),
    response: { 200: TargetListSchema },
    csv: true,
  });
  app.get("/api/v1/targets", targetsSchema, async (req, reply) => {
    const { format } = req.query;
    // paused=true: the targets paused through the admin API (followed by no collector, so not
    // in the live feed), for the dashboard to resume them.
    const paused = req.query.paused === "true";
    const rows = paused
      ? (deps.pausedTargets?.() ?? [])
      : [...fleet.targets.values()].map((rt) => targetView(rt, fleet.threads, fleet.codexVersionFloor));
    if (format === "csv") {
      const cols = [
        "name",
        "team",
        "url",
        "state",
        "reason",
        "stateSince",
        "lastError",
        "userAgent",
        "codexVersion",
        "belowSupportedFloor",
        "lastEventAt",
        "threads",
        "activeThreads",
      ];
      return reply.type("text/csv; charset=utf-8").send(toCsv(cols, rows));
    }
    return rows;
  });

  const threadsSchema = describeRoute({
    tags: ["threads"],
    summary: "Threads the collector holds, newest event first, a page at a time",
    description:
      "The working set: threads loaded in an app-server, owed a total, or heard from within retention.threadMemoryDays; older ones through GET /api/v1/threads/{id}. Headers: x-total-count (matching threads), x-next-cursor (pass as `cursor` for the next page).",
    query: query({
      target: qp.list("Only these targets"),
      team: qp.list("Only these teams"),
      status: qp.list(
        `Only these statuses: ${THREAD_STATUSES.join(", ")} or unknown:<name>`,
        eachOf((s) => isOpenEnumValue(THREAD_STATUSES, s), `${THREAD_STATUSES.join(", ")} or unknown:<name>`),
      ),
      limit: qp.int(`Page size (default ${DEFAULT_THREAD_PAGE})`, 1, MAX_THREAD_PAGE),
      cursor: threadCursorParam,
      format: qp.format,
    }),
    response: { 200: ThreadListSchema },
    csv: true,
  });
  app.get("/api/v1/threads", threadsSchema, async (req, reply) => {
    const { target: targets, team: teams, status: statuses, cursor, format } = req.query;
    const limit = req.query.limit ?? DEFAULT_THREAD_PAGE;
    // Stable order: newest event first, then id; the cursor is the last row's (event time, id).
    const matching = [...fleet.threads.values()].filter(
      (t) =>
        (!targets || targets.includes(t.targetId)) &&
        (!teams || teams.includes(teamOf(t.targetId))) &&
        (!statuses || statuses.includes(t.status)),
    );
    const page = matching
      .filter((t) => !cursor || threadOrder(t, cursor) > 0)
      .sort((a, b) => threadOrder(a, b))
      .slice(0, limit + 1);
    const last = page.length > limit ? page[limit - 1] : undefined;
    const rows = page.slice(0, limit).map((t) => threadView(t, teamOf(t.targetId)));
    reply.header("x-total-count", String(matching.length));
    if (last) reply.header("x-next-cursor", encodeThreadCursor(last));
    if (format === "csv") {
      const cols = [
        "id",
        "target",
        "team",
        "status",
        "statusSince",
        "model",
        "repo",
        "gitBranch",
        "lastTurnStatus",
        "lastCodexErrorInfo",
        "totalTokens",
        "lastEventAt",
      ];
      return reply.type("text/csv; charset=utf-8").send(toCsv(cols, rows));
    }
    return rows;
  });

  const threadSchema = describeRoute({
    tags: ["threads"],
    summary: "One thread with its turns, counted totals and sub-agent tree",
    params: pathParams({ id: "Thread id" }),
    query: noQuery,
    response: { 200: ThreadDetailSchema },
  });
  app.get("/api/v1/threads/:id", threadSchema, async (req) => {
    const { id } = req.params as { id: string };
    if (id.length > 200) throw badParam("id", "too long");
    // A thread the collector does not hold in memory (beyond its target's bound, or not followed
    // any more) is still answered from the database.
    let t = fleet.threads.get(id);
    if (!t) {
      const stored = await readThread({ pool, id });
      if (!stored) throw notFound(`thread ${id}`);
      t = threadFromStored(stored);
    }
    const [{ turns, totals }, tree] = await Promise.all([
      readThreadDetail({ pool, threadId: id }),
      readThreadTree({ pool, threadId: id }),
    ]);
    const detail: ThreadDetail = {
      ...threadView(t, teamOf(t.targetId)),
      counted: {
        inputTokens: totals?.inputTokens ?? 0,
        cachedInputTokens: totals?.cachedInputTokens ?? 0,
        outputTokens: totals?.outputTokens ?? 0,
        reasoningOutputTokens: totals?.reasoningOutputTokens ?? 0,
        totalTokens: totals?.totalTokens ?? 0,
      },
      costUsd: totals?.costUsd ?? 0,
      unpricedTokens: totals?.unpricedTokens ?? 0,
      turns: turns.map((u) => ({
        id: u.id,
        threadId: u.threadId,
        model: u.model,
        status: u.status,
        errorMessage: u.errorMessage,
        codexErrorInfo: u.codexErrorInfo,
        startedAt: u.startedAtMs === null ? null : new Date(u.startedAtMs).toISOString(),
        completedAt: u.completedAtMs === null ? null : new Date(u.completedAtMs).toISOString(),
        durationMs: u.durationMs,
        inputTokens: u.inputTokens,
        cachedInputTokens: u.cachedInputTokens,
        outputTokens: u.outputTokens,
        reasoningOutputTokens: u.reasoningOutputTokens,
        totalTokens: u.totalTokens,
        costUsd: u.unpricedTokens > 0 && u.costUsd === 0 ? null : u.costUsd,
        unpricedTokens: u.unpricedTokens,
        priceVersion: u.priceVersion,
        backfill: u.backfill,
        contextTokens: u.contextTokens,
      })),
      parentThreadId: t.parentThreadId,
      rootThreadId: tree.rootThreadId,
      subAgent: t.subAgentKind === null ? null : { kind: t.subAgentKind, depth: t.subAgentDepth },
      tree: { ...tree, nodes: tree.nodes.map(({ subAgentDepth: _, ...n }) => n) },
    };
    return detail;
  });

  const usageSchema = describeRoute({
    tags: ["reports"],
    summary: "Token usage and cost over a window, grouped and filtered",
    query: query({
      ...windowParams(USAGE_GROUP_KEYS),
      sort: qp.enum(
        ["key", "cost", "tokens"],
        "Row order, and so which rows `limit` keeps: by the group keys (default), or most cost or tokens first; with `top`, what ranks the series (rows then come by day or hour, then by rank)",
      ),
      limit: qp.int(
        `At most this many rows (default and most ${MAX_USAGE_ROWS}; \`truncated\` says whether there were more)`,
        1,
        MAX_USAGE_ROWS,
      ),
      top: qp.int(
        `Series (e.g. a chart stacked by developer): keep this many (at most ${MAX_USAGE_TOP}) combinations of the keys other than day and hour, those with the most \`sort\` (cost or tokens) over the window; the rest are summed per day or hour into one row with \`other: true\` and no series keys`,
        1,
        MAX_USAGE_TOP,
      ),
    }).transform((q, ctx) => {
      const window = toWindow<UsageGroupKey>(q, ctx);
      const problem = q.top === undefined ? null : usageTopProblem(window.groupBy, q.sort);
      if (problem) ctx.addIssue({ code: "custom", path: ["top"], message: problem });
      return { ...window, sort: q.sort ?? "key", limit: q.limit ?? MAX_USAGE_ROWS, top: q.top };
    }),
    response: { 200: UsageResponseSchema },
    csv: true,
  });
  app.get("/api/v1/usage", usageSchema, async (req, reply) => {
    const { from, to, groupBy, format, filters, sort, limit, top } = req.query;
    const [{ rows, totals, truncated }, pendingThreads] = await Promise.all([
      queryUsage({
        pool,
        fromMs: from,
        toMs: to,
        groupBy,
        filters,
        sort,
        limit,
        ...(top ? { top } : {}),
        ...(deps.hourlyKeptFromMs ? { hourlyKeptFromMs: deps.hourlyKeptFromMs() } : {}),
      }),
      countOwedThreads({ pool, filters }),
    ]);
    // CSV has no room for the flag: a header says the rows were cut, in either format.
    if (truncated) reply.header("x-codex-fleet-truncated", "true");
    if (format === "csv") {
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", 'attachment; filename="codex-fleet-usage.csv"')
        .send(toCsv([...groupBy, ...(top ? ["other"] : []), ...COUNTER_COLUMNS], rows));
    }
    const body: UsageResponse = {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      groupBy,
      rows,
      truncated,
      totals,
      pendingThreads,
    };
    return body;
  });

  // Failure reasons: failed turns by error kind (issue 11). Its own endpoint, not a /usage group
  // key: the kind splits only failedTurns (tokens and cost have no kind), and it reads turns
  // rather than the rollups. Same window, groupBy and filters as /usage, plus `kind`.
  const failuresSchema = describeRoute({
    tags: ["reports"],
    summary: "Failed turns by error kind over a window",
    query: query({ ...windowParams(USAGE_GROUP_KEYS), kind: qp.list("Only these error kinds") }).transform(
      (q, ctx) => ({ ...toWindow<UsageGroupKey>(q, ctx), kind: q.kind }),
    ),
    response: { 200: FailuresResponseSchema },
    csv: true,
  });
  app.get("/api/v1/usage/failures", failuresSchema, async (req, reply) => {
    const { from, to, groupBy, format, filters: usageFilters, kind } = req.query;
    const filters = { ...usageFilters, kind };
    const { rows, kinds, failedTurns } = await queryFailures({
      pool,
      fromMs: from,
      toMs: to,
      groupBy,
      filters,
    });
    if (format === "csv") {
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", 'attachment; filename="codex-fleet-failures.csv"')
        .send(toCsv([...groupBy, "kind", "failedTurns"], rows));
    }
    const body: FailuresResponse = {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      groupBy,
      rows,
      kinds,
      failedTurns,
    };
    return body;
  });

  registerActivityRoutes(fastify, { pool });
  registerLimitsRoutes(fastify, { pool });
}
