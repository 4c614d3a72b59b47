import { act, fireEvent, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { FakeWebSocket } from "./fake-websocket.ts";
import { snapshotMessage, TARGETS } from "./fixtures.ts";
import { deliverSnapshot, renderApp } from "./render-app.tsx";
import { type Answer, apiError, PENDING, stubFetch } from "./stub-fetch.ts";

const quietRest = () =>
  stubFetch({
    "GET /api/v1/targets": PENDING,
    "GET /api/v1/threads": PENDING,
    "GET /api/v1/alerts": { body: [] },
  });

describe("Targets page", () => {
  it("does show a loading state before the live feed answers", () => {
    quietRest();
    renderApp("/targets");
    expect(screen.getByRole("status")).toHaveTextContent("Loading targets…");
  });

  it("does list every app-server with state, reason, user agent and thread counts, down ones first", () => {
    quietRest();
    renderApp("/targets");
    deliverSnapshot();
    const rows = screen.getAllByRole("row").slice(1);
    expect(rows.map((row) => row.getAttribute("data-testid"))).toEqual(
      ["carol", "dave", "alice", "bob", "erin"].map((name) => `target-row-${name}`),
    );
    for (const target of TARGETS)
      expect(screen.getByTestId(`target-state-${target.name}`)).toHaveAttribute("data-state", target.state);
    expect(screen.getByTestId("target-reason-carol")).toHaveTextContent("Unauthorized (401)");
    expect(screen.getByTestId("target-row-carol")).toHaveTextContent("check tokenFile/tokenEnv");
    expect(screen.getByTestId("target-row-carol")).toHaveTextContent(
      "HTTP 401: invalid websocket bearer token",
    );
    expect(screen.getByTestId("target-reason-dave")).toHaveTextContent("Refused");
    expect(screen.getByTestId("target-row-alice")).toHaveTextContent("codex_vscode/0.169.0");
    expect(screen.getByTestId("target-row-alice")).toHaveTextContent("site=berlin");
    expect(screen.getByTestId("target-threads-alice")).toHaveTextContent("3");
  });

  it("does show only down targets when the Down filter is chosen", () => {
    quietRest();
    renderApp("/targets");
    deliverSnapshot();
    fireEvent.click(screen.getByRole("button", { name: "Down (2)" }));
    expect(window.location.search).toBe("?state=down");
    expect(screen.getAllByRole("row").slice(1)).toHaveLength(2);
  });

  it("does update a target's state when the live feed says it reconnected", () => {
    quietRest();
    renderApp("/targets");
    deliverSnapshot();
    act(() =>
      FakeWebSocket.latest().receive({
        type: "target",
        target: { ...TARGETS[3], state: "open", reason: null, lastError: null },
      }),
    );
    expect(screen.getByTestId("target-state-dave")).toHaveTextContent("Connected");
  });

  it("does show the error with retry when the collector cannot be reached", async () => {
    const routes: Record<string, Answer> = {
      "GET /api/v1/targets": apiError(502, "bad_gateway", "upstream down"),
      "GET /api/v1/threads": { body: [] },
      "GET /api/v1/alerts": { body: [] },
    };
    stubFetch(routes);
    renderApp("/targets");
    act(() => FakeWebSocket.latest().drop());
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not load targets");
    routes["GET /api/v1/targets"] = { body: TARGETS };
    fireEvent.click(within(alert).getByRole("button", { name: "Retry" }));
    expect(await screen.findByTestId("target-state-carol")).toHaveTextContent("Retrying");
  });

  it("does show how to add a target when there are none", () => {
    stubFetch({ "GET /api/v1/alerts": { body: [] } });
    renderApp("/targets");
    deliverSnapshot(snapshotMessage({ targets: [], threads: [], alerts: [] }));
    expect(screen.getByTestId("fleet-empty")).toHaveTextContent("No targets yet");
  });
});
