/**
 * A target row's admin buttons (issue 17): Edit opens the form with the stored definition
 * (GET /api/v1/targets/:name; targets from the config file are read-only and say so), Remove
 * asks to confirm, then DELETE (the target's threads and usage stay).
 */
import { type TargetAdminView, TargetAdminViewSchema } from "@codex-fleet/protocol/targets";
import { useState } from "react";
import { apiFetch, apiSend, errorMessage } from "../../lib/api-client.ts";

const READ_ONLY = "comes from the config file: change it there";

export function TargetAdminActions({
  name,
  onEdit,
  onNotice,
}: {
  name: string;
  onEdit: (target: TargetAdminView) => void;
  onNotice: (text: string) => void;
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
        onClick={() => setConfirming(true)}
        aria-label={`Remove ${name}`}
      >
        Remove
      </button>
    </span>
  );
}
