/**
 * The grouped Alerts page (issue 16): a row per group (labels, severity, counts, receivers),
 * expanded to its members with the per-alert actions, kept fresh by the live feed; ack as the
 * signed-in user without a name prompt; the receivers panel for admins only.
 */
import type { AlertGroupView, AlertView } from "@codex-fleet/protocol/api";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { App } from "../src/App.tsx";
import { AuthGate } from "../src/auth/AuthGate.tsx";
import { FakeWebSocket } from "./fake-websocket.ts";
import { ALERTS, NOW, SILENCES, snapshotMessage } from "./fixtures.ts";
import { deliverSnapshot, LIVE_OPTIONS, renderApp } from "./render-app.tsx";
import { type Answer, apiError, stubFetch } from "./stub-fetch.ts";

const [APPROVAL, TARGET_DOWN, RESOLVED] = ALERTS as [AlertView, AlertView, AlertView];
/** A second approval alert in alice's group, inhibited (its target is down). */
const INHIBITED: AlertView = {
  ...APPROVAL,
  id: "al-4",
  subjectId: "th-alice-2",
  threadId: "th-alice-2",
  summary: "alice: waiting on approval for 9m",
  pendingSince: new Date(NOW - 9 * 60_000).toISOString(),
  state: "pending",
  firingSince: null,
  inhibited: true,
};
const keyOf = (ruleId: string, team: string) =>
  JSON.stringify([
    ["ruleId", ruleId],
    ["team", team],
  ]);

function group(ruleId: string, team: string, receivers: string[], alerts: AlertView[]): AlertGroupView {
  const counts = { firing: 0, pending: 0, resolved: 0 };
  for (const alert of alerts) counts[alert.state]++;
  return {
    key: keyOf(ruleId, team),
    labels: team ? { ruleId, team } : { ruleId },
    receivers,
    severity: alerts[0]?.severity ?? "info",
    counts,
    alerts,
  };
}

const OPEN_GROUPS = [
  group("target-down", "", ["pager", "chat"], [TARGET_DOWN]),
  group("approval-wait", "payments", ["chat"], [APPROVAL, INHIBITED]),
];
const ALL_GROUPS = [...OPEN_GROUPS, group("turn-failed", "", [], [RESOLVED])];

function groupsRoute(groups = { open: OPEN_GROUPS, all: ALL_GROUPS }): Answer {
  return (url) => ({ body: { groups: url.searchParams.get("state") === "all" ? groups.all : groups.open } });
}

function setup(extra: Record<string, Answer> = {}) {
  return stubFetch({
    "GET /api/v1/alerts/groups": groupsRoute(),
    "GET /api/v1/silences": { body: SILENCES },
    "GET /api/v1/alerts/receivers": {
      body: {
        receivers: [
          { name: "pager", type: "pagerduty" },
          { name: "chat", type: "slack" },
        ],
      },
    },
    ...extra,
  });
}

/** <App/> inside the real <AuthGate>, signed in with `role` (auth on). */
function renderSignedIn(path: string) {
  window.history.replaceState(null, "", path);
  return render(
    <AuthGate>
      <App liveOptions={LIVE_OPTIONS} />
    </AuthGate>,
  );
}
const me = (role: "admin" | "viewer", authEnabled = true): Answer => ({
  body: { role, authEnabled, expiresAt: authEnabled ? new Date(NOW + 3_600_000).toISOString() : null },
});

const groupRow = (id: string) => screen.findByTestId(`alert-group-${id}`);

