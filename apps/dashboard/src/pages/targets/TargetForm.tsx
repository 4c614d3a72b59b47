/**
 * Add or edit a target (issue 17, admin only): name, URL, team, labels, bearer token, insecure
 * flag. The URL is checked as the collector checks it (protocol targetUrlSchema); the connection
 * is tested (POST /api/v1/targets/test: initialize, then close) before saving, and a failure shows
 * its reason, with "Save anyway" for a server that is down right now. The collector's 400s land
 * on the field they name. A token is never shown: on edit, an empty field keeps the stored one.
 * "Token from: field / file / environment" is offered only when the collector allows files or
 * variables (server.targetSecrets, told to admins by GET /api/v1/auth/me); it checks the path
 * and the name itself (inside its directory, with its prefix) and its 400s land on the field.
 */
import {
  TARGET_NAME_MESSAGE,
  TARGET_NAME_PATTERN,
  type TargetAdminView,
  TargetAdminViewSchema,
  type TargetTestResult,
  TargetTestResultSchema,
  type TargetTokenSource,
  targetUrlSchema,
} from "@codex-fleet/protocol/targets";
import { type FormEvent, useId, useState } from "react";
import { ApiRequestError, apiFetch, errorMessage } from "../../lib/api-client.ts";
import { targetReasonHint } from "../../lib/status.ts";

const urlSchema = targetUrlSchema("enter the token in the Token field");

type Field = "name" | "url" | "team" | "labels" | "token" | "tokenFile" | "tokenEnv";
const FIELDS: readonly string[] = ["name", "url", "team", "labels", "token", "tokenFile", "tokenEnv"];

const SOURCE_LABELS: Record<TargetTokenSource, string> = {
  token: "field",
  file: "file",
  env: "environment",
};

