/** "CSV" and "JSON" buttons that download exactly the rows a view shows. */
import { type ExportColumn, exportRows } from "../lib/export-file.ts";

/** Disabled when there is nothing to export. */
export function ExportButtons<Row>({
  baseName,
  columns,
  rows,
  testId,
}: {
  baseName: string;
  columns: ExportColumn<Row>[];
  rows: Row[];
  testId: string;
}) {
  const disabled = rows.length === 0;
  return (
    <span className="export-buttons">
      <button
        type="button"
        className="btn small ghost"
        disabled={disabled}
        data-testid={`${testId}-csv`}
        onClick={() => exportRows("csv", baseName, columns, rows)}
      >
        CSV
      </button>
      <button
        type="button"
        className="btn small ghost"
        disabled={disabled}
        data-testid={`${testId}-json`}
        onClick={() => exportRows("json", baseName, columns, rows)}
      >
        JSON
      </button>
    </span>
  );
}
