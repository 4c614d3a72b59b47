/**
 * The API reference page (/api/docs) in real Chromium: it loads the OpenAPI document with the
 * viewer's credentials, renders every operation, filters by path, and runs under the collector's
 * Content-Security-Policy without a single violation or other console error.
 */
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthApp, startAuthApp, VIEWER_TOKEN } from "./support/auth-app.ts";
import { chromiumPath, launchChromium, watchPage } from "./support/browser.ts";
import { removeScratchDirs } from "./support/config-files.ts";

const CHROMIUM = chromiumPath();
let testDb: TestDatabase;
let fleet: AuthApp;
let browser: Browser;

beforeAll(async () => {
  if (!CHROMIUM) return;
  testDb = await createTestDatabase();
  fleet = await startAuthApp({ db: testDb, listen: true });
  browser = await launchChromium(CHROMIUM);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await fleet?.stop();
  await testDb?.drop();
  await removeScratchDirs();
});

describe.skipIf(!CHROMIUM)("the API reference page, in Chromium", () => {
  it("does render every operation of the document and filter them, without a CSP violation", async () => {
    const doc = await fleet.app.inject({
      url: "/api/v1/openapi.json",
      headers: { authorization: `Bearer ${VIEWER_TOKEN}` },
    });
    const paths = doc.json().paths as Record<string, Record<string, unknown>>;
    const operations = Object.values(paths).reduce((n, ops) => n + Object.keys(ops).length, 0);

    const context = await browser.newContext({
      extraHTTPHeaders: { authorization: `Bearer ${VIEWER_TOKEN}` },
    });
    const page = await context.newPage();
    const watch = watchPage(page);
    await page.goto(`${fleet.baseUrl}/api/docs`);
    await page.locator("details.op").first().waitFor();
    expect(await page.locator("details.op").count()).toBe(operations);

    const usage = page.locator('details.op[data-path="/api/v1/usage"]');
    await usage.locator("summary").click();
    await expect.poll(() => usage.locator("td").first().textContent()).toBe("from");
    expect(await usage.locator("h4").allTextContents()).toContain("Parameters");

    await page.getByLabel("Filter operations").fill("limits");
    await expect.poll(() => page.locator("details.op:visible").count()).toBe(2);
    expect(watch.errors).toEqual([]);
    await context.close();
  });

  it("does refuse the page to a visitor without credentials (401)", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    // The page itself needs a viewer too: the collector answers 401 JSON.
    const res = await page.goto(`${fleet.baseUrl}/api/docs`);
    expect(res?.status()).toBe(401);
    await context.close();
  });
});
