/**
 * Receiver API: list the configured receivers (name and type only — their URLs and keys are
 * secrets) and send one test message to one of them ("Test receiver" on the dashboard). The test
 * goes out at once, one attempt, not through the outbox: the answer is what the receiver said.
 * Sending a test is a change (POST), so it needs the admin role when auth is on (auth/policy.ts).
 */
import {
  type ReceiverList,
  ReceiverListSchema,
  type ReceiverTestResult,
  ReceiverTestResultSchema,
} from "@codex-fleet/protocol/api";
import type { FastifyInstance } from "fastify";
import type { NotifierRuntimeConfig } from "../config/schema.ts";
import { notFound } from "../http/errors.ts";
import { describeRoute, pathParams } from "../http/openapi.ts";
import { noQuery } from "../http/params.ts";
import { createNotifier } from "./notifiers/create.ts";
import { createTestNotification } from "./notifiers/test-notification.ts";

export interface ReceiverRouteDeps {
  /** `alerts.notify` after load. */
  notify: readonly NotifierRuntimeConfig[];
  /** Base of dashboard links (see InstallAlertsOptions.publicUrl). */
  publicUrl: string | (() => string);
  now: () => number;
  allowLinkLocal?: boolean;
}

/** Register GET /api/v1/alerts/receivers and POST /api/v1/alerts/receivers/:name/test. */
export function registerReceiverRoutes(app: FastifyInstance, deps: ReceiverRouteDeps): void {
  const opts = { now: deps.now, userAgent: "codex-fleet-collector", allowLinkLocal: deps.allowLinkLocal };
  const notifiers = new Map(deps.notify.map((c) => createNotifier(c, opts)).map((n) => [n.name, n]));

  const listSchema = describeRoute({
    tags: ["alerts"],
    summary: "The configured receivers (name and type only)",
    query: noQuery,
    response: { 200: ReceiverListSchema },
  });
  app.get("/api/v1/alerts/receivers", listSchema, async (): Promise<ReceiverList> => {
    return { receivers: [...notifiers.values()].map((n) => ({ name: n.name, type: n.type })) };
  });

  const testSchema = describeRoute({
    tags: ["alerts"],
    summary: "Send one test message to a receiver (admin)",
    params: pathParams({ name: "Receiver name" }),
    query: noQuery,
    response: { 200: ReceiverTestResultSchema },
  });

  app.post("/api/v1/alerts/receivers/:name/test", testSchema, async (req): Promise<ReceiverTestResult> => {
    const { name } = req.params as { name: string };
    const notifier = notifiers.get(name);
    if (notifier === undefined) throw notFound(`receiver ${name}`);
    const base = typeof deps.publicUrl === "string" ? deps.publicUrl : deps.publicUrl();
    const result = await notifier.send(createTestNotification(name, deps.now(), base));
    req.log.info(
      { receiver: name, type: notifier.type, ok: result.ok, status: result.status, error: result.error },
      "alerts: test notification sent",
    );
    return { ok: result.ok, status: result.status, error: result.error, durationMs: result.durationMs };
  });
}
