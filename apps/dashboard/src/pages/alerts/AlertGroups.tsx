/** Alerts grouped as notifications group them: a row per group, expanded to its member alerts. */
import { Fragment, useState } from "react";
import { SeverityPill } from "../../components/StatusPill.tsx";
import { type AckControl, AlertTable } from "./AlertTable.tsx";
import { groupTitle, type ShownGroup } from "./alert-groups.ts";

/** `alert-group-system-error/payments`: a readable, stable test id for a group. */
export function groupTestId(group: Pick<ShownGroup, "labels">): string {
  return `alert-group-${Object.values(group.labels).join("/")}`;
}

/** The groups table; which groups are expanded is kept across live updates (by key). */
export function AlertGroups({
  groups,
  ack,
  silenceBy,
  onSilenced,
}: {
  groups: ShownGroup[];
  ack: AckControl;
  silenceBy: string;
  onSilenced: () => void;
}) {
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const toggle = (key: string) =>
    setExpanded((previous) => {
      const next = new Set(previous);
      if (!next.delete(key)) next.add(key);
      return next;
    });
  return (
    <table className="table">
      <thead>
        <tr>
          <th style={{ width: 28 }} />
          <th>Severity</th>
          <th>Group</th>
          <th>Alerts</th>
          <th>Receivers</th>
        </tr>
      </thead>
      <tbody>
        {groups.map((group) => {
          const open = expanded.has(group.key);
          const title = groupTitle(group);
          const inhibited = group.alerts.filter((a) => a.inhibited && a.state !== "resolved").length;
          return (
            <Fragment key={group.key}>
              <tr data-testid={groupTestId(group)} data-group-key={group.key}>
                <td>
                  <button
                    type="button"
                    className="icon-btn"
                    aria-expanded={open}
                    aria-label={`${open ? "Hide" : "Show"} alerts of ${title}`}
                    onClick={() => toggle(group.key)}
                  >
                    {open ? "▾" : "▸"}
                  </button>
                </td>
                <td>
                  <SeverityPill severity={group.severity} />
                </td>
                <td>
                  <div className="cell-main">
                    {Object.entries(group.labels).map(([name, value]) => (
                      <span key={name} className="chip neutral" style={{ marginRight: 4 }}>
                        {name}={value}
                      </span>
                    ))}
                  </div>
                  {inhibited > 0 && (
                    <div className="cell-sub">
                      <span
                        className="pill plain"
                        title="Shown, not notified: an inhibit rule matches (e.g. their target is down or unauthorized)."
                      >
                        {inhibited} inhibited
                      </span>
                    </div>
                  )}
                </td>
                <td className="nowrap" data-testid="group-counts">
                  <span className={group.counts.firing > 0 ? "pill err" : "pill plain"}>
                    {group.counts.firing} firing
                  </span>{" "}
                  <span className={group.counts.pending > 0 ? "pill warn" : "pill plain"}>
                    {group.counts.pending} pending
                  </span>{" "}
                  <span className="pill plain">{group.counts.resolved} resolved</span>
                </td>
                <td data-testid="group-receivers">
                  {group.receivers.length > 0 ? (
                    group.receivers.map((name) => (
                      <span key={name} className="chip neutral" style={{ marginRight: 4 }}>
                        {name}
                      </span>
                    ))
                  ) : (
                    <span className="faint">no receiver</span>
                  )}
                </td>
              </tr>
              {open && (
                <tr className="form-row" data-testid={`${groupTestId(group)}-members`}>
                  <td colSpan={5} className="form-cell">
                    <AlertTable
                      alerts={group.shown}
                      ack={ack}
                      silenceBy={silenceBy}
                      onSilenced={onSilenced}
                    />
                  </td>
                </tr>
              )}
            </Fragment>
          );
        })}
      </tbody>
    </table>
  );
}
