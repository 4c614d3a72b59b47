/**
 * The subset of codex app-server 0.169.0 wire messages the collector consumes, as zod schemas.
 * Objects are not strict: codex adds fields between versions and we ignore what we do not read.
 * Shapes follow `codex app-server generate-ts` for 0.169.0 and the captures in
 * ../shared/codex-app-server-facts.md.
 */
import { z } from "zod";
import { cut, WIRE_LIMITS as L } from "./bounds.ts";
import { THREAD_STATUSES, unknownVariant, WireGoalStatusSchema, WireTurnStatusSchema } from "./status.ts";

/** Token counters are non-negative integers that fit a double exactly. */
const Count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** An identifier: refused past its limit (bounds.ts). */
const Id = z
  .string()
  .min(1)
  .max(L.id)
  .refine((s) => !s.includes("\u0000"), "must not contain NUL");
/** An optional reference to an id: unknown (null) when unusable, so its frame still counts. */
const OptRef = Id.nullish().catch(null);
/** Text cut to `max` characters (bounds.ts), never refused. */
const Text = (max: number) => z.string().transform((s) => cut(s, max));
const OptText = (max: number) => Text(max).nullish();
const OptNum = z.number().finite().nullish();

export const TokenUsageBreakdownSchema = z.object({
  totalTokens: Count,
  inputTokens: Count,
  cachedInputTokens: Count,
  /** 0.169.0 sends it; older servers did not (normalized to 0). */
  cacheWriteInputTokens: Count.optional(),
  outputTokens: Count,
  reasoningOutputTokens: Count,
});

const KnownThreadStatusSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("idle") }),
  z.object({ type: z.literal("notLoaded") }),
  z.object({ type: z.literal("systemError") }),
  z.object({
    type: z.literal("active"),
    activeFlags: z
      .array(Text(L.kind))
      .default([])
      .transform((flags) => flags.slice(0, L.activeFlags)),
  }),
]);

/** A status type this version does not know (a newer server): kept as `unknown:<type>`, never dropped. */
const UnknownThreadStatusSchema = z
  .object({ type: z.string().refine((t) => !(THREAD_STATUSES as readonly string[]).includes(t)) })
  .transform((s) => ({ type: unknownVariant(s.type) }));

export const ThreadStatusSchema = z.union([KnownThreadStatusSchema, UnknownThreadStatusSchema]);

/** codexErrorInfo: a string, or an object variant like `{responseStreamDisconnected:{httpStatusCode}}`. */
export const CodexErrorInfoSchema = z.union([Text(L.kind), z.record(z.string(), z.unknown())]).nullish();

export const TurnErrorSchema = z.object({
  message: Text(L.errorMessage).default(""),
  codexErrorInfo: CodexErrorInfoSchema,
});

export const TurnSchema = z.object({
  id: Id,
  status: WireTurnStatusSchema,
  error: TurnErrorSchema.nullish(),
  startedAt: OptNum,
  completedAt: OptNum,
  durationMs: OptNum,
});

export const GitInfoSchema = z
  .object({ branch: OptText(L.gitBranch), originUrl: OptText(L.gitOriginUrl), sha: OptText(L.gitSha) })
  .nullish();

/** `source` is a string or a one-key object (`{custom: …}`, `{subAgent: …}`). */
const SourceSchema = z.union([Text(L.kind), z.record(z.string(), z.unknown())]).nullish();

export const ThreadSchema = z.object({
  id: Id,
  model: OptText(L.model),
  modelProvider: OptText(L.modelProvider),
  cwd: OptText(L.cwd),
  gitInfo: GitInfoSchema,
  source: SourceSchema,
  name: OptText(L.name),
  cliVersion: OptText(L.version),
  status: ThreadStatusSchema.optional(),
  createdAt: OptNum,
  updatedAt: OptNum,
  parentThreadId: OptRef,
});

export const ItemSchema = z.object({
  id: Id,
  type: Text(L.kind),
  status: z.unknown().optional(),
});

