/** The fixtures stand for the collector's answers: each must match its protocol schema. */
import {
  AlertListSchema,
  SilenceListSchema,
  TargetListSchema,
  ThreadDetailSchema,
  ThreadListSchema,
  UsageResponseSchema,
} from "@codex-fleet/protocol/api";
import { LiveMessageSchema } from "@codex-fleet/protocol/live";
import { describe, expect, it } from "vitest";
import {
  ALERTS,
  APPROVAL_DETAIL,
  SILENCES,
  snapshotMessage,
  TARGETS,
  THREADS,
  UNPRICED_DETAIL,
  USAGE_BY_DAY_MODEL,
  USAGE_BY_MODEL,
  USAGE_BY_TARGET,
  usageResponse,
} from "./fixtures.ts";

describe("fixtures", () => {
  it.each([
    ["TARGETS", TargetListSchema, TARGETS],
    ["THREADS", ThreadListSchema, THREADS],
    ["APPROVAL_DETAIL", ThreadDetailSchema, APPROVAL_DETAIL],
    ["UNPRICED_DETAIL", ThreadDetailSchema, UNPRICED_DETAIL],
    ["ALERTS", AlertListSchema, ALERTS],
    ["SILENCES", SilenceListSchema, SILENCES],
    ["usage by day and model", UsageResponseSchema, usageResponse(USAGE_BY_DAY_MODEL, ["day", "model"])],
    ["usage by target", UsageResponseSchema, usageResponse(USAGE_BY_TARGET, ["target", "team"])],
    ["usage by model", UsageResponseSchema, usageResponse(USAGE_BY_MODEL, ["model"])],
    ["the snapshot", LiveMessageSchema, snapshotMessage()],
  ] as const)("does match the protocol for %s", (_, schema, value) => {
    const parsed = schema.safeParse(value);
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
  });
});
