/**
 * The Audit page (issue 17): the log as a table, filters kept in the URL and sent to the API,
 * CSV/JSON export links carrying the same filters, admins only.
 */
import type { AuditEventView } from "@codex-fleet/protocol/keys";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { App } from "../src/App.tsx";
import { AuthGate } from "../src/auth/AuthGate.tsx";
import { dayAfter, describeDetail } from "../src/pages/AuditPage.tsx";
import { NOW } from "./fixtures.ts";
import { LIVE_OPTIONS, renderApp } from "./render-app.tsx";
import { stubFetch } from "./stub-fetch.ts";

const EVENTS: AuditEventView[] = [
  {
    id: "2",
    at: new Date(NOW).toISOString(),
    principal: { kind: "apiKey", name: "ci-deploy", email: null },
    ip: "10.0.0.7",
    action: "target.create",
    subject: "bob",
    detail: { url: "ws://10.0.0.9:4500", team: "core", token: "set" },
  },
  {
    id: "1",
    at: new Date(NOW - 60_000).toISOString(),
    principal: { kind: "oidc", name: "Maria", email: "maria@example.com" },
    ip: "10.0.0.5",
    action: "silence.create",
    subject: "sil-1",
    detail: { matchers: { target: "bob" } },
  },
];

describe("Audit page", () => {
  it("does list the events newest first with who, where, what", async () => {
    stubFetch({ "GET /api/v1/audit": { body: EVENTS } });
    renderApp("/audit");
    const first = await screen.findByTestId("audit-row-2");
    expect(first).toHaveTextContent("ci-deploy");
    expect(first).toHaveTextContent("10.0.0.7");
    expect(first).toHaveTextContent("target.create");
    expect(first).toHaveTextContent("bob");
    expect(first).toHaveTextContent("url=ws://10.0.0.9:4500, team=core, token=set");
    const second = screen.getByTestId("audit-row-1");
    expect(second).toHaveTextContent("Maria maria@example.com");
    expect(second).toHaveTextContent('matchers={"target":"bob"}');
    expect(screen.getAllByTestId(/^audit-row-/).map((r) => r.dataset.testid)).toEqual([
      "audit-row-2",
      "audit-row-1",
    ]);
  });

  it("does send the filters to the API, keep them in the URL and export with them", async () => {
    const fetchStub = stubFetch({ "GET /api/v1/audit": { body: EVENTS } });
    renderApp("/audit");
    await screen.findByTestId("audit-row-2");
    const filters = screen.getByRole("form", { name: "Audit filters" });
    fireEvent.change(within(filters).getByLabelText("Action"), { target: { value: "target.create" } });
    fireEvent.change(within(filters).getByLabelText("Who"), { target: { value: " ci-deploy " } });
    fireEvent.blur(within(filters).getByLabelText("Who"));
    fireEvent.change(within(filters).getByLabelText("From"), { target: { value: "2026-11-01" } });
    fireEvent.change(within(filters).getByLabelText("To"), { target: { value: "2026-11-21" } });
    await waitFor(() => {
      const query = fetchStub.callsTo("/api/v1/audit").at(-1)?.url.searchParams;
      expect(Object.fromEntries(query ?? [])).toEqual({
        action: "target.create",
        actor: "ci-deploy",
        from: "2026-11-01",
        to: "2026-11-22",
        limit: "500",
      });
    });
    expect(new URLSearchParams(window.location.search).get("actor")).toBe("ci-deploy");
    const csv = new URL(screen.getByTestId("audit-export-csv").getAttribute("href") ?? "", "http://x");
    expect(csv.pathname).toBe("/api/v1/audit");
    expect(Object.fromEntries(csv.searchParams)).toMatchObject({
      action: "target.create",
      actor: "ci-deploy",
      format: "csv",
    });
  });

  it("does say when nothing matches", async () => {
    stubFetch({ "GET /api/v1/audit": { body: [] } });
    renderApp("/audit?action=key.revoke");
    expect(await screen.findByText("No changes match these filters.")).toBeInTheDocument();
  });

  it("does show a viewer no audit log and ask for none", async () => {
    const fetchStub = stubFetch({
      "GET /api/v1/auth/me": { body: { role: "viewer", authEnabled: true, expiresAt: null } },
    });
    window.history.replaceState(null, "", "/audit");
    render(
      <AuthGate>
        <App liveOptions={LIVE_OPTIONS} />
      </AuthGate>,
    );
    expect(await screen.findByText("The audit log is for admins.")).toBeInTheDocument();
    expect(fetchStub.callsTo("/api/v1/audit")).toHaveLength(0);
  });

  it.each([
    ["2026-11-30", "2026-12-01"],
    ["2024-02-28", "2024-02-29"],
    ["2026-12-31", "2027-01-01"],
  ])("does take the day after %s to be %s (the API's `to` is exclusive)", (day, next) => {
    expect(dayAfter(day)).toBe(next);
  });

  it("does describe a detail as key=value pairs", () => {
    expect(describeDetail({ name: "ci", role: "viewer", expiresAt: null })).toBe(
      "name=ci, role=viewer, expiresAt=null",
    );
  });
});
