/**
 * Which prices the Usage page's dollars come from (GET /api/v1/pricing, README "Prices"): the
 * catalogue version and its date, the overrides in force, a re-pricing of history in progress
 * (rows done of total, refetched while it runs), and the models whose tokens are unpriced, with
 * the config lines that would price them (README "Adding a price override"). Renders nothing
 * until the answer arrives, or when the collector does not have the endpoint.
 */
import { type PricingResponse, PricingResponseSchema } from "@codex-fleet/protocol/pricing";
import { useEffect } from "react";
import { formatDateTime, formatInteger, formatTokens } from "../../lib/format.ts";
import { useApiQuery } from "../../lib/useApiQuery.ts";

/** While history is being re-priced, its progress is refetched this often. */
const PROGRESS_REFRESH_MS = 5_000;
/** Where the README explains overrides (the section operators follow to price a model). */
export const OVERRIDE_DOCS = 'README, section "Prices" → "Adding a price override"';

/** Fetches the pricing view and renders {@link PricingSummary}. */
export function PricingNote() {
  const query = useApiQuery("/api/v1/pricing", PricingResponseSchema);
  const { reload } = query;
  const running = query.data?.repricing?.status === "running";
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(reload, PROGRESS_REFRESH_MS);
    return () => clearInterval(timer);
  }, [running, reload]);
  if (!query.data) return null;
  return <PricingSummary pricing={query.data} />;
}

/**
 * The YAML an operator adds to price `model`. The prices are placeholders the config refuses
 * (`<USD>` is not a number), so a line pasted unedited stops the collector with the key named
 * instead of pricing the model at $0.
 */
export function overrideSnippet(model: string, today: string): string {
  return `pricing:\n  overrides:\n    - { model: ${model}, effectiveFrom: ${today}, inputUsdPerMTok: <USD>, cachedInputUsdPerMTok: <USD>, outputUsdPerMTok: <USD> }`;
}

export function PricingSummary({
  pricing,
  nowMs = Date.now(),
}: {
  pricing: PricingResponse;
  nowMs?: number;
}) {
  const { catalogue, overrides, repricing, unpriced } = pricing;
  const firstDay = repricing?.changes.map((c) => c.fromDate).sort()[0];
  return (
    <section className="card" style={{ marginBottom: 14 }} aria-label="Prices" data-testid="pricing-note">
      <div className="card-head">
        <h2>Prices</h2>
        <span className="faint" data-testid="pricing-version">
          list prices from <span className="mono">{catalogue.version}</span> (
          {catalogue.source === "refresh" ? "refreshed" : "catalogue of"} {catalogue.date})
          {overrides.length > 0 &&
            ` · ${overrides.length} override${overrides.length === 1 ? "" : "s"} (${overrides.map((o) => `${o.model} from ${o.effectiveFrom}`).join(", ")})`}
        </span>
      </div>
      <div className="card-body">
        {repricing?.status === "running" && (
          <div className="banner warn" role="status" data-testid="pricing-repricing">
            Re-pricing history after a price change ({repricing.changes.map((c) => c.model).join(", ")} from{" "}
            {firstDay}): {formatInteger(repricing.rowsDone)} of {formatInteger(repricing.rowsTotal)} rows.
            Figures for that period are settling.
            <progress
              value={repricing.rowsDone}
              max={Math.max(1, repricing.rowsTotal)}
              style={{ marginLeft: 8 }}
            />
          </div>
        )}
        {repricing?.status === "done" && (
          <p className="muted" data-testid="pricing-repriced">
            History re-priced {repricing.finishedAt ? `on ${formatDateTime(repricing.finishedAt)}` : ""} after
            a price change ({repricing.changes.map((c) => `${c.model} from ${c.fromDate}`).join(", ")}):{" "}
            {formatInteger(repricing.rowsChanged)} rows changed.
          </p>
        )}
        {unpriced.length > 0 ? (
          <div data-testid="pricing-unpriced">
            <p>
              Unpriced (no catalogue price and no override; counted in tokens, never as $0):{" "}
              {unpriced.map((u, i) => (
                <span key={u.model}>
                  {i > 0 && ", "}
                  <span className="mono">{u.model}</span> ({formatTokens(u.unpricedTokens)} tokens)
                </span>
              ))}
              . To price them, add an override to the collector's config ({OVERRIDE_DOCS}) and restart; past
              usage is re-priced.
            </p>
            <pre className="mono" data-testid="pricing-snippet">
              {overrideSnippet(unpriced[0]?.model ?? "", new Date(nowMs).toISOString().slice(0, 10))}
            </pre>
          </div>
        ) : (
          <p className="muted">Every model seen has a price.</p>
        )}
      </div>
    </section>
  );
}
