/**
 * Real Chromium for the dashboard's browser test: Debian's `/usr/bin/chromium` (or CHROMIUM_PATH)
 * driven by playwright-core (never `npx playwright install`: no downloads here, stack-notes.md),
 * the built dashboard (rebuilt when older than its sources), a per-page watch for console errors
 * and navigations, and the screenshot policy (write only when asked or missing).
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
/** The monorepo root. */
export const REPO_ROOT = resolve(here, "../../../..");
/** Where `vite build` writes the dashboard. */
export const DASHBOARD_DIST = join(REPO_ROOT, "apps/dashboard/dist");
/** Where the README's screenshots live. */
export const SCREENSHOT_DIR = join(REPO_ROOT, "docs/screenshots");

/** The Chromium binary the test drives: CHROMIUM_PATH, else Debian's. */
export const CHROMIUM_CANDIDATE = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/** The Chromium binary to drive, or null when there is none (the test is then skipped, loudly). */
export function chromiumPath(): string | null {
  return existsSync(CHROMIUM_CANDIDATE) ? CHROMIUM_CANDIDATE : null;
}

/** Flags Chromium needs as root in a container (stack-notes.md "Browser"). */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Launch Chromium; playwright gives every launch a fresh temporary profile (user data dir). */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/** The built dashboard; the collector's vitest global setup (test/setup/build.ts) builds it. */
export async function ensureDashboardBuilt(): Promise<void> {
  if (!existsSync(join(DASHBOARD_DIST, "index.html")))
    throw new Error(`${DASHBOARD_DIST} has no index.html: run npm run build`);
}

/** Everything a page reported that a test must look at. */
export interface PageWatch {
  /** Console errors and uncaught exceptions, with where they came from. */
  errors: string[];
  /** Main-frame navigations (the first `goto` counts one). */
  navigations: number;
}

/**
 * Record console errors, uncaught page errors and main-frame navigations of `page`.
 * `allow` may excuse a console error (by its text and source URL) that the test expects.
 */
export function watchPage(
  page: Page,
  allow: (text: string, url: string) => boolean = () => false,
): PageWatch {
  const watch: PageWatch = { errors: [], navigations: 0 };
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const url = msg.location().url ?? "";
    if (!allow(msg.text(), url)) watch.errors.push(`console.error: ${msg.text()} (${url})`);
  });
  page.on("pageerror", (err) => watch.errors.push(`pageerror: ${err.stack ?? err.message}`));
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) watch.navigations++;
  });
  return watch;
}

/** Screenshots are written when UPDATE_SCREENSHOTS=1 or when missing, so CI never dirties the tree. */
export function screenshotTarget(name: string): string | null {
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  return process.env.UPDATE_SCREENSHOTS === "1" || !existsSync(path) ? path : null;
}

/** Full-page screenshot to docs/screenshots/<name>.png when {@link screenshotTarget} allows it. */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  const path = screenshotTarget(name);
  if (!path) return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path, fullPage: true, animations: "disabled", caret: "hide" });
}

/** Wait until recharts has finished animating: its shapes stop changing between two reads. */
export async function chartsSettled(page: Page): Promise<void> {
  let previous = "";
  for (let i = 0; i < 60; i++) {
    const shapes = (
      await page
        .locator(".recharts-surface path, .recharts-surface rect")
        .evaluateAll((els) =>
          els.map((el) => ["d", "width", "height"].map((a) => el.getAttribute(a)).join(":")),
        )
    ).join("|");
    if (shapes !== "" && shapes === previous) return;
    previous = shapes;
    await page.waitForTimeout(150);
  }
}
