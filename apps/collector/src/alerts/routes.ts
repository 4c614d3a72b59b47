/**
 * Alert API (DESIGN "Interfaces"): list and filter alerts, acknowledge, list rules, list, create
 * and expire silences. 400s name the bad parameter (query key or body field).
 */
import { randomUUID } from "node:crypto";
import type { DbPool } from "@codex-fleet/db/client";
import {
  createSilence,
  expireSilence,
  listAlerts,
  listSilences,
  type StoredSilence,
} from "@codex-fleet/db/repositories/alerts-repository";
import {
  AlertAckRequestSchema,
  AlertListSchema,
  AlertRuleViewSchema,
  AlertStateSchema,
  type AlertView,
  AlertViewSchema,
  SilenceCreateSchema,
  SilenceListSchema,
  type SilenceView,
  SilenceViewSchema,
} from "@codex-fleet/protocol/api";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { parseBody } from "../http/body.ts";
import { toCsv } from "../http/csv.ts";
import { ApiError, badParam, notFound } from "../http/errors.ts";
import { describeRoute, type ParsedQuery, pathParams } from "../http/openapi.ts";
import { eachOf, noQuery, qp, query } from "../http/params.ts";
import type { AlertEngine } from "./engine.ts";
import { ackIdentity } from "./state-machine.ts";
import { fromRow, silenceFromRow } from "./store.ts";
import { alertView, ruleView } from "./views.ts";

const STATES = AlertStateSchema.options;
const MAX_SILENCE_MS = 366 * 86_400_000;
const CSV_COLUMNS = [
  "id",
  "ruleId",
  "kind",
  "severity",
  "state",
  "subjectType",
  "subjectId",
  "group",
  "target",
  "threadId",
  "team",
  "summary",
  "pendingSince",
  "firingSince",
  "resolvedAt",
  "ackBy",
  "ackAt",
  "silenced",
  "ackRole",
];

function silenceView(s: StoredSilence): SilenceView {
  return {
    id: s.id,
    matchers: s.matchers,
    comment: s.comment,
    createdBy: s.createdBy,
    createdAt: new Date(s.createdAtMs).toISOString(),
    endsAt: new Date(s.endsAtMs).toISOString(),
  };
}

export interface AlertRouteDeps {
  engine: AlertEngine;
  pool: DbPool;
  now: () => number;
}

/** The routes' OpenAPI descriptions (http/openapi.ts); bodies are the schemas parseBody checks. */
const SCHEMAS = {
  list: describeRoute({
    tags: ["alerts"],
    summary: "Alerts, newest first, filtered",
    query: query({
      state: qp.list(
        `Only these states: ${STATES.join(", ")}`,
        eachOf((s) => (STATES as readonly string[]).includes(s), STATES.join(", ")),
      ),
      rule: qp.list("Only these rule ids"),
      kind: qp.list("Only these rule kinds"),
      target: qp.list("Only these targets"),
      team: qp.list("Only these teams"),
      thread: qp.string("Only this thread"),
      limit: qp.int("At most this many (default 500)", 1, 5000),
      format: qp.format,
    }),
    response: { 200: AlertListSchema },
    csv: true,
  }),
  rules: describeRoute({
    tags: ["alerts"],
    summary: "The alert rules in force",
    query: noQuery,
    response: { 200: z.array(AlertRuleViewSchema) },
  }),
  ack: describeRoute({
    tags: ["alerts"],
    summary: "Acknowledge an alert (viewer); signed in, the identity acknowledges and `by` is ignored",
    params: pathParams({ id: "Alert id" }),
    query: noQuery,
    body: AlertAckRequestSchema,
    response: { 200: AlertViewSchema },
  }),
  silences: describeRoute({
    tags: ["alerts"],
    summary: "Silences",
    query: query({
      state: qp.enum(["active", "expired", "all"], "active (default), expired or all"),
      limit: qp.int("At most this many (default 500)", 1, 5000),
    }),
    response: { 200: SilenceListSchema },
  }),
  silence: describeRoute({
    tags: ["alerts"],
    summary: "Silence matching alerts until endsAt (admin)",
    query: noQuery,
    body: SilenceCreateSchema,
    response: { 201: SilenceViewSchema },
  }),
  expire: describeRoute({
    tags: ["alerts"],
    summary: "Expire a silence now (admin)",
    params: pathParams({ id: "Silence id" }),
    query: noQuery,
    response: { 200: SilenceViewSchema },
  }),
};

