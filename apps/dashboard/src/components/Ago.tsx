/** Ticking time displays driven by the shared server-corrected clock. */
import { formatDateTime, formatDuration, formatRelative, toMs } from "../lib/format.ts";
import { useNow } from "../live/useNow.ts";

/** "3m 12s" since `since`, updated every second; the absolute time is in the tooltip. */
export function Elapsed({ since, testId }: { since: string | number | null; testId?: string }) {
  const now = useNow();
  const at = toMs(since);
  if (at == null) return <span className="faint">—</span>;
  return (
    <span className="num" title={formatDateTime(at)} data-testid={testId}>
      {formatDuration(now - at)}
    </span>
  );
}

/** "5m ago", updated every second; the absolute time is in the tooltip. */
export function Ago({ at, testId }: { at: string | number | null; testId?: string }) {
  const now = useNow();
  if (toMs(at) == null) return <span className="faint">—</span>;
  return (
    <span className="nowrap" title={formatDateTime(at)} data-testid={testId}>
      {formatRelative(at, now)}
    </span>
  );
}
