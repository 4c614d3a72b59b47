/** Targets grouped by the codex version they run: newest first, unknown last. Pure. */
import type { TargetView } from "@codex-fleet/protocol/api";
import {
  codexVersionFromUserAgent,
  compareCodexVersions,
  SUPPORTED_CODEX_FLOOR,
} from "@codex-fleet/protocol/codex-version";

export interface VersionGroup {
  /** Null: the target never told its version (never connected, or an unparsable userAgent). */
  version: string | null;
  /** The collector flagged this version as older than its supported floor. */
  belowFloor: boolean;
  targets: TargetView[];
}

/** A target's codex version: the collector's `codexVersion`, else read from `userAgent` (older collectors). */
export function codexVersionOf(target: TargetView): string | null {
  return target.codexVersion !== undefined
    ? target.codexVersion
    : codexVersionFromUserAgent(target.userAgent);
}

/** Groups targets by codex version, keeping each group in the order given (callers sort first). */
export function groupByCodexVersion(targets: TargetView[]): VersionGroup[] {
  const groups = new Map<string | null, VersionGroup>();
  for (const target of targets) {
    const version = codexVersionOf(target);
    let group = groups.get(version);
    if (!group) {
      group = { version, belowFloor: false, targets: [] };
      groups.set(version, group);
    }
    group.targets.push(target);
    if (target.belowSupportedFloor === true) group.belowFloor = true;
  }
  return [...groups.values()].sort((a, b) => {
    if (a.version === null || b.version === null)
      return Number(a.version === null) - Number(b.version === null);
    return compareCodexVersions(b.version, a.version);
  });
}

/** Why a target is flagged: shown as a tooltip. The configured floor is the collector's; the default is named. */
export function belowFloorHint(version: string): string {
  return `codex ${version} is older than the oldest version this collector supports (config codexVersionFloor, default ${SUPPORTED_CODEX_FLOOR}): it is not tested, so its usage may be miscounted. Update codex on this machine.`;
}
