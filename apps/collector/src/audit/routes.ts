/**
 * GET /api/v1/audit (issue 17): the audit log, newest first, as JSON or CSV. Admin only
 * (auth/policy.ts). Filters: `from` (inclusive), `to` (exclusive), `action` (a list), `actor` (a
 * principal's name or email), `limit` (default 500).
 */
import type { DbPool } from "@codex-fleet/db/client";
import { type AuditEventRow, listAuditEvents } from "@codex-fleet/db/repositories/audit-repository";
import { type AuditEventView, AuditEventViewSchema } from "@codex-fleet/protocol/keys";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { toCsv } from "../http/csv.ts";
import { describeRoute, type ParsedQuery } from "../http/openapi.ts";
import { qp, query, text } from "../http/params.ts";

const CSV_COLUMNS = [
  "id",
  "at",
  "principalKind",
  "principalName",
  "principalEmail",
  "ip",
  "action",
  "subject",
  "detail",
];

const PRINCIPAL_KINDS = ["token", "apiKey", "oidc", "none"] as const;

function view(row: AuditEventRow): AuditEventView {
  const kind = (PRINCIPAL_KINDS as readonly string[]).includes(row.principalKind)
    ? (row.principalKind as AuditEventView["principal"]["kind"])
    : "none";
  return {
    id: row.id,
    at: new Date(row.atMs).toISOString(),
    principal: { kind, name: row.principalName, email: row.principalEmail },
    ip: row.ip,
    action: row.action,
    subject: row.subject,
    detail: row.detail,
  };
}

/** Register GET /api/v1/audit. */
export function registerAuditRoutes(fastify: FastifyInstance, deps: { pool: DbPool }): void {
  const app = fastify.withTypeProvider<ParsedQuery>();
  const schema = describeRoute({
    tags: ["audit"],
    summary: "The audit log, newest first (admin)",
    query: query({
      from: qp.time("From (inclusive)"),
      to: qp.time("To (exclusive)"),
      action: qp.list("Only these actions (e.g. target.create)"),
      actor: text(320)
        .trim()
        .min(1, "must not be empty")
        .optional()
        .describe("Only changes by this principal (name or email)"),
      limit: qp.int("At most this many rows (default 500)", 1, 10_000),
      format: qp.format,
    }).refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, {
      path: ["from"],
      message: "must be before `to`",
    }),
    response: { 200: z.array(AuditEventViewSchema) },
    csv: true,
  });
  app.get("/api/v1/audit", schema, async (req, reply) => {
    const { from, to, action, actor, limit, format } = req.query;
    const rows = await listAuditEvents({
      pool: deps.pool,
      fromMs: from,
      toMs: to,
      actions: action,
      actor,
      limit: limit ?? 500,
    });
    const views = rows.map(view);
    if (format === "csv")
      return reply.type("text/csv; charset=utf-8").send(
        toCsv(
          CSV_COLUMNS,
          views.map((v) => ({
            id: v.id,
            at: v.at,
            principalKind: v.principal.kind,
            principalName: v.principal.name,
            principalEmail: v.principal.email,
            ip: v.ip,
            action: v.action,
            subject: v.subject,
            detail: JSON.stringify(v.detail),
          })),
        ),
      );
    return views;
  });
}