/**
 * A thread goal (0.169.0 `ThreadGoal`; times in seconds). Display-only figures are tolerant: an
 * unusable count or time becomes unknown (null) rather than costing the status it rides on. The
 * `objective` is the developer's instruction — a prompt — and is never read (DESIGN.md: prompts
 * are never persisted).
 */
export const ThreadGoalSchema = z.object({
  status: WireGoalStatusSchema,
  tokenBudget: Count.nullish().catch(null),
  tokensUsed: Count.nullish().catch(null),
  updatedAt: OptNum.catch(null),
});

/** Params of each consumed notification method. */
export const NotificationParams = {
  "thread/started": z.object({ thread: ThreadSchema }),
  "thread/status/changed": z.object({ threadId: Id, status: ThreadStatusSchema }),
  "thread/closed": z.object({ threadId: Id }),
  "thread/name/updated": z.object({ threadId: Id, threadName: OptText(L.name) }),
  // Sent to every connection on any goal change, and on every thread/resume (facts §2): replays.
  "thread/goal/updated": z.object({ threadId: Id, goal: ThreadGoalSchema }),
  "thread/goal/cleared": z.object({ threadId: Id }),
  "turn/started": z.object({ threadId: Id, turn: TurnSchema }),
  "turn/completed": z.object({ threadId: Id, turn: TurnSchema }),
  "thread/tokenUsage/updated": z.object({
    threadId: Id,
    turnId: OptRef,
    tokenUsage: z.object({
      total: TokenUsageBreakdownSchema,
      last: TokenUsageBreakdownSchema,
      modelContextWindow: Count.nullish(),
    }),
  }),
  error: z.object({
    threadId: Id,
    turnId: OptRef,
    error: TurnErrorSchema,
    willRetry: z.boolean().default(false),
  }),
  "model/rerouted": z.object({
    threadId: Id,
    turnId: OptRef,
    fromModel: Text(L.model),
    toModel: Text(L.model),
  }),
  "item/started": z.object({ threadId: Id, turnId: OptRef, item: ItemSchema }),
  "item/completed": z.object({ threadId: Id, turnId: OptRef, item: ItemSchema }),
  "serverRequest/resolved": z.object({
    threadId: OptRef,
    requestId: z.union([Id, z.number().int()]),
  }),
  // Plan limits after a model response, to subscribers only (facts "Rate limits and credits").
  // Only the envelope is checked here; each field is read leniently (rate-limits-wire.ts).
  "account/rateLimits/updated": z.object({ rateLimits: z.record(z.string(), z.unknown()) }),
} as const;

export type ConsumedMethod = keyof typeof NotificationParams;

/** Params of a server request: only what identifies it. Everything else is ignored on purpose. */
export const ServerRequestParamsSchema = z
  .object({
    threadId: OptRef,
    conversationId: OptRef,
    turnId: OptRef,
    itemId: OptRef,
    callId: OptRef,
    command: z
      .union([Text(L.command), z.array(Text(L.command)).transform((parts) => parts.slice(0, 100))])
      .nullish()
      .catch(null),
  })
  .nullish();

export const RequestIdSchema = z.union([Id, z.number().int()]);

/**
 * Every notification method 0.169.0 can send that the collector does not consume. Receiving one
 * is normal; anything outside this list and `NotificationParams` is counted as unknown.
 */
