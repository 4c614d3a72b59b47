import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { App } from "../../../src/App.tsx";
import { AuthGate } from "../../../src/auth/AuthGate.tsx";
import { LIVE_OPTIONS } from "../../render-app.tsx";
import { type Answer, apiError, stubFetch } from "../../stub-fetch.ts";

const ME = { role: "viewer", authEnabled: true, expiresAt: "2026-11-22T21:00:00.000Z" };
const SIGNED_OUT = apiError(401, "UNAUTHORIZED", "sign in first");

function renderGated(path = "/") {
  window.history.replaceState(null, "", path);
  return render(
    <AuthGate>
      <App liveOptions={LIVE_OPTIONS} />
    </AuthGate>,
  );
}

async function signIn(token: string) {
  fireEvent.change(await screen.findByLabelText("Access token"), { target: { value: token } });
  fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
}

describe("sign-in", () => {
  it("does show the sign-in page, not the dashboard, when the collector answers 401", async () => {
    stubFetch({ "GET /api/v1/auth/me": SIGNED_OUT });
    renderGated();
    expect(await screen.findByRole("form", { name: "Sign in to codex-fleet" })).toBeInTheDocument();
    expect(screen.queryByRole("navigation", { name: "Main" })).toBeNull();
    expect(screen.getByLabelText("Access token")).toHaveAttribute("type", "password");
  });

  it("does post the token, then show the dashboard with the role and a sign-out button", async () => {
    const api = stubFetch({ "GET /api/v1/auth/me": SIGNED_OUT, "POST /api/v1/auth/login": { body: ME } });
    renderGated();
    await signIn("  viewer-token-123456  ");
    expect(await screen.findByTestId("sign-out")).toHaveTextContent("Sign out (viewer)");
    expect(screen.getByRole("navigation", { name: "Main" })).toBeInTheDocument();
    expect(api.callsTo("/api/v1/auth/login", "POST").map((c) => c.body)).toEqual([
      { token: "  viewer-token-123456  " },
    ]);
  });

  it.each<[string, Answer, string]>([
    [
      "a wrong token",
      apiError(401, "UNAUTHORIZED", "the token was not accepted"),
      "That token was not accepted",
    ],
    ["too many attempts", apiError(429, "RATE_LIMITED", "too many"), "Too many attempts from this address"],
    ["a server error", apiError(500, "INTERNAL", "internal error"), "internal error"],
  ])("does say what went wrong after %s and stay on the sign-in page", async (_, answer, text) => {
    stubFetch({ "GET /api/v1/auth/me": SIGNED_OUT, "POST /api/v1/auth/login": answer });
    renderGated();
    await signIn("some-token-0123456789");
    expect(await screen.findByRole("alert")).toHaveTextContent(text);
    expect(screen.getByRole("button", { name: "Sign in" })).not.toHaveAttribute("disabled");
    expect(screen.queryByRole("navigation", { name: "Main" })).toBeNull();
  });

  it("does return to the sign-in page when an API call answers 401 (the session ended)", async () => {
    stubFetch({ "GET /api/v1/auth/me": { body: ME }, "GET /api/v1/usage": SIGNED_OUT });
    renderGated("/usage");
    // The usage page loads its chunk first: over findBy's default second on a busy machine.
    expect(
      await screen.findByRole("form", { name: "Sign in to codex-fleet" }, { timeout: 5000 }),
    ).toBeInTheDocument();
  });

  it("does sign out through the header", async () => {
    const api = stubFetch({
      "GET /api/v1/auth/me": { body: ME },
      "POST /api/v1/auth/logout": { status: 204 },
    });
    renderGated();
    fireEvent.click(await screen.findByTestId("sign-out"));
    expect(await screen.findByRole("form", { name: "Sign in to codex-fleet" })).toBeInTheDocument();
    expect(api.callsTo("/api/v1/auth/logout", "POST")).toHaveLength(1);
  });

  it("does show the dashboard at once, without sign-out, when auth is off (loopback)", async () => {
    stubFetch({ "GET /api/v1/auth/me": { body: { role: "admin", authEnabled: false, expiresAt: null } } });
    renderGated();
    expect(await screen.findByRole("navigation", { name: "Main" })).toBeInTheDocument();
    expect(screen.queryByTestId("sign-out")).toBeNull();
    expect(screen.queryByRole("form", { name: "Sign in to codex-fleet" })).toBeNull();
  });

  it("does offer single sign-on besides the token form when the collector has it", async () => {
    stubFetch({
      "GET /api/v1/auth/me": SIGNED_OUT,
      "GET /api/v1/auth/methods": {
        body: { authEnabled: true, oidc: { label: "Acme SSO", loginUrl: "/api/v1/auth/oidc/login" } },
      },
    });
    renderGated();
    const link = await screen.findByRole("link", { name: "Sign in with Acme SSO" });
    expect(link).toHaveAttribute("href", "/api/v1/auth/oidc/login");
    expect(screen.getByLabelText("Access token")).toBeInTheDocument();
  });

  it("does show only the token form when single sign-on is not offered", async () => {
    const api = stubFetch({
      "GET /api/v1/auth/me": SIGNED_OUT,
      "GET /api/v1/auth/methods": { body: { authEnabled: true, oidc: null } },
    });
    renderGated();
    await screen.findByLabelText("Access token");
    await vi.waitFor(() => expect(api.callsTo("/api/v1/auth/methods")).toHaveLength(1));
    expect(screen.queryByRole("link", { name: /Sign in with/ })).toBeNull();
  });

  it("does show the signed-in person's name and email in the header", async () => {
    stubFetch({
      "GET /api/v1/auth/me": {
        body: {
          ...ME,
          principal: { kind: "oidc", name: "Alice Admin", email: "alice@example.com" },
          oidc: true,
        },
      },
    });
    renderGated();
    expect(await screen.findByTestId("signed-in-as")).toHaveTextContent("Alice Admin · alice@example.com");
    expect(screen.getByTestId("sign-out")).toHaveTextContent("Sign out (viewer)");
  });

  it("does not name a static token's session beyond its role", async () => {
    stubFetch({
      "GET /api/v1/auth/me": {
        body: { ...ME, principal: { kind: "token", name: "viewer token", email: null } },
      },
    });
    renderGated();
    await screen.findByTestId("sign-out");
    expect(screen.queryByTestId("signed-in-as")).toBeNull();
  });

  it("does follow the provider's sign-out when sign-out answers where to go", async () => {
    const assign = vi.fn();
    vi.stubGlobal("location", { ...window.location, assign });
    stubFetch({
      "GET /api/v1/auth/me": { body: ME },
      "POST /api/v1/auth/logout": { body: { redirectTo: "https://idp.example.com/logout?client_id=x" } },
    });
    renderGated();
    fireEvent.click(await screen.findByTestId("sign-out"));
    await vi.waitFor(() => expect(assign).toHaveBeenCalledWith("https://idp.example.com/logout?client_id=x"));
    vi.unstubAllGlobals();
  });

  it("does offer a retry when the collector cannot be reached", async () => {
    stubFetch({ "GET /api/v1/auth/me": apiError(502, "BAD_GATEWAY", "proxy down") });
    renderGated();
    expect(await screen.findByRole("alert")).toHaveTextContent("Could not reach the collector");
    expect(screen.getByRole("button", { name: "Retry" })).toBeInTheDocument();
  });
});
