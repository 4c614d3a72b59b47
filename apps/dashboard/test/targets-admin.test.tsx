/**
 * Admin on the Targets page (issue 17): the target form checks the URL before any request, tests
 * the connection before saving and shows the refusal's reason, saves after a successful test;
 * config targets are read-only; remove asks to confirm. Viewers see no admin controls. The
 * whole app renders behind the real AuthGate, which reads the role from /api/v1/auth/me.
 */
import type { TargetAdminView, TargetTestResult } from "@codex-fleet/protocol/targets";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { App } from "../src/App.tsx";
import { AuthGate } from "../src/auth/AuthGate.tsx";
import { FakeWebSocket } from "./fake-websocket.ts";
import { TARGETS } from "./fixtures.ts";
import { deliverSnapshot, LIVE_OPTIONS } from "./render-app.tsx";
import { type Answer, stubFetch } from "./stub-fetch.ts";

const me = (role: "admin" | "viewer"): Answer => ({
  body: {
    role,
    authEnabled: true,
    expiresAt: null,
    principal: { kind: "token", name: `${role} token`, email: null },
  },
});

const adminView = (name: string, managed: boolean): TargetAdminView => {
  const base = TARGETS.find((t) => t.name === name) ?? TARGETS[0];
  if (!base) throw new Error("no fixture target");
  return { ...base, name, managed, hasToken: true, allowInsecure: false };
};

const testResult = (r: Partial<TargetTestResult>): Answer => ({
  body: { ok: false, codexVersion: null, userAgent: null, reason: null, error: null, elapsedMs: 12, ...r },
});

async function renderTargets(routes: Record<string, Answer>, role: "admin" | "viewer" = "admin") {
  const fetches = stubFetch({
    "GET /api/v1/auth/me": me(role),
    "GET /api/v1/targets": { delayMs: Number.POSITIVE_INFINITY },
    "GET /api/v1/threads": { delayMs: Number.POSITIVE_INFINITY },
    "GET /api/v1/alerts": { body: [] },
    ...routes,
  });
  window.history.replaceState(null, "", "/targets");
  render(
    <AuthGate>
      <App liveOptions={LIVE_OPTIONS} />
    </AuthGate>,
  );
  // The app mounts (and opens the live feed) once /auth/me answered; then the snapshot arrives.
  await waitFor(() => expect(() => FakeWebSocket.latest()).not.toThrow());
  deliverSnapshot();
  await screen.findAllByTestId(/^target-row-/);
  return fetches;
}

async function openAddForm() {
  fireEvent.click(await screen.findByRole("button", { name: "Add target" }));
  return screen.getByRole("form", { name: "Add a target" });
}

function fill(form: HTMLElement, label: RegExp, value: string) {
  fireEvent.change(within(form).getByLabelText(label), { target: { value } });
}

