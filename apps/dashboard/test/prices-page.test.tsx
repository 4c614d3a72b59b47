/**
 * The Prices page (issue 17): the catalogue, every override with its source (config read-only,
 * added here removable), and the add form — checked before sending, the collector's 400 under
 * the field it names, the re-pricing it started said. Viewers get the list without controls.
 */
import type { PriceOverrideView, PricingResponse } from "@codex-fleet/protocol/pricing";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { App } from "../src/App.tsx";
import { AuthGate } from "../src/auth/AuthGate.tsx";
import { LIVE_OPTIONS } from "./render-app.tsx";
import { type Answer, stubFetch } from "./stub-fetch.ts";

const override = (o: Partial<PriceOverrideView> & Pick<PriceOverrideView, "model">): PriceOverrideView => ({
  id: null,
  source: "config",
  shadowed: false,
  createdBy: null,
  createdAt: null,
  effectiveFrom: "2026-10-01",
  inputUsdPerMTok: 4,
  cachedInputUsdPerMTok: 0.4,
  outputUsdPerMTok: 24,
  cacheWriteUsdPerMTok: null,
  longContext: null,
  ...o,
});

const PRICING: PricingResponse = {
  catalogue: { version: "genai-prices@0.1.8", date: "2026-09-23", source: "snapshot", refreshEnabled: false },
  overrides: [
    override({ model: "gpt-5.5" }),
    override({
      model: "acme-coder",
      id: 7,
      source: "ui",
      createdBy: "admin token",
      createdAt: "2026-12-06T10:00:00.000Z",
    }),
  ],
  repricing: null,
  unpriced: [],
};

const me = (role: "admin" | "viewer"): Answer => ({ body: { role, authEnabled: true, expiresAt: null } });

async function renderPrices(routes: Record<string, Answer>, role: "admin" | "viewer" = "admin") {
  const fetches = stubFetch({
    "GET /api/v1/auth/me": me(role),
    "GET /api/v1/pricing": { body: PRICING },
    "GET /api/v1/targets": { delayMs: Number.POSITIVE_INFINITY },
    "GET /api/v1/threads": { delayMs: Number.POSITIVE_INFINITY },
    "GET /api/v1/alerts": { body: [] },
    ...routes,
  });
  window.history.replaceState(null, "", "/prices");
  render(
    <AuthGate>
      <App liveOptions={LIVE_OPTIONS} />
    </AuthGate>,
  );
  await screen.findByRole("heading", { name: "Prices", level: 1 });
  return fetches;
}

const fill = (form: HTMLElement, label: RegExp, value: string) =>
  fireEvent.change(within(form).getByLabelText(label), { target: { value } });

describe("Prices page", () => {
  it("does list the overrides by source, config ones read-only", async () => {
    await renderPrices({});
    const config = screen.getByTestId("override-config-gpt-5.5-2026-10-01");
    expect(config).toHaveTextContent("config file (read-only)");
    expect(within(config).queryByRole("button")).not.toBeInTheDocument();
    const added = screen.getByTestId("override-ui-acme-coder-2026-10-01");
    expect(added).toHaveTextContent("added here by admin token");
    expect(within(added).getByRole("button", { name: /Remove override acme-coder/ })).toBeInTheDocument();
    expect(screen.getByTestId("pricing-version")).toHaveTextContent("genai-prices@0.1.8");
  });

  it("does check the form before sending anything", async () => {
    const fetches = await renderPrices({});
    const form = screen.getByRole("form", { name: "Add a price override" });
    fill(form, /Input \$\/1M/, "-1");
    fireEvent.click(within(form).getByRole("button", { name: "Add override" }));
    expect(await within(form).findByText("Model is required")).toBeInTheDocument();
    expect(within(form).getByText(/^Input \$\/1M must be a number ≥ 0/)).toBeInTheDocument();
    expect(within(form).getByText(/^Output \$\/1M must be a number ≥ 0/)).toBeInTheDocument();
    expect(fetches.callsTo("/api/v1/pricing/overrides", "POST")).toHaveLength(0);
  });

  it("does put the collector's 400 under the field it names", async () => {
    await renderPrices({
      "POST /api/v1/pricing/overrides": {
        status: 409,
        body: {
          error: {
            code: "READ_ONLY",
            message:
              "the config file has a price override for gpt-5.5 from 2026-10-01: change it there (config overrides win)",
            param: "effectiveFrom",
          },
        },
      },
    });
    const form = screen.getByRole("form", { name: "Add a price override" });
    fill(form, /^Model/, "gpt-5.5");
    fill(form, /Effective from/, "2026-10-01");
    fill(form, /^Input \$/, "5");
    fill(form, /Cached input/, "0.5");
    fill(form, /^Output/, "30");
    fireEvent.click(within(form).getByRole("button", { name: "Add override" }));
    expect(await within(form).findByText(/config overrides win/)).toBeInTheDocument();
    expect(within(form).getByLabelText(/Effective from/)).toHaveAttribute("aria-invalid", "true");
  });

  it("does add one, say what is re-priced and reload the list", async () => {
    const fetches = await renderPrices({
      "POST /api/v1/pricing/overrides": {
        status: 201,
        body: {
          override: override({ model: "gpt-5.4", id: 8, source: "ui" }),
          repricing: {
            status: "running",
            changes: [{ model: "gpt-5.4", fromDate: "2026-10-01" }],
            rowsTotal: 1234,
            rowsDone: 0,
            rowsChanged: 0,
            startedAt: "2026-12-06T10:00:00.000Z",
            finishedAt: null,
          },
        },
      },
    });
    const form = screen.getByRole("form", { name: "Add a price override" });
    fill(form, /^Model/, "gpt-5.4");
    fill(form, /Effective from/, "2026-10-01");
    fill(form, /^Input \$/, "2.5");
    fill(form, /Cached input/, "0.25");
    fill(form, /^Output/, "15");
    fireEvent.click(within(form).getByRole("button", { name: "Add override" }));
    expect(await screen.findByTestId("override-added")).toHaveTextContent("Re-pricing 1,234 usage rows");
    expect(fetches.callsTo("/api/v1/pricing/overrides", "POST")[0]?.body).toEqual({
      model: "gpt-5.4",
      effectiveFrom: "2026-10-01",
      inputUsdPerMTok: 2.5,
      cachedInputUsdPerMTok: 0.25,
      outputUsdPerMTok: 15,
    });
    await waitFor(() => expect(fetches.callsTo("/api/v1/pricing").length).toBeGreaterThan(1));
  });

  it("does remove one added here", async () => {
    const fetches = await renderPrices({
      "DELETE /api/v1/pricing/overrides/7": { body: { override: PRICING.overrides[1], repricing: null } },
    });
    fireEvent.click(screen.getByRole("button", { name: /Remove override acme-coder/ }));
    await waitFor(() => expect(fetches.callsTo("/api/v1/pricing/overrides/7", "DELETE")).toHaveLength(1));
  });

  it("does show a viewer the list without controls", async () => {
    await renderPrices({}, "viewer");
    expect(screen.getByTestId("override-ui-acme-coder-2026-10-01")).toBeInTheDocument();
    expect(screen.queryByRole("form", { name: "Add a price override" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Remove override/ })).not.toBeInTheDocument();
  });
});
