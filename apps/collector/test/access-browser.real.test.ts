/**
 * The Access and Audit pages (issue 17) of the built dashboard in real Chromium against a
 * collector with auth on: an admin creates an API key, sees its secret once, the secret works as
 * a bearer token, revoking it (after confirming) makes it answer 401, the audit page shows both
 * changes and exports them as CSV; a viewer sees neither page in the navigation. No console
 * error (CSP violation included) on the way.
 */
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, VIEWER_TOKEN } from "./support/auth-app.ts";
import { watchPage } from "./support/browser.ts";
import { CHROMIUM, dashboardSuite } from "./support/dashboard-suite.ts";

const suite = dashboardSuite();

/** The first /auth/me of a page load answers 401 before sign-in; Chromium logs it. */
const expected401 = (text: string, url: string) =>
  /status of 401/.test(text) && /\/api\/v1\/auth\/me$/.test(url);

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(suite.fleet.baseUrl);
  await page.getByLabel("Access token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("sign-out").waitFor();
}

const withKey = (secret: string) =>
  fetch(`${suite.fleet.baseUrl}/api/v1/auth/me`, { headers: { authorization: `Bearer ${secret}` } });

describe.skipIf(!CHROMIUM)("Access and Audit pages in Chromium", () => {
  it("does create a key shown once, revoke it after confirming, and show both in the audit log", async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    const watch = watchPage(page, expected401);
    await signIn(page, ADMIN_TOKEN);
    const nav = page.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: "Access" }).click();

    const form = page.getByRole("form", { name: "Create an API key" });
    await form.getByLabel("Name").fill("browser-key");
    await form.getByLabel("Role").selectOption("admin");
    await form.getByRole("button", { name: "Create key" }).click();
    const secret = await page.getByLabel("Secret of browser-key").inputValue();
    expect(secret).toMatch(/^cfk_[A-Za-z0-9_-]{43}$/);
    await page.getByTestId("key-row-browser-key").waitFor();

    const me = await withKey(secret);
    expect(me.status).toBe(200);
    expect(((await me.json()) as { principal: unknown }).principal).toEqual({
      kind: "apiKey",
      name: "browser-key",
      email: null,
    });

    await page.getByRole("button", { name: "Done" }).click();
    expect(await page.content()).not.toContain(secret);
    await page.reload();
    await page.getByTestId("key-row-browser-key").waitFor();
    expect(await page.content()).not.toContain(secret);

    const row = page.getByTestId("key-row-browser-key");
    await row.getByRole("button", { name: "Revoke…" }).click();
    await row.getByRole("button", { name: "Revoke browser-key" }).click();
    await page.locator('[data-testid="key-row-browser-key"][data-status="revoked"]').waitFor();
    const refused = await withKey(secret);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
      /^the API key browser-key was revoked at /,
    );

    await nav.getByRole("link", { name: "Audit" }).click();
    await page.locator("[data-testid^=audit-row-]").first().waitFor();
    const actions = await page.locator("[data-testid^=audit-row-] td:nth-child(4)").allTextContents();
    expect(actions.slice(0, 3)).toEqual(["key.revoke", "key.create", "auth.login"]);
    const csvHref = await page.getByTestId("audit-export-csv").getAttribute("href");
    const csv = await page.evaluate(async (href) => (await fetch(href ?? "")).text(), csvHref);
    expect(csv.split(/\r?\n/)[0]).toBe(
      "id,at,principalKind,principalName,principalEmail,ip,action,subject,detail",
    );
    expect(csv).toContain(",key.revoke,");
    expect(csv).not.toContain(secret);

    expect(watch.errors).toEqual([]);
    await context.close();
  });

  it("does show a viewer neither Access nor Audit", async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    const watch = watchPage(page, expected401);
    await signIn(page, VIEWER_TOKEN);
    const nav = page.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: "Alerts" }).waitFor();
    expect(await nav.getByRole("link", { name: "Access" }).count()).toBe(0);
    expect(await nav.getByRole("link", { name: "Audit" }).count()).toBe(0);
    await page.goto(`${suite.fleet.baseUrl}/audit`);
    await page.getByText("The audit log is for admins.").waitFor();
    expect(watch.errors).toEqual([]);
    await context.close();
  });
});
