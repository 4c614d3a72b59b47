/** Rows → RFC 4180 CSV with a header line; cells that look like formulas are quoted and prefixed. */
export function toCsv(columns: readonly string[], rows: readonly object[]): string {
  const lines = [columns.map(cell).join(",")];
  for (const r of rows) lines.push(columns.map((c) => cell((r as Record<string, unknown>)[c])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return "";
  let s = String(v);
  // Spreadsheet formula injection: a text cell starting with = + - @ is neutralised.
  if (typeof v === "string" && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
