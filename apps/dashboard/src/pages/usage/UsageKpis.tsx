/** Headline figures of the selected window; exact values in `data-value` and tooltips for reports. */

import type { UsageCounters } from "@codex-fleet/protocol/api";
import { Kpi } from "../../components/Kpi.tsx";
import { formatInteger, formatPct, formatTokens, formatUsd, ratio } from "../../lib/format.ts";

/** Total tokens, cost (with unpriced tokens beside it, never folded into $0), turns, failure rate, cache share. */
export function UsageKpis({ totals, unpricedModels }: { totals: UsageCounters; unpricedModels: string[] }) {
  const failure = ratio(totals.failedTurns, totals.turns);
  const cached = ratio(totals.cachedInputTokens, totals.inputTokens);
  const costOnlyUnpriced = totals.costUsd === 0 && totals.unpricedTokens > 0;
  return (
    <div className="kpis">
      <Kpi
        label="Total tokens"
        value={formatTokens(totals.totalTokens)}
        exact={totals.totalTokens}
        sub={`${formatTokens(totals.inputTokens)} in · ${formatTokens(totals.outputTokens)} out`}
        testId="usage-total-tokens"
      />
      <Kpi
        label="Cost"
        value={costOnlyUnpriced ? "unpriced" : formatUsd(totals.costUsd)}
        exact={costOnlyUnpriced ? null : totals.costUsd}
        sub={
          totals.unpricedTokens > 0
            ? `+ ${formatTokens(totals.unpricedTokens)} tokens unpriced`
            : "all usage priced"
        }
        testId="usage-total-cost"
      />
      <Kpi
        label="Turns"
        value={formatInteger(totals.turns)}
        exact={totals.turns}
        sub={`${formatInteger(totals.failedTurns)} failed`}
        testId="usage-turns"
      />
      <Kpi
        label="Failure rate"
        value={formatPct(failure)}
        exact={failure}
        sub="failed / all turns"
        testId="usage-failure-rate"
        tone={failure != null && failure >= 0.05 ? "tone-err" : ""}
      />
      <Kpi
        label="Cached input"
        value={formatPct(cached)}
        exact={cached}
        sub={`${formatTokens(totals.cachedInputTokens)} of ${formatTokens(totals.inputTokens)} input`}
        testId="usage-cached-share"
      />
      <Kpi
        label="Unpriced tokens"
        value={formatTokens(totals.unpricedTokens)}
        exact={totals.unpricedTokens}
        sub={
          totals.unpricedTokens > 0
            ? unpricedModels.length > 0
              ? `no price: ${unpricedModels.join(", ")}`
              : "models without a price"
            : "every model has a price"
        }
        testId="usage-unpriced-tokens"
        tone={totals.unpricedTokens > 0 ? "tone-warn" : "is-zero"}
      />
    </div>
  );
}
