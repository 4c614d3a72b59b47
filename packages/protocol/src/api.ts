/**
 * HTTP API v1 shapes, declared once for the collector (which produces the answers and validates
 * the request bodies) and the dashboard (which sends the bodies and parses the answers).
 * Browser-safe.
 */
import { z } from "zod";
import {
  GoalStatusSchema,
  TargetReasonSchema,
  TargetStateSchema,
  ThreadStatusTypeSchema,
  TurnStatusSchema,
} from "./status.ts";

/** GET /api/v1/targets rows. Never carries a token. */
export const TargetViewSchema = z.object({
  name: z.string(),
  team: z.string(),
  url: z.string(),
  labels: z.record(z.string(), z.string()),
  state: TargetStateSchema,
  reason: TargetReasonSchema.nullable(),
  stateSince: z.string(),
  lastError: z.string().nullable(),
  userAgent: z.string().nullable(),
  /** The codex version in `userAgent` (see codex-version.ts); null when unknown. */
  codexVersion: z.string().nullable().optional(),
  /** `codexVersion` is older than the collector's supported floor (config `codexVersionFloor`). */
  belowSupportedFloor: z.boolean().optional(),
  lastEventAt: z.string().nullable(),
  connectedSince: z.string().nullable(),
  threads: z.number(),
  activeThreads: z.number(),
  /** Threads of this target whose total may be unread (pending recovery): their figures are a lower bound. */
  pendingThreads: z.number().optional(),
  /** The collector instance following this target (its lease holder); null: none right now. */
  followedBy: z.string().nullable().optional(),
});
export type TargetView = z.infer<typeof TargetViewSchema>;
/** GET /api/v1/targets */
export const TargetListSchema = z.array(TargetViewSchema);

export const PendingRequestSchema = z.object({
  requestId: z.union([z.string(), z.number()]),
  method: z.string(),
  requestKind: z.string(),
  turnId: z.string().nullable(),
  itemId: z.string().nullable(),
  preview: z.string().nullable(),
  sinceMs: z.number(),
});
export type PendingRequest = z.infer<typeof PendingRequestSchema>;

/** A thread's goal (`thread/goal/updated`): status, tokens used of its budget (never its objective: a prompt). */
export const ThreadGoalViewSchema = z.object({
  status: GoalStatusSchema,
  /** null: no budget. */
  tokenBudget: z.number().nullable(),
  /** null: not reported. */
  tokensUsed: z.number().nullable(),
  /** Server time of the goal's last change. */
  updatedAt: z.string().nullable(),
  /** Since when (collector time) the goal has this status. */
  statusSince: z.string(),
});
export type ThreadGoalView = z.infer<typeof ThreadGoalViewSchema>;

/** GET /api/v1/threads rows and the live feed's thread snapshot. */
export const ThreadViewSchema = z.object({
  id: z.string(),
  target: z.string(),
  team: z.string(),
  name: z.string().nullable(),
  model: z.string().nullable(),
  cwd: z.string().nullable(),
  repo: z.string().nullable(),
  gitBranch: z.string().nullable(),
  status: ThreadStatusTypeSchema,
  activeFlags: z.array(z.string()),
  statusSince: z.string(),
  lastEventAt: z.string().nullable(),
  currentTurnId: z.string().nullable(),
  currentTurnStartedAt: z.string().nullable(),
  lastTurnStatus: z.string().nullable(),
  lastErrorMessage: z.string().nullable(),
  lastCodexErrorInfo: z.string().nullable(),
  contextTokens: z.number().nullable(),
  modelContextWindow: z.number().nullable(),
  pendingRequests: z.array(PendingRequestSchema),
  totalTokens: z.number(),
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
  /**
   * Set while the thread's total may be unread (DESIGN "What is owed is persistent"): pending
   * recovery since then, for `owedReason`. `totalTokens` is a lower bound meanwhile.
   */
  owedSince: z.string().nullable().optional(),
  owedReason: z.string().nullable().optional(),
  /** The thread's goal; null when it has none (or none is known). */
  goal: ThreadGoalViewSchema.nullable().optional(),
});
export type ThreadView = z.infer<typeof ThreadViewSchema>;
/** GET /api/v1/threads */
export const ThreadListSchema = z.array(ThreadViewSchema);

