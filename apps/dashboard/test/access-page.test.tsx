/**
 * The Access page (issue 17): API keys listed with role, dates, last use and status; a key
 * created with the secret shown once and copyable; revoking asks first; viewers see neither the
 * page nor the Access and Audit links.
 */
import type { ApiKeyCreated, ApiKeyView } from "@codex-fleet/protocol/keys";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { App } from "../src/App.tsx";
import { AuthGate } from "../src/auth/AuthGate.tsx";
import { NOW } from "./fixtures.ts";
import { LIVE_OPTIONS, renderApp } from "./render-app.tsx";
import { type Answer, apiError, stubFetch } from "./stub-fetch.ts";

const iso = (ms: number) => new Date(ms).toISOString();
const KEYS: ApiKeyView[] = [
  {
    id: "11111111-1111-4111-8111-111111111111",
    name: "ci-deploy",
    role: "admin",
    prefix: "cfk_AbCdEf",
    status: "active",
    createdAt: iso(NOW - 86_400_000),
    createdBy: "admin token",
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: iso(NOW - 120_000),
  },
  {
    id: "22222222-2222-4222-8222-222222222222",
    name: "old-report",
    role: "viewer",
    prefix: "cfk_XyZ123",
    status: "revoked",
    createdAt: iso(NOW - 10 * 86_400_000),
    createdBy: "maria",
    expiresAt: iso(NOW + 86_400_000),
    revokedAt: iso(NOW - 3_600_000),
    lastUsedAt: null,
  },
];
const CREATED: ApiKeyCreated = {
  ...KEYS[0],
  id: "33333333-3333-4333-8333-333333333333",
  name: "nightly",
  role: "viewer",
  lastUsedAt: null,
  secret: `cfk_${"s".repeat(43)}`,
} as ApiKeyCreated;

const me = (role: "admin" | "viewer"): Answer => ({
  body: { role, authEnabled: true, expiresAt: iso(NOW + 3_600_000) },
});

function renderSignedIn(path: string) {
  window.history.replaceState(null, "", path);
  return render(
    <AuthGate>
      <App liveOptions={LIVE_OPTIONS} />
    </AuthGate>,
  );
}

