import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { ALERTS, NOW, SILENCES, THREAD_IDS } from "./fixtures.ts";
import { renderApp } from "./render-app.tsx";
import { type Answer, apiError, PENDING, stubFetch } from "./stub-fetch.ts";

function alertsRoute(): Answer {
  return (url) => {
    const state = url.searchParams.get("state");
    return { body: state ? ALERTS.filter((alert) => alert.state === state) : ALERTS };
  };
}

function setup(extra: Record<string, Answer> = {}) {
  return stubFetch({
    "GET /api/v1/alerts": alertsRoute(),
    "GET /api/v1/silences": { body: SILENCES },
    "POST /api/v1/alerts/al-1/ack": {
      body: { ...ALERTS[0], ackBy: "maria", ackAt: new Date(NOW).toISOString() },
    },
    "POST /api/v1/silences": { status: 201, body: { ...SILENCES[0], id: "sil-2" } },
    "DELETE /api/v1/silences/sil-1": { status: 204 },
    ...extra,
  });
}

describe("Alerts page (flat list)", () => {
  it("does show a loading state while alerts are fetched", async () => {
    stubFetch({
      "GET /api/v1/alerts": PENDING,
      "GET /api/v1/alerts/groups": PENDING,
      "GET /api/v1/silences": PENDING,
    });
    renderApp("/alerts");
    expect(await screen.findByRole("status", { name: "Loading alerts…" })).toBeInTheDocument();
  });

  it("does list firing alerts, most severe first, with a link to the thread", async () => {
    setup();
    renderApp("/alerts?view=flat");
    await screen.findByTestId("alert-row-al-2");
    const rows = screen.getAllByTestId(/^alert-row-/);
    expect(rows.map((row) => row.getAttribute("data-testid"))).toEqual(["alert-row-al-2", "alert-row-al-1"]);
    expect(rows[0]).toHaveTextContent("critical");
    expect(rows[0]).toHaveTextContent("carol: unauthorized (401) for 12m");
    expect(within(rows[1] as HTMLElement).getByRole("link")).toHaveAttribute(
      "href",
      `/threads/${THREAD_IDS.approval}`,
    );
  });

  it("does ask the API for resolved alerts when that filter is chosen", async () => {
    const fetchStub = setup();
    renderApp("/alerts?view=flat");
    await screen.findByTestId("alert-row-al-2");
    fireEvent.click(screen.getByRole("button", { name: "Resolved" }));
    expect(await screen.findByTestId("alert-row-al-3")).toHaveTextContent("maria");
    expect(fetchStub.callsTo("/api/v1/alerts").at(-1)?.url.searchParams.get("state")).toBe("resolved");
  });

  it("does acknowledge an alert under the name typed, then reload", async () => {
    const fetchStub = setup();
    renderApp("/alerts?view=flat");
    const row = await screen.findByTestId("alert-row-al-1");
    const ack = within(row).getByRole("button", { name: "Ack" });
    expect(ack).toHaveProperty("disabled", true);
    fireEvent.change(screen.getByRole("textbox", { name: "Your name" }), { target: { value: "maria" } });
    fireEvent.click(ack);
    await waitFor(() => expect(fetchStub.callsTo("/api/v1/alerts/al-1/ack", "POST")).toHaveLength(1));
    expect(fetchStub.callsTo("/api/v1/alerts/al-1/ack", "POST")[0]?.body).toEqual({ by: "maria" });
    await waitFor(() => expect(fetchStub.callsTo("/api/v1/alerts").length).toBeGreaterThanOrEqual(2));
    expect(window.localStorage.getItem("codex-fleet.user")).toBe("maria");
  });

  it("does create a silence for this rule and thread from the inline form", async () => {
    vi.useFakeTimers({ now: NOW, shouldAdvanceTime: true });
    window.localStorage.setItem("codex-fleet.user", "maria");
    const fetchStub = setup();
    renderApp("/alerts?view=flat");
    const row = await screen.findByTestId("alert-row-al-1");
    fireEvent.click(within(row).getByRole("button", { name: "Silence…" }));
    const form = screen.getByRole("form", { name: /Silence alice/ });
    fireEvent.change(within(form).getByRole("combobox", { name: "For" }), {
      target: { value: String(4 * 3_600_000) },
    });
    fireEvent.change(within(form).getByRole("textbox", { name: "Comment" }), {
      target: { value: "deploy freeze" },
    });
    fireEvent.click(within(form).getByRole("button", { name: "Silence" }));
    await waitFor(() => expect(fetchStub.callsTo("/api/v1/silences", "POST")).toHaveLength(1));
    const body = fetchStub.callsTo("/api/v1/silences", "POST")[0]?.body as { endsAt: string };
    expect(body).toEqual({
      matchers: { ruleId: "approval-wait", threadId: THREAD_IDS.approval },
      endsAt: expect.any(String),
      comment: "deploy freeze",
      createdBy: "maria",
    });
    // The fake clock keeps moving with real time (shouldAdvanceTime): allow a few seconds.
    expect(Date.parse(body.endsAt) - (NOW + 4 * 3_600_000)).toBeGreaterThanOrEqual(0);
    expect(Date.parse(body.endsAt) - (NOW + 4 * 3_600_000)).toBeLessThan(5_000);
    await waitFor(() => expect(screen.queryByRole("form", { name: /Silence alice/ })).toBeNull());
  });

  it("does list silences and end one on request", async () => {
    const fetchStub = setup();
    renderApp("/alerts?view=flat");
    const silence = await screen.findByTestId("silence-row-sil-1");
    expect(silence).toHaveTextContent("ruleId=budget, team=data");
    fireEvent.click(within(silence).getByRole("button", { name: "End silence" }));
    await waitFor(() => expect(fetchStub.callsTo("/api/v1/silences/sil-1", "DELETE")).toHaveLength(1));
    await waitFor(() => expect(fetchStub.callsTo("/api/v1/silences")).toHaveLength(2));
  });

  it("does say alerts are not enabled when the endpoint answers 404", async () => {
    stubFetch({});
    renderApp("/alerts");
    const disabled = await screen.findByTestId("alerts-disabled");
    expect(disabled).toHaveTextContent("Alerts not enabled");
    expect(disabled).toHaveTextContent("alerts:");
  });

  it("does show the error with a retry that reloads when the API fails", async () => {
    const routes: Record<string, Answer> = {
      "GET /api/v1/alerts": apiError(500, "internal", "boom"),
      "GET /api/v1/silences": { body: [] },
    };
    stubFetch(routes);
    renderApp("/alerts?view=flat");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("boom");
    routes["GET /api/v1/alerts"] = alertsRoute();
    fireEvent.click(within(alert).getByRole("button", { name: "Retry" }));
    expect(await screen.findByTestId("alert-row-al-2")).toBeInTheDocument();
  });

  it("does say all quiet when nothing is firing", async () => {
    stubFetch({ "GET /api/v1/alerts": { body: [] }, "GET /api/v1/silences": { body: [] } });
    renderApp("/alerts?view=flat");
    expect(await screen.findByText("No firing alerts")).toBeInTheDocument();
    expect(screen.getByText("No active silences.")).toBeInTheDocument();
  });
});
