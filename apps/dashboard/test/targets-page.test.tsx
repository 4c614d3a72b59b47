import { act, fireEvent, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { FakeWebSocket } from "./fake-websocket.ts";
import { snapshotMessage, TARGETS, target } from "./fixtures.ts";
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
    // Grouped by codex version (all but dave run 0.169.0; dave never told), down ones first in each.
    const rows = screen.getAllByTestId(/^target-row-/);
    expect(rows.map((row) => row.getAttribute("data-testid"))).toEqual(
      ["carol", "alice", "bob", "erin", "dave"].map((name) => `target-row-${name}`),
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
    expect(screen.getAllByTestId(/^target-row-/)).toHaveLength(2);
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

  it("does group targets by codex version, newest first and unknown last, and flag those below the floor", () => {
    quietRest();
    renderApp("/targets");
    const ua = (v: string) => `codex_vscode/${v} (Debian 12.0.0; x86_64) xterm (codex_fleet_observer; 0.1.0)`;
    deliverSnapshot(
      snapshotMessage({
        threads: [],
        targets: [
          target({
            name: "old-ann",
            team: "a",
            userAgent: ua("0.149.2"),
            codexVersion: "0.149.2",
            belowSupportedFloor: true,
          }),
          target({
            name: "ben",
            team: "a",
            userAgent: ua("0.169.0"),
            codexVersion: "0.169.0",
            belowSupportedFloor: false,
          }),
          target({
            name: "cy",
            team: "a",
            userAgent: ua("0.171.0"),
            codexVersion: "0.171.0",
            belowSupportedFloor: false,
          }),
          target({
            name: "dee",
            team: "a",
            userAgent: ua("0.169.0"),
            codexVersion: "0.169.0",
            belowSupportedFloor: false,
          }),
          target({
            name: "eve",
            team: "a",
            userAgent: ua("0.9.0"),
            codexVersion: "0.9.0",
            belowSupportedFloor: true,
          }),
          target({
            name: "fay",
            team: "a",
            userAgent: "garbage",
            codexVersion: null,
            belowSupportedFloor: false,
          }),
          // An older collector without the fields: the version is read from userAgent.
          target({ name: "gus", team: "a", userAgent: ua("0.150.0") }),
        ],
      }),
    );
    const groups = screen.getAllByTestId(/^version-group-/);
    expect(groups.map((g) => g.getAttribute("data-testid"))).toEqual(
      ["0.171.0", "0.169.0", "0.150.0", "0.149.2", "0.9.0", "unknown"].map((v) => `version-group-${v}`),
    );
    const g169 = screen.getByTestId("version-group-0.169.0");
    expect(within(g169).getByRole("columnheader")).toHaveTextContent("codex 0.169.0 · 2 targets");
    expect(
      within(g169)
        .getAllByTestId(/^target-row-/)
        .map((r) => r.id),
    ).toEqual(["ben", "dee"]);
    expect(screen.getByTestId("version-group-unknown")).toHaveTextContent("codex version unknown · 1 target");

    // Below the floor: the group header, the row's chip and the page head say so, with why.
    const old = screen.getByTestId("version-group-0.149.2");
    expect(within(old).getByRole("columnheader")).toHaveTextContent("below supported floor");
    expect(within(old).getByRole("columnheader").getAttribute("title")).toMatch(
      /codex 0\.149\.2 is older than the oldest version this collector supports .*default 0\.150\.0/,
    );
    const chip = screen.getByTestId("target-codex-old-ann");
    expect(chip).toHaveTextContent("codex 0.149.2 · below supported");
    expect(chip.getAttribute("title")).toContain("codexVersionFloor");
    expect(screen.getByTestId("target-row-old-ann")).toHaveClass("row-warn");
    expect(screen.getByTestId("targets-below-floor")).toHaveTextContent("2 below supported codex");
    // Supported and unknown versions are not flagged.
    for (const name of ["ben", "cy", "gus", "fay"]) {
      expect(screen.getByTestId(`target-codex-${name}`)).not.toHaveAttribute("data-below-floor");
      expect(screen.getByTestId(`target-row-${name}`)).not.toHaveClass("row-warn");
    }
    expect(screen.getByTestId("target-codex-gus")).toHaveTextContent("codex 0.150.0");
    expect(screen.getByTestId("target-codex-fay")).toHaveTextContent("codex ?");
  });

  it("does show no below-floor count when every target is supported", () => {
    quietRest();
    renderApp("/targets");
    deliverSnapshot();
    expect(screen.queryByTestId("targets-below-floor")).toBeNull();
    expect(screen.queryByText("below supported floor")).toBeNull();
  });

  it("does show how to add a target when there are none", () => {
    stubFetch({ "GET /api/v1/alerts": { body: [] } });
    renderApp("/targets");
    deliverSnapshot(snapshotMessage({ targets: [], threads: [], alerts: [] }));
    expect(screen.getByTestId("fleet-empty")).toHaveTextContent("No targets yet");
  });
});
