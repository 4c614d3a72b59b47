/** Creates an API key and shows its secret once, with a copy button. */
import {
  type ApiKeyCreated,
  ApiKeyCreatedSchema,
  type ApiKeyCreateRequest,
} from "@codex-fleet/protocol/keys";
import { type FormEvent, useState } from "react";
import { apiFetch, errorMessage } from "../../lib/api-client.ts";

const EXPIRIES: [label: string, days: number | null][] = [
  ["Never", null],
  ["30 days", 30],
  ["90 days", 90],
  ["1 year", 365],
];

/** POSTs /api/v1/keys; `nowMs` is injectable for tests. */
export function CreateKeyForm({
  onCreated,
  nowMs = Date.now,
}: {
  onCreated: () => void;
  nowMs?: () => number;
}) {
  const [name, setName] = useState("");
  const [role, setRole] = useState<"viewer" | "admin">("viewer");
  const [days, setDays] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    const body: ApiKeyCreateRequest = {
      name: name.trim(),
      role,
      expiresAt: days === null ? null : new Date(nowMs() + days * 86_400_000).toISOString(),
    };
    try {
      setCreated(await apiFetch("/api/v1/keys", ApiKeyCreatedSchema, { method: "POST", body }));
      setName("");
      onCreated();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      {created !== null && <NewSecret created={created} onDone={() => setCreated(null)} />}
      <form className="silence-form" onSubmit={submit} aria-label="Create an API key">
        <label className="field" style={{ flex: 1, minWidth: 200 }}>
          Name
          <input
            className="input"
            value={name}
            onChange={(event) => setName(event.target.value)}
            placeholder="What uses it, e.g. ci-deploy"
            maxLength={100}
          />
        </label>
        <label className="field">
          Role
          <select
            className="select"
            value={role}
            onChange={(event) => setRole(event.target.value === "admin" ? "admin" : "viewer")}
          >
            <option value="viewer">viewer (read)</option>
            <option value="admin">admin (read and change)</option>
          </select>
        </label>
        <label className="field">
          Expires
          <select
            className="select"
            value={days ?? ""}
            onChange={(event) => setDays(event.target.value === "" ? null : Number(event.target.value))}
          >
            {EXPIRIES.map(([label, value]) => (
              <option key={label} value={value ?? ""}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <div className="silence-actions">
          <button type="submit" className="btn primary" disabled={busy || name.trim() === ""}>
            {busy ? "Creating…" : "Create key"}
          </button>
        </div>
        {error !== undefined && (
          <div className="form-note error" role="alert">
            {errorMessage(error)}
          </div>
        )}
      </form>
    </>
  );
}

/** The secret of a key just created: shown this once. */
function NewSecret({ created, onDone }: { created: ApiKeyCreated; onDone: () => void }) {
  const [copied, setCopied] = useState<boolean | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.secret);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  return (
    <div className="banner warn" role="status" data-testid="new-key-secret">
      <div style={{ display: "grid", gap: 6, flex: 1, minWidth: 0 }}>
        <strong>Key {created.name} created. Copy its secret now: it is not shown again.</strong>
        <input
          className="input mono"
          readOnly
          value={created.secret}
          aria-label={`Secret of ${created.name}`}
          onFocus={(event) => event.target.select()}
        />
        {copied === false && <span>Could not copy: select the text and copy it yourself.</span>}
      </div>
      <button type="button" className="btn small" onClick={() => void copy()}>
        {copied ? "Copied" : "Copy"}
      </button>
      <button type="button" className="btn small ghost" onClick={onDone}>
        Done
      </button>
    </div>
  );
}
