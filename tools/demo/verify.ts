/**
 * The demo's end-to-end check: what the collector counted per target (GET /api/v1/usage
 * ?groupBy=target) against what the simulated servers actually served, counter by counter.
 */
import type { WireTokenCounts } from "@codex-fleet/codex-fakes/simulator";
import type { UsageResponse } from "@codex-fleet/protocol/api";

/**
 * The counters compared. Cache writes are stored per response (usage_event) but are not in the
 * usage rollups that GET /api/v1/usage reads, and the simulator serves none.
 */
export const COMPARED = [
  "inputTokens",
  "cachedInputTokens",
  "outputTokens",
  "reasoningOutputTokens",
  "totalTokens",
] as const;

export interface TargetComparison {
  target: string;
  served: Record<(typeof COMPARED)[number], number>;
  counted: Record<(typeof COMPARED)[number], number>;
  equal: boolean;
}

/** Fetch the collector's usage per target over a range that covers the replayed history. */
export async function fetchCountedByTarget(
  baseUrl: string,
  fromMs: number,
): Promise<Map<string, Record<string, number>>> {
  const to = Date.now() + 3_600_000;
  const url = `${baseUrl}/api/v1/usage?groupBy=target&from=${fromMs}&to=${to}`;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url} → ${res.status}`);
  const body = (await res.json()) as UsageResponse;
  return new Map(body.rows.map((r) => [r.target ?? "", r as unknown as Record<string, number>]));
}

/** Compare per target; targets the collector has no row for count as zero. */
export function compareTotals(
  served: Map<string, WireTokenCounts>,
  counted: Map<string, Record<string, number>>,
): TargetComparison[] {
  return [...served].map(([target, s]) => {
    const c = counted.get(target);
    const pick = (src: Record<string, number> | WireTokenCounts | undefined) =>
      Object.fromEntries(
        COMPARED.map((k) => [k, Number((src as Record<string, number> | undefined)?.[k] ?? 0)]),
      ) as Record<(typeof COMPARED)[number], number>;
    const sv = pick(s);
    const cv = pick(c);
    return { target, served: sv, counted: cv, equal: COMPARED.every((k) => sv[k] === cv[k]) };
  });
}

/** A fixed-width table for the terminal. */
export function formatComparison(rows: readonly TargetComparison[]): string {
  const header = ["target", "served totalTokens", "counted totalTokens", "all 5 counters equal"];
  const lines = rows.map((r) => [
    r.target,
    r.served.totalTokens.toLocaleString("en-US"),
    r.counted.totalTokens.toLocaleString("en-US"),
    r.equal ? "yes" : `NO (${COMPARED.filter((k) => r.served[k] !== r.counted[k]).join(", ")})`,
  ]);
  const sum = (pick: (r: TargetComparison) => number) => rows.reduce((a, r) => a + pick(r), 0);
  lines.push([
    "TOTAL",
    sum((r) => r.served.totalTokens).toLocaleString("en-US"),
    sum((r) => r.counted.totalTokens).toLocaleString("en-US"),
    rows.every((r) => r.equal) ? "yes" : "NO",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  return [fmt(header), ...lines.map(fmt)].join("\n");
}
