/**
 * The shared set-up of the dashboard's browser tests with auth on: the built dashboard served by a
 * collector (startAuthApp, listening), and Chromium — started before the file's tests, stopped
 * after them together with whatever `before` started. Without Chromium nothing starts and the
 * file's suite skips (`describe.skipIf(!CHROMIUM)`).
 */
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { type AuthApp, type AuthAppOptions, startAuthApp } from "./auth-app.ts";
import { chromiumPath, DASHBOARD_DIST, ensureDashboardBuilt, launchChromium } from "./browser.ts";
import { removeScratchDirs } from "./config-files.ts";

export const CHROMIUM = chromiumPath();

/** What a file's tests use; read inside tests (set once `beforeAll` ran). */
export interface DashboardSuite {
  readonly fleet: AuthApp;
  readonly browser: Browser;
  readonly db: TestDatabase;
}

type AppOptions = Omit<AuthAppOptions, "db" | "listen" | "dashboardDir">;

/**
 * Register the set-up. `before` starts what the collector needs first (an identity provider, an
 * app-server) and returns the collector's options and a stop function for it.
 */
export function dashboardSuite(
  before: () => Promise<{ app?: AppOptions; stop?: () => Promise<void> }> = async () => ({}),
): DashboardSuite {
  const state: { fleet?: AuthApp; browser?: Browser; db?: TestDatabase; stop?: () => Promise<void> } = {};
  beforeAll(async () => {
    if (!CHROMIUM) return;
    await ensureDashboardBuilt();
    const started = await before();
    state.stop = started.stop;
    state.db = await createTestDatabase();
    state.fleet = await startAuthApp({
      ...started.app,
      db: state.db,
      listen: true,
      dashboardDir: DASHBOARD_DIST,
    });
    state.browser = await launchChromium(CHROMIUM);
  }, 180_000);
  afterAll(async () => {
    await state.browser?.close();
    await state.fleet?.stop();
    await state.stop?.();
    await state.db?.drop();
    await removeScratchDirs();
  });
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`dashboardSuite: ${what} is not started (Chromium missing?)`);
    return value;
  };
  return {
    get fleet() {
      return need(state.fleet, "the collector");
    },
    get browser() {
      return need(state.browser, "Chromium");
    },
    get db() {
      return need(state.db, "the database");
    },
  };
}
