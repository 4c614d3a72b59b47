/**
 * Vitest global setup: the fault drills and shutdown tests run the shipped entry point
 * (`dist/main.js`, src/launch.ts) and the browser tests the built dashboard, so build both — and
 * the workspaces they import — once before any test file starts. turbo answers from its cache
 * when nothing changed.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  const root = fileURLToPath(new URL("../../../..", import.meta.url));
  const started = performance.now();
  const r = spawnSync(
    "npx",
    [
      "turbo",
      "run",
      "build",
      "--filter=@codex-fleet/collector...",
      "--filter=@codex-fleet/dashboard",
      "--output-logs=errors-only",
    ],
    { cwd: root, encoding: "utf8" },
  );
  if (r.status !== 0)
    throw new Error(`building the collector failed (npm run build):\n${r.stdout ?? ""}${r.stderr ?? ""}`);
  console.log(`collector and dashboard built for the tests in ${Math.round(performance.now() - started)} ms`);
}
