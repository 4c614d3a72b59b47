/** One headline figure of a report page (Usage, Activity): exact value in `data-value` and the tooltip. */
export function Kpi({
  label,
  value,
  exact,
  sub,
  testId,
  tone,
}: {
  label: string;
  value: string;
  exact: number | null;
  sub?: string;
  testId: string;
  tone?: string;
}) {
  return (
    <div className={`kpi ${tone ?? ""}`}>
      <div className="kpi-label">{label}</div>
      <div
        className="kpi-value"
        data-testid={testId}
        data-value={exact ?? ""}
        title={exact == null ? undefined : String(exact)}
      >
        {value}
      </div>
      {sub && <div className="kpi-sub">{sub}</div>}
    </div>
  );
}
