/**
 * Targets paused through the admin API (issue 17): followed by no collector, so absent from the
 * live feed; read from GET /api/v1/targets?paused=true. Admins resume them here (POST
 * …/resume); viewers see the list without the button. Renders nothing when none is paused.
 */
import { TargetListSchema, type TargetView } from "@codex-fleet/protocol/api";
import { useEffect, useState } from "react";
import { Ago } from "../../components/Ago.tsx";
import { apiFetch, apiSend, errorMessage } from "../../lib/api-client.ts";

export function PausedTargets({
  isAdmin,
  version,
  onNotice,
  onChanged,
  onLoaded,
}: {
  isAdmin: boolean;
  /** Bumped by the page after a pause: read the list again. */
  version: number;
  onNotice: (text: string) => void;
  onChanged: () => void;
  /** The paused names, each time the list is read (the live feed still holds their last state). */
  onLoaded?: (names: string[]) => void;
}) {
  const [paused, setPaused] = useState<TargetView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `version` is the refresh trigger
  useEffect(() => {
    const controller = new AbortController();
    apiFetch("/api/v1/targets?paused=true", TargetListSchema, { signal: controller.signal }).then(
      (rows) => {
        setPaused(rows);
        setError(null);
        onLoaded?.(rows.map((r) => r.name));
      },
      (err: unknown) => {
        if (!controller.signal.aborted) setError(errorMessage(err));
      },
    );
    return () => controller.abort();
  }, [version]);

  const resume = async (name: string) => {
    setBusy(name);
    try {
      await apiSend(`/api/v1/targets/${encodeURIComponent(name)}/resume`, { method: "POST" });
      onNotice(`${name} resumed; the collector is connecting to it.`);
      onChanged();
    } catch (err) {
      onNotice(errorMessage(err));
    } finally {
      setBusy(null);
    }
  };

  if (error !== null)
    return (
      <div className="form-note error" role="alert">
        Could not load the paused targets: {error}
      </div>
    );
  if (paused === null || paused.length === 0) return null;
  return (
    <div className="card" style={{ marginTop: 14 }} data-testid="paused-targets">
      <h2 style={{ padding: "10px 14px 0" }}>Paused ({paused.length})</h2>
      <p className="faint" style={{ padding: "0 14px" }}>
        No collector follows these targets; their threads and usage stay.
      </p>
      <table className="table" aria-label="Paused targets">
        <thead>
          <tr>
            <th>Target</th>
            <th>Team</th>
            <th>URL</th>
            <th>Paused</th>
            <th className="num">Threads</th>
            {isAdmin && <th aria-label="Admin actions" />}
          </tr>
        </thead>
        <tbody>
          {paused.map((target) => (
            <tr key={target.name} data-testid={`paused-row-${target.name}`}>
              <td className="mono">{target.name}</td>
              <td>{target.team || "—"}</td>
              <td className="mono truncate">{target.url}</td>
              <td className="muted">
                <Ago at={target.stateSince} />
              </td>
              <td className="num">{target.threads}</td>
              {isAdmin && (
                <td>
                  <button
                    type="button"
                    className="btn small"
                    disabled={busy !== null}
                    onClick={() => void resume(target.name)}
                    aria-label={`Resume ${target.name}`}
                  >
                    Resume
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
