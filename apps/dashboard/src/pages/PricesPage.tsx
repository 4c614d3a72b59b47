/**
 * Prices (issue 17): the catalogue in force, the re-pricing of history (PricingSummary, with its
 * progress), and every price override — from the config file (read-only, they win) or added here
 * (stored in the collector's database). Admins add and remove overrides; each change re-prices
 * the affected history in the background.
 */
import { type PriceOverrideView, PricingResponseSchema } from "@codex-fleet/protocol/pricing";
import { useEffect, useState } from "react";
import { useIsAdmin } from "../auth/AuthGate.tsx";
import { ErrorState, LoadingState } from "../components/StateViews.tsx";
import { apiSend, errorMessage } from "../lib/api-client.ts";
import { useApiQuery } from "../lib/useApiQuery.ts";
import { PriceOverrideForm } from "./prices/PriceOverrideForm.tsx";
import { PricingSummary } from "./usage/PricingNote.tsx";

/** While history is being re-priced, the page is refetched this often. */
const PROGRESS_REFRESH_MS = 2_000;

export default function PricesPage() {
  const query = useApiQuery("/api/v1/pricing", PricingResponseSchema);
  const isAdmin = useIsAdmin();
  const { reload } = query;
  const running = query.data?.repricing?.status === "running";
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(reload, PROGRESS_REFRESH_MS);
    return () => clearInterval(timer);
  }, [running, reload]);

  if (!query.data) {
    if (query.error !== undefined)
      return <ErrorState title="Could not load prices" error={query.error} onRetry={reload} />;
    return <LoadingState label="Loading prices…" />;
  }
  return (
    <>
      <div className="page-head">
        <h1>Prices</h1>
      </div>
      <PricingSummary pricing={query.data} />
      <OverridesTable overrides={query.data.overrides} isAdmin={isAdmin} onChanged={reload} />
      {isAdmin && <PriceOverrideForm onAdded={reload} />}
    </>
  );
}

function OverridesTable({
  overrides,
  isAdmin,
  onChanged,
}: {
  overrides: PriceOverrideView[];
  isAdmin: boolean;
  onChanged: () => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const remove = async (id: number) => {
    setError(null);
    try {
      await apiSend(`/api/v1/pricing/overrides/${id}`, { method: "DELETE" });
      onChanged();
    } catch (e) {
      setError(errorMessage(e));
    }
  };
  return (
    <section className="card table-wrap" style={{ marginBottom: 14 }} aria-label="Price overrides">
      <div className="card-head">
        <h2>Overrides</h2>
        <span className="faint">USD per 1M tokens; an override wins over the catalogue from its date on</span>
      </div>
      {error && (
        <div className="form-note error" role="alert">
          {error}
        </div>
      )}
      {overrides.length === 0 ? (
        <p className="muted card-body">No overrides: every price comes from the catalogue.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Model</th>
              <th>From</th>
              <th className="num">Input</th>
              <th className="num">Cached input</th>
              <th className="num">Output</th>
              <th className="num">Cache write</th>
              <th>Source</th>
              {isAdmin && <th aria-label="Admin actions" />}
            </tr>
          </thead>
          <tbody>
            {overrides.map((o) => (
              <tr
                key={`${o.source}-${o.id ?? ""}-${o.model}-${o.effectiveFrom}`}
                data-testid={`override-${o.source}-${o.model}-${o.effectiveFrom}`}
                className={o.shadowed ? "row-warn" : ""}
              >
                <td className="mono">{o.model}</td>
                <td>{o.effectiveFrom}</td>
                <td className="num">{o.inputUsdPerMTok}</td>
                <td className="num">{o.cachedInputUsdPerMTok}</td>
                <td className="num">{o.outputUsdPerMTok}</td>
                <td className="num">{o.cacheWriteUsdPerMTok ?? "= input"}</td>
                <td>
                  {o.source === "config" ? (
                    <span
                      className="chip neutral"
                      title="pricing.overrides in the config file: change it there"
                    >
                      config file (read-only)
                    </span>
                  ) : (
                    <span className="chip neutral">added here{o.createdBy ? ` by ${o.createdBy}` : ""}</span>
                  )}
                  {o.shadowed && (
                    <div className="cell-sub">
                      not applied: the config file has one for this model and date
                    </div>
                  )}
                </td>
                {isAdmin && (
                  <td>
                    {o.source === "ui" && o.id !== null && (
                      <button
                        type="button"
                        className="btn small ghost"
                        aria-label={`Remove override ${o.model} from ${o.effectiveFrom}`}
                        onClick={() => {
                          if (o.id !== null) void remove(o.id);
                        }}
                      >
                        Remove
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
