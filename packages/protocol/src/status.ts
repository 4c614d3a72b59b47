/**
 * The states a thread, a turn and a target connection can be in, declared once for the wire
 * parser, the domain events, the database rows, the API views and the dashboard. Browser-safe.
 */
import { z } from "zod";

/** A thread's status type (`thread/status/changed`); `active` carries flags besides. */
export const THREAD_STATUSES = ["idle", "active", "systemError", "notLoaded"] as const;
export const ThreadStatusTypeSchema = z.enum(THREAD_STATUSES);
export type ThreadStatusType = z.infer<typeof ThreadStatusTypeSchema>;

/** A turn's status (`turn/started`, `turn/completed`, `thread/turns/list`). */
export const TURN_STATUSES = ["inProgress", "completed", "failed", "interrupted"] as const;
export const TurnStatusSchema = z.enum(TURN_STATUSES);
export type TurnStatus = z.infer<typeof TurnStatusSchema>;

/** The collector's connection to one target (DESIGN "Status and alerts": target state). */
export const TARGET_STATES = ["connecting", "open", "backoff", "stopped"] as const;
export const TargetStateSchema = z.enum(TARGET_STATES);
export type TargetState = z.infer<typeof TargetStateSchema>;

/** Why a target connection is not open (or why it last closed). */
export const TARGET_REASONS = [
  "refused",
  "unreachable",
  "unauthorized",
  "forbidden",
  "timeout",
  "dropped",
  "protocol",
  "insecure",
  "config",
] as const;
export const TargetReasonSchema = z.enum(TARGET_REASONS);
export type TargetReason = z.infer<typeof TargetReasonSchema>;
