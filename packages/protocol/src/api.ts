/**
 * HTTP API v1 response shapes, declared once for the collector (which produces them) and the
 * dashboard (which renders them). Browser-safe.
 */
import { z } from "zod";

export const TargetStateSchema = z.enum(["connecting", "open", "backoff", "stopped"]);
export const TargetReasonSchema = z.enum([
  "refused",
  "unreachable",
  "unauthorized",
  "forbidden",
  "timeout",
  "dropped",
  "protocol",
  "insecure",
  "config",
]);

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
  lastEventAt: z.string().nullable(),
  connectedSince: z.string().nullable(),
  threads: z.number(),
  activeThreads: z.number(),
});
export type TargetView = z.infer<typeof TargetViewSchema>;

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
  status: z.enum(["idle", "active", "systemError", "notLoaded"]),
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
});
export type ThreadView = z.infer<typeof ThreadViewSchema>;

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
  status: z.enum(["inProgress", "completed", "failed", "interrupted"]),
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

/** GET /api/v1/threads/:id */
export const ThreadDetailSchema = ThreadViewSchema.extend({
  counted: TokenFieldsSchema,
  costUsd: z.number(),
  unpricedTokens: z.number(),
  turns: z.array(TurnViewSchema),
});
export type ThreadDetail = z.infer<typeof ThreadDetailSchema>;

export const USAGE_GROUP_KEYS = ["day", "hour", "target", "team", "model", "repo"] as const;
export const UsageGroupKeySchema = z.enum(USAGE_GROUP_KEYS);
export type UsageGroupKey = z.infer<typeof UsageGroupKeySchema>;

export const UsageCountersSchema = TokenFieldsSchema.extend({
  turns: z.number(),
  failedTurns: z.number(),
  costUsd: z.number(),
  unpricedTokens: z.number(),
});
export type UsageCounters = z.infer<typeof UsageCountersSchema>;

/** A usage row: the group keys asked for (day/hour as ISO strings), then the counters. */
export const UsageRowSchema = UsageCountersSchema.extend({
  day: z.string().optional(),
  hour: z.string().optional(),
  target: z.string().optional(),
  team: z.string().optional(),
  model: z.string().optional(),
  repo: z.string().optional(),
});
export type UsageRow = z.infer<typeof UsageRowSchema>;

/** GET /api/v1/usage */
export const UsageResponseSchema = z.object({
  from: z.string(),
  to: z.string(),
  groupBy: z.array(UsageGroupKeySchema),
  rows: z.array(UsageRowSchema),
  totals: UsageCountersSchema,
});
export type UsageResponse = z.infer<typeof UsageResponseSchema>;

/** Error body of every 4xx/5xx. */
export const ApiErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), param: z.string().optional() }),
});
export type ApiError = z.infer<typeof ApiErrorSchema>;

export const AlertStateSchema = z.enum(["pending", "firing", "resolved"]);
export const SeveritySchema = z.enum(["info", "warning", "critical"]);

/** GET /api/v1/alerts rows and the live feed's alert messages. */
export const AlertViewSchema = z.object({
  id: z.string(),
  ruleId: z.string(),
  kind: z.string(),
  subjectType: z.enum(["thread", "target", "developer", "team", "fleet"]),
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
  silenced: z.boolean(),
});
export type AlertView = z.infer<typeof AlertViewSchema>;

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
  .catchall(z.union([z.string(), z.number(), z.boolean()]));
export type AlertRuleView = z.infer<typeof AlertRuleViewSchema>;

/** POST /api/v1/alerts/:id/ack body: who acknowledged. */
export const AlertAckRequestSchema = z.object({ by: z.string().min(1) });
export type AlertAckRequest = z.infer<typeof AlertAckRequestSchema>;

/** Which alerts a silence mutes: every given field must match (the `silence.matchers` column). */
export const SilenceMatchersSchema = z.object({
  ruleId: z.string().optional(),
  kind: z.string().optional(),
  target: z.string().optional(),
  threadId: z.string().optional(),
  team: z.string().optional(),
});
export type SilenceMatchers = z.infer<typeof SilenceMatchersSchema>;

/** POST /api/v1/silences body. */
export const SilenceCreateSchema = z.object({
  matchers: SilenceMatchersSchema,
  endsAt: z.string(),
  comment: z.string(),
  createdBy: z.string().min(1),
});
export type SilenceCreate = z.infer<typeof SilenceCreateSchema>;

/** GET /api/v1/silences rows (and the POST answer). */
export const SilenceViewSchema = SilenceCreateSchema.extend({ id: z.string(), createdAt: z.string() });
export type SilenceView = z.infer<typeof SilenceViewSchema>;