export const TokenFieldsSchema = z.object({
  inputTokens: z.number(),
  cachedInputTokens: z.number(),
  outputTokens: z.number(),
  reasoningOutputTokens: z.number(),
  totalTokens: z.number(),
});

export const TurnViewSchema = TokenFieldsSchema.extend({
  id: z.string(),
  threadId: z.string(),
  model: z.string().nullable(),
  status: TurnStatusSchema,
  errorMessage: z.string().nullable(),
  codexErrorInfo: z.string().nullable(),
  startedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  /** null when the model has no price (unpriced, never $0). */
  costUsd: z.number().nullable(),
  unpricedTokens: z.number(),
  priceVersion: z.string().nullable(),
  backfill: z.boolean(),
  contextTokens: z.number().nullable(),
});
export type TurnView = z.infer<typeof TurnViewSchema>;

/** One thread of a sub-agent tree (thread detail `tree.nodes`). */
export const TreeNodeViewSchema = z.object({
  id: z.string(),
  parentThreadId: z.string().nullable(),
  /** Hops below the root. */
  depth: z.number(),
  /** False for an id only known as a parent (never seen, pruned, or on a target not followed). */
  known: z.boolean(),
  name: z.string().nullable(),
  status: z.string().nullable(),
  subAgentKind: z.string().nullable(),
  totalTokens: z.number(),
  costUsd: z.number(),
  unpricedTokens: z.number(),
});
export type TreeNodeView = z.infer<typeof TreeNodeViewSchema>;

/**
 * A thread's sub-agent tree: the path from the root, the tree's threads (root first, bounded) and
 * the counted totals of the whole tree. The root is resolved when read (a bounded walk up the
 * parent links, cycle-safe).
 */
export const ThreadTreeViewSchema = z.object({
  rootThreadId: z.string(),
  /** Root first, down to this thread's parent; empty for a root. */
  ancestors: z.array(z.string()),
  nodes: z.array(TreeNodeViewSchema),
  totals: TokenFieldsSchema.extend({ threads: z.number(), costUsd: z.number(), unpricedTokens: z.number() }),
  /** More threads than listed. */
  truncated: z.boolean(),
});
export type ThreadTreeView = z.infer<typeof ThreadTreeViewSchema>;

/** GET /api/v1/threads/:id */
export const ThreadDetailSchema = ThreadViewSchema.extend({
  counted: TokenFieldsSchema,
  costUsd: z.number(),
  unpricedTokens: z.number(),
  turns: z.array(TurnViewSchema),
  /** Sub-agents: the spawning thread, the root of the tree, the sub-agent kind/depth, the tree. */
  parentThreadId: z.string().nullable().optional(),
  rootThreadId: z.string().optional(),
  subAgent: z.object({ kind: z.string(), depth: z.number().nullable() }).nullable().optional(),
  tree: ThreadTreeViewSchema.optional(),
});
export type ThreadDetail = z.infer<typeof ThreadDetailSchema>;

/** `rootThread`: a sub-agent's usage rolls up to the thread at the root of its tree. */
export const USAGE_GROUP_KEYS = ["day", "hour", "target", "team", "model", "repo", "rootThread"] as const;
export const UsageGroupKeySchema = z.enum(USAGE_GROUP_KEYS);
export type UsageGroupKey = z.infer<typeof UsageGroupKeySchema>;

export const UsageCountersSchema = TokenFieldsSchema.extend({
  turns: z.number(),
  failedTurns: z.number(),
  costUsd: z.number(),
  unpricedTokens: z.number(),
});
export type UsageCounters = z.infer<typeof UsageCountersSchema>;

