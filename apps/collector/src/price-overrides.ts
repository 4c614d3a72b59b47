/**
 * Price overrides from two places (issue 17): the config file (`pricing.overrides`, read-only
 * here) and the dashboard (stored in `price_override`). A config override wins over a stored one
 * of the same model and date: the stored one is kept but shown as shadowed and not applied.
 * After a change the collector prices new usage with the new set, then re-prices the affected
 * history through the re-pricing job (repricing.ts). Changes run one at a time.
 */
import type { DbPool } from "@codex-fleet/db/client";
import {
  deletePriceOverride,
  insertPriceOverride,
  listPriceOverrides,
  type PriceOverrideRow,
} from "@codex-fleet/db/repositories/price-overrides-repository";
import type { RepricingJob } from "@codex-fleet/db/repositories/repricing-repository";
import { normalizeModel, type PriceOverride, PriceOverrideSchema } from "@codex-fleet/pricing";
import type { PriceOverrideView } from "@codex-fleet/protocol/pricing";
import { ApiError, notFound } from "./http/errors.ts";
import type { Logger } from "./logger.ts";

/** A change's answer: the override and the re-pricing it started (null: none). */
export interface OverrideChange {
  view: PriceOverrideView;
  job: RepricingJob | null;
}

interface Stored {
  row: PriceOverrideRow;
  override: PriceOverride;
}

export interface PriceOverridesOptions {
  pool: DbPool;
  /** `pricing.overrides` from the config file. */
  configured: readonly PriceOverride[];
  log: Pick<Logger, "info" | "warn">;
  /**
   * The set in force changed (here or, through `reload`, on another collector): price with it
   * and schedule the re-pricing of history for it (a no-op when it is the set applied).
   */
  apply(effective: readonly PriceOverride[]): Promise<RepricingJob | null>;
}

const key = (o: { model: string; effectiveFrom: string }) =>
  `${normalizeModel(o.model)}\u0000${o.effectiveFrom}`;

/** The overrides of one collector: the config's and the stored ones. */
export class PriceOverrides {
  private stored: Stored[] = [];
  private readonly configKeys: Set<string>;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: PriceOverridesOptions) {
    this.configKeys = new Set(opts.configured.map(key));
  }

  /** Read the stored overrides (at start, before anything is priced). */
  async load(): Promise<void> {
    const rows = await listPriceOverrides({ pool: this.opts.pool });
    const stored: Stored[] = [];
    for (const row of rows) {
      const parsed = PriceOverrideSchema.safeParse(row.definition);
      if (!parsed.success) {
        this.opts.log.warn(
          { id: row.id, model: row.model },
          "pricing: a stored price override no longer parses; it is not applied",
        );
        continue;
      }
      stored.push({ row, override: parsed.data });
    }
    this.stored = stored;
  }

  /** The set in force: stored overrides a config one does not shadow, then the config's. */
  effective(): PriceOverride[] {
    return [
      ...this.stored.filter((s) => !this.configKeys.has(key(s.override))).map((s) => s.override),
      ...this.opts.configured,
    ];
  }

  /** Every override as the API shows it: the config's first, then the stored ones. */
  views(): PriceOverrideView[] {
    return [
      ...this.opts.configured.map((o) => ({
        ...overrideView(o),
        id: null,
        source: "config" as const,
        shadowed: false,
        createdBy: null,
        createdAt: null,
      })),
      ...this.stored.map((s) => storedView(s, this.configKeys.has(key(s.override)))),
    ];
  }

  /** Store one; 409 when the config file or a stored one has the same model and date. */
  add(override: PriceOverride, createdBy: string | null): Promise<OverrideChange> {
    return this.serial(async () => {
      if (this.configKeys.has(key(override)))
        throw new ApiError(
          409,
          "READ_ONLY",
          `the config file has a price override for ${override.model} from ${override.effectiveFrom}: change it there (config overrides win)`,
          "effectiveFrom",
        );
      if (this.stored.some((s) => key(s.override) === key(override))) throw conflict(override);
      const row = await insertPriceOverride({
        pool: this.opts.pool,
        model: override.model,
        effectiveFrom: override.effectiveFrom,
        definition: override,
        createdBy,
      });
      if (row === null) throw conflict(override);
      await this.load();
      this.opts.log.info(
        { model: override.model, effectiveFrom: override.effectiveFrom, by: createdBy },
        "pricing: price override added",
      );
      const job = await this.opts.apply(this.effective());
      this.changed();
      return { view: storedView({ row, override }, false), job };
    });
  }

  /** Remove a stored one (config ones are not stored: 404). */
  remove(id: number): Promise<OverrideChange> {
    return this.serial(async () => {
      const row = await deletePriceOverride({ pool: this.opts.pool, id });
      if (row === null) throw notFound(`price override ${id}`);
      const had = this.stored.find((s) => s.row.id === id);
      await this.load();
      this.opts.log.info(
        { id, model: row.model, effectiveFrom: row.effectiveFrom },
        "pricing: price override removed",
      );
      const job = await this.opts.apply(this.effective());
      this.changed();
      const override = had?.override ?? PriceOverrideSchema.parse(row.definition);
      return { view: storedView({ row, override }, this.configKeys.has(key(override))), job };
    });
  }

  /**
   * Another collector changed the stored overrides: read them again and price with them. It
   * schedules too: when two collectors change overrides at once, each may have scheduled a set
   * without the other's change; the last to reload schedules the full set (the same set as the
   * one applied is a no-op).
   */
  reload(): Promise<void> {
    return this.serial(async () => {
      await this.load();
      await this.opts.apply(this.effective());
    });
  }

  private readonly listeners = new Set<() => void>();

  /** Called after every change made through this instance (the replica tells the others). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }
}

/** An override as the API shows it (absent optional prices as null). */
function overrideView(o: PriceOverride) {
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

function conflict(o: PriceOverride): ApiError {
  return new ApiError(
    409,
    "CONFLICT",
    `a price override for ${o.model} from ${o.effectiveFrom} exists already: remove it first`,
    "effectiveFrom",
  );
}

function storedView(s: Stored, shadowed: boolean): PriceOverrideView {
  return {
    ...overrideView(s.override),
    id: s.row.id,
    source: "ui",
    shadowed,
    createdBy: s.row.createdBy,
    createdAt: new Date(s.row.createdAtMs).toISOString(),
  };
}