describe("Alerts page, grouped", () => {
  it("does show a row per group with its labels, severity, counts and receivers", async () => {
    const fetchStub = setup();
    renderApp("/alerts");
    const down = await groupRow("target-down");
    const approval = await groupRow("approval-wait/payments");
    const rows = screen.getAllByTestId(/^alert-group-(?!.*-members$)/);
    expect(rows.map((row) => row.getAttribute("data-testid"))).toEqual([
      "alert-group-target-down",
      "alert-group-approval-wait/payments",
    ]);
    expect(down).toHaveTextContent("critical");
    expect(down).toHaveTextContent("ruleId=target-down");
    expect(within(down).getByTestId("group-counts")).toHaveTextContent("1 firing 0 pending 0 resolved");
    expect(within(down).getByTestId("group-receivers")).toHaveTextContent("pagerchat");
    expect(approval).toHaveTextContent("ruleId=approval-wait");
    expect(approval).toHaveTextContent("team=payments");
    expect(within(approval).getByTestId("group-counts")).toHaveTextContent("1 firing 1 pending 0 resolved");
    expect(approval).toHaveTextContent("1 inhibited");
    // Members stay folded until asked for; the open groups were asked for (no state parameter).
    expect(screen.queryByTestId("alert-row-al-1")).toBeNull();
    expect(fetchStub.callsTo("/api/v1/alerts/groups")[0]?.url.search).toBe("");
    expect(fetchStub.callsTo("/api/v1/alerts")).toHaveLength(0);
  });

  it("does expand a group to its members with their actions and an inhibited badge, and fold it again", async () => {
    setup();
    renderApp("/alerts");
    const approval = await groupRow("approval-wait/payments");
    const toggle = within(approval).getByRole("button", { name: "Show alerts of approval-wait · payments" });
    expect(toggle).toHaveAttribute("aria-expanded", "false");
    fireEvent.click(toggle);
    const members = screen.getByTestId("alert-group-approval-wait/payments-members");
    // The state filter (firing, the default) applies to members: the pending one is not listed.
    expect(
      within(members)
        .getAllByTestId(/^alert-row-/)
        .map((r) => r.dataset.testid),
    ).toEqual(["alert-row-al-1"]);
    fireEvent.click(screen.getByRole("button", { name: "Pending" }));
    await waitFor(() =>
      expect(
        within(screen.getByTestId("alert-group-approval-wait/payments-members")).getByTestId(
          "alert-row-al-4",
        ),
      ).toBeInTheDocument(),
    );
    const inhibited = screen.getByTestId("alert-inhibited-al-4");
    expect(inhibited).toHaveTextContent("inhibited");
    expect(inhibited.getAttribute("title")).toMatch(/not notified.*alice is down/);
    const member = screen.getByTestId("alert-row-al-4");
    expect(within(member).getByRole("button", { name: "Ack" })).toBeInTheDocument();
    expect(within(member).getByRole("button", { name: "Silence…" })).toBeInTheDocument();
    expect(within(member).getByRole("link")).toHaveAttribute("href", "/threads/th-alice-2");
    expect(screen.queryByTestId("alert-group-target-down")).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Hide alerts of approval-wait · payments" }));
    expect(screen.queryByTestId("alert-row-al-4")).toBeNull();
  });

  it("does ask for resolved alerts' groups when that filter is chosen, and switch to the flat list", async () => {
    const fetchStub = setup({ "GET /api/v1/alerts": { body: ALERTS } });
    renderApp("/alerts?state=resolved");
    const failed = await groupRow("turn-failed");
    expect(within(failed).getByTestId("group-counts")).toHaveTextContent("0 firing 0 pending 1 resolved");
    expect(fetchStub.callsTo("/api/v1/alerts/groups").at(-1)?.url.searchParams.get("state")).toBe("all");
    expect(screen.queryByTestId("alert-group-target-down")).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Flat" }));
    expect(await screen.findByTestId("alert-row-al-3")).toBeInTheDocument();
    expect(window.location.search).toBe("?state=resolved&view=flat");
  });

  it("does keep counts fresh from the live feed and refetch once when an alert no group holds appears", async () => {
    const fetchStub = setup();
    renderApp("/alerts");
    await groupRow("target-down");
    deliverSnapshot(snapshotMessage({ alerts: [APPROVAL, TARGET_DOWN, INHIBITED] }));
    act(() => {
      FakeWebSocket.latest().receive({
        type: "alert",
        alert: { ...INHIBITED, state: "firing", firingSince: new Date(NOW).toISOString() },
      });
    });
    const approval = await groupRow("approval-wait/payments");
    await waitFor(() =>
      expect(within(approval).getByTestId("group-counts")).toHaveTextContent("2 firing 0 pending 0 resolved"),
    );
    act(() => {
      FakeWebSocket.latest().receive({ type: "alert", alert: { ...TARGET_DOWN, state: "resolved" } });
    });
    // Resolved and the filter is "firing": the group leaves the page, no refetch needed.
    await waitFor(() => expect(screen.queryByTestId("alert-group-target-down")).toBeNull());
    expect(fetchStub.callsTo("/api/v1/alerts/groups")).toHaveLength(1);
    const NEW: AlertView = { ...TARGET_DOWN, id: "al-9", subjectId: "dave", target: "dave" };
    act(() => {
      FakeWebSocket.latest().receive({ type: "alert", alert: NEW });
    });
    await waitFor(() => expect(fetchStub.callsTo("/api/v1/alerts/groups")).toHaveLength(2));
    // The stub's groups still lack al-9: no second refetch for the same alert (let the answer and
    // the effects it triggers settle first).
    await waitFor(() => expect(screen.getByTestId("alert-group-approval-wait/payments")).toBeInTheDocument());
    for (let i = 0; i < 5; i++) await act(async () => {});
    expect(fetchStub.callsTo("/api/v1/alerts/groups")).toHaveLength(2);
  });
});

