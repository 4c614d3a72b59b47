/**
 * Edits of the config file in the audit log (issue 17: rule changes have no API, they are made in
 * the file): through the product's composition root on a real Postgres, each start records the
 * sections that changed since the last start — once, by id — and nothing when nothing changed.
 */
import { listAuditEvents } from "@codex-fleet/db/repositories/audit-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canonicalJson, describeChange } from "../src/audit/config-changes.ts";
import { startAuthApp } from "./support/auth-app.ts";
import { removeScratchDirs } from "./support/config-files.ts";

const yaml = (rules: string[]) =>
  ["server: { host: 127.0.0.1, port: 0 }", "alerts:", "  rules:", ...rules.map((r) => `    - ${r}`)].join(
    "\n",
  );

const R1 = "{ id: stuck, kind: waitingOnApproval, forMs: 300000 }";
const R1_LONGER = "{ id: stuck, kind: waitingOnApproval, forMs: 600000 }";
const R2 = "{ id: down, kind: targetUnreachable, forMs: 0 }";
const R3 = "{ id: failing, kind: turnFailed, scope: thread, windowMs: 600000 }";

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
}, 60_000);

afterAll(async () => {
  await testDb?.drop();
  await removeScratchDirs();
});

/** Start the collector with `rules` on the test database, then stop it; the config.change rows. */
async function startWith(rules: string[]) {
  const app = await startAuthApp({ db: testDb, yaml: yaml(rules) });
  try {
    return await listAuditEvents({ pool: app.db.pool, actions: ["config.change"], limit: 100 });
  } finally {
    await app.stop();
  }
}

describe("config file changes in the audit log", () => {
  it("records each section once, then only what an edit changed, by id", async () => {
    const first = await startWith([R1, R2]);
    expect(first.map((r) => r.subject).sort()).toEqual([
      "alerts.inhibit",
      "alerts.route",
      "alerts.rules",
      "budgets",
      "pricing.overrides",
    ]);
    for (const r of first) {
      expect(r.principalName).toBe("config file");
      expect(r.detail).toMatchObject({ first: true });
    }
    // The same file again: nothing new.
    expect(await startWith([R1, R2])).toHaveLength(first.length);

    // One rule changed, one removed, one added: one row, for the rules.
    const after = await startWith([R1_LONGER, R3]);
    expect(after).toHaveLength(first.length + 1);
    const edit = after[0];
    expect(edit?.subject).toBe("alerts.rules");
    expect(edit?.detail).toMatchObject({ added: ["failing"], removed: ["down"], changed: ["stuck"] });
    expect(((edit?.detail.value ?? []) as { id: string }[]).map((r) => r.id)).toEqual(["stuck", "failing"]);
  }, 120_000);
});

describe("describeChange", () => {
  it("names entries by id, and a whole-object section as changed", () => {
    const id = (e: unknown) => (e as { id: string }).id;
    expect(describeChange(null, [], id)).toEqual({ first: true });
    expect(describeChange([{ id: "a", x: 1 }], [{ x: 1, id: "a" }], id)).toEqual({
      added: [],
      removed: [],
      changed: [],
    });
    expect(describeChange({ receiver: "a" }, { receiver: "b" }, null)).toEqual({ changed: true });
  });

  it("prints equal values equally whatever their key order", () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 4, e: 5 }] } })).toBe(
      canonicalJson({ a: { c: [3, { e: 5, f: 4 }], d: 2 }, b: 1 }),
    );
  });
});
