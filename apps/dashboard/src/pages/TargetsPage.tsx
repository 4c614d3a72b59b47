/**
 * Targets: every app-server the collector watches, its connection state and why it is down,
 * grouped by the codex version it runs (newest first, unknown last), older than the supported
 * floor flagged. Admins add, edit, pause, resume and remove targets here (issue 17); viewers see
 * no controls. Paused targets are not in the live feed: PausedTargets lists them.
 */
import type { TargetView } from "@codex-fleet/protocol/api";
import type { TargetAdminView } from "@codex-fleet/protocol/targets";
import { type ReactNode, useEffect, useState } from "react";
import { useAuth, useIsAdmin } from "../auth/AuthGate.tsx";
import { Ago, Elapsed } from "../components/Ago.tsx";
import { CodexVersionChip } from "../components/CodexVersion.tsx";
import { EmptyState, ErrorState, LoadingState } from "../components/StateViews.tsx";
import { TargetStatePill } from "../components/StatusPill.tsx";
import { belowFloorHint, codexVersionOf, groupByCodexVersion } from "../lib/codex-versions.ts";
import { formatDateTime } from "../lib/format.ts";
import { Link, useSearchParams } from "../lib/router.tsx";
import { isTargetDown, targetReasonHint } from "../lib/status.ts";
import { useLive } from "../live/LiveProvider.tsx";
import { FleetEmpty } from "./fleet/FleetEmpty.tsx";
import { type TargetThreadCounts, threadCountsByTarget } from "./fleet/fleet-model.ts";
import { ClusterPanel } from "./targets/ClusterPanel.tsx";
import { PausedTargets } from "./targets/PausedTargets.tsx";
import { TargetAdminActions } from "./targets/TargetAdminActions.tsx";
import { TargetForm } from "./targets/TargetForm.tsx";

type FormState = null | { editing: TargetAdminView | null };

/** Sorts down targets first, then by name. */
export function sortTargets(targets: TargetView[]): TargetView[] {
  return [...targets].sort(
    (a, b) => Number(isTargetDown(b)) - Number(isTargetDown(a)) || a.name.localeCompare(b.name),
  );
}

/** The targets page (live; REST fallback while the feed is down). */
export function TargetsPage() {
  const { data, fallbackError, retry } = useLive();
  const [search, setSearch] = useSearchParams();
  const stateFilter = search.get("state");
  const loaded = data.source !== "none";
  const isAdmin = useIsAdmin();
  const [form, setForm] = useState<FormState>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [pausedVersion, setPausedVersion] = useState(0);
  // The live feed keeps a paused target's last state (stopped): list it under Paused only.
  const [pausedNames, setPausedNames] = useState<ReadonlySet<string>>(new Set());
  // Outside <AuthGate> (tests of <App/> alone) nothing says more than a token field is allowed.
  const tokenSources = useAuth()?.me.targetTokenSources ?? ["token"];
  const pausedList = (
    <PausedTargets
      isAdmin={isAdmin}
      version={pausedVersion}
      onNotice={setNotice}
      onChanged={() => setPausedVersion((v) => v + 1)}
      onLoaded={(names) => setPausedNames(new Set(names))}
    />
  );

  // Links from the fleet point at `/targets#<name>`: bring that row into view once data is there.
  useEffect(() => {
    const name = decodeURIComponent(window.location.hash.slice(1));
    if (loaded && name) document.getElementById(name)?.scrollIntoView?.({ block: "center" });
  }, [loaded]);

  if (data.source === "none") {
    if (fallbackError !== undefined)
      return <ErrorState title="Could not load targets" error={fallbackError} onRetry={retry} />;
    return <LoadingState label="Loading targets…" />;
  }
  const all = sortTargets([...data.targets.values()].filter((t) => !pausedNames.has(t.name)));
  const admin = isAdmin ? (
    <>
      {notice && (
        <div className="form-note" role="status" data-testid="targets-notice" style={{ marginBottom: 8 }}>
          {notice}
        </div>
      )}
      {form && (
        <TargetForm
          key={form.editing?.name ?? "(new)"}
          editing={form.editing}
          tokenSources={tokenSources}
          onCancel={() => setForm(null)}
          onSaved={(saved) => {
            setForm(null);
            setNotice(`${saved.name} saved; the collector is connecting to it.`);
          }}
        />
      )}
    </>
  ) : null;
  const addButton =
    isAdmin && form === null ? (
      <button
        type="button"
        className="btn primary"
        onClick={() => {
          setNotice(null);
          setForm({ editing: null });
        }}
      >
        Add target
      </button>
    ) : null;
  if (all.length === 0)
    return (
      <>
        {addButton && <div className="page-head">{addButton}</div>}
        {admin}
        <FleetEmpty />
        {pausedList}
      </>
    );
  const targets = all.filter((target) =>
    stateFilter === "down" ? isTargetDown(target) : stateFilter === "open" ? !isTargetDown(target) : true,
  );
  const down = all.filter(isTargetDown).length;
  const counts = threadCountsByTarget(data.threads.values());
  // Labels are optional in the config: no column at all when no target has one.
  const showLabels = all.some((target) => Object.keys(target.labels).length > 0);
  // Which collector follows each target (several collectors on one database); older collectors omit it.
  const showFollowedBy = all.some((target) => target.followedBy !== undefined);
  const groups = groupByCodexVersion(targets);
  const columns = 9 + Number(showLabels) + Number(showFollowedBy) + Number(isAdmin);
  const belowFloor = all.filter((target) => target.belowSupportedFloor === true).length;

  return (
    <>
      <div className="page-head">
        <h1>Targets</h1>
        <span className="faint">
          {all.length - down} connected · {down} down
        </span>
        {belowFloor > 0 && (
          <span
            className="chip"
            data-testid="targets-below-floor"
            title="Targets on a codex older than the supported floor"
          >
            {belowFloor} below supported codex
          </span>
        )}
        <span className="spacer" />
        <fieldset className="segmented" aria-label="Connection state">
          {[
            ["", "All"],
            ["down", `Down (${down})`],
            ["open", "Connected"],
          ].map(([value, label]) => (
            <button
              key={value}
              type="button"
              aria-pressed={(stateFilter ?? "") === value}
              onClick={() => setSearch({ state: value })}
            >
              {label}
            </button>
          ))}
        </fieldset>
        {addButton}
      </div>
      {admin}
      <ClusterPanel />
      <div className="card table-wrap">
        {targets.length === 0 ? (
          <EmptyState title="No targets in this state" compact />
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>Target</th>
                <th>Team</th>
                <th>State</th>
                <th>Reason / last error</th>
                <th>Server</th>
                <th>Last event</th>
                <th>Connected since</th>
                <th className="num">Threads</th>
                <th className="num">Active</th>
                {showFollowedBy && <th>Followed by</th>}
                {showLabels && <th>Labels</th>}
                {isAdmin && <th aria-label="Admin actions" />}
              </tr>
            </thead>
            {groups.map((group) => (
              <tbody
                key={group.version ?? "(unknown)"}
                data-testid={`version-group-${group.version ?? "unknown"}`}
              >
                <tr className="group-row">
                  <th
                    colSpan={columns}
                    scope="colgroup"
                    title={group.belowFloor && group.version ? belowFloorHint(group.version) : undefined}
                  >
                    {group.version === null ? "codex version unknown" : `codex ${group.version}`}
                    <span className="faint">
                      {" "}
                      · {group.targets.length} target{group.targets.length === 1 ? "" : "s"}
                    </span>
                    {group.belowFloor && (
                      <span className="chip" style={{ marginLeft: 8 }}>
                        below supported floor
                      </span>
                    )}
                  </th>
                </tr>
                {group.targets.map((target) => (
                  <TargetRow
                    key={target.name}
                    target={target}
                    counts={counts.get(target.name) ?? { threads: 0, active: 0 }}
                    showLabels={showLabels}
                    showFollowedBy={showFollowedBy}
                    actions={
                      isAdmin ? (
                        <TargetAdminActions
                          name={target.name}
                          onEdit={(view) => {
                            setNotice(null);
                            setForm({ editing: view });
                          }}
                          onNotice={setNotice}
                          onPaused={() => setPausedVersion((v) => v + 1)}
                        />
                      ) : null
                    }
                  />
                ))}
              </tbody>
            ))}
          </table>
        )}
      </div>
      {pausedList}
    </>
  );
}

