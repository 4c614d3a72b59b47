/**
 * The one CSV writer, for the API's `format=csv` and the dashboard's own exports: RFC 4180 (CRLF
 * line ends, quotes doubled, cells with `,` `"` or line breaks quoted), and spreadsheet formula
 * injection neutralised — a text cell starting with `=` `+` `-` `@`, a tab or a carriage return is
 * prefixed with `'` (OWASP's rule), so a thread name from an app-server cannot run in Excel.
 */
export type CsvValue = string | number | boolean | null | undefined;

/** One cell. Numbers and booleans are written as they are; text is neutralised and quoted. */
export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  let text = String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A header line and one line per row, each line ending in CRLF. */
export function csvDocument(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  const lines = [header.map(csvCell).join(",")];
  for (const row of rows) lines.push(row.map(csvCell).join(","));
  return `${lines.join("\r\n")}\r\n`;
}
