/**
 * Targets per codex version, for the `codex_fleet_targets_by_codex_version` gauge. The label
 * values come off the wire, so they are bounded: only strings that parse as versions (length
 * capped in codex-version.ts), at most MAX_VERSION_LABELS of them (the newest), the rest under
 * `other`, and targets that never told their version under `unknown`.
 */
import { compareCodexVersions, isCodexVersion } from "@codex-fleet/protocol/codex-version";

export const MAX_VERSION_LABELS = 20;

/** [label, targets] pairs, newest version first, then `other`, then `unknown` (each only when non-zero). */
export function targetsByCodexVersion(
  versions: Iterable<string | null>,
  max: number = MAX_VERSION_LABELS,
): [string, number][] {
  const counts = new Map<string, number>();
  let unknown = 0;
  for (const v of versions) {
    if (v === null || !isCodexVersion(v)) unknown++;
    else counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const sorted = [...counts].sort(([a], [b]) => compareCodexVersions(b, a));
  const out = sorted.slice(0, max);
  const other = sorted.slice(max).reduce((s, [, n]) => s + n, 0);
  if (other > 0) out.push(["other", other]);
  if (unknown > 0) out.push(["unknown", unknown]);
  return out;
}