function TargetRow({
  target,
  counts,
  showLabels,
  showFollowedBy,
  actions,
}: {
  target: TargetView;
  counts: TargetThreadCounts;
  showLabels: boolean;
  showFollowedBy: boolean;
  actions: ReactNode;
}) {
  const down = isTargetDown(target);
  const reason = targetReasonHint(target.reason);
  const belowFloor = target.belowSupportedFloor === true;
  return (
    <tr
      id={target.name}
      className={down ? "row-err" : belowFloor ? "row-warn" : ""}
      data-testid={`target-row-${target.name}`}
    >
      <td>
        <Link className="cell-main" href={`/?q=${encodeURIComponent(target.name)}`}>
          {target.name}
        </Link>
        <div className="cell-sub mono truncate" title={target.url}>
          {target.url}
        </div>
      </td>
      <td className="muted">{target.team}</td>
      <td>
        <TargetStatePill state={target.state} testId={`target-state-${target.name}`} />
        <div className="cell-sub" title={formatDateTime(target.stateSince)}>
          for <Elapsed since={target.stateSince} />
        </div>
      </td>
      <td style={{ maxWidth: 320 }}>
        {reason ? (
          <>
            <div className="cell-main" data-testid={`target-reason-${target.name}`}>
              {reason.label}
            </div>
            <div className="cell-sub">{reason.hint}</div>
          </>
        ) : null}
        {target.lastError && (
          <div className="cell-sub mono truncate" title={target.lastError}>
            {target.lastError}
          </div>
        )}
        {!reason && !target.lastError && <span className="faint">—</span>}
      </td>
      <td style={{ maxWidth: 220 }}>
        <CodexVersionChip
          version={codexVersionOf(target)}
          belowFloor={belowFloor}
          testId={`target-codex-${target.name}`}
        />
        <div className="cell-sub mono truncate" title={target.userAgent ?? undefined}>
          {target.userAgent ?? "—"}
        </div>
      </td>
      <td className="muted">
        <Ago at={target.lastEventAt} />
      </td>
      <td className="muted">{down ? "—" : <Ago at={target.connectedSince} />}</td>
      <td className="num" data-testid={`target-threads-${target.name}`}>
        {counts.threads}
      </td>
      <td className="num" data-testid={`target-active-${target.name}`}>
        {counts.active}
      </td>
      {showFollowedBy && (
        <td data-testid={`target-followed-by-${target.name}`}>
          {target.followedBy ? (
            <span className="mono">{target.followedBy}</span>
          ) : (
            <span className="faint" title="No collector holds this target's lease right now">
              nobody right now
            </span>
          )}
        </td>
      )}
      {showLabels && (
        <td>
          {Object.entries(target.labels).map(([key, value]) => (
            <span key={key} className="chip neutral" style={{ marginRight: 4 }}>
              {key}={value}
            </span>
          ))}
        </td>
      )}
      {actions !== null && <td>{actions}</td>}
    </tr>
  );
}