/** Register the alert routes. */
export function registerAlertRoutes(fastify: FastifyInstance, deps: AlertRouteDeps): void {
  const app = fastify.withTypeProvider<ParsedQuery>();
  const { engine, pool, now } = deps;

  app.get("/api/v1/alerts", SCHEMAS.list, async (req, reply) => {
    const q = req.query;
    const rows = await listAlerts({
      pool,
      states: q.state,
      ruleIds: q.rule,
      kinds: q.kind,
      targets: q.target,
      teams: q.team,
      threadId: q.thread,
      limit: q.limit ?? 500,
    });
    const views: AlertView[] = rows.map((r) => ({
      ...alertView(fromRow(r)),
      inhibited: engine.isInhibited(r.id),
    }));
    if (q.format === "csv") {
      return reply.type("text/csv; charset=utf-8").send(toCsv(CSV_COLUMNS, views));
    }
    return views;
  });

  app.get("/api/v1/alerts/rules", SCHEMAS.rules, async () => {
    return engine.rules.map(ruleView);
  });

  app.post("/api/v1/alerts/:id/ack", SCHEMAS.ack, async (req) => {
    const { id } = req.params as { id: string };
    const { by } = parseBody(AlertAckRequestSchema, req.body);
    // Signed in: the identity acknowledges and a free-text `by` is ignored (state-machine.ts).
    // A person (single sign-on) or a named API key acknowledges in its own name; a static
    // token's session by its role (issue 17).
    const auth = req.fleetAuth;
    const principal = auth?.principal;
    const named = principal?.kind === "oidc" || principal?.kind === "apiKey";
    const who = ackIdentity(auth && { ...auth, name: named ? principal.name : null }, by);
    if (who === null) throw badParam("by", "is required when auth is off (nobody is signed in)");
    const result = await engine.acknowledge(id, who);
    if (result.ok) {
      await req.audit({ action: "alert.ack", subject: id, detail: { by: who.name, role: who.role } });
      return result.alert;
    }
    if (result.reason === "not-found") throw notFound(`alert ${id}`);
    throw new ApiError(
      409,
      "CONFLICT",
      `alert ${id} is resolved: only pending or firing alerts can be acknowledged`,
    );
  });

  app.get("/api/v1/silences", SCHEMAS.silences, async (req) => {
    const state = req.query.state ?? "active";
    const limit = req.query.limit ?? 500;
    const at = now();
    const rows = await listSilences({
      pool,
      activeAtMs: state === "active" ? at : undefined,
      expiredAtMs: state === "expired" ? at : undefined,
      limit,
    });
    return rows.map(silenceView);
  });

  app.post("/api/v1/silences", SCHEMAS.silence, async (req, reply) => {
    const body = parseBody(SilenceCreateSchema, req.body);
    const at = now();
    const endsAtMs = body.endsAt;
    if (endsAtMs <= at) throw badParam("endsAt", "must be in the future");
    if (endsAtMs > at + MAX_SILENCE_MS) throw badParam("endsAt", "must be at most 366 days ahead");
    const matchers = Object.fromEntries(
      Object.entries(body.matchers).filter(([, v]) => v !== undefined),
    ) as Record<string, string>;
    const stored = await createSilence({
      pool,
      silence: {
        id: randomUUID(),
        matchers,
        comment: body.comment,
        createdBy: body.createdBy,
        createdAtMs: at,
        endsAtMs,
      },
    });
    await engine.silencesChanged(silenceFromRow(stored));
    const view = silenceView(stored);
    await req.audit({
      action: "silence.create",
      subject: stored.id,
      detail: {
        matchers: view.matchers,
        endsAt: view.endsAt,
        comment: view.comment,
        createdBy: view.createdBy,
      },
    });
    return reply.status(201).send(view);
  });

  app.delete("/api/v1/silences/:id", SCHEMAS.expire, async (req) => {
    const { id } = req.params as { id: string };
    const stored = await expireSilence({ pool, id, atMs: now() });
    if (stored === null) throw notFound(`silence ${id}`);
    await engine.silencesChanged(silenceFromRow(stored));
    const view = silenceView(stored);
    await req.audit({ action: "silence.expire", subject: id, detail: { matchers: view.matchers } });
    return view;
  });
}
