/** A developer's plan windows in one line ("5h 43 % · wk 87 %"), coloured by forecast. */
import type { LimitRow } from "@codex-fleet/protocol/limits";
import { Fragment } from "react";
import {
  forecastStatus,
  forecastText,
  PLAN_WINDOWS,
  resetText,
  usedText,
  windowLongName,
  windowShortName,
  windowTone,
} from "../lib/plan-limits.ts";
import { Link } from "../lib/router.tsx";
import { useNow } from "../live/useNow.ts";

/**
 * The most urgent limit's windows of one developer (`rows`: theirs, most urgent first), each with
 * its forecast and reset time in the tooltip, linking to the Plan limits page filtered to them.
 * Nothing when the developer reports no plan windows.
 */
export function CompactWindows({ rows, target }: { rows: LimitRow[]; target: string }) {
  const now = useNow();
  const row = rows[0];
  if (!row) return null;
  const shown = PLAN_WINDOWS.filter((name) => row[name] !== null);
  if (shown.length === 0 && !row.rateLimitReachedType) return null;
  const parts = shown.map((name, index) => {
    const window = row[name];
    if (!window) return null;
    const forecast = row.forecast[name];
    const tone = windowTone(forecastStatus(window, forecast, now));
    const title = [
      `${windowLongName(window.windowDurationMins, name)}: ${usedText(window.usedPercent)} used`,
      forecastText(window, forecast, now),
      resetText(window, now),
    ]
      .filter(Boolean)
      .join(" · ");
    return (
      <Fragment key={name}>
        {index > 0 && <span> · </span>}
        <span className={`tone-text ${tone}`} title={title} data-testid={`plan-window-${target}-${name}`}>
          {windowShortName(window.windowDurationMins, name)} {usedText(window.usedPercent)}
        </span>
      </Fragment>
    );
  });
  return (
    <Link
      href={`/limits?q=${encodeURIComponent(target)}`}
      className="plan-windows"
      data-testid={`plan-windows-${target}`}
      aria-label={`Plan limits of ${target}`}
    >
      {parts}
      {row.rateLimitReachedType && (
        <span className="pill err plain" title={row.rateLimitReachedType}>
          limit reached
        </span>
      )}
      {rows.length > 1 && <span className="faint"> +{rows.length - 1}</span>}
    </Link>
  );
}
