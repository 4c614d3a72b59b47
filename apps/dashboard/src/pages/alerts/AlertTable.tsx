/** One table of alerts with today's per-alert actions: ack, silence, link to the thread. */
import type { AlertView } from "@codex-fleet/protocol/api";
import { Fragment, useState } from "react";
import { Ago, Elapsed } from "../../components/Ago.tsx";
import { SeverityPill } from "../../components/StatusPill.tsx";
import { Link } from "../../lib/router.tsx";
import { SilenceForm } from "./SilenceForm.tsx";

/** How the Ack button behaves: at once when signed in, after a typed name when auth is off. */
export type AckControl = {
  /** False while auth is off and no name was typed. */
  enabled: boolean;
  /** The button's tooltip. */
  hint: string;
  onAck: (alert: AlertView) => void;
};

const COLUMNS = 6;

/** Shown but not notified: why, as far as the view can tell. */
export function inhibitedReason(alert: AlertView): string {
  const cause = alert.target
    ? `e.g. its target ${alert.target} is down or unauthorized`
    : "e.g. the target it concerns is down";
  return `Shown, not notified: an inhibit rule matches (${cause}). Notifications resume when the inhibiting alert resolves.`;
}

/** The alerts as table rows (with the inline silence form under the row being silenced). */
export function AlertTable({
  alerts,
  ack,
  silenceBy,
  onSilenced,
}: {
  alerts: AlertView[];
  ack: AckControl;
  /** `createdBy` of a new silence. */
  silenceBy: string;
  onSilenced: () => void;
}) {
  const [silencing, setSilencing] = useState<string | null>(null);
  return (
    <table className="table">
      <thead>
        <tr>
          <th>Severity</th>
          <th>Alert</th>
          <th>Subject</th>
          <th>State</th>
          <th>Acknowledged</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {alerts.map((alert) => (
          <Fragment key={alert.id}>
            <tr data-testid={`alert-row-${alert.id}`}>
              <td>
                <SeverityPill severity={alert.severity} />
              </td>
              <td>
                <div className="cell-main">{alert.summary}</div>
                <div className="cell-sub mono">
                  {alert.ruleId} · {alert.kind}
                  {alert.silenced && " · silenced"}
                  {alert.inhibited && (
                    <>
                      {" "}
                      <span
                        className="pill plain"
                        title={inhibitedReason(alert)}
                        data-testid={`alert-inhibited-${alert.id}`}
                      >
                        inhibited
                      </span>
                    </>
                  )}
                </div>
              </td>
              <td>
                {alert.threadId ? (
                  <Link href={`/threads/${encodeURIComponent(alert.threadId)}`} className="nowrap">
                    {alert.target ? `${alert.target} / ` : ""}thread …{alert.threadId.slice(-8)}
                  </Link>
                ) : (
                  <span>
                    {alert.subjectType} <b>{alert.subjectId}</b>
                  </span>
                )}
              </td>
              <td className="nowrap">
                <span
                  className={`pill ${alert.state === "firing" ? "err" : alert.state === "pending" ? "warn" : "plain"}`}
                >
                  {alert.state}
                </span>{" "}
                <span className="faint">
                  {alert.state === "resolved" ? (
                    <Ago at={alert.resolvedAt} />
                  ) : (
                    <Elapsed since={alert.firingSince ?? alert.pendingSince} />
                  )}
                </span>
              </td>
              <td className="muted" data-testid={`alert-ack-${alert.id}`}>
                {alert.ackBy ? (
                  <span title={alert.ackAt ?? undefined}>
                    acked by {alert.ackBy}
                    {alert.ackRole ? ` (${alert.ackRole})` : ""} <Ago at={alert.ackAt} />
                  </span>
                ) : (
                  "—"
                )}
              </td>
              <td className="num nowrap">
                {alert.state !== "resolved" && !alert.ackBy && (
                  <button
                    type="button"
                    className="btn small"
                    disabled={!ack.enabled}
                    title={ack.hint}
                    onClick={() => ack.onAck(alert)}
                  >
                    Ack
                  </button>
                )}{" "}
                {alert.state !== "resolved" && (
                  <button
                    type="button"
                    className="btn small ghost"
                    onClick={() => setSilencing(silencing === alert.id ? null : alert.id)}
                  >
                    Silence…
                  </button>
                )}
              </td>
            </tr>
            {silencing === alert.id && (
              <tr className="form-row">
                <td colSpan={COLUMNS} className="form-cell">
                  <SilenceForm
                    alert={alert}
                    by={silenceBy}
                    onCancel={() => setSilencing(null)}
                    onDone={() => {
                      setSilencing(null);
                      onSilenced();
                    }}
                  />
                </td>
              </tr>
            )}
          </Fragment>
        ))}
      </tbody>
    </table>
  );
}
