/** A target's codex version, flagged when it is below the collector's supported floor. */
import { belowFloorHint } from "../lib/codex-versions.ts";

export function CodexVersionChip({
  version,
  belowFloor,
  testId,
}: {
  version: string | null;
  belowFloor: boolean;
  testId?: string;
}) {
  if (version === null)
    return (
      <span
        className="chip neutral"
        data-testid={testId}
        title="The app-server has not told its codex version"
      >
        codex ?
      </span>
    );
  if (!belowFloor)
    return (
      <span className="chip neutral" data-testid={testId}>
        codex {version}
      </span>
    );
  return (
    <span className="chip" data-testid={testId} data-below-floor="true" title={belowFloorHint(version)}>
      codex {version} · below supported
    </span>
  );
}
