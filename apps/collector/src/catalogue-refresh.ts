/**
 * The optional price-catalogue refresh (`pricing.catalogue.refresh`, off by default): at start and
 * every `intervalMs`, fetch the catalogue maintainers' current data with a timeout. A good copy
 * prices new usage from then on (rows record its version); a failure keeps what was in force and
 * is logged once, until a refresh succeeds again. History is never re-priced by a refresh: only
 * override changes do that (repricing.ts).
 */
import { type Catalogue, fetchCatalogue } from "@codex-fleet/pricing";
import type { Config } from "./config/schema.ts";
import type { Logger } from "./logger.ts";

export interface CatalogueRefreshOptions {
  refresh: Config["pricing"]["catalogue"]["refresh"];
  log: Pick<Logger, "info" | "warn" | "debug">;
  /** Called with each good copy. */
  onCatalogue(catalogue: Catalogue): void;
  now?: () => number;
  fetchFn?: typeof fetch;
}

export class CatalogueRefresh {
  private timer: NodeJS.Timeout | null = null;
  private failing = false;
  private stopped = false;
  /** The version of the last good refresh (null: the shipped snapshot is in force). */
  lastVersion: string | null = null;

  constructor(private readonly opts: CatalogueRefreshOptions) {}

  /** Nothing unless enabled; then a first refresh now (not awaited) and one every interval. */
  start(): void {
    if (!this.opts.refresh.enabled) return;
    void this.runOnce();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** One refresh; resolves true when a new copy is in force. Never rejects. */
  async runOnce(): Promise<boolean> {
    const { refresh, log } = this.opts;
    try {
      const catalogue = await fetchCatalogue({
        url: refresh.url,
        timeoutMs: refresh.timeoutMs,
        nowMs: this.opts.now ?? Date.now,
        ...(this.opts.fetchFn ? { fetchFn: this.opts.fetchFn } : {}),
      });
      this.opts.onCatalogue(catalogue);
      this.lastVersion = catalogue.version;
      log.info(
        { version: catalogue.version, models: catalogue.provider.models.length },
        "pricing: catalogue refreshed",
      );
      this.failing = false;
      return true;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      // Once per failure streak: an unreachable URL must not fill the log every interval.
      if (!this.failing)
        log.warn(
          { url: refresh.url, reason },
          "pricing: catalogue refresh failed; keeping the catalogue in force",
        );
      else log.debug({ url: refresh.url, reason }, "pricing: catalogue refresh failed again");
      this.failing = true;
      return false;
    } finally {
      if (!this.stopped && refresh.enabled) {
        this.timer = setTimeout(() => void this.runOnce(), refresh.intervalMs);
        this.timer.unref();
      }
    }
  }
}