/** The group keys a usage or failures row carries (those asked for; day/hour as ISO strings). */
export const UsageGroupValuesSchema = z.object({
  day: z.string().optional(),
  hour: z.string().optional(),
  target: z.string().optional(),
  team: z.string().optional(),
  model: z.string().optional(),
  repo: z.string().optional(),
  rootThread: z.string().optional(),
});

/**
 * A usage row: the group keys asked for, then the counters. With `top`, the series past the top
 * are summed per day or hour into one row with `other: true` and no series keys.
 */
export const UsageRowSchema = UsageCountersSchema.extend(UsageGroupValuesSchema.shape).extend({
  other: z.boolean().optional(),
});
export type UsageRow = z.infer<typeof UsageRowSchema>;

/** GET /api/v1/usage */
export const UsageResponseSchema = z.object({
  from: z.string(),
  to: z.string(),
  groupBy: z.array(UsageGroupKeySchema),
  rows: z.array(UsageRowSchema),
  /** More groups matched than `rows` carries (`limit`, at most 10,000); `totals` covers them all. */
  truncated: z.boolean().optional(),
  totals: UsageCountersSchema,
  /**
   * Threads matching the filters whose total may be unread (pending recovery, any time): while
   * it is above 0 the figures are a lower bound.
   */
  pendingThreads: z.number().optional(),
});
export type UsageResponse = z.infer<typeof UsageResponseSchema>;

/** Error body of every 4xx/5xx. */
export const ApiErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), param: z.string().optional() }),
});
export type ApiError = z.infer<typeof ApiErrorSchema>;

export const AlertStateSchema = z.enum(["pending", "firing", "resolved"]);
export type AlertState = z.infer<typeof AlertStateSchema>;
export const SeveritySchema = z.enum(["info", "warning", "critical"]);
export type Severity = z.infer<typeof SeveritySchema>;
/** Severities, most severe first: sort with `SEVERITY_ORDER[a] - SEVERITY_ORDER[b]`. */
export const SEVERITY_ORDER: Readonly<Record<Severity, number>> = { critical: 0, warning: 1, info: 2 };
/** The highest severity among `items` ("info" when there are none). */
export function highestSeverity(items: readonly { severity: Severity }[]): Severity {
  let best: Severity = "info";
  for (const { severity } of items) if (SEVERITY_ORDER[severity] < SEVERITY_ORDER[best]) best = severity;
  return best;
}
/** What an alert is about: a thread, a target (`developer` = one target's spend), a team, the fleet. */
export const AlertSubjectTypeSchema = z.enum(["thread", "target", "developer", "team", "fleet"]);
export type AlertSubjectType = z.infer<typeof AlertSubjectTypeSchema>;

/** GET /api/v1/alerts rows and the live feed's alert messages. */
export const AlertViewSchema = z.object({
  id: z.string(),
  ruleId: z.string(),
  kind: z.string(),
  subjectType: AlertSubjectTypeSchema,
  subjectId: z.string(),
  /** A sub-key of the subject: the `codexErrorInfo` of grouped turn failures (identity = rule + subject + group). */
  group: z.string().nullable().optional(),
  target: z.string().nullable(),
  threadId: z.string().nullable(),
  team: z.string().nullable().optional(),
  /** The measured value: failures counted, USD spent today, % of the context window. */
  value: z.number().nullable().optional(),
  severity: SeveritySchema,
  state: AlertStateSchema,
  summary: z.string(),
  pendingSince: z.string(),
  firingSince: z.string().nullable(),
  resolvedAt: z.string().nullable(),
  ackBy: z.string().nullable(),
  ackAt: z.string().nullable(),
  /** The role of whoever acknowledged (signed-in identity), null when auth is off or not acked. */
  ackRole: z.string().nullable().optional(),
  silenced: z.boolean(),
  /** Shown but not notified: an inhibit rule matches (e.g. its target is down). */
  inhibited: z.boolean().optional(),
});
export type AlertView = z.infer<typeof AlertViewSchema>;
/** GET /api/v1/alerts */
export const AlertListSchema = z.array(AlertViewSchema);

