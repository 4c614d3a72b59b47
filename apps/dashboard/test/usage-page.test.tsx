import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { FakeWebSocket } from "./fake-websocket.ts";
import {
  NOW,
  totalsOf,
  USAGE_BY_DAY_MODEL,
  USAGE_BY_MODEL,
  USAGE_BY_TARGET,
  usageResponse,
  usageRow,
} from "./fixtures.ts";
import { deliverSnapshot, renderApp } from "./render-app.tsx";
import { type Answer, apiError, PENDING, stubFetch } from "./stub-fetch.ts";

/** Answers /api/v1/usage by its groupBy, like the collector would. */
function usageRoute(byGroup: Record<string, Answer>): Answer {
  return (url) => byGroup[url.searchParams.get("groupBy") ?? ""] ?? { body: usageResponse([], []) };
}

const WEEK: Record<string, Answer> = {
  "day,model": { body: usageResponse(USAGE_BY_DAY_MODEL, ["day", "model"]) },
  "target,team": { body: usageResponse(USAGE_BY_TARGET, ["target", "team"]) },
  model: { body: usageResponse(USAGE_BY_MODEL, ["model"]) },
};

function setup(byGroup: Record<string, Answer> = WEEK) {
  return stubFetch({ "GET /api/v1/usage": usageRoute(byGroup), "GET /api/v1/alerts": { body: [] } });
}

/** Captures the download instead of letting jsdom try to navigate; returns the file names. */
function captureDownloads(): string[] {
  const names: string[] = [];
  vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
    names.push(this.download);
  });
  return names;
}

async function blobText(): Promise<string> {
  const create = vi.mocked(URL.createObjectURL);
  const blob = create.mock.calls.at(-1)?.[0] as Blob;
  return blob.text();
}

