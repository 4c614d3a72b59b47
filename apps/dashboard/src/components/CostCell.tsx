/** A cost that never hides unpriced usage: "$12.34", "unpriced", or "$12.34 + 1.2M unpriced". */
import { formatTokens, formatUsd } from "../lib/format.ts";

/** `costUsd` excludes unpriced tokens, so a fully unpriced row must not read "$0.00". */
export function CostCell({
  costUsd,
  unpricedTokens,
  totalTokens,
  testId,
}: {
  costUsd: number | null;
  unpricedTokens: number;
  totalTokens: number;
  testId?: string;
}) {
  const fullyUnpriced =
    costUsd === null || (unpricedTokens > 0 && unpricedTokens >= totalTokens && costUsd === 0);
  if (fullyUnpriced) {
    return (
      <span
        className="chip neutral"
        title={`${formatTokens(unpricedTokens)} tokens of models without a price`}
        data-testid={testId}
      >
        unpriced
      </span>
    );
  }
  return (
    <span data-testid={testId}>
      {formatUsd(costUsd)}
      {unpricedTokens > 0 && (
        <span className="unpriced-note" title="Tokens of models without a price: not included in the cost">
          {" "}
          +{formatTokens(unpricedTokens)} unpriced
        </span>
      )}
    </span>
  );
}
