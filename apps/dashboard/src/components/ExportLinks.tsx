/** "CSV · JSON" links to the API's own export of a query (same origin: the session cookie goes along). */
export function ExportLinks({ csv, json, testId }: { csv: string; json: string; testId: string }) {
  return (
    <span className="export-buttons">
      <a className="btn small ghost" href={csv} download data-testid={`${testId}-csv`}>
        CSV
      </a>
      <a className="btn small ghost" href={json} download data-testid={`${testId}-json`}>
        JSON
      </a>
    </span>
  );
}
