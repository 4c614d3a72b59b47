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
import { badParam } from "../http/errors.ts";
import { describeRoute, qp } from "../http/openapi.ts";
import { optEnum, optInt, optList, optString, optTime, rejectUnknown } from "../http/params.ts";

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
export function registerAuditRoutes(app: FastifyInstance, deps: { pool: DbPool }): void {
  const schema = describeRoute({
    tags: ["audit"],
    summary: "The audit log, newest first (admin)",
    query: z.strictObject({
      from: qp.time("From (inclusive)"),
      to: qp.time("To (exclusive)"),
      action: qp.list("Only these actions (e.g. target.create)"),
      actor: qp.string("Only changes by this principal (name or email)", 320),
      limit: qp.int("At most this many rows (default 500)", 1, 10_000),
      format: qp.format,
    }),
    response: { 200: z.array(AuditEventViewSchema) },
    csv: true,
  });
  app.get("/api/v1/audit", schema, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    rejectUnknown(q, ["from", "to", "action", "actor", "limit", "format"]);
    const fromMs = optTime(q, "from");
    const toMs = optTime(q, "to");
    if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs)
      throw badParam("from", "must be before `to`");
    const actor = optString(q, "actor", 320);
    if (actor !== undefined && actor.trim() === "") throw badParam("actor", "must not be empty");
    const format = optEnum(q, "format", ["json", "csv"] as const) ?? "json";
    const rows = await listAuditEvents({
      pool: deps.pool,
      fromMs,
      toMs,
      actions: optList(q, "action"),
      actor: actor?.trim(),
      limit: optInt(q, "limit", 1, 10_000) ?? 500,
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
