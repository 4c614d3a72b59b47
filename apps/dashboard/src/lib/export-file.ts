/** Client-side CSV/JSON export of exactly the rows a view displays. */
import { csvDocument } from "@codex-fleet/protocol/csv";

/** One exported column: header text and how to read the cell from a row. */
export type ExportColumn<Row> = { header: string; value: (row: Row) => string | number | boolean | null };

/** CSV by the protocol's one writer (RFC 4180, formula injection neutralised, as the API's). */
export function toCsv<Row>(columns: ExportColumn<Row>[], rows: Row[]): string {
  return csvDocument(
    columns.map((column) => column.header),
    rows.map((row) => columns.map((column) => column.value(row))),
  );
}

/** Rows as JSON objects keyed by column header, same cells as the CSV. */
export function toJson<Row>(columns: ExportColumn<Row>[], rows: Row[]): string {
  const objects = rows.map((row) =>
    Object.fromEntries(columns.map((column) => [column.header, column.value(row)])),
  );
  return `${JSON.stringify(objects, null, 2)}\n`;
}

/** Save `text` as a file through a temporary object URL (no server round trip). */
export function downloadText(fileName: string, text: string, mimeType: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: mimeType }));
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = fileName;
  anchor.rel = "noopener";
  document.body.appendChild(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/** Download rows as `<base>.csv` or `<base>.json`. */
export function exportRows<Row>(
  format: "csv" | "json",
  baseName: string,
  columns: ExportColumn<Row>[],
  rows: Row[],
) {
  if (format === "csv") downloadText(`${baseName}.csv`, toCsv(columns, rows), "text/csv;charset=utf-8");
  else downloadText(`${baseName}.json`, toJson(columns, rows), "application/json");
}
