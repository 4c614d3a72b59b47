/**
 * The target form in real Chromium (issue 17) against a collector with auth on and a REAL codex
 * app-server: a bad URL is refused in the form, a wrong token's test answers "Unauthorized (401)"
 * and nothing is saved, the right token saves and the target goes live; pausing it closes the
 * connection and lists it under Paused, resuming brings it back live; a token file inside
 * server.targetSecrets.dir is accepted by the real app-server; a viewer sees no admin
 * controls; no console error (CSP included) on the way.
 */

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AppServer, startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { type MockModel, startMockModel } from "@codex-fleet/codex-fakes/mock-model";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, AUTH_ON_YAML, SECRET_KEY, VIEWER_TOKEN } from "./support/auth-app.ts";
import { watchPage } from "./support/browser.ts";
import { CHROMIUM, dashboardSuite } from "./support/dashboard-suite.ts";

const SERVER_TOKEN = "browser-app-server-token-5e2a";
let mock: MockModel;
let server: AppServer;
/** server.targetSecrets.dir: holds the app-server's token as `dev.token`. */
let tokensDir: string;

const suite = dashboardSuite(async () => {
  mock = await startMockModel();
  server = await startAppServer({ modelUrl: mock.baseUrl, token: SERVER_TOKEN, name: "browser-form" });
  tokensDir = await mkdtemp(join(tmpdir(), "fleet-browser-tokens-"));
  await writeFile(join(tokensDir, "dev.token"), SERVER_TOKEN);
  return {
    stop: async () => {
      await server.dispose();
      await mock.close();
      await rm(tokensDir, { recursive: true, force: true });
    },
    app: {
      yaml: AUTH_ON_YAML.replace(
        "allowedHosts: [fleet.test]",
        `allowedHosts: [fleet.test], targetSecrets: { dir: '${tokensDir}' }`,
      ),
      env: { CODEX_FLEET_SECRET_KEY: SECRET_KEY },
    },
  };
});

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${suite.fleet.baseUrl}/targets`);
  await page.getByLabel("Access token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("sign-out").waitFor();
}

/** Chromium logs 4xx fetches as console errors; sign-in starts with the expected 401 of /auth/me. */
const expected401 = (text: string, url: string) =>
  /status of 401/.test(text) && /\/api\/v1\/auth\/me$/.test(url);

describe.skipIf(!CHROMIUM)("the target form in Chromium, on a real app-server", () => {
  it("does refuse a bad URL, show a refused token's reason, then save and go live", async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    const watch = watchPage(page, expected401);
    await signIn(page, ADMIN_TOKEN);

    await page.getByRole("button", { name: "Add target" }).click();
    const form = page.getByRole("form", { name: "Add a target" });
    await form.getByLabel("Name").fill("dev-box");
    await form.getByLabel("App-server URL").fill(server.url.replace("ws://", "http://"));
    await form.getByRole("button", { name: "Test and save" }).click();
    await form.getByText("URL must be a ws:// or wss:// URL").waitFor();

    await form.getByLabel("App-server URL").fill(server.url);
    await form.getByLabel("Bearer token").fill("not-the-server-token");
    await form.getByRole("button", { name: "Test and save" }).click();
    const failure = form.getByTestId("target-test-failure");
    await failure.waitFor({ timeout: 15_000 });
    expect(await failure.textContent()).toContain("Unauthorized (401)");
    expect(suite.fleet.fleet.targets.has("dev-box")).toBe(false);

    await form.getByLabel("Bearer token").fill(SERVER_TOKEN);
    await form.getByRole("button", { name: "Test and save" }).click();
    await page.getByTestId("targets-notice").getByText("dev-box saved").waitFor({ timeout: 15_000 });
    // The collector follows it now, and the live feed shows it connected.
    await page
      .locator('[data-testid="target-state-dev-box"][data-state="open"]')
      .waitFor({ timeout: 20_000 });
    expect(suite.fleet.managed.isManaged("dev-box")).toBe(true);
    expect(watch.errors).toEqual([]);
    await context.close();
  });

  it("does pause the saved target (connection closed, listed as paused) and resume it", async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    const watch = watchPage(page, expected401);
    await signIn(page, ADMIN_TOKEN);
    await page
      .locator('[data-testid="target-state-dev-box"][data-state="open"]')
      .waitFor({ timeout: 20_000 });

    await page.getByRole("button", { name: "Pause dev-box" }).click();
    await page.getByTestId("targets-notice").getByText("dev-box paused").waitFor({ timeout: 15_000 });
    await page.getByTestId("paused-row-dev-box").waitFor({ timeout: 15_000 });
    expect(await page.getByTestId("target-row-dev-box").count()).toBe(0);
    expect(suite.fleet.fleet.targets.has("dev-box")).toBe(false);
    expect(suite.fleet.managed.view("dev-box")?.paused).toBe(true);

    await page.getByRole("button", { name: "Resume dev-box" }).click();
    await page.getByTestId("targets-notice").getByText("dev-box resumed").waitFor({ timeout: 15_000 });
    await page
      .locator('[data-testid="target-state-dev-box"][data-state="open"]')
      .waitFor({ timeout: 20_000 });
    expect(await page.getByTestId("paused-row-dev-box").count()).toBe(0);
    expect(watch.errors).toEqual([]);
    await context.close();
  });

  it("does take the token from a file where the collector allows it, and go live", async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    const watch = watchPage(page, expected401);
    await signIn(page, ADMIN_TOKEN);
    await page.getByRole("button", { name: "Add target" }).click();
    const form = page.getByRole("form", { name: "Add a target" });
    await form.getByLabel("Name").fill("from-file");
    await form.getByLabel("App-server URL").fill(server.url);
    await form.getByRole("group", { name: "Token from" }).getByRole("button", { name: "file" }).click();
    await form.getByLabel("Token file").fill("dev.token");
    await form.getByRole("button", { name: "Test and save" }).click();
    await page.getByTestId("targets-notice").getByText("from-file saved").waitFor({ timeout: 15_000 });
    await page
      .locator('[data-testid="target-state-from-file"][data-state="open"]')
      .waitFor({ timeout: 20_000 });
    expect(suite.fleet.managed.view("from-file")).toMatchObject({ tokenFile: join(tokensDir, "dev.token") });
    expect(watch.errors).toEqual([]);
    await context.close();
  });

  it("does show a viewer no admin controls", async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, VIEWER_TOKEN);
    await page.getByRole("heading", { name: "Targets", level: 1 }).waitFor({ timeout: 15_000 });
    expect(await page.getByRole("button", { name: "Add target" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: /^Edit / }).count()).toBe(0);
    await context.close();
  });
});
