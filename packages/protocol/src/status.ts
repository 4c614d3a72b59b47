/**
 * The states a thread, a turn and a target connection can be in, declared once for the wire
 * parser, the domain events, the database rows, the API views and the dashboard. Browser-safe.
 *
 * Enums read off the wire are open (DESIGN "Status and alerts"): a variant this version does not
 * know is kept as `unknown:<name>` (the name cut to WIRE_LIMITS.kind), counted and shown — never a
 * reason to drop the frame it came in.
 */
import { z } from "zod";
import { cut, WIRE_LIMITS } from "./bounds.ts";

/** Prefix of a variant this version does not know. */
export const UNKNOWN_PREFIX = "unknown:";
/** A variant read off the wire that this version does not know, e.g. `unknown:paused`. */
export type UnknownVariant = `unknown:${string}`;

/** `name` as an unknown variant: `unknown:<name>`, the name cut to WIRE_LIMITS.kind. */
export function unknownVariant(name: string): UnknownVariant {
  return `${UNKNOWN_PREFIX}${cut(name, WIRE_LIMITS.kind)}`;
}

export function isUnknownVariant(value: string): value is UnknownVariant {
  return value.startsWith(UNKNOWN_PREFIX);
}

/** The name an unknown variant was sent as (`unknown:paused` → `paused`); null for a known one. */
export function unknownVariantName(value: string): string | null {
  return isUnknownVariant(value) ? value.slice(UNKNOWN_PREFIX.length) : null;
}

/** A wire value of an open enum: a known value as is, anything else as `unknown:<value>`. */
export function openWireEnum<const T extends string>(known: readonly T[]) {
  return z
    .string()
    .transform((v): T | UnknownVariant =>
      (known as readonly string[]).includes(v) ? (v as T) : unknownVariant(v),
    );
}

/** A stored or API value of an open enum: a known value or `unknown:<name>` (the name bounded). */
function openEnum<const T extends string>(known: readonly [T, ...T[]]) {
  return z.union([
    z.enum(known),
    z.templateLiteral([UNKNOWN_PREFIX, z.string().max(WIRE_LIMITS.kind)]),
  ]) as unknown as z.ZodType<T | UnknownVariant>;
}

/** True when `value` is one of `known` or an unknown variant (API filters). */
export function isOpenEnumValue(known: readonly string[], value: string): boolean {
  return (
    known.includes(value) ||
    (isUnknownVariant(value) &&
      value.length > UNKNOWN_PREFIX.length &&
      value.length <= UNKNOWN_PREFIX.length + WIRE_LIMITS.kind)
  );
}

/** A thread's status type (`thread/status/changed`); `active` carries flags besides. */
export const THREAD_STATUSES = ["idle", "active", "systemError", "notLoaded"] as const;
export type KnownThreadStatusType = (typeof THREAD_STATUSES)[number];
export type ThreadStatusType = KnownThreadStatusType | UnknownVariant;
export const ThreadStatusTypeSchema = openEnum(THREAD_STATUSES);

/** A turn's status (`turn/started`, `turn/completed`, `thread/turns/list`). */
export const TURN_STATUSES = ["inProgress", "completed", "failed", "interrupted"] as const;
export type KnownTurnStatus = (typeof TURN_STATUSES)[number];
export type TurnStatus = KnownTurnStatus | UnknownVariant;
export const TurnStatusSchema = openEnum(TURN_STATUSES);
/** A turn's status as read off the wire: an unknown one becomes `unknown:<name>`. */
export const WireTurnStatusSchema = openWireEnum(TURN_STATUSES);
/** The statuses that end a turn; an unknown one ends nothing (a later known status wins). */
export const TERMINAL_TURN_STATUSES: readonly TurnStatus[] = ["completed", "failed", "interrupted"];

/**
 * A thread goal's status (`thread/goal/updated`, 0.169.0 `ThreadGoalStatus`). `blocked`,
 * `usageLimited` and `budgetLimited` stop goal continuation until someone acts.
 */
export const GOAL_STATUSES = [
  "active",
  "paused",
  "blocked",
  "usageLimited",
  "budgetLimited",
  "complete",
] as const;
export type KnownGoalStatus = (typeof GOAL_STATUSES)[number];
export type GoalStatus = KnownGoalStatus | UnknownVariant;
export const GoalStatusSchema = openEnum(GOAL_STATUSES);
/** A goal status as read off the wire: an unknown one becomes `unknown:<name>`. */
export const WireGoalStatusSchema = openWireEnum(GOAL_STATUSES);
/** Goal statuses that need a person (the `goalStalled` alert rule's default). */
export const STALLED_GOAL_STATUSES: readonly KnownGoalStatus[] = ["blocked", "usageLimited", "budgetLimited"];

/** The active flags this version knows; others are kept as sent (cut) and counted. */
export const ACTIVE_FLAGS = ["waitingOnApproval", "waitingOnUserInput"] as const;

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
