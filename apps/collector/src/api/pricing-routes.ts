/**
 * GET /api/v1/pricing (viewer; README "Prices"): the catalogue and overrides in force, the latest
 * re-pricing of history with its progress, and the models whose tokens are unpriced.
 */
import type { DbPool } from "@codex-fleet/db/client";
import { listUnpricedModels, readLatestRepricing } from "@codex-fleet/db/repositories/repricing-repository";
import type { PriceOverride } from "@codex-fleet/pricing";
import type { PriceOverrideView, PricingResponse } from "@codex-fleet/protocol/pricing";
import type { FastifyInstance } from "fastify";
import { rejectUnknown } from "../http/params.ts";

export interface PricingRoutesOptions {
  pool: DbPool;
  overrides: readonly PriceOverride[];
  /** The catalogue in force now (a refresh may replace it while running). */
  catalogue(): { version: string; date: string; source: "snapshot" | "refresh" };
  refreshEnabled: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** An override as the API shows it (absent optional prices as null). */
export function overrideView(o: PriceOverride): PriceOverrideView {
  return {
    model: o.model,
    effectiveFrom: o.effectiveFrom,
    inputUsdPerMTok: o.inputUsdPerMTok,
    cachedInputUsdPerMTok: o.cachedInputUsdPerMTok,
    outputUsdPerMTok: o.outputUsdPerMTok,
    cacheWriteUsdPerMTok: o.cacheWriteUsdPerMTok ?? null,
    longContext: o.longContext
      ? { ...o.longContext, cacheWriteUsdPerMTok: o.longContext.cacheWriteUsdPerMTok ?? null }
      : null,
  };
}

export function registerPricingRoutes(app: FastifyInstance, opts: PricingRoutesOptions): void {
  app.get("/api/v1/pricing", async (req): Promise<PricingResponse> => {
    rejectUnknown(req.query as Record<string, unknown>, []);
    const [job, unpriced] = await Promise.all([
      readLatestRepricing(opts.pool),
      listUnpricedModels(opts.pool),
    ]);
    return {
      catalogue: { ...opts.catalogue(), refreshEnabled: opts.refreshEnabled },
      overrides: opts.overrides.map(overrideView),
      repricing: job && {
        status: job.status,
        changes: job.changes,
        rowsTotal: job.rowsTotal,
        rowsDone: job.rowsDone,
        rowsChanged: job.rowsChanged,
        startedAt: iso(job.createdAtMs),
        finishedAt: job.finishedAtMs === null ? null : iso(job.finishedAtMs),
      },
      unpriced: unpriced.map((u) => ({
        model: u.model,
        unpricedTokens: u.unpricedTokens,
        lastSeenAt: iso(u.lastSeenAtMs),
      })),
    };
  });
}