export const IGNORED_METHODS: ReadonlySet<string> = new Set([
  "thread/readState/changed",
  "thread/archived",
  "thread/deleted",
  "thread/unarchived",
  "thread/reverted",
  "skills/changed",
  "thread/section/changed",
  "thread/attachment/updated",
  "thread/prediction/updated",
  "thread/queue/changed",
  "project/changed",
  "thread/project/updated",
  "thread/environment/connected",
  "thread/environment/disconnected",
  "thread/settings/updated",
  "hook/started",
  "hook/completed",
  "turn/diff/updated",
  "turn/plan/updated",
  "item/autoApprovalReview/started",
  "item/autoApprovalReview/completed",
  "autoApprovalReview/strictReviewRequired",
  "rawResponseItem/completed",
  "rawResponse/completed",
  "item/agentMessage/delta",
  "item/plan/delta",
  "command/exec/outputDelta",
  "process/outputDelta",
  "process/exited",
  "item/commandExecution/outputDelta",
  "item/commandExecution/terminalInteraction",
  "item/fileChange/outputDelta",
  "item/fileChange/patchUpdated",
  "item/mcpToolCall/progress",
  "mcpServer/oauthLogin/completed",
  "mcpServer/startupStatus/updated",
  "mcpServer/event/stream/notification",
  "account/updated",
  "account/gatewayOAuth/changed",
  "app/list/updated",
  "remoteControl/status/changed",
  "externalAgentConfig/import/progress",
  "externalAgentConfig/import/completed",
  "fs/changed",
  "item/reasoning/summaryTextDelta",
  "item/reasoning/summaryPartAdded",
  "item/reasoning/textDelta",
  "thread/compacted",
  "model/verification",
  "modelProvider/authRecoveryStarted",
  "modelProvider/authRecoveryCompleted",
  "turn/moderationMetadata",
  "model/safetyBuffering/updated",
  "warning",
  "guardianWarning",
  "deprecationNotice",
  "configWarning",
  "fuzzyFileSearch/sessionUpdated",
  "fuzzyFileSearch/sessionCompleted",
  "thread/realtime/started",
  "thread/realtime/itemAdded",
  "thread/realtime/item/started",
  "thread/realtime/item/transcript/delta",
  "thread/realtime/item/completed",
  "thread/realtime/transcript/delta",
  "thread/realtime/transcript/done",
  "thread/realtime/outputAudio/delta",
  "thread/realtime/sdp",
  "thread/realtime/error",
  "thread/realtime/closed",
  "windows/worldWritableWarning",
  "windowsSandbox/setupCompleted",
  "account/login/completed",
]);

/**
 * Notifications the observer opts out of at `initialize` (DESIGN rule 4: stay small on the wire):
 * every streamed delta plus chatter it never reads. Measured: opted-out methods never arrive.
 * `account/rateLimits/updated` is taken (issue 14): one small frame per model response of a
 * subscribed thread, carrying the plan windows and credits.
 */
export const OPT_OUT_NOTIFICATION_METHODS: readonly string[] = [
  "item/agentMessage/delta",
  "item/plan/delta",
  "command/exec/outputDelta",
  "process/outputDelta",
  "item/commandExecution/outputDelta",
  "item/commandExecution/terminalInteraction",
  "item/fileChange/outputDelta",
  "item/fileChange/patchUpdated",
  "item/reasoning/summaryTextDelta",
  "item/reasoning/summaryPartAdded",
  "item/reasoning/textDelta",
  "item/mcpToolCall/progress",
  "turn/diff/updated",
  "turn/plan/updated",
  "rawResponseItem/completed",
  "rawResponse/completed",
  "warning",
  "thread/realtime/item/transcript/delta",
  "thread/realtime/transcript/delta",
  "thread/realtime/outputAudio/delta",
  "thread/realtime/sdp",
  "fs/changed",
  "fuzzyFileSearch/sessionUpdated",
  "mcpServer/event/stream/notification",
];

/** The requests an observer may send (DESIGN rule 2). `initialized` is the one notification it sends. */
export const ALLOWED_CLIENT_METHODS: ReadonlySet<string> = new Set([
  "initialize",
  "thread/loaded/list",
  "thread/list",
  "thread/read",
  "thread/turns/list",
  "thread/resume",
  "thread/unsubscribe",
  "account/rateLimits/read",
]);
export const ALLOWED_CLIENT_NOTIFICATIONS: ReadonlySet<string> = new Set(["initialized"]);
