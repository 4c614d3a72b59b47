/** The three non-data states every view needs: loading, error with retry, empty. */
import type { ReactNode } from "react";
import { errorMessage } from "../lib/api-client.ts";

/** Spinner with a label; `rows` renders a table-shaped skeleton instead. */
export function LoadingState({ label = "Loading…", rows }: { label?: string; rows?: number }) {
  if (rows) {
    return (
      <div className="card-body" role="status" aria-label={label} style={{ display: "grid", gap: 10 }}>
        {Array.from({ length: rows }, (_, index) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: static placeholder rows.
          <div key={index} className="skeleton" style={{ width: `${90 - ((index * 17) % 40)}%` }} />
        ))}
      </div>
    );
  }
  return (
    <div className="state" role="status">
      <div className="spinner" aria-hidden />
      <span>{label}</span>
    </div>
  );
}

/** Error message from an API failure plus a retry button. */
export function ErrorState({
  title = "Could not load data",
  error,
  onRetry,
  compact,
}: {
  title?: string;
  error: unknown;
  onRetry?: () => void;
  compact?: boolean;
}) {
  return (
    <div className={`state error${compact ? " compact" : ""}`} role="alert">
      <h3>{title}</h3>
      <p>{errorMessage(error)}</p>
      {onRetry && (
        <button type="button" className="btn" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

/** Nothing to show, with a title and what to do about it. */
export function EmptyState({
  title,
  children,
  compact,
}: {
  title: string;
  children?: ReactNode;
  compact?: boolean;
}) {
  return (
    <div className={`state${compact ? " compact" : ""}`}>
      <h3>{title}</h3>
      {children}
    </div>
  );
}
