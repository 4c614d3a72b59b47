import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN } from "./support/auth-app.ts";
import { watchPage } from "./support/browser.ts";
import { CHROMIUM, dashboardSuite } from "./support/dashboard-suite.ts";

const suite = dashboardSuite();

/** Chromium logs every 4xx fetch as a console error; the sign-in flow expects exactly these. */
const expected401 = (text: string, url: string) =>
  /status of 401/.test(text) && /\/api\/v1\/auth\/(me|login)$/.test(url);

describe.skipIf(!CHROMIUM)("the dashboard with auth on, in Chromium", () => {
  it("does sign in, go live with the session cookie and sign out without a CSP violation", async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    const watch = watchPage(page, expected401);
    await page.goto(suite.fleet.baseUrl);

    const form = page.getByRole("form", { name: "Sign in to codex-fleet" });
    await form.waitFor();
    await page.getByLabel("Access token").fill("not-the-token-0123456789");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("That token was not accepted").waitFor();

    await page.getByLabel("Access token").fill(ADMIN_TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("sign-out").waitFor();
    expect(await page.getByTestId("sign-out").textContent()).toBe("Sign out (admin)");
    // The live feed opened: the browser sent the cookie and its own Origin on the upgrade.
    await page.locator('[data-testid="live-state"][data-state="open"]').waitFor({ timeout: 15_000 });

    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === "fleet_session")).toMatchObject({
      httpOnly: true,
      sameSite: "Strict",
    });
    expect(await page.evaluate("document.cookie")).not.toContain("fleet_session");

    // Still signed in after a reload; every view renders under the CSP.
    for (const path of ["/targets", "/usage", "/alerts", "/"]) {
      await page.goto(`${suite.fleet.baseUrl}${path}`);
      await page.getByTestId("sign-out").waitFor();
    }
    await page.getByTestId("sign-out").click();
    await form.waitFor();
    await page.reload();
    await form.waitFor();

    expect(watch.errors).toEqual([]);
    await context.close();
  });
});