/**
 * GET /api/v1/alerts/groups: the alerts grouped as notifications group them (the default route's
 * `groupBy`, default ruleId and team). Identity, ack and silence stay per alert (`alerts`).
 */
export const AlertGroupViewSchema = z.object({
  /** Stable for the group (its labels). */
  key: z.string(),
  labels: z.record(z.string(), z.string()),
  /** The receivers this group is routed to. */
  receivers: z.array(z.string()),
  severity: SeveritySchema,
  counts: z.object({ pending: z.number(), firing: z.number(), resolved: z.number() }),
  alerts: z.array(AlertViewSchema),
});
export type AlertGroupView = z.infer<typeof AlertGroupViewSchema>;
export const AlertGroupListSchema = z.object({ groups: z.array(AlertGroupViewSchema) });

/**
 * GET /api/v1/alerts/rules rows: the rules in force (the config's, or the defaults), with each
 * kind's thresholds (`forMs`, `minCount`, `windowMs`, `scope`, `thresholdUsd`, `thresholdPct`).
 */
export const AlertRuleViewSchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    severity: SeveritySchema,
    enabled: z.boolean(),
    source: z.enum(["default", "config"]),
    repeatIntervalMs: z.number(),
  })
  .catchall(z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]));
export type AlertRuleView = z.infer<typeof AlertRuleViewSchema>;

/** A person's name in a request body (who acknowledged, who silenced): trimmed, 1-200 characters. */
const PersonSchema = z.string().trim().min(1, "must not be empty").max(200, "must be at most 200 characters");

/**
 * POST /api/v1/alerts/:id/ack body: who acknowledged. Required when auth is off; with auth on the
 * signed-in identity is recorded and `by` is ignored.
 */
export const AlertAckRequestSchema = z.strictObject({ by: PersonSchema.optional() });
export type AlertAckRequest = z.input<typeof AlertAckRequestSchema>;

/**
 * A point in time as the API accepts it (query parameters `from`/`to`, a silence's `endsAt`): an
 * ISO 8601 date/time, or epoch milliseconds as a number or a 10-16 digit string. NaN when neither.
 */
export function timeToMs(value: string | number): number {
  const ms =
    typeof value === "number" ? value : /^\d{10,16}$/.test(value) ? Number(value) : Date.parse(value);
  // Outside 1970-01-01 … 9999-12-31 a time is no API time (JavaScript dates and Postgres
  // timestamps disagree on their ranges): NaN, so that callers answer a 400, never a 500.
  return Number.isFinite(ms) && ms >= 0 && ms <= MAX_API_TIME_MS ? ms : Number.NaN;
}

/** 9999-12-31T23:59:59.999Z, the latest time the API accepts. */
export const MAX_API_TIME_MS = 253_402_300_799_999;

const MatcherValueSchema = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(200, "must be at most 200 characters");

/**
 * Which alerts a silence mutes: every given field must match (the `silence.matchers` column). At
 * least one field; `team` may be "" (the team of targets configured without one).
 */
export const SilenceMatchersSchema = z
  .strictObject({
    ruleId: MatcherValueSchema.optional(),
    kind: MatcherValueSchema.optional(),
    target: MatcherValueSchema.optional(),
    threadId: MatcherValueSchema.optional(),
    team: z.string().max(200, "must be at most 200 characters").optional(),
  })
  .refine(
    (m) => Object.values(m).some((v) => v !== undefined),
    "must name at least one of ruleId, kind, target, threadId, team",
  );
export type SilenceMatchers = z.infer<typeof SilenceMatchersSchema>;

/**
 * POST /api/v1/silences body. `endsAt` is an ISO 8601 time or epoch milliseconds (parsed to epoch
 * ms; whether it lies ahead is the collector's check); `comment` is optional.
 */
