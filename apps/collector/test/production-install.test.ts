/**
 * The production image's runtime stage, without docker: scripts/check-production-install.mjs lays
 * out exactly what the Dockerfile's runtime stage copies, installs production dependencies only,
 * and starts the compiled collector with NODE_ENV=production — on an embedded database and on a
 * real Postgres — until /readyz answers and the dashboard is served.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { afterAll, beforeAll, expect, it } from "vitest";

const script = fileURLToPath(new URL("../../../scripts/check-production-install.mjs", import.meta.url));
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterAll(async () => {
  await db?.drop();
});

it("starts from production dependencies and compiled JavaScript only, and serves /readyz", () => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (db.kind === "server") env.DATABASE_URL = db.url;
  else delete env.DATABASE_URL;
  const r = spawnSync(process.execPath, [script, "--no-build"], { encoding: "utf8", env });
  const out = `${r.stdout}${r.stderr}`;
  expect(r.status, out).toBe(0);
  expect(out).toMatch(/embedded database: \/readyz 200/);
  if (db.kind === "server") expect(out).toMatch(/DATABASE_URL: \/readyz 200/);
  console.log(
    out
      .split("\n")
      .filter((l) => l.startsWith("check-production-install"))
      .join("\n"),
  );
}, 240_000);