describe("Targets page admin", () => {
  it("does refuse a URL that is not ws:// or wss:// before any request", async () => {
    const fetches = await renderTargets({});
    const form = await openAddForm();
    fill(form, /^Name/, "frank");
    fill(form, /App-server URL/, "http://frank.example.com:4500");
    fireEvent.click(within(form).getByRole("button", { name: "Test and save" }));
    expect(await within(form).findByText(/URL must be a ws:\/\/ or wss:\/\/ URL/)).toBeInTheDocument();
    expect(within(form).getByLabelText(/App-server URL/)).toHaveAttribute("aria-invalid", "true");
    expect(fetches.callsTo("/api/v1/targets/test", "POST")).toHaveLength(0);
    expect(fetches.callsTo("/api/v1/targets", "POST")).toHaveLength(0);
  });

  it("does show the reason of a refused token and save nothing", async () => {
    const fetches = await renderTargets({
      "POST /api/v1/targets/test": testResult({
        reason: "unauthorized",
        error: "HTTP 401 (bearer token missing or not accepted)",
      }),
    });
    const form = await openAddForm();
    fill(form, /^Name/, "frank");
    fill(form, /App-server URL/, "ws://127.0.0.1:4510");
    fill(form, /Bearer token/, "wrong-token");
    fill(form, /Labels/, "site=berlin, tier=dev");
    fireEvent.click(within(form).getByRole("button", { name: "Test and save" }));
    const failure = await within(form).findByTestId("target-test-failure");
    expect(failure).toHaveTextContent("Connection test failed: Unauthorized (401)");
    expect(failure).toHaveTextContent("HTTP 401 (bearer token missing or not accepted)");
    expect(fetches.callsTo("/api/v1/targets/test", "POST")[0]?.body).toEqual({
      url: "ws://127.0.0.1:4510",
      team: "",
      labels: { site: "berlin", tier: "dev" },
      allowInsecure: false,
      token: "wrong-token",
    });
    expect(fetches.callsTo("/api/v1/targets", "POST")).toHaveLength(0);
    expect(within(form).getByRole("button", { name: "Save anyway" })).toBeInTheDocument();
  });

  it("does save after a successful test and say so", async () => {
    const fetches = await renderTargets({
      "POST /api/v1/targets/test": testResult({ ok: true, codexVersion: "0.169.0" }),
      "POST /api/v1/targets": { status: 201, body: adminView("frank", true) },
    });
    const form = await openAddForm();
    fill(form, /^Name/, "frank");
    fill(form, /App-server URL/, "ws://127.0.0.1:4510");
    fill(form, /^Team/, "payments");
    fireEvent.click(within(form).getByRole("button", { name: "Test and save" }));
    expect(await screen.findByTestId("targets-notice")).toHaveTextContent("frank saved");
    expect(fetches.callsTo("/api/v1/targets", "POST")[0]?.body).toMatchObject({
      name: "frank",
      url: "ws://127.0.0.1:4510",
      team: "payments",
    });
    expect(screen.queryByRole("form", { name: "Add a target" })).not.toBeInTheDocument();
  });

  it("does put the collector's 400 under the field it names", async () => {
    await renderTargets({
      "POST /api/v1/targets/test": {
        status: 400,
        body: {
          error: {
            code: "BAD_PARAMETER",
            message: "url: refusing to send a bearer token over plain ws:// to non-loopback host 10.0.0.5",
            param: "url",
          },
        },
      },
    });
    const form = await openAddForm();
    fill(form, /^Name/, "frank");
    fill(form, /App-server URL/, "ws://10.0.0.5:4500");
    fill(form, /Bearer token/, "tok");
    fireEvent.click(within(form).getByRole("button", { name: "Test and save" }));
    expect(await within(form).findByText(/refusing to send a bearer token/)).toBeInTheDocument();
    expect(within(form).getByLabelText(/App-server URL/)).toHaveAttribute("aria-invalid", "true");
  });

  it("does edit a managed target with its stored token kept, and call config targets read-only", async () => {
    const name = TARGETS[0]?.name ?? "";
    const other = TARGETS[1]?.name ?? "";
    const fetches = await renderTargets({
      [`GET /api/v1/targets/${name}`]: { body: adminView(name, true) },
      [`GET /api/v1/targets/${other}`]: { body: adminView(other, false) },
      "POST /api/v1/targets/test": testResult({ ok: true, codexVersion: "0.169.0" }),
      [`PUT /api/v1/targets/${name}`]: { body: adminView(name, true) },
    });
    fireEvent.click(await screen.findByRole("button", { name: `Edit ${other}` }));
    expect(await screen.findByTestId("targets-notice")).toHaveTextContent("comes from the config file");

    fireEvent.click(screen.getByRole("button", { name: `Edit ${name}` }));
    const form = await screen.findByRole("form", { name: `Edit target ${name}` });
    expect(within(form).getByLabelText(/^Name/)).toHaveProperty("disabled", true);
    fireEvent.click(within(form).getByRole("button", { name: "Test and save" }));
    await waitFor(() => expect(fetches.callsTo(`/api/v1/targets/${name}`, "PUT")).toHaveLength(1));
    // The test borrows the stored token by name; neither request carries a token.
    expect(fetches.callsTo("/api/v1/targets/test", "POST")[0]?.body).toMatchObject({ name });
    expect(fetches.callsTo("/api/v1/targets/test", "POST")[0]?.body).not.toHaveProperty("token");
    expect(fetches.callsTo(`/api/v1/targets/${name}`, "PUT")[0]?.body).not.toHaveProperty("token");
  });

  it("does remove a target only after confirming", async () => {
    const name = TARGETS[0]?.name ?? "";
    const fetches = await renderTargets({ [`DELETE /api/v1/targets/${name}`]: { status: 204 } });
    fireEvent.click(await screen.findByRole("button", { name: `Remove ${name}` }));
    expect(fetches.callsTo(`/api/v1/targets/${name}`, "DELETE")).toHaveLength(0);
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: `Confirm removing ${name}` }));
    });
    await waitFor(() => expect(fetches.callsTo(`/api/v1/targets/${name}`, "DELETE")).toHaveLength(1));
    expect(await screen.findByTestId("targets-notice")).toHaveTextContent(`${name} removed`);
  });

  it("does show a viewer no admin controls", async () => {
    await renderTargets({}, "viewer");
    expect(screen.queryByRole("button", { name: "Add target" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /^Edit / })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /^Remove / })).not.toBeInTheDocument();
  });
});

