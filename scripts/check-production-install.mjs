#!/usr/bin/env node
/**
 * Checks the production image's runtime stage without docker (none runs here): lays out the files
 * the Dockerfile's runtime stage copies (read from its `COPY --from=build` lines, so the check
 * follows the Dockerfile), installs production dependencies the way that stage does
 * (`npm ci --omit=dev --ignore-scripts`), starts `node apps/collector/dist/main.js` with
 * NODE_ENV=production on an embedded database (and on DATABASE_URL too when it is set), and waits
 * for /readyz and the dashboard. Prints the layout's size; exits non-zero with a reason on failure.
 *
 *   node scripts/check-production-install.mjs [--keep] [--no-build]
 *
 * Needs a build (`npm run build`); it runs turbo's build first (cached when nothing changed)
 * unless `--no-build` says the caller just did (the collector's tests).
 */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const keep = process.argv.includes("--keep");
const build = !process.argv.includes("--no-build");
/** Packages that must never reach the runtime stage. */
const FORBIDDEN = [
  "tsx",
  "typescript",
  "vitest",
  "@openai/codex",
  "playwright-core",
  "prisma",
  "vite",
  "turbo",
];

function fail(message) {
  process.stderr.write(`check-production-install: ${message}\n`);
  process.exit(1);
}

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { encoding: "utf8", ...opts });
  if (r.status !== 0) fail(`${cmd} ${args.join(" ")} failed:\n${r.stdout ?? ""}${r.stderr ?? ""}`);
  return r.stdout;
}

/** The runtime stage's `COPY --from=build SRC… DEST` lines, as [sources, dest]. */
function runtimeCopies() {
  const text = readFileSync(join(root, "Dockerfile"), "utf8");
  const stage = text.split(/^FROM .* AS runtime$/m)[1];
  if (!stage) fail("the Dockerfile has no `FROM … AS runtime` stage");
  const copies = [];
  for (const line of stage.split("\n")) {
    const m = /^COPY --from=build (.+)$/.exec(line.trim());
    if (!m) continue;
    const parts = m[1].split(/\s+/);
    const dest = parts.pop();
    copies.push([parts.map((p) => p.replace(/^\/src\//, "")), dest]);
  }
  if (copies.length === 0) fail("no COPY --from=build lines in the runtime stage");
  return copies;
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startAndProbe(dir, env, label) {
  const port = await freePort();
  const child = spawn(process.execPath, ["apps/collector/dist/main.js"], {
    cwd: dir,
    env: { PATH: process.env.PATH, NODE_ENV: "production", HOST: "127.0.0.1", PORT: String(port), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c) => (output += c));
  child.stderr.on("data", (c) => (output += c));
  const started = performance.now();
  const base = `http://127.0.0.1:${port}`;
  try {
    for (;;) {
      if (child.exitCode !== null)
        fail(`${label}: the collector exited (${child.exitCode}):\n${output.slice(-3000)}`);
      if (performance.now() - started > 60_000)
        fail(`${label}: no /readyz within 60 s:\n${output.slice(-3000)}`);
      const ok = await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const readyMs = Math.round(performance.now() - started);
    const page = await fetch(`${base}/`).then((r) => r.text());
    if (!page.includes('<div id="root">')) fail(`${label}: / does not serve the dashboard`);
    process.stdout.write(
      `check-production-install: ${label}: /readyz 200 after ${readyMs} ms, dashboard served\n`,
    );
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

const built = !build
  ? { status: 0 }
  : spawnSync(
      "npx",
      [
        "turbo",
        "run",
        "build",
        "--filter=@codex-fleet/collector...",
        "--filter=@codex-fleet/dashboard",
        "--output-logs=errors-only",
      ],
      { cwd: root, stdio: "inherit" },
    );
if (built.status !== 0) fail("npm run build failed");

const dir = mkdtempSync(join(tmpdir(), "codex-fleet-runtime-"));
try {
  for (const [sources, dest] of runtimeCopies()) {
    for (const src of sources) {
      const from = join(root, src);
      if (!existsSync(from)) fail(`the Dockerfile copies ${src}, which does not exist (built?)`);
      const to =
        dest.endsWith("/") || sources.length > 1
          ? join(dir, dest, statSync(from).isDirectory() ? "" : basename(src))
          : join(dir, dest);
      mkdirSync(dest.endsWith("/") ? join(dir, dest) : join(dir, dest, ".."), { recursive: true });
      cpSync(from, to, { recursive: true });
    }
  }
  const t0 = performance.now();
  run("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"], {
    cwd: dir,
    env: { ...process.env, NODE_ENV: "production" },
  });
  const installMs = Math.round(performance.now() - t0);
  const present = FORBIDDEN.filter((name) => existsSync(join(dir, "node_modules", name, "package.json")));
  if (present.length > 0) fail(`development packages in the production install: ${present.join(", ")}`);
  const size = run("du", ["-sh", "--apparent-size", dir]).split("\t")[0];
  const modules = run("du", ["-sh", "--apparent-size", join(dir, "node_modules")]).split("\t")[0];
  process.stdout.write(
    `check-production-install: runtime layout ${size} (node_modules ${modules}), npm ci --omit=dev ${installMs} ms, none of ${FORBIDDEN.join(", ")}\n`,
  );
  await startAndProbe(dir, {}, "embedded database");
  if (process.env.DATABASE_URL)
    await startAndProbe(dir, { DATABASE_URL: process.env.DATABASE_URL }, "DATABASE_URL");
} finally {
  if (keep) process.stdout.write(`kept ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
}
