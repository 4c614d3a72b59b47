/**
 * Re-pricing (issue 14) against a real Postgres: usage counted by the real ingest path with one
 * override set; a restart with an override changed for a past date re-prices exactly the affected
 * rows, once — also across a crash mid-way — the turn, hourly and daily rollups stay equal to the
 * sum of their rows, and a second run changes nothing.
 */

import { createDb, type Db } from "@codex-fleet/db/client";
import { writeIngestBatch } from "@codex-fleet/db/repositories/ingest-repository";
import type { PriceFn, UsageReportRow } from "@codex-fleet/db/repositories/ingest-types";
import { readLatestRepricing } from "@codex-fleet/db/repositories/repricing-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { createPricer, type PriceOverride } from "@codex-fleet/pricing";
import type { TokenCounts } from "@codex-fleet/protocol/events";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Repricing } from "../src/repricing.ts";

const log = pino({ level: "silent" });
const at = (iso: string) => Date.parse(iso);

const V1: PriceOverride[] = [];
const V2: PriceOverride[] = [
  // A cheaper gpt-5.5 from a past date, and a price for a model the catalogue does not know.
  {
    model: "gpt-5.5",
    effectiveFrom: "2026-10-01",
    inputUsdPerMTok: 4,
    cachedInputUsdPerMTok: 0.4,
    outputUsdPerMTok: 24,
  },
  {
    model: "acme-coder",
    effectiveFrom: "2026-01-01",
    inputUsdPerMTok: 1,
    cachedInputUsdPerMTok: 0.1,
    outputUsdPerMTok: 2,
  },
];

const priceWith = (overrides: PriceOverride[]): PriceFn => {
  const pricer = createPricer(overrides);
  return (model, atMs, tokens, request) => pricer.price(model, atMs, tokens, request);
};

const counts = (n: number): TokenCounts => ({
  inputTokens: 1000 * n,
  cachedInputTokens: 200 * n,
  cacheWriteInputTokens: 0,
  outputTokens: 100 * n,
  reasoningOutputTokens: 10 * n,
  totalTokens: 1100 * n,
});

/** Responses of one thread each: [thread, model, time, turn]. */
const RESPONSES: [string, string, string, string][] = [
  ["th-55", "gpt-5.5", "2026-09-15T10:00:00Z", "u1"], // before the override: untouched
  ["th-55", "gpt-5.5", "2026-10-15T10:00:00Z", "u2"],
  ["th-55", "gpt-5.5", "2026-10-15T10:20:00Z", "u2"], // same turn and hour as the previous one
  ["th-55", "gpt-5.5-2026-04-23", "2026-11-15T10:00:00Z", "u3"], // a snapshot name of it
  ["th-54", "gpt-5.4", "2026-10-20T10:00:00Z", "v1"], // another model: untouched
  ["th-ac", "acme-coder", "2026-10-10T10:00:00Z", "w1"], // unpriced until V2
];

async function seed(db: Db): Promise<void> {
  await db.pool.query("INSERT INTO target (id, team, url) VALUES ('dev-1', 'core', 'ws://127.0.0.1:1')");
  const step = new Map<string, number>();
  for (const [thread, model, iso, turn] of RESPONSES) {
    const n = (step.get(thread) ?? 0) + 1;
    step.set(thread, n);
    const report: UsageReportRow = {
      threadId: thread,
      turnId: `${thread}/${turn}`,
      targetId: "dev-1",
      model,
      repo: "github.com/acme/api",
      atMs: at(iso),
      total: counts(n),
      last: counts(1),
    };
    await writeIngestBatch({ pool: db.pool, threads: [], turns: [], usage: [report], price: priceWith(V1) });
  }
}

interface LedgerRow {
  id: number;
  model: string;
  atMs: number;
  cost: number;
  unpriced: number;
  version: string;
}
async function ledger(db: Db): Promise<LedgerRow[]> {
  const { rows } = await db.pool.query(
    `SELECT id::int, model, (extract(epoch from at) * 1000)::float8 AS "atMs", cost_usd::float8 AS cost,
            unpriced_tokens::float8 AS unpriced, price_version AS version FROM usage_event ORDER BY id`,
  );
  return rows as LedgerRow[];
}

/** Every stored cost next to the sum of the rows it is made of (must be equal). */
async function rollupsVersusRows(db: Db) {
  const q = async (sql: string) => (await db.pool.query(sql)).rows;
  return {
    hourly: await q(`
      SELECT h.hour, h.model, h.cost_usd::text AS stored, COALESCE(sum(e.cost_usd), 0)::numeric(20,10)::text AS rows,
             h.unpriced_tokens::text AS stored_unpriced, COALESCE(sum(e.unpriced_tokens), 0)::text AS rows_unpriced
      FROM usage_hourly h LEFT JOIN usage_event e ON date_trunc('hour', e.at) = h.hour AND e.target_id = h.target_id
        AND e.team = h.team AND e.model = h.model AND e.repo = h.repo
      GROUP BY 1, 2, 3, 5 ORDER BY 1, 2`),
    daily: await q(`
      SELECT d.day, d.model, d.cost_usd::text AS stored, COALESCE(sum(e.cost_usd), 0)::numeric(20,10)::text AS rows
      FROM usage_daily d LEFT JOIN usage_event e ON date_trunc('day', e.at) = d.day AND e.model = d.model
      GROUP BY 1, 2, 3 ORDER BY 1, 2`),
    turns: await q(`
      SELECT t.id, t.cost_usd::text AS stored, COALESCE(sum(e.cost_usd), 0)::numeric(20,10)::text AS rows
      FROM turn t LEFT JOIN usage_event e ON e.turn_id = t.id GROUP BY 1, 2 ORDER BY 1`),
  };
}

