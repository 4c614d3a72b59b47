/** Inline form that silences one alert's rule (for its subject, or everywhere) for a while. */
import type { AlertView, SilenceCreate, SilenceMatchers } from "@codex-fleet/protocol/api";
import { type FormEvent, useState } from "react";
import { apiSend, errorMessage } from "../../lib/api-client.ts";

const DURATIONS: [label: string, ms: number][] = [
  ["1 hour", 3_600_000],
  ["4 hours", 4 * 3_600_000],
  ["1 day", 86_400_000],
  ["1 week", 7 * 86_400_000],
];

/** Matchers for "this rule on this subject" or "this rule everywhere". */
export function silenceMatchers(alert: AlertView, scope: "subject" | "rule"): SilenceMatchers {
  if (scope === "rule") return { ruleId: alert.ruleId };
  if (alert.threadId) return { ruleId: alert.ruleId, threadId: alert.threadId };
  if (alert.subjectType === "team") return { ruleId: alert.ruleId, team: alert.subjectId };
  if (alert.target) return { ruleId: alert.ruleId, target: alert.target };
  return { ruleId: alert.ruleId };
}

/** POSTs /api/v1/silences; `nowMs` is injectable for tests. */
export function SilenceForm({
  alert,
  by,
  onDone,
  onCancel,
  nowMs = Date.now,
}: {
  alert: AlertView;
  by: string;
  onDone: () => void;
  onCancel: () => void;
  nowMs?: () => number;
}) {
  const [scope, setScope] = useState<"subject" | "rule">("subject");
  const [durationMs, setDurationMs] = useState(DURATIONS[0]?.[1] ?? 3_600_000);
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    const body: SilenceCreate = {
      matchers: silenceMatchers(alert, scope),
      endsAt: new Date(nowMs() + durationMs).toISOString(),
      comment: comment.trim(),
      createdBy: by,
    };
    try {
      await apiSend("/api/v1/silences", { method: "POST", body });
      onDone();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  };

  return (
    <form className="silence-form" onSubmit={submit} aria-label={`Silence ${alert.summary}`}>
      <label className="field">
        Scope
        <select
          className="select"
          value={scope}
          onChange={(event) => setScope(event.target.value as "subject" | "rule")}
        >
          <option value="subject">This rule for {alert.threadId ? "this thread" : alert.subjectId}</option>
          <option value="rule">Rule {alert.ruleId} everywhere</option>
        </select>
      </label>
      <label className="field">
        For
        <select
          className="select"
          value={durationMs}
          onChange={(event) => setDurationMs(Number(event.target.value))}
        >
          {DURATIONS.map(([label, ms]) => (
            <option key={ms} value={ms}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <label className="field" style={{ flex: 1, minWidth: 200 }}>
        Comment
        <input
          className="input"
          value={comment}
          onChange={(event) => setComment(event.target.value)}
          placeholder="Why (optional)"
        />
      </label>
      <div className="silence-actions">
        <button type="submit" className="btn primary" disabled={busy || !by}>
          {busy ? "Silencing…" : "Silence"}
        </button>
        <button type="button" className="btn ghost" onClick={onCancel}>
          Cancel
        </button>
      </div>
      {!by && <div className="form-note">Enter your name above first: silences record who made them.</div>}
      {error !== undefined && (
        <div className="form-note error" role="alert">
          {errorMessage(error)}
        </div>
      )}
    </form>
  );
}