describe("Targets page: pause, resume and token sources", () => {
  /** GET /api/v1/targets?paused=true answers `paused`; the plain list (REST fallback) stays pending. */
  const pausedList =
    (paused: () => unknown[]): Answer =>
    (url) =>
      url.searchParams.get("paused") === "true" ? { body: paused() } : { delayMs: Number.POSITIVE_INFINITY };

  it("does pause a target, list it as paused and resume it", async () => {
    const name = TARGETS[0]?.name ?? "";
    const base = TARGETS[0];
    if (!base) throw new Error("no fixture target");
    let paused: unknown[] = [];
    const fetches = await renderTargets({
      "GET /api/v1/targets": pausedList(() => paused),
      [`POST /api/v1/targets/${name}/pause`]: () => {
        paused = [{ ...base, state: "stopped", reason: null, followedBy: null }];
        return { body: { ...adminView(name, true), paused: true } };
      },
      [`POST /api/v1/targets/${name}/resume`]: () => {
        paused = [];
        return { body: { ...adminView(name, true), paused: false } };
      },
    });
    expect(screen.queryByTestId("paused-targets")).not.toBeInTheDocument();
    await act(async () => {
      fireEvent.click(await screen.findByRole("button", { name: `Pause ${name}` }));
    });
    expect(fetches.callsTo(`/api/v1/targets/${name}/pause`, "POST")).toHaveLength(1);
    expect(await screen.findByTestId("targets-notice")).toHaveTextContent(`${name} paused`);
    const list = await screen.findByTestId("paused-targets");
    expect(within(list).getByTestId(`paused-row-${name}`)).toBeInTheDocument();
    // Listed under Paused only, not with its last (stopped) state among the followed targets.
    expect(screen.queryByTestId(`target-row-${name}`)).not.toBeInTheDocument();

    await act(async () => {
      fireEvent.click(within(list).getByRole("button", { name: `Resume ${name}` }));
    });
    expect(fetches.callsTo(`/api/v1/targets/${name}/resume`, "POST")).toHaveLength(1);
    expect(await screen.findByTestId("targets-notice")).toHaveTextContent(`${name} resumed`);
    await waitFor(() => expect(screen.queryByTestId("paused-targets")).not.toBeInTheDocument());
    expect(screen.getByTestId(`target-row-${name}`)).toBeInTheDocument();
  });

  it("does show a viewer the paused targets without Pause or Resume", async () => {
    const base = TARGETS[1];
    if (!base) throw new Error("no fixture target");
    await renderTargets(
      { "GET /api/v1/targets": pausedList(() => [{ ...base, name: "resting", state: "stopped" }]) },
      "viewer",
    );
    const list = await screen.findByTestId("paused-targets");
    expect(within(list).getByTestId("paused-row-resting")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /^Resume / })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /^Pause / })).not.toBeInTheDocument();
  });

  it("does offer only the token field when the collector allows nothing else", async () => {
    await renderTargets({});
    const form = await openAddForm();
    expect(within(form).queryByRole("group", { name: "Token from" })).not.toBeInTheDocument();
    expect(within(form).getByLabelText(/Bearer token/)).toBeInTheDocument();
  });

  it("does send a token file or variable when the collector allows them, errors under the field", async () => {
    const allowed: Answer = {
      body: {
        role: "admin",
        authEnabled: true,
        expiresAt: null,
        principal: { kind: "token", name: "admin token", email: null },
        targetTokenSources: ["token", "file", "env"],
      },
    };
    const fetches = await renderTargets({
      "GET /api/v1/auth/me": allowed,
      "POST /api/v1/targets/test": (_url, init) => {
        const body = JSON.parse(String(init?.body));
        if (body.tokenFile)
          return {
            status: 400,
            body: {
              error: {
                code: "BAD_PARAMETER",
                message: "tokenFile: must be a file inside /etc/codex-fleet/tokens",
                param: "tokenFile",
              },
            },
          };
        return testResult({ ok: true, codexVersion: "0.169.0" });
      },
      "POST /api/v1/targets": { status: 201, body: adminView("frank", true) },
    });
    const form = await openAddForm();
    fill(form, /^Name/, "frank");
    fill(form, /App-server URL/, "wss://frank.example.com:4500");
    const choice = within(form).getByRole("group", { name: "Token from" });
    fireEvent.click(within(choice).getByRole("button", { name: "file" }));
    expect(within(form).queryByLabelText(/Bearer token/)).not.toBeInTheDocument();
    fill(form, /Token file/, "../../etc/passwd");
    fireEvent.click(within(form).getByRole("button", { name: "Test and save" }));
    expect(await within(form).findByText(/must be a file inside/)).toBeInTheDocument();
    expect(within(form).getByLabelText(/Token file/)).toHaveAttribute("aria-invalid", "true");
    expect(fetches.callsTo("/api/v1/targets/test", "POST")[0]?.body).toMatchObject({
      tokenFile: "../../etc/passwd",
    });
    expect(fetches.callsTo("/api/v1/targets/test", "POST")[0]?.body).not.toHaveProperty("token");

    fireEvent.click(within(choice).getByRole("button", { name: "environment" }));
    fill(form, /Environment variable/, "CODEX_FLEET_TARGET_FRANK");
    fireEvent.click(within(form).getByRole("button", { name: "Test and save" }));
    await waitFor(() => expect(fetches.callsTo("/api/v1/targets", "POST")).toHaveLength(1));
    const saved = fetches.callsTo("/api/v1/targets", "POST")[0]?.body;
    expect(saved).toMatchObject({ name: "frank", tokenEnv: "CODEX_FLEET_TARGET_FRANK" });
    expect(saved).not.toHaveProperty("tokenFile");
    expect(saved).not.toHaveProperty("token");
  });
});
