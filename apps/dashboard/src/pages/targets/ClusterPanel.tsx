/**
 * The collectors sharing this database (GET /api/v1/cluster, README "Running more than one
 * collector"): name, version, started, last heartbeat, targets held, alert leader. Shown only
 * when there is more than one instance; a collector alone (or one without the endpoint) shows
 * nothing. Refetched every few seconds: heartbeats and lease counts are not in the live feed.
 */
import { type ClusterView, ClusterViewSchema } from "@codex-fleet/protocol/api";
import { useEffect } from "react";
import { Ago } from "../../components/Ago.tsx";
import { formatDateTime } from "../../lib/format.ts";
import { useApiQuery } from "../../lib/useApiQuery.ts";

const REFRESH_MS = 10_000;

/** Fetches the cluster view and renders {@link ClusterTable} when several instances share the database. */
export function ClusterPanel() {
  const query = useApiQuery("/api/v1/cluster", ClusterViewSchema);
  const { reload } = query;
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  if (!query.data || query.data.instances.length <= 1) return null;
  return <ClusterTable cluster={query.data} />;
}

/** One row per instance; the answering one and the alert leader marked. */
export function ClusterTable({ cluster }: { cluster: ClusterView }) {
  const live = cluster.instances.filter((i) => i.live).length;
  return (
    <section className="card table-wrap" aria-label="Collectors" data-testid="cluster-panel">
      <div className="card-head">
        <h2>Collectors</h2>
        <span className="faint">
          {live} live · {cluster.targets} targets
          {cluster.unfollowed > 0 ? ` · ${cluster.unfollowed} not followed right now` : ""}
          {cluster.alertLeader === null ? " · no alert leader right now" : ""}
        </span>
      </div>
      <table className="table">
        <thead>
          <tr>
            <th>Instance</th>
            <th>Version</th>
            <th>Started</th>
            <th>Last heartbeat</th>
            <th className="num">Targets held</th>
            <th>Alerts</th>
          </tr>
        </thead>
        <tbody>
          {cluster.instances.map((i) => (
            <tr key={i.id} className={i.live ? "" : "row-warn"} data-testid={`cluster-row-${i.name}`}>
              <td>
                <span className="cell-main">{i.name}</span>
                {i.self && (
                  <span className="chip neutral" style={{ marginLeft: 6 }}>
                    this one
                  </span>
                )}
                {!i.live && (
                  <span className="chip" style={{ marginLeft: 6 }}>
                    heartbeat expired
                  </span>
                )}
                <div className="cell-sub mono truncate">
                  {i.host} · pid {i.pid}
                </div>
              </td>
              <td className="mono">{i.version}</td>
              <td className="muted" title={formatDateTime(i.startedAt)}>
                <Ago at={i.startedAt} />
              </td>
              <td className="muted">
                <Ago at={i.lastHeartbeat} />
              </td>
              <td className="num" data-testid={`cluster-held-${i.name}`}>
                {i.targetsHeld}
              </td>
              <td data-testid={`cluster-leader-${i.name}`}>
                {i.alertLeader ? <span className="chip neutral">alert leader</span> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
