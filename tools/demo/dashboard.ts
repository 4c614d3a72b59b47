/** Builds the dashboard when `apps/dashboard/dist` is missing, the same build `npm start` runs. */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

/** The built dashboard's directory (what the collector serves). */
export const DASHBOARD_DIST = resolve(ROOT, "apps/dashboard/dist");

/** Run `npm run build --workspace @codex-fleet/dashboard` unless dist/index.html exists. */
export async function ensureDashboardBuilt(log: (line: string) => void): Promise<void> {
  if (existsSync(resolve(DASHBOARD_DIST, "index.html"))) return;
  log("building the dashboard (apps/dashboard/dist is missing)…");
  const code = await new Promise<number | null>((done) => {
    const child = spawn("npm", ["run", "build", "--workspace", "@codex-fleet/dashboard"], {
      cwd: ROOT,
      stdio: ["ignore", "inherit", "inherit"],
    });
    child.on("exit", done);
    child.on("error", () => done(1));
  });
  if (code !== 0) throw new Error(`dashboard build failed (exit ${code})`);
}