function expectRollupsEqualRows(r: Awaited<ReturnType<typeof rollupsVersusRows>>): void {
  expect(r.hourly.length).toBeGreaterThan(0);
  for (const row of r.hourly) {
    expect(row.stored).toBe(row.rows);
    expect(row.stored_unpriced).toBe(row.rows_unpriced);
  }
  for (const row of [...r.daily, ...r.turns]) expect(row.stored).toBe(row.rows);
}

describe.each(["server", "embedded"] as const)(
  "re-pricing history after an override change (%s Postgres)",
  (kind) => {
    let testDb: TestDatabase;
    let db: Db;
    const repricing = (db: Db, overrides: PriceOverride[], price: PriceFn = priceWith(overrides)) =>
      new Repricing({
        pool: db.pool,
        overrides,
        price,
        log,
        batchRows: 1,
        pauseMs: 0,
        now: () => at("2026-12-06T12:00:00Z"),
        // Embedded PGlite: the only instance, one connection (as the collector passes it).
        alone: kind === "embedded",
      });
    beforeAll(async () => {
      testDb =
        kind === "server"
          ? await createTestDatabase({ fallbackToEmbedded: false })
          : await createTestDatabase({
              serverUrl: "postgresql://postgres@127.0.0.1:1/none",
              fallbackToEmbedded: true,
            });
      db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
      await seed(db);
    }, 60_000);
    afterAll(async () => {
      await db?.close();
      await testDb?.drop();
    });

    it("does record the first override set without re-pricing anything", async () => {
      expect(await repricing(db, V1).schedule()).toBeNull();
      expect(await repricing(db, V1).schedule()).toBeNull();
      expect(await readLatestRepricing(db.pool)).toBeNull();
    });

    it("does re-price every affected row exactly once, across a crash mid-way, with rollups equal to their rows", async () => {
      const before = await ledger(db);
      expect(before.find((r) => r.model === "acme-coder")).toMatchObject({
        cost: 0,
        unpriced: 1100,
        version: "unpriced",
      });

      // Restart with V2: a job for the two changed models from their dates.
      const job = await repricing(db, V2).schedule();
      expect(job).toMatchObject({
        status: "running",
        changes: [
          { model: "acme-coder", fromDate: "2026-01-01" },
          { model: "gpt-5.5", fromDate: "2026-10-01" },
        ],
        rowsTotal: 4,
        rowsDone: 0,
      });

      // The first run dies in its second batch (the pricer throws): that batch rolls back whole.
      let calls = 0;
      const good = priceWith(V2);
      const dying: PriceFn = (...args) => {
        if (++calls === 2) throw new Error("simulated crash");
        return good(...args);
      };
      await expect(repricing(db, V2, dying).runOnce()).rejects.toThrow("simulated crash");
      expect(await readLatestRepricing(db.pool)).toMatchObject({
        status: "running",
        rowsDone: 1,
        rowsChanged: 1,
      });
      expectRollupsEqualRows(await rollupsVersusRows(db));

      // The next start resumes from the cursor and finishes.
      expect(await repricing(db, V2).schedule()).toBeNull(); // same set: nothing new to schedule
      await repricing(db, V2).runOnce();
      expect(await readLatestRepricing(db.pool)).toMatchObject({
        status: "done",
        rowsTotal: 4,
        rowsDone: 4,
        rowsChanged: 4,
      });

      const after = await ledger(db);
      const pricer = createPricer(V2);
      for (const [i, row] of after.entries()) {
        const was = before[i];
        const affected =
          (row.model.startsWith("gpt-5.5") && row.atMs >= at("2026-10-01T00:00:00Z")) ||
          row.model === "acme-coder";
        if (!affected) {
          expect(row).toEqual(was);
          continue;
        }
        const expected = pricer.price(row.model, row.atMs, counts(1));
        expect(row.version).toBe(expected.priceVersion);
        expect(row.cost).toBeCloseTo(expected.costUsd ?? Number.NaN, 10);
        expect(row.unpriced).toBe(0);
        expect(row.cost).not.toBe(was?.cost);
      }
      expect(after.filter((r) => r.version.startsWith("override:")).map((r) => r.version)).toEqual([
        "override:2026-10-01:gpt-5.5",
        "override:2026-10-01:gpt-5.5",
        "override:2026-10-01:gpt-5.5", // the snapshot name takes the base name's override
        "override:2026-01-01:acme-coder",
      ]);
      expectRollupsEqualRows(await rollupsVersusRows(db));
    });

    it("does change nothing when the same change is applied a second time", async () => {
      const before = await ledger(db);
      const rollups = await rollupsVersusRows(db);
      // As if the applied set had not been recorded: the same change is scheduled again.
      await db.pool.query("UPDATE pricing_state SET fingerprint = 'old', overrides = '[]'::jsonb");
      const job = await repricing(db, V2).schedule();
      expect(job?.rowsTotal).toBe(4);
      await repricing(db, V2).runOnce();
      expect(await readLatestRepricing(db.pool)).toMatchObject({
        status: "done",
        rowsDone: 4,
        rowsChanged: 0,
      });
      expect(await ledger(db)).toEqual(before);
      expect(await rollupsVersusRows(db)).toEqual(rollups);
    });

    it("does re-price back to the catalogue when an override is removed", async () => {
      await repricing(db, V1).schedule();
      await repricing(db, V1).runOnce();
      const rows = await ledger(db);
      expect(rows.find((r) => r.model === "acme-coder")).toMatchObject({
        cost: 0,
        unpriced: 1100,
        version: "unpriced",
      });
      expect(rows.filter((r) => r.version.startsWith("override:"))).toEqual([]);
      expectRollupsEqualRows(await rollupsVersusRows(db));
    });
  },
);
