#!/usr/bin/env node
/**
 * Generates the Prisma client into packages/db/src/generated/prisma (the root `postinstall`).
 *
 * Offline by construction: whenever the Prisma 6.19.3 CLI cannot read the schema's generator block
 * (DATABASE_URL unset, or a schema error) it falls back to the native "library" engine and tries to
 * download it from binaries.prisma.sh, hiding the real error. So a placeholder DATABASE_URL is set
 * (generate never connects), PRISMA_QUERY_ENGINE_LIBRARY points at an existing file so that no
 * download is attempted (never loaded: the generator uses engineType = "client"), and checkpoint
 * telemetry is off. Exits non-zero with a readable message when it fails.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(root, "package.json"));

function fail(message, output = "") {
  if (output.trim()) process.stderr.write(`${output.trim()}\n`);
  process.stderr.write(`\nprisma-generate: ${message}\n`);
  process.exit(1);
}

let cli;
try {
  cli = join(dirname(require.resolve("prisma/package.json")), "build", "index.js");
} catch {
  fail(
    "the prisma CLI is not installed, so the database client cannot be generated. " +
      "Install dev dependencies too (`npm ci`, not `npm ci --omit=dev`).",
  );
}

const started = performance.now();
const result = spawnSync(process.execPath, [cli, "generate", "--no-hints"], {
  cwd: root,
  encoding: "utf8",
  env: {
    // Defaults the caller's environment may override. Any valid URL: generate never connects.
    DATABASE_URL: "postgresql://placeholder@127.0.0.1:5432/placeholder",
    PRISMA_QUERY_ENGINE_LIBRARY: fileURLToPath(import.meta.url),
    ...process.env,
    CHECKPOINT_DISABLE: "1",
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
  },
});
const output = `${result.stdout ?? ""}${result.stderr ?? ""}`;

if (result.error) fail(`could not run the prisma CLI: ${result.error.message}`, output);
if (result.status !== 0) {
  fail(
    `\`prisma generate\` failed (exit code ${result.status ?? result.signal}). ` +
      "Check prisma/schema.prisma and prisma.config.ts; the output above says what went wrong.",
    output,
  );
}
const ms = Math.round(performance.now() - started);
process.stdout.write(`prisma-generate: client generated into packages/db/src/generated/prisma (${ms} ms)\n`);
