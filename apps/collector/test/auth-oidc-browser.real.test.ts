/**
 * Single sign-on in real Chromium (issue 17): the built dashboard on a listening collector, a real
 * OpenID Connect provider (`oidc-provider` on 127.0.0.1:0, its development sign-in form). Sign in
 * with the provider → the dashboard shows the person's name and the role their `groups` claim
 * maps to; a person with no mapped group is refused with a page saying why and whom to ask;
 * sign-out ends the session (the API answers 401 to its cookie afterwards). No console error or
 * CSP violation on the collector's pages on the way.
 */
import { freePort } from "@codex-fleet/codex-fakes/app-server";
import type { BrowserContext, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { watchPage } from "./support/browser.ts";
import { CHROMIUM, dashboardSuite } from "./support/dashboard-suite.ts";
import { CLIENT_SECRET, startOidcProvider, type TestProvider } from "./support/oidc-provider.ts";

let idp: TestProvider;

const suite = dashboardSuite(async () => {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  idp = await startOidcProvider({
    redirectUri: `${publicUrl}/api/v1/auth/oidc/callback`,
    postLogoutRedirectUri: publicUrl,
    accounts: {
      alice: { name: "Alice Admin", email: "alice@example.com", groups: ["staff", "fleet-admins"] },
      carol: { name: "Carol Viewer", email: "carol@example.com", groups: ["fleet-viewers"] },
      bob: { name: "Bob Contractor", email: "bob@example.com", groups: ["contractors"] },
    },
  });
  return {
    stop: () => idp.stop(),
    app: {
      env: { OIDC_SECRET: CLIENT_SECRET },
      yaml: [
        `server: { host: 127.0.0.1, port: ${port}, publicUrl: '${publicUrl}' }`,
        "auth:",
        "  mode: 'on'",
        "  adminTokenEnv: ADMIN_TOKEN",
        "  viewerTokenEnv: VIEWER_TOKEN",
        "  oidc:",
        `    issuer: '${idp.issuer}'`,
        "    clientId: codex-fleet",
        "    clientSecretEnv: OIDC_SECRET",
        "    scopes: openid profile email groups",
        "    roleMap: { adminValues: [fleet-admins], viewerValues: [fleet-viewers] }",
        "    displayName: Test IdP",
        "    contact: the platform team (#platform-help)",
      ].join("\n"),
    },
  };
});

/**
 * Chromium logs every 4xx fetch as a console error: the signed-out dashboard's first /auth/me,
 * and the refusal page's own 403. The provider's development pages are not ours to judge.
 */
const allow = (text: string, url: string) =>
  (/status of 401/.test(text) && /\/api\/v1\/auth\/me$/.test(url)) ||
  (/status of 403/.test(text) && /\/api\/v1\/auth\/oidc\/callback/.test(url)) ||
  url.startsWith(idp.issuer) ||
  // The provider's development sign-in page loads a web font; this machine has no internet.
  url.startsWith("https://fonts.googleapis.com/");

/** From the dashboard's sign-in page through the provider's form as `login`. */
async function signInWithProvider(page: Page, login: string): Promise<void> {
  await page.goto(suite.fleet.baseUrl);
  await page.getByRole("link", { name: "Sign in with Test IdP" }).click();
  await page.waitForURL((url) => url.href.startsWith(idp.issuer));
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("any password");
  await page.getByRole("button", { name: "Sign-in" }).click();
}

async function sessionCookie(context: BrowserContext): Promise<string | undefined> {
  return (await context.cookies(suite.fleet.baseUrl)).find((c) => c.name === "fleet_session")?.value;
}

describe.skipIf(!CHROMIUM)("single sign-on in Chromium", () => {
  it("does sign in with the provider, show the name and the group's role, and sign out", async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    const watch = watchPage(page, allow);
    await signInWithProvider(page, "alice");

    await page.getByTestId("signed-in-as").waitFor({ timeout: 15_000 });
    expect(new URL(page.url()).origin).toBe(suite.fleet.baseUrl);
    expect(await page.getByTestId("signed-in-as").textContent()).toBe("Alice Admin · alice@example.com");
    expect(await page.getByTestId("sign-out").textContent()).toBe("Sign out (admin)");
    // The live feed opens with the new session.
    await page.locator('[data-testid="live-state"][data-state="open"]').waitFor({ timeout: 15_000 });
    const cookies = await context.cookies(suite.fleet.baseUrl);
    expect(cookies.find((c) => c.name === "fleet_session")).toMatchObject({
      httpOnly: true,
      sameSite: "Strict",
    });
    expect(cookies.find((c) => c.name === "fleet_oidc")).toBeUndefined();

    const session = await sessionCookie(context);
    expect(session).toBeDefined();
    const api = () =>
      fetch(`${suite.fleet.baseUrl}/api/v1/auth/me`, { headers: { cookie: `fleet_session=${session}` } });
    expect((await api()).status).toBe(200);

    await page.getByTestId("sign-out").click();
    await page.getByRole("form", { name: "Sign in to codex-fleet" }).waitFor();
    expect((await api()).status).toBe(401);
    expect(await sessionCookie(context)).toBeUndefined();
    expect(watch.errors).toEqual([]);
    await context.close();
  });

  it("does give a viewer group the viewer role", async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    const watch = watchPage(page, allow);
    await signInWithProvider(page, "carol");
    await page.getByTestId("signed-in-as").waitFor({ timeout: 15_000 });
    expect(await page.getByTestId("signed-in-as").textContent()).toBe("Carol Viewer · carol@example.com");
    expect(await page.getByTestId("sign-out").textContent()).toBe("Sign out (viewer)");
    expect(watch.errors).toEqual([]);
    await context.close();
  });

  it("does refuse a person without a mapped role with a clear page", async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    const watch = watchPage(page, allow);
    const refused = page.waitForResponse((res) => res.url().includes("/api/v1/auth/oidc/callback"));
    await signInWithProvider(page, "bob");
    expect((await refused).status()).toBe(403);
    await page.getByRole("heading", { name: "No access to codex-fleet" }).waitFor();
    const text = await page.locator("main").textContent();
    expect(text).toContain("Test IdP signed you in as Bob Contractor (bob@example.com)");
    expect(text).toContain("none of your `groups` values (contractors) is given a role");
    expect(text).toContain("ask the platform team (#platform-help)");
    expect(await sessionCookie(context)).toBeUndefined();
    // Back to the dashboard: still signed out.
    await page.getByRole("link", { name: "Back to codex-fleet" }).click();
    await page.getByRole("form", { name: "Sign in to codex-fleet" }).waitFor();
    expect(watch.errors).toEqual([]);
    await context.close();
  });
});
