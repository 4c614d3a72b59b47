/**
 * GET /api/v1/pricing (viewer; README "Prices"): the catalogue and overrides (config and stored),
 * the latest re-pricing of history with its progress, and the models whose tokens are unpriced.
 * GET/POST /api/v1/pricing/overrides and DELETE /api/v1/pricing/overrides/:id (issue 17): the
 * overrides added in the dashboard (changes need an admin, auth/policy.ts).
 */
import type { DbPool } from "@codex-fleet/db/client";
import {
  listUnpricedModels,
  type RepricingJob,
  readLatestRepricing,
} from "@codex-fleet/db/repositories/repricing-repository";
import { PriceOverrideSchema } from "@codex-fleet/pricing";
import {
  type PriceOverrideChange,
  PriceOverrideChangeSchema,
  type PriceOverridesResponse,
  PriceOverridesResponseSchema,
  type PricingResponse,
  PricingResponseSchema,
  type RepricingView,
} from "@codex-fleet/protocol/pricing";
import type { FastifyInstance } from "fastify";
import { parseBody } from "../http/body.ts";
import { badParam } from "../http/errors.ts";
import { describeRoute, pathParams } from "../http/openapi.ts";
import { noQuery } from "../http/params.ts";
import type { OverrideChange, PriceOverrides } from "../price-overrides.ts";

export interface PricingRoutesOptions {
  pool: DbPool;
  overrides: PriceOverrides;
  /** The catalogue in force now (a refresh may replace it while running). */
  catalogue(): { version: string; date: string; source: "snapshot" | "refresh" };
  refreshEnabled: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function registerPricingRoutes(app: FastifyInstance, opts: PricingRoutesOptions): void {
  const schema = describeRoute({
    tags: ["pricing"],
    summary: "The price catalogue, overrides, the latest re-pricing and unpriced models",
    query: noQuery,
    response: { 200: PricingResponseSchema },
  });
  app.get("/api/v1/pricing", schema, async (): Promise<PricingResponse> => {
    const [job, unpriced] = await Promise.all([
      readLatestRepricing(opts.pool),
      listUnpricedModels(opts.pool),
    ]);
    return {
      catalogue: { ...opts.catalogue(), refreshEnabled: opts.refreshEnabled },
      overrides: opts.overrides.views(),
      repricing: job && repricingView(job),
      unpriced: unpriced.map((u) => ({
        model: u.model,
        unpricedTokens: u.unpricedTokens,
        lastSeenAt: iso(u.lastSeenAtMs),
      })),
    };
  });
}

function repricingView(job: RepricingJob): RepricingView {
  return {
    status: job.status,
    changes: job.changes,
    rowsTotal: job.rowsTotal,
    rowsDone: job.rowsDone,
    rowsChanged: job.rowsChanged,
    startedAt: iso(job.createdAtMs),
    finishedAt: job.finishedAtMs === null ? null : iso(job.finishedAtMs),
  };
}

const changeView = (c: OverrideChange): PriceOverrideChange => ({
  override: c.view,
  repricing: c.job && repricingView(c.job),
});

/** Register the routes of the overrides added in the dashboard. */
export function registerPriceOverrideRoutes(app: FastifyInstance, overrides: PriceOverrides): void {
  const listSchema = describeRoute({
    tags: ["pricing"],
    summary: "The price overrides added in the dashboard",
    query: noQuery,
    response: { 200: PriceOverridesResponseSchema },
  });
  app.get("/api/v1/pricing/overrides", listSchema, async (): Promise<PriceOverridesResponse> => {
    return { overrides: overrides.views() };
  });

  const createSchema = describeRoute({
    tags: ["pricing"],
    summary: "Add a price override (admin); history from its date is re-priced",
    query: noQuery,
    body: PriceOverrideSchema,
    response: { 201: PriceOverrideChangeSchema },
  });
  app.post("/api/v1/pricing/overrides", createSchema, async (req, reply) => {
    const override = parseBody(PriceOverrideSchema, req.body);
    const who = req.fleetAuth?.principal;
    const by = who && who.kind !== "none" ? (who.email ?? who.name) : null;
    const change = await overrides.add(override, by);
    await req.audit({
      action: "price.override.create",
      subject: `${override.model} from ${override.effectiveFrom}`,
      detail: { id: change.view.id, override },
    });
    return reply.status(201).send(changeView(change));
  });

  const deleteSchema = describeRoute({
    tags: ["pricing"],
    summary: "Remove a price override (admin); history from its date is re-priced",
    params: pathParams({ id: "The override's id (a positive integer)" }),
    query: noQuery,
    response: { 200: PriceOverrideChangeSchema },
  });
  app.delete("/api/v1/pricing/overrides/:id", deleteSchema, async (req) => {
    const { id: raw } = req.params as { id: string };
    const id = /^[1-9]\d{0,9}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(id) || id > 2_147_483_647) throw badParam("id", "must be a positive integer");
    const change = await overrides.remove(id);
    await req.audit({
      action: "price.override.delete",
      subject: `${change.view.model} from ${change.view.effectiveFrom}`,
      detail: { id, override: change.view },
    });
    return changeView(change);
  });
}
