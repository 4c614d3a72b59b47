/**
 * The audit log's writer (issue 17): `req.audit({action, subject, detail})` records who (the
 * request's principal), when (the collector's clock) and from where (`req.ip`).
 *
 * Routes call it after their change succeeded, and await it, so that the row exists when the
 * answer arrives. A failed audit write does not fail the request: the change is already made
 * and committed, and answering 500 would tell the client it was not (a retried create would then
 * conflict or duplicate). Instead it is logged at error level with the whole event (the detail
 * never holds a secret) and counted (`failures`), so that it is never lost silently.
 */
import type { DbPool } from "@codex-fleet/db/client";
import { insertAuditEvent } from "@codex-fleet/db/repositories/audit-repository";
import { NO_PRINCIPAL, type Principal } from "@codex-fleet/protocol/auth";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Logger } from "../logger.ts";

/** One change to record. */
export interface AuditEvent {
  /** `target.create`, `key.revoke`… (protocol/keys.ts AUDIT_ACTIONS). */
  action: string;
  /** What changed: a target's name, a silence's or key's id. */
  subject: string;
  /** Anything useful about the change; never a secret or a token. */
  detail?: Record<string, unknown>;
  /** Who, when the request's own principal is not it yet (sign-in). */
  principal?: Principal;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Record a change this request made (audit/audit.ts); never throws. */
    audit(event: AuditEvent): Promise<void>;
  }
}

/** Counts of audit writes that failed (metrics, tests). */
export interface AuditStats {
  failures: number;
}

/** Decorate every request with `audit`. Install before any route that calls it (`buildApp` does). */
export function installAudit(
  app: FastifyInstance,
  deps: { pool: DbPool; log: Logger; now?: () => number },
): AuditStats {
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ module: "audit" });
  const stats: AuditStats = { failures: 0 };
  app.decorateRequest("audit", async function audit(this: FastifyRequest, event: AuditEvent) {
    const principal = event.principal ?? this.fleetAuth?.principal ?? NO_PRINCIPAL;
    const row = {
      atMs: now(),
      principalKind: principal.kind,
      principalName: principal.name,
      principalEmail: principal.email,
      ip: this.ip ?? null,
      action: event.action,
      subject: event.subject,
      detail: event.detail ?? {},
    };
    try {
      await insertAuditEvent({ pool: deps.pool, event: row });
    } catch (err) {
      stats.failures += 1;
      log.error(
        { audit: row, err: err instanceof Error ? err.message : String(err) },
        "audit: the change was made but its audit row could not be written",
      );
    }
  });
  return stats;
}
