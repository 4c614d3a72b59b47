#!/usr/bin/env node
// `npm test`: installs what the tests need (Chromium for the browser test), then lint, typecheck
// and every vitest project in one run, ending with a plain "N passed, N failed" line.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const quick = args.includes("--quick");

function run(title, cmd, cmdArgs, opts = {}) {
  process.stdout.write(`\n▶ ${title}\n`);
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: "inherit", ...opts });
  return r.status ?? 1;
}

function ensureChromium() {
  if (existsSync("/usr/bin/chromium") || process.env.CHROMIUM_PATH) return;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot || !existsSync("/usr/bin/apt-get")) {
    console.warn("! Chromium not found and cannot be installed here: the browser test will be skipped.");
    return;
  }
  console.log("Installing Debian's chromium for the browser test (one time, ~30 s)…");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (
    run("apt-get update", "apt-get", ["update", "-qq"], { env }) !== 0 ||
    run("apt-get install chromium", "apt-get", ["install", "-y", "-qq", "chromium"], { env }) !== 0
  ) {
    console.warn("! Could not install chromium: the browser test will be skipped.");
  }
}

if (!existsSync(join(root, "node_modules/.bin/vitest"))) {
  if (run("npm ci (dependencies missing)", "npm", ["ci", "--no-audit", "--no-fund"]) !== 0) process.exit(1);
}
if (!quick) ensureChromium();

let failed = 0;
if (!quick) {
  failed += run("lint (biome)", "npx", ["biome", "check", "."]) === 0 ? 0 : 1;
  failed +=
    run("typecheck (tsc, every workspace)", "npx", [
      "turbo",
      "run",
      "typecheck",
      "--output-logs=errors-only",
    ]) === 0
      ? 0
      : 1;
}
const out = join(mkdtempSync(join(tmpdir(), "fleet-test-")), "vitest.json");
const vitestStatus = run("tests (vitest, every workspace)", "npx", [
  "vitest",
  "run",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${out}`,
  ...args.filter((a) => a !== "--quick"),
]);
let passed = 0;
let failedTests = 0;
let skipped = 0;
try {
  const report = JSON.parse(readFileSync(out, "utf8"));
  passed = report.numPassedTests;
  failedTests = report.numFailedTests;
  skipped = report.numPendingTests + (report.numTodoTests ?? 0);
} catch {
  failedTests = Math.max(1, failedTests);
}
if (vitestStatus !== 0 && failedTests === 0) failedTests = 1;
if (failed > 0) console.log(`\n${failed} check(s) failed (lint/typecheck): see above.`);
console.log(`\n${passed} passed, ${failedTests} failed, ${skipped} skipped`);
process.exit(failed > 0 || failedTests > 0 || vitestStatus !== 0 ? 1 : 0);