describe("Access page", () => {
  it("does list every key with its role, status, expiry and last use", async () => {
    stubFetch({ "GET /api/v1/keys": { body: KEYS } });
    renderApp("/access");
    const active = await screen.findByTestId("key-row-ci-deploy");
    expect(active).toHaveTextContent("admin");
    expect(active).toHaveTextContent("cfk_AbCdEf…");
    expect(active).toHaveTextContent("active");
    expect(active).toHaveTextContent("never"); // expires
    expect(active).toHaveTextContent("by admin token");
    expect(within(active).getByRole("button", { name: "Revoke…" })).toBeInTheDocument();
    const revoked = screen.getByTestId("key-row-old-report");
    expect(revoked).toHaveAttribute("data-status", "revoked");
    expect(revoked).toHaveTextContent("by maria");
    // A revoked key has no revoke button; one never used says so.
    expect(within(revoked).queryByRole("button")).toBeNull();
    expect(within(revoked).getAllByText("never")).toHaveLength(1);
  });

  it("does create a key and show its secret once, with a copy button", async () => {
    let listed: ApiKeyView[] = [];
    const fetchStub = stubFetch({
      "GET /api/v1/keys": () => ({ body: listed }),
      "POST /api/v1/keys": () => {
        listed = [CREATED];
        return { status: 201, body: CREATED };
      },
    });
    const writeText = vi.fn(async () => {});
    vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText } });
    renderApp("/access");
    expect(await screen.findByText("No API keys yet.")).toBeInTheDocument();
    const form = screen.getByRole("form", { name: "Create an API key" });
    expect((within(form).getByRole("button", { name: "Create key" }) as HTMLButtonElement).disabled).toBe(
      true,
    );
    fireEvent.change(within(form).getByLabelText("Name"), { target: { value: " nightly " } });
    fireEvent.change(within(form).getByLabelText("Role"), { target: { value: "viewer" } });
    fireEvent.change(within(form).getByLabelText("Expires"), { target: { value: "90" } });
    fireEvent.click(within(form).getByRole("button", { name: "Create key" }));

    const shown = await screen.findByTestId("new-key-secret");
    expect((within(shown).getByLabelText("Secret of nightly") as HTMLInputElement).value).toBe(
      CREATED.secret,
    );
    expect(shown).toHaveTextContent("it is not shown again");
    const body = fetchStub.callsTo("/api/v1/keys", "POST")[0]?.body as Record<string, unknown>;
    expect(body.name).toBe("nightly");
    expect(body.role).toBe("viewer");
    expect(Date.parse(String(body.expiresAt)) - Date.now()).toBeGreaterThan(89 * 86_400_000);
    fireEvent.click(within(shown).getByRole("button", { name: "Copy" }));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith(CREATED.secret));
    expect(await within(shown).findByRole("button", { name: "Copied" })).toBeInTheDocument();
    // The list is read again and shows the new key, never its secret.
    expect(await screen.findByTestId("key-row-nightly")).not.toHaveTextContent(CREATED.secret);
    fireEvent.click(within(shown).getByRole("button", { name: "Done" }));
    expect(screen.queryByTestId("new-key-secret")).toBeNull();
    // Gone for good: no field or text holds it any more.
    expect(screen.queryByDisplayValue(CREATED.secret)).toBeNull();
    expect(document.body.textContent).not.toContain(CREATED.secret);
  });

  it("does show the collector's refusal of a name", async () => {
    stubFetch({
      "GET /api/v1/keys": { body: KEYS },
      "POST /api/v1/keys": apiError(409, "CONFLICT", "an API key named ci-deploy already exists"),
    });
    renderApp("/access");
    const form = await screen.findByRole("form", { name: "Create an API key" });
    fireEvent.change(within(form).getByLabelText("Name"), { target: { value: "ci-deploy" } });
    fireEvent.click(within(form).getByRole("button", { name: "Create key" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent(
      "an API key named ci-deploy already exists",
    );
    expect(screen.queryByTestId("new-key-secret")).toBeNull();
  });

  it("does revoke a key only after confirming", async () => {
    let listed = KEYS;
    const fetchStub = stubFetch({
      "GET /api/v1/keys": () => ({ body: listed }),
      [`DELETE /api/v1/keys/${KEYS[0]?.id}`]: () => {
        listed = KEYS.map((k, i) => (i === 0 ? { ...k, status: "revoked", revokedAt: iso(NOW) } : k));
        return { body: listed[0] };
      },
    });
    renderApp("/access");
    const row = await screen.findByTestId("key-row-ci-deploy");
    fireEvent.click(within(row).getByRole("button", { name: "Revoke…" }));
    expect(fetchStub.callsTo(`/api/v1/keys/${KEYS[0]?.id}`, "DELETE")).toHaveLength(0);
    fireEvent.click(within(row).getByRole("button", { name: "Keep" }));
    fireEvent.click(within(row).getByRole("button", { name: "Revoke…" }));
    fireEvent.click(within(row).getByRole("button", { name: "Revoke ci-deploy" }));
    await waitFor(() =>
      expect(screen.getByTestId("key-row-ci-deploy")).toHaveAttribute("data-status", "revoked"),
    );
    expect(fetchStub.callsTo(`/api/v1/keys/${KEYS[0]?.id}`, "DELETE")).toHaveLength(1);
  });

  it("does show an error with a retry when the keys cannot be read", async () => {
    stubFetch({ "GET /api/v1/keys": apiError(500, "INTERNAL", "internal error") });
    renderApp("/access");
    expect(await screen.findByRole("alert")).toHaveTextContent("Could not load API keys");
  });
});

describe("admin pages in the navigation", () => {
  it("does show Access and Audit to an admin", async () => {
    stubFetch({ "GET /api/v1/auth/me": me("admin"), "GET /api/v1/keys": { body: KEYS } });
    renderSignedIn("/access");
    const nav = await screen.findByRole("navigation", { name: "Main" });
    expect(within(nav).getByRole("link", { name: "Access" })).toHaveAttribute("href", "/access");
    expect(within(nav).getByRole("link", { name: "Audit" })).toHaveAttribute("href", "/audit");
    expect(await screen.findByTestId("key-row-ci-deploy")).toBeInTheDocument();
  });

  it("does hide them from a viewer, and the pages ask for nothing", async () => {
    const fetchStub = stubFetch({ "GET /api/v1/auth/me": me("viewer") });
    renderSignedIn("/access");
    expect(await screen.findByText("Admins only")).toBeInTheDocument();
    const nav = screen.getByRole("navigation", { name: "Main" });
    expect(within(nav).queryByRole("link", { name: "Access" })).toBeNull();
    expect(within(nav).queryByRole("link", { name: "Audit" })).toBeNull();
    expect(within(nav).getByRole("link", { name: "Alerts" })).toBeInTheDocument();
    expect(fetchStub.callsTo("/api/v1/keys")).toHaveLength(0);
  });
});