/** `key=value` pairs separated by commas or new lines; an error text for a malformed pair. */
export function parseLabels(text: string): Record<string, string> | string {
  const labels: Record<string, string> = {};
  for (const part of text.split(/[,\n]/)) {
    const pair = part.trim();
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    if (eq <= 0) return `"${pair}" is not key=value`;
    labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return labels;
}

const labelsText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");

/** The form; `editing` is the stored target's admin view (null: a new target). */
export function TargetForm({
  editing,
  tokenSources = ["token"],
  onSaved,
  onCancel,
}: {
  editing: TargetAdminView | null;
  /** Where the collector lets a token come from; a choice appears when there is more than the field. */
  tokenSources?: readonly TargetTokenSource[];
  onSaved: (target: TargetAdminView) => void;
  onCancel: () => void;
}) {
  const id = useId();
  const [name, setName] = useState(editing?.name ?? "");
  const [url, setUrl] = useState(editing?.url ?? "");
  const [team, setTeam] = useState(editing?.team ?? "");
  const [labels, setLabels] = useState(labelsText(editing?.labels ?? {}));
  const [token, setToken] = useState("");
  const storedSource: TargetTokenSource | null = editing?.tokenFile
    ? "file"
    : editing?.tokenEnv
      ? "env"
      : null;
  const [source, setSource] = useState<TargetTokenSource>(storedSource ?? "token");
  const [tokenFile, setTokenFile] = useState(editing?.tokenFile ?? "");
  const [tokenEnv, setTokenEnv] = useState(editing?.tokenEnv ?? "");
  const [removeToken, setRemoveToken] = useState(false);
  const [allowInsecure, setAllowInsecure] = useState(editing?.allowInsecure ?? false);
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [tested, setTested] = useState<TargetTestResult | null>(null);
  const [busy, setBusy] = useState<"testing" | "saving" | null>(null);

  /** The request body, or null after marking what is wrong. */
  const body = () => {
    const problems: Partial<Record<Field, string>> = {};
    if (!editing && !TARGET_NAME_PATTERN.test(name)) problems.name = `Name ${TARGET_NAME_MESSAGE}`;
    const checked = urlSchema.safeParse(url.trim());
    if (!checked.success) problems.url = `URL ${checked.error.issues[0]?.message ?? "is invalid"}`;
    const parsedLabels = parseLabels(labels);
    if (typeof parsedLabels === "string") problems.labels = `Labels: ${parsedLabels}`;
    if (/\s/.test(token.trim())) problems.token = "Token must not contain whitespace";
    setErrors(problems);
    if (Object.keys(problems).length > 0 || typeof parsedLabels === "string") return null;
    const trimmed = token.trim();
    const file = tokenFile.trim();
    const env = tokenEnv.trim();
    return {
      url: url.trim(),
      team: team.trim(),
      labels: parsedLabels,
      allowInsecure,
      // Edit: empty keeps the stored token (omitted); "remove" sends null.
      ...(removeToken
        ? { token: null }
        : source === "file" && file !== ""
          ? { tokenFile: file }
          : source === "env" && env !== ""
            ? { tokenEnv: env }
            : source === "token" && trimmed !== ""
              ? { token: trimmed }
              : {}),
    };
  };

  /** A 400 naming a field goes under it; anything else above the buttons. */
  const showError = (error: unknown) => {
    if (error instanceof ApiRequestError && error.status === 400 && error.param) {
      const field = error.param.split(".")[0] as Field;
      if (FIELDS.includes(field)) {
        setErrors({ [field]: error.message });
        return;
      }
    }
    setFailure(errorMessage(error));
  };

  const save = async (definition: NonNullable<ReturnType<typeof body>>) => {
    setBusy("saving");
    try {
      const saved = editing
        ? await apiFetch(`/api/v1/targets/${encodeURIComponent(editing.name)}`, TargetAdminViewSchema, {
            method: "PUT",
            body: definition,
          })
        : await apiFetch("/api/v1/targets", TargetAdminViewSchema, {
            method: "POST",
            body: { name, ...definition },
          });
      onSaved(saved);
    } catch (error) {
      showError(error);
    } finally {
      setBusy(null);
    }
  };

  const testThenSave = async (event: FormEvent) => {
    event.preventDefault();
    setFailure(null);
    setTested(null);
    const definition = body();
    if (definition === null) return;
    setBusy("testing");
    let result: TargetTestResult;
    try {
      result = await apiFetch("/api/v1/targets/test", TargetTestResultSchema, {
        method: "POST",
        body: { ...(editing ? { name: editing.name } : {}), ...definition },
      });
    } catch (error) {
      setBusy(null);
      showError(error);
      return;
    }
    setBusy(null);
    setTested(result);
    if (result.ok) await save(definition);
  };

  const field = (f: Field) => ({
    id: `${id}-${f}`,
    "aria-invalid": errors[f] ? true : undefined,
    "aria-describedby": errors[f] ? `${id}-${f}-error` : undefined,
  });
  const fieldError = (f: Field) =>
    errors[f] ? (
      <span className="form-note error" id={`${id}-${f}-error`} role="alert">
        {errors[f]}
      </span>
    ) : null;
  const reason = tested && !tested.ok ? targetReasonHint(tested.reason) : null;

  return (
    <form
      className="card form-grid"
      style={{ padding: 14, marginBottom: 14 }}
      aria-label={editing ? `Edit target ${editing.name}` : "Add a target"}
      onSubmit={testThenSave}
      noValidate
    >
      <h2>{editing ? `Edit ${editing.name}` : "Add a target"}</h2>
      <label className="field" htmlFor={`${id}-name`}>
        Name
        <input
          className="input"
          {...field("name")}
          value={name}
          disabled={editing !== null}
          onChange={(e) => setName(e.target.value)}
        />
        {fieldError("name")}
      </label>
      <label className="field" htmlFor={`${id}-url`}>
        App-server URL
        <input
          className="input mono"
          {...field("url")}
          placeholder="wss://alice-dev.example.com:4500"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
        />
        {fieldError("url")}
      </label>
      <label className="field" htmlFor={`${id}-team`}>
        Team
        <input className="input" {...field("team")} value={team} onChange={(e) => setTeam(e.target.value)} />
        {fieldError("team")}
      </label>
      <label className="field" htmlFor={`${id}-labels`}>
        Labels (key=value, comma separated)
        <input
          className="input"
          {...field("labels")}
          placeholder="site=berlin, tier=dev"
          value={labels}
          onChange={(e) => setLabels(e.target.value)}
        />
        {fieldError("labels")}
      </label>
      {tokenSources.length > 1 && (
        <fieldset className="segmented" aria-label="Token from">
          <span className="faint">Token from:</span>
          {tokenSources.map((s) => (
            <button
              key={s}
              type="button"
              className={source === s ? "active" : ""}
              aria-pressed={source === s}
              onClick={() => setSource(s)}
            >
              {SOURCE_LABELS[s]}
            </button>
          ))}
        </fieldset>
      )}
      {source === "token" && (
        <label className="field" htmlFor={`${id}-token`}>
          Bearer token
          <input
            className="input mono"
            type="password"
            autoComplete="off"
            {...field("token")}
            placeholder={
              editing?.hasToken && storedSource === null ? "(stored — leave empty to keep it)" : "(none)"
            }
            value={token}
            onChange={(e) => setToken(e.target.value)}
          />
          <span className="form-note">
            Stored encrypted and never shown again.
            {tokenSources.length > 1
              ? ""
              : " Token files and environment variables are set in the config file (or allowed by server.targetSecrets)."}
          </span>
          {fieldError("token")}
        </label>
      )}
      {source === "file" && (
        <label className="field" htmlFor={`${id}-tokenFile`}>
          Token file on the collector's host
          <input
            className="input mono"
            {...field("tokenFile")}
            placeholder="alice.token (inside the collector's token directory)"
            value={tokenFile}
            onChange={(e) => setTokenFile(e.target.value)}
          />
          <span className="form-note">The collector reads it; only files inside its token directory.</span>
          {fieldError("tokenFile")}
        </label>
      )}
      {source === "env" && (
        <label className="field" htmlFor={`${id}-tokenEnv`}>
          Environment variable of the collector
          <input
            className="input mono"
            {...field("tokenEnv")}
            placeholder="CODEX_FLEET_TARGET_ALICE"
            value={tokenEnv}
            onChange={(e) => setTokenEnv(e.target.value)}
          />
          <span className="form-note">Only names with the collector's allowed prefix.</span>
          {fieldError("tokenEnv")}
        </label>
      )}
      {editing?.hasToken && (
        <label className="field" style={{ flexDirection: "row", gap: 6 }}>
          <input type="checkbox" checked={removeToken} onChange={(e) => setRemoveToken(e.target.checked)} />
          Remove the token (send none)
        </label>
      )}
      <label className="field" style={{ flexDirection: "row", gap: 6 }}>
        <input type="checkbox" checked={allowInsecure} onChange={(e) => setAllowInsecure(e.target.checked)} />
        Allow a token over plain ws:// to a non-loopback host (allowInsecure)
      </label>
      {tested && !tested.ok && (
        <div className="form-note error" role="alert" data-testid="target-test-failure">
          Connection test failed: {reason?.label ?? tested.reason}
          {tested.error ? ` — ${tested.error}` : ""}
          {reason ? <div className="faint">{reason.hint}</div> : null}
        </div>
      )}
      {tested?.ok && (
        <div className="form-note" data-testid="target-test-ok">
          Connected: codex {tested.codexVersion ?? "(version unknown)"}
        </div>
      )}
      {failure && (
        <div className="form-note error" role="alert">
          {failure}
        </div>
      )}
      <div className="row">
        <button type="button" className="btn ghost" onClick={onCancel}>
          Cancel
        </button>
        {tested && !tested.ok && (
          <button
            type="button"
            className="btn"
            disabled={busy !== null}
            onClick={() => {
              const definition = body();
              if (definition) void save(definition);
            }}
          >
            Save anyway
          </button>
        )}
        <button type="submit" className="btn primary" disabled={busy !== null}>
          {busy === "testing" ? "Testing…" : busy === "saving" ? "Saving…" : "Test and save"}
        </button>
      </div>
    </form>
  );
}
