/** Rows → CSV with a header line, by the protocol's one CSV writer (formula injection neutralised). */
import { csvDocument } from "@codex-fleet/protocol/csv";

export function toCsv(columns: readonly string[], rows: readonly object[]): string {
  return csvDocument(
    columns,
    rows.map((r) => columns.map((c) => csvValue((r as Record<string, unknown>)[c]))),
  );
}

function csvValue(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  return typeof v === "number" || typeof v === "boolean" ? v : String(v);
}
