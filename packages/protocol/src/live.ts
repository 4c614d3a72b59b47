/**
 * /api/v1/live WebSocket messages (server → browser): a snapshot on connect, then changes.
 * Declared once; the collector sends them, the dashboard parses them.
 */
import { z } from "zod";
import { AlertViewSchema, TargetViewSchema, ThreadViewSchema } from "./api.ts";
import { LimitRowSchema } from "./limits.ts";

export const LiveMessageSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("snapshot"),
    serverTimeMs: z.number(),
    targets: z.array(TargetViewSchema),
    /** At most the collector's snapshot cap, most relevant first (active, errored, then newest). */
    threads: z.array(ThreadViewSchema),
    /** How many threads the collector holds; more than `threads.length` when the snapshot was capped. */
    threadsTotal: z.number().int().nonnegative().optional(),
    alerts: z.array(AlertViewSchema),
  }),
  z.object({ type: z.literal("target"), target: TargetViewSchema }),
  z.object({ type: z.literal("thread"), thread: ThreadViewSchema }),
  /**
   * The collector no longer holds this thread (it left the working set: not loaded, not owed, not
   * heard from for `retention.threadMemoryDays`, or its target was removed). It is history now:
   * GET /api/v1/threads/:id still answers it; a later event brings it back as a `thread` message.
   */
  z.object({ type: z.literal("threadRemoved"), threadId: z.string() }),
  z.object({ type: z.literal("alert"), alert: AlertViewSchema }),
  /** Token usage was counted: usage views may refetch. Carries the event time (server clock). */
  z.object({
    type: z.literal("usage"),
    threadId: z.string(),
    target: z.string(),
    atMs: z.number(),
    totalTokens: z.number(),
  }),
  /** A target's plan limit changed (issue 14): the row as GET /api/v1/limits serves it. */
  z.object({ type: z.literal("limits"), row: LimitRowSchema }),
  z.object({ type: z.literal("ping"), serverTimeMs: z.number() }),
]);
export type LiveMessage = z.infer<typeof LiveMessageSchema>;

/** Parse one live frame; returns null for anything malformed (the dashboard ignores it). */
export function parseLiveMessage(data: string): LiveMessage | null {
  try {
    const parsed = LiveMessageSchema.safeParse(JSON.parse(data));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