describe("Acknowledging", () => {
  it("does ack at once as the signed-in user, without asking for a name, and show who", async () => {
    let acked = false;
    const fetchStub = setup({
      "GET /api/v1/auth/me": me("viewer"),
      "GET /api/v1/alerts/groups": () => ({
        body: {
          groups: acked
            ? [
                OPEN_GROUPS[0],
                group(
                  "approval-wait",
                  "payments",
                  ["chat"],
                  [
                    { ...APPROVAL, ackBy: "viewer", ackRole: "viewer", ackAt: new Date(NOW).toISOString() },
                    INHIBITED,
                  ],
                ),
              ]
            : OPEN_GROUPS,
        },
      }),
      "POST /api/v1/alerts/al-1/ack": () => {
        acked = true;
        return { body: { ...APPROVAL, ackBy: "viewer", ackRole: "viewer" } };
      },
    });
    renderSignedIn("/alerts");
    const approval = await groupRow("approval-wait/payments");
    expect(screen.queryByRole("textbox", { name: "Your name" })).toBeNull();
    fireEvent.click(within(approval).getByRole("button", { name: /Show alerts of/ }));
    const ack = within(screen.getByTestId("alert-row-al-1")).getByRole("button", { name: "Ack" });
    expect(ack).toHaveProperty("disabled", false);
    expect(ack).toHaveAttribute("title", "Acknowledge as viewer");
    fireEvent.click(ack);
    await waitFor(() => expect(fetchStub.callsTo("/api/v1/alerts/al-1/ack", "POST")).toHaveLength(1));
    expect(fetchStub.callsTo("/api/v1/alerts/al-1/ack", "POST")[0]?.body).toEqual({});
    await waitFor(() =>
      expect(screen.getByTestId("alert-ack-al-1")).toHaveTextContent(/^acked by viewer \(viewer\)/),
    );
    expect(within(screen.getByTestId("alert-row-al-1")).queryByRole("button", { name: "Ack" })).toBeNull();
  });

  it("does keep the name prompt when auth is off", async () => {
    const fetchStub = setup({
      "GET /api/v1/auth/me": me("admin", false),
      "POST /api/v1/alerts/al-1/ack": {},
    });
    renderSignedIn("/alerts");
    fireEvent.click(within(await groupRow("approval-wait/payments")).getByRole("button", { name: /Show/ }));
    const ack = within(screen.getByTestId("alert-row-al-1")).getByRole("button", { name: "Ack" });
    expect(ack).toHaveProperty("disabled", true);
    fireEvent.change(screen.getByRole("textbox", { name: "Your name" }), { target: { value: "maria" } });
    fireEvent.click(ack);
    await waitFor(() => expect(fetchStub.callsTo("/api/v1/alerts/al-1/ack", "POST")).toHaveLength(1));
    expect(fetchStub.callsTo("/api/v1/alerts/al-1/ack", "POST")[0]?.body).toEqual({ by: "maria" });
  });
});

describe("Receivers panel", () => {
  it("does list receivers for an admin and show a test's result", async () => {
    const fetchStub = setup({
      "GET /api/v1/auth/me": me("admin"),
      "POST /api/v1/alerts/receivers/pager/test": {
        body: { ok: false, status: 503, error: "service unavailable", durationMs: 41.6 },
      },
      "POST /api/v1/alerts/receivers/chat/test": {
        body: { ok: true, status: 200, error: null, durationMs: 12 },
      },
    });
    renderSignedIn("/alerts");
    const pager = await screen.findByTestId("receiver-row-pager");
    expect(pager).toHaveTextContent("pagerduty");
    fireEvent.click(within(pager).getByRole("button", { name: "Send test to pager" }));
    await waitFor(() =>
      expect(screen.getByTestId("receiver-result-pager")).toHaveTextContent(
        "failed 503 service unavailable · 42 ms",
      ),
    );
    fireEvent.click(screen.getByRole("button", { name: "Send test to chat" }));
    await waitFor(() =>
      expect(screen.getByTestId("receiver-result-chat")).toHaveTextContent("ok 200 · 12 ms"),
    );
    expect(fetchStub.callsTo("/api/v1/alerts/receivers/pager/test", "POST")).toHaveLength(1);
  });

  it("does show viewers no receivers panel and never ask for it", async () => {
    const fetchStub = setup({ "GET /api/v1/auth/me": me("viewer") });
    renderSignedIn("/alerts");
    await groupRow("target-down");
    expect(screen.queryByTestId("receivers-panel")).toBeNull();
    expect(screen.queryByText("Send test")).toBeNull();
    expect(fetchStub.callsTo("/api/v1/alerts/receivers")).toHaveLength(0);
  });

  it("does say the receivers API is not available when the collector answers 404", async () => {
    setup({
      "GET /api/v1/auth/me": me("admin"),
      "GET /api/v1/alerts/receivers": apiError(404, "NOT_FOUND", "no route"),
    });
    renderSignedIn("/alerts");
    expect(await screen.findByTestId("receivers-unavailable")).toHaveTextContent(
      "Receivers API not available",
    );
    expect(screen.queryByRole("button", { name: /Send test/ })).toBeNull();
  });
});