describe("Usage page", () => {
  it("does show a loading state while usage is being fetched", async () => {
    stubFetch({ "GET /api/v1/usage": PENDING, "GET /api/v1/alerts": { body: [] } });
    renderApp("/usage");
    // The first test pays the lazy page chunk's cold import (slow on a loaded machine).
    expect(
      await screen.findByRole("status", { name: "Loading usage…" }, { timeout: 4000 }),
    ).toBeInTheDocument();
  });

  it("does show totals, failure rate, cached share and unpriced tokens when the week loads", async () => {
    setup();
    renderApp("/usage");
    const totals = totalsOf(USAGE_BY_DAY_MODEL);
    const tokens = await screen.findByTestId("usage-total-tokens");
    expect(tokens).toHaveAttribute("data-value", String(totals.totalTokens));
    expect(tokens).toHaveTextContent("31.3M");
    const cost = screen.getByTestId("usage-total-cost");
    expect(cost).toHaveAttribute("data-value", String(totals.costUsd));
    expect(cost).toHaveTextContent(`$${totals.costUsd.toFixed(2)}`);
    expect(cost.parentElement).toHaveTextContent("+ 540k tokens unpriced");
    expect(screen.getByTestId("usage-unpriced-tokens")).toHaveAttribute("data-value", "540000");
    expect(screen.getByTestId("usage-unpriced-tokens").parentElement).toHaveTextContent(
      "no price: mock-model",
    );
    expect(screen.getByTestId("usage-turns")).toHaveTextContent(String(totals.turns));
    expect(screen.getByTestId("usage-failure-rate")).toHaveAttribute(
      "data-value",
      String(totals.failedTurns / totals.turns),
    );
    expect(screen.getByTestId("usage-cached-share")).toHaveTextContent("72%");
  });

  it("does show unpriced usage as unpriced, never as $0, in the model and spender tables", async () => {
    setup();
    renderApp("/usage");
    expect(await screen.findByTestId("model-cost-mock-model")).toHaveTextContent("unpriced");
    expect(screen.getByTestId("model-cost-gpt-5.5")).toHaveTextContent("$");
    const carol = await screen.findByTestId("spender-row-carol");
    expect(carol).toHaveTextContent("unpriced");
    expect(carol).not.toHaveTextContent("$0.00");
    const spenders = within(screen.getByTestId("usage-spenders")).getAllByRole("row").slice(1);
    expect(spenders.map((row) => row.getAttribute("data-testid"))).toEqual([
      "spender-row-alice",
      "spender-row-erin",
      "spender-row-bob",
      "spender-row-carol",
    ]);
  });

  it("does ask the API for what the URL says, and change the request when a control is used", async () => {
    const fetchStub = setup({
      "hour,team": {
        body: usageResponse(
          [usageRow({ hour: "2026-11-21T13:00:00.000Z", team: "payments" }, 3, 90_000)],
          ["hour", "team"],
        ),
      },
    });
    renderApp("/usage?range=24h&stack=team&metric=cost&team=payments");
    await screen.findByTestId("usage-total-tokens");
    const series = fetchStub
      .callsTo("/api/v1/usage")
      .find((call) => call.url.searchParams.get("groupBy") === "hour,team");
    expect(series?.url.searchParams.get("team")).toBe("payments");
    // The API ranks the series by the chart's metric and folds the rest (7 series and Other).
    expect([series?.url.searchParams.get("sort"), series?.url.searchParams.get("top")]).toEqual([
      "cost",
      "7",
    ]);
    expect(series?.url.searchParams.get("from")).toMatch(/T\d\d:00:00.000Z$/);
    expect(screen.getByRole("button", { name: "Cost" })).toHaveAttribute("aria-pressed", "true");
    expect(screen.getByRole("heading", { name: "Cost by team" })).toBeInTheDocument();

    fireEvent.click(
      within(screen.getByRole("group", { name: "Stack by" })).getByRole("button", { name: "Developer" }),
    );
    expect(new URLSearchParams(window.location.search).get("stack")).toBe("target");
    await waitFor(() =>
      expect(
        fetchStub
          .callsTo("/api/v1/usage")
          .some((call) => call.url.searchParams.get("groupBy") === "hour,target"),
      ).toBe(true),
    );
  });

  it("does ask for the top spenders by the chosen metric, and for all of them after 'Show all'", async () => {
    const fetchStub = setup({
      ...WEEK,
      "target,team": {
        body: { ...usageResponse(USAGE_BY_TARGET.slice(0, 2), ["target", "team"]), truncated: true },
      },
    });
    renderApp("/usage?metric=cost");
    await screen.findByTestId("spender-row-alice");
    const spenderCalls = () =>
      fetchStub
        .callsTo("/api/v1/usage")
        .filter((call) => call.url.searchParams.get("groupBy") === "target,team");
    expect(
      spenderCalls().map((c) => [c.url.searchParams.get("sort"), c.url.searchParams.get("limit")]),
    ).toEqual([["cost", "100"]]);
    expect(screen.getByTestId("usage-spenders").closest(".card")).toHaveTextContent("top 2 by cost");
    fireEvent.click(screen.getByTestId("spenders-show-all"));
    await waitFor(() => expect(spenderCalls()).toHaveLength(2));
    expect([
      spenderCalls()[1]?.url.searchParams.get("sort"),
      spenderCalls()[1]?.url.searchParams.has("limit"),
    ]).toEqual(["cost", false]);
  });

  it("does say there is no usage when the window is empty", async () => {
    setup({});
    renderApp("/usage?range=30d&model=gpt-4.1");
    const empty = await screen.findByTestId("usage-empty");
    expect(empty).toHaveTextContent("No usage in this window");
    fireEvent.click(within(empty).getByRole("button", { name: "Clear filters" }));
    expect(window.location.search).toBe("?range=30d");
  });

  it("does show the API's error with a retry that reloads", async () => {
    const byGroup: Record<string, Answer> = {
      ...WEEK,
      "day,model": apiError(400, "bad_request", "from must be before to"),
    };
    setup(byGroup);
    renderApp("/usage");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not load usage");
    expect(alert).toHaveTextContent("from must be before to — bad_request, HTTP 400");
    byGroup["day,model"] = WEEK["day,model"] as Answer;
    fireEvent.click(within(alert).getByRole("button", { name: "Retry" }));
    expect(await screen.findByTestId("usage-total-tokens")).toHaveAttribute(
      "data-value",
      String(totalsOf(USAGE_BY_DAY_MODEL).totalTokens),
    );
  });

  it("does export exactly the displayed series rows as CSV, with unpriced cost left empty", async () => {
    vi.useFakeTimers({ now: NOW, shouldAdvanceTime: true });
    setup();
    const downloads = captureDownloads();
    renderApp("/usage");
    fireEvent.click(await screen.findByTestId("export-series-csv"));
    expect(downloads).toEqual(["codex-usage_2026-11-15_2026-11-21_by-day-model.csv"]);
    const lines = (await blobText()).trimEnd().split("\r\n");
    expect(lines[0]).toBe(
      "day,model,turns,failedTurns,inputTokens,cachedInputTokens,outputTokens,reasoningOutputTokens,totalTokens,costUsd,unpricedTokens",
    );
    expect(lines).toHaveLength(USAGE_BY_DAY_MODEL.length + 1);
    const mock = lines.find((line) => line.includes(",mock-model,"));
    expect(mock).toMatch(/,,180000$/);
  });

  it("does export the spenders table as JSON with exact figures", async () => {
    vi.useFakeTimers({ now: NOW, shouldAdvanceTime: true });
    setup();
    const downloads = captureDownloads();
    renderApp("/usage");
    fireEvent.click(await screen.findByTestId("export-spenders-json"));
    expect(downloads).toEqual(["codex-usage_2026-11-15_2026-11-21_by-developer.json"]);
    const rows = JSON.parse(await blobText()) as Record<string, unknown>[];
    expect(rows.map((row) => row.developer)).toEqual(["alice", "erin", "bob", "carol"]);
    expect(rows[0]).toMatchObject({ team: "payments", turns: 160, totalTokens: 11_200_000, failedTurns: 4 });
    expect(rows[3]).toMatchObject({ costUsd: null, unpricedTokens: 540_000 });
  });

  it("does refetch a relative range when live usage ticks arrive, at most every 15 s", async () => {
    vi.useFakeTimers({ now: NOW, shouldAdvanceTime: true });
    const fetchStub = setup();
    renderApp("/usage");
    await screen.findByTestId("usage-total-tokens");
    deliverSnapshot();
    const before = fetchStub.callsTo("/api/v1/usage").length;
    act(() => {
      for (let index = 0; index < 5; index++) {
        FakeWebSocket.latest().receive({
          type: "usage",
          threadId: "t",
          target: "alice",
          atMs: NOW,
          totalTokens: 10 + index,
        });
      }
    });
    await act(async () => {
      await vi.advanceTimersByTimeAsync(15_000);
    });
    await waitFor(() => expect(fetchStub.callsTo("/api/v1/usage").length).toBe(before + 3));
  });
});
