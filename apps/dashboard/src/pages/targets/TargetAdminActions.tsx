/**
 * A target row's admin buttons (issue 17): Edit opens the form with the stored definition
 * (GET /api/v1/targets/:name; targets from the config file are read-only and say so), Pause
 * stops following it on every collector until it is resumed from the paused list (POST
 * …/pause), Remove asks to confirm, then DELETE (the target's threads and usage stay).
 */
import { type TargetAdminView, TargetAdminViewSchema } from "@codex-fleet/protocol/targets";
import { useState } from "react";
import { apiFetch, apiSend, errorMessage } from "../../lib/api-client.ts";

const READ_ONLY = "comes from the config file: change it there";

export function TargetAdminActions({
  name,
  onEdit,
  onNotice,
  onPaused,
}: {
  name: string;
  onEdit: (target: TargetAdminView) => void;
  onNotice: (text: string) => void;
  onPaused?: () => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const path = `/api/v1/targets/${encodeURIComponent(name)}`;

  const edit = async () => {
    setBusy(true);
    try {
      const view = await apiFetch(path, TargetAdminViewSchema);
      if (view.managed) onEdit(view);
      else onNotice(`${name} ${READ_ONLY}.`);
    } catch (error) {
      onNotice(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    setBusy(true);
    try {
      await apiSend(path, { method: "DELETE" });
      onNotice(`${name} removed (its threads and usage stay).`);
    } catch (error) {
      onNotice(errorMessage(error));
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };

  const pause = async () => {
    setBusy(true);
    try {
      await apiSend(`${path}/pause`, { method: "POST" });
      onNotice(`${name} paused: no collector follows it until you resume it (its threads and usage stay).`);
      onPaused?.();
    } catch (error) {
      onNotice(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  if (confirming)
    return (
      <span className="row" style={{ display: "inline-flex", gap: 4 }}>
        <button type="button" className="btn small danger" disabled={busy} onClick={remove}>
          Confirm removing {name}
        </button>
        <button type="button" className="btn small ghost" onClick={() => setConfirming(false)}>
          Cancel
        </button>
      </span>
    );
  return (
    <span className="row" style={{ display: "inline-flex", gap: 4 }}>
      <button type="button" className="btn small" disabled={busy} onClick={edit} aria-label={`Edit ${name}`}>
        Edit
      </button>
      <button
        type="button"
        className="btn small ghost"
        disabled={busy}
        onClick={pause}
        aria-label={`Pause ${name}`}
      >
        Pause
      </button>
      <button
        type="button"
        className="btn small ghost"
        disabled={busy}
        onClick={() => setConfirming(true)}
        aria-label={`Remove ${name}`}
      >
        Remove
      </button>
    </span>
  );
}
