/**
 * Audit (issue 17, admins only): every change made through the API — who, when, from which
 * address, what — newest first, filtered by action, actor and days (kept in the URL), exported
 * as CSV or JSON by the API itself.
 */
import { AUDIT_ACTIONS, type AuditEventView, AuditEventViewSchema } from "@codex-fleet/protocol/keys";
import { useState } from "react";
import { z } from "zod";
import { useIsAdmin } from "../auth/AuthGate.tsx";
import { ExportLinks } from "../components/ExportLinks.tsx";
import { EmptyState, ErrorState, LoadingState } from "../components/StateViews.tsx";
import { withQuery } from "../lib/api-client.ts";
import { formatDateTime } from "../lib/format.ts";
import { useSearchParams } from "../lib/router.tsx";
import { useApiQuery } from "../lib/useApiQuery.ts";

const AuditListSchema = z.array(AuditEventViewSchema);
const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** Rows asked for; the API allows 10,000 (the CSV link asks for that many). */
const PAGE_ROWS = 500;

/** The day after `date` (YYYY-MM-DD): the API's `to` is exclusive, the filter's "to" day inclusive. */
export function dayAfter(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/** The Audit page. */
export function AuditPage() {
  const isAdmin = useIsAdmin();
  if (!isAdmin)
    return (
      <EmptyState title="Admins only">
        <p>The audit log is for admins.</p>
      </EmptyState>
    );
  return <AdminAudit />;
}

function AdminAudit() {
  const [search, setSearch] = useSearchParams();
  const action = search.get("action") ?? "";
  const actor = search.get("actor") ?? "";
  const from = DATE.test(search.get("from") ?? "") ? (search.get("from") ?? "") : "";
  const to = DATE.test(search.get("to") ?? "") ? (search.get("to") ?? "") : "";
  const [actorDraft, setActorDraft] = useState(actor);
  const filters = { action, actor, from, to: to ? dayAfter(to) : "" };
  const events = useApiQuery(
    withQuery("/api/v1/audit", { ...filters, limit: String(PAGE_ROWS) }),
    AuditListSchema,
  );

  return (
    <>
      <div className="page-head">
        <h1>Audit</h1>
        <span className="faint">every change made through the API, newest first</span>
        <span className="spacer" />
        <ExportLinks
          testId="audit-export"
          csv={withQuery("/api/v1/audit", { ...filters, limit: "10000", format: "csv" })}
          json={withQuery("/api/v1/audit", { ...filters, limit: "10000" })}
        />
      </div>
      <form
        className="toolbar"
        aria-label="Audit filters"
        onSubmit={(event) => {
          event.preventDefault();
          setSearch({ actor: actorDraft.trim() });
        }}
      >
        <label className="field">
          Action
          <select
            className="select"
            value={action}
            onChange={(event) => setSearch({ action: event.target.value })}
          >
            <option value="">All actions</option>
            {AUDIT_ACTIONS.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          Who
          <input
            className="input"
            value={actorDraft}
            placeholder="name or email"
            onChange={(event) => setActorDraft(event.target.value)}
            onBlur={() => setSearch({ actor: actorDraft.trim() })}
          />
        </label>
        <label className="field">
          From
          <input
            className="input"
            type="date"
            value={from}
            onChange={(event) => setSearch({ from: event.target.value })}
          />
        </label>
        <label className="field">
          To
          <input
            className="input"
            type="date"
            value={to}
            onChange={(event) => setSearch({ to: event.target.value })}
          />
        </label>
      </form>
      <section className="card table-wrap">
        {events.data === undefined && events.loading && (
          <LoadingState rows={5} label="Loading the audit log…" />
        )}
        {events.data === undefined && !events.loading && (
          <ErrorState
            compact
            title="Could not load the audit log"
            error={events.error}
            onRetry={events.reload}
          />
        )}
        {events.data !== undefined && <AuditTable events={events.data} />}
      </section>
    </>
  );
}

function AuditTable({ events }: { events: AuditEventView[] }) {
  if (events.length === 0) return <div className="card-body faint">No changes match these filters.</div>;
  return (
    <>
      <table className="table">
        <thead>
          <tr>
            <th>When</th>
            <th>Who</th>
            <th>From</th>
            <th>Action</th>
            <th>Subject</th>
            <th>Detail</th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <tr key={event.id} data-testid={`audit-row-${event.id}`}>
              <td className="muted">{formatDateTime(event.at)}</td>
              <td title={event.principal.kind}>
                {event.principal.name || "(auth off)"}
                {event.principal.email && <span className="faint"> {event.principal.email}</span>}
              </td>
              <td className="mono faint">{event.ip ?? "—"}</td>
              <td className="mono">{event.action}</td>
              <td className="mono">{event.subject}</td>
              <td className="mono faint">{describeDetail(event.detail)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {events.length === PAGE_ROWS && (
        <div className="card-body faint">
          Showing the newest {PAGE_ROWS}: narrow the filters or export for more.
        </div>
      )}
    </>
  );
}

/** `key=value` pairs of a detail object; nested values as JSON. */
export function describeDetail(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(", ");
}
