import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../src/client.ts";
import { EMBEDDED_POOL_MAX, type EmbeddedPostgres, startEmbeddedPostgres } from "../src/embedded.ts";
import { migrate } from "../src/migrate.ts";
import { queryActivity } from "../src/queries/activity.ts";
import { foldActivity } from "../src/repositories/activity-fold.ts";

// One fresh cluster for the file: creating one (initdb in WASM) is the slow part, 2-5 s.
let root: string;
let dataDir: string;
let embedded: EmbeddedPostgres;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "fleet-embedded-test-"));
  dataDir = join(root, "pglite"); // missing: created on first start
  embedded = await startEmbeddedPostgres({ dataDir });
}, 30_000);

afterAll(async () => {
  await embedded?.stop();
  await rm(root, { recursive: true, force: true });
});

describe("startEmbeddedPostgres", () => {
  it("serves a loopback URL on an OS-picked port with a pool of one", () => {
    expect(embedded.url).toMatch(/^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    expect(embedded.url).not.toContain(":5432/");
    expect(embedded.poolMax).toBe(EMBEDDED_POOL_MAX);
    expect(EMBEDDED_POOL_MAX).toBe(1);
  });

  it("refuses a second connection while one is open", async () => {
    const a = new pg.Client({ connectionString: embedded.url });
    const b = new pg.Client({ connectionString: embedded.url });
    b.on("error", () => {});
    try {
      await a.connect();
      await expect(b.connect().then(() => b.query("SELECT 1"))).rejects.toThrow(/terminated/);
      expect((await a.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    } finally {
      await a.end();
      await b.end().catch(() => {});
    }
  });

  it("keeps migrated data across a stop and a start when the data dir is reused", async () => {
    expect((await migrate(embedded.url)).applied.length).toBeGreaterThan(0);
    const db = createDb({ url: embedded.url, poolMax: embedded.poolMax });
    await db.prisma.target.create({ data: { id: "alice", url: "ws://127.0.0.1:4500", team: "payments" } });
    await db.close();
    await embedded.stop();

    embedded = await startEmbeddedPostgres({ dataDir });

    expect((await migrate(embedded.url)).applied).toEqual([]);
    const again = createDb({ url: embedded.url, poolMax: embedded.poolMax });
    try {
      expect((await again.pool.query("SELECT id, team FROM target")).rows).toEqual([
        { id: "alice", team: "payments" },
      ]);
      expect((await again.prisma.target.findUnique({ where: { id: "alice" } }))?.url).toBe(
        "ws://127.0.0.1:4500",
      );
    } finally {
      await again.close();
    }
  }, 30_000);

  it("answers the activity reads and folds (their transactions and advisory lock work on PGlite)", async () => {
    const db = createDb({ url: embedded.url, poolMax: embedded.poolMax });
    try {
      // The server takes one socket at a time: the previous test's may not be released yet.
      for (let i = 0; ; i++) {
        const ok = await db.pool.query("SELECT 1").then(
          () => true,
          () => false,
        );
        if (ok) break;
        if (i === 50) throw new Error("the embedded database accepted no connection within 5 s");
        await new Promise((r) => setTimeout(r, 100));
      }
      const now = Date.UTC(2026, 11, 6, 12);
      for (const groupBy of [[], ["target"], ["day", "team"], ["hour"]] as const) {
        const out = await queryActivity({
          pool: db.pool,
          fromMs: now - 30 * 86_400_000,
          toMs: now,
          groupBy: [...groupBy],
          filters: {},
          nowMs: now,
        });
        expect(out.rows).toEqual([]);
        expect(out.totals.turnsStarted).toBe(0);
      }
      expect(await foldActivity(db.pool)).toBe(0);
    } finally {
      await db.close();
    }
  }, 30_000);
});