export const SilenceCreateSchema = z.strictObject({
  matchers: SilenceMatchersSchema,
  endsAt: z
    .union([z.string(), z.number()])
    .transform(timeToMs)
    .refine(Number.isFinite, "must be an ISO 8601 time or epoch milliseconds"),
  comment: z.string().max(1000, "must be at most 1000 characters").default(""),
  createdBy: PersonSchema,
});
/** What a client sends. */
export type SilenceCreate = z.input<typeof SilenceCreateSchema>;

/** GET /api/v1/silences rows (and the answer to POST and DELETE). Times are ISO 8601. */
export const SilenceViewSchema = z.object({
  id: z.string(),
  matchers: SilenceMatchersSchema,
  endsAt: z.string(),
  comment: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
});
export type SilenceView = z.infer<typeof SilenceViewSchema>;
/** GET /api/v1/silences */
export const SilenceListSchema = z.array(SilenceViewSchema);

/** One collector instance of GET /api/v1/cluster. */
export const ClusterInstanceSchema = z.object({
  id: z.string(),
  name: z.string(),
  version: z.string(),
  host: z.string(),
  pid: z.number(),
  startedAt: z.string(),
  lastHeartbeat: z.string(),
  /** Its heartbeat has not expired (database clock). */
  live: z.boolean(),
  /** The instance that answered. */
  self: z.boolean(),
  targetsHeld: z.number(),
  alertLeader: z.boolean(),
});
export type ClusterInstance = z.infer<typeof ClusterInstanceSchema>;
/** GET /api/v1/cluster: the collectors sharing this database. */
export const ClusterViewSchema = z.object({
  leaseTtlMs: z.number(),
  /** Name of the instance running the alert engine, or null. */
  alertLeader: z.string().nullable(),
  targets: z.number(),
  /** Targets no live instance follows right now (between a holder's loss and a takeover). */
  unfollowed: z.number(),
  instances: z.array(ClusterInstanceSchema),
});
export type ClusterView = z.infer<typeof ClusterViewSchema>;
/**
 * A failure row (GET /api/v1/usage/failures): the group keys asked for (day/hour as ISO strings),
 * the error kind (`codexErrorInfo` as codex sent it, its details dropped; null for a failed turn
 * without one) and how many turns ended `failed` with it.
 */
export const FailureRowSchema = UsageGroupValuesSchema.extend({
  kind: z.string().nullable(),
  failedTurns: z.number(),
});
export type FailureRow = z.infer<typeof FailureRowSchema>;

/** GET /api/v1/usage/failures: failed turns by error kind, grouped like /usage. */
export const FailuresResponseSchema = z.object({
  from: z.string(),
  to: z.string(),
  groupBy: z.array(UsageGroupKeySchema),
  /** One row per group and kind (kind is always the last key), at most 10,000. */
  rows: z.array(FailureRowSchema),
  /** Per kind over the whole range and filters, most frequent first. */
  kinds: z.array(z.object({ kind: z.string().nullable(), failedTurns: z.number() })),
  /** All failed turns matched; without a `kind` filter, the same figure as /usage `totals.failedTurns`. */
  failedTurns: z.number(),
});
export type FailuresResponse = z.infer<typeof FailuresResponseSchema>;

/** GET /api/v1/alerts/receivers: the configured receivers (alerts.notify[]), by name and type only. */
export const ReceiverListSchema = z.object({
  receivers: z.array(z.object({ name: z.string(), type: z.string() })),
});
export type ReceiverList = z.infer<typeof ReceiverListSchema>;

/** POST /api/v1/alerts/receivers/:name/test: the outcome of one test message (no retries). */
export const ReceiverTestResultSchema = z.object({
  ok: z.boolean(),
  /** HTTP status or SMTP reply code; null when no response arrived. */
  status: z.number().nullable(),
  /** Why it failed; never contains the receiver's URL or secret. */
  error: z.string().nullable(),
  durationMs: z.number(),
});
export type ReceiverTestResult = z.infer<typeof ReceiverTestResultSchema>;
