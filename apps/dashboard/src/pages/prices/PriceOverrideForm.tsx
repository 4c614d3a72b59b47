/**
 * Add a price override (issue 17, admin): model, date, and USD per 1M tokens for input, cached
 * input, output and optionally cache writes. Checked here for the obvious (numbers, a date), and
 * the collector's 400 naming a field lands under that field. Adding re-prices history.
 */
import { PriceOverrideChangeSchema } from "@codex-fleet/protocol/pricing";
import { type FormEvent, useId, useState } from "react";
import { ApiRequestError, apiFetch, errorMessage } from "../../lib/api-client.ts";
import { formatInteger } from "../../lib/format.ts";

type Field =
  | "model"
  | "effectiveFrom"
  | "inputUsdPerMTok"
  | "cachedInputUsdPerMTok"
  | "outputUsdPerMTok"
  | "cacheWriteUsdPerMTok";

const LABELS: Record<Field, string> = {
  model: "Model",
  effectiveFrom: "Effective from (UTC date)",
  inputUsdPerMTok: "Input $/1M",
  cachedInputUsdPerMTok: "Cached input $/1M",
  outputUsdPerMTok: "Output $/1M",
  cacheWriteUsdPerMTok: "Cache write $/1M (optional)",
};
const PRICES: Field[] = [
  "inputUsdPerMTok",
  "cachedInputUsdPerMTok",
  "outputUsdPerMTok",
  "cacheWriteUsdPerMTok",
];

export function PriceOverrideForm({ onAdded }: { onAdded: () => void }) {
  const id = useId();
  const [values, setValues] = useState<Record<Field, string>>({
    model: "",
    effectiveFrom: new Date().toISOString().slice(0, 10),
    inputUsdPerMTok: "",
    cachedInputUsdPerMTok: "",
    outputUsdPerMTok: "",
    cacheWriteUsdPerMTok: "",
  });
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setFailure(null);
    setDone(null);
    const problems: Partial<Record<Field, string>> = {};
    if (values.model.trim() === "") problems.model = "Model is required";
    if (!/^\d{4}-\d{2}-\d{2}$/.test(values.effectiveFrom)) problems.effectiveFrom = "Date must be YYYY-MM-DD";
    const prices: Partial<Record<Field, number>> = {};
    for (const f of PRICES) {
      const text = values[f].trim();
      if (text === "" && f === "cacheWriteUsdPerMTok") continue;
      const n = Number(text);
      if (text === "" || !Number.isFinite(n) || n < 0) problems[f] = `${LABELS[f]} must be a number ≥ 0`;
      else prices[f] = n;
    }
    setErrors(problems);
    if (Object.keys(problems).length > 0) return;
    setBusy(true);
    try {
      const change = await apiFetch("/api/v1/pricing/overrides", PriceOverrideChangeSchema, {
        method: "POST",
        body: { model: values.model.trim(), effectiveFrom: values.effectiveFrom, ...prices },
      });
      setDone(
        change.repricing
          ? `Added. Re-pricing ${formatInteger(change.repricing.rowsTotal)} usage rows in the background.`
          : "Added. No stored usage is affected.",
      );
      setValues((v) => ({
        ...v,
        model: "",
        inputUsdPerMTok: "",
        cachedInputUsdPerMTok: "",
        outputUsdPerMTok: "",
        cacheWriteUsdPerMTok: "",
      }));
      onAdded();
    } catch (error) {
      const param = error instanceof ApiRequestError ? error.param?.split(".")[0] : undefined;
      if (param && param in LABELS) setErrors({ [param as Field]: (error as Error).message });
      else setFailure(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="card form-grid"
      style={{ padding: 14 }}
      aria-label="Add a price override"
      onSubmit={submit}
      noValidate
    >
      <h2>Add a price override</h2>
      {(Object.keys(LABELS) as Field[]).map((f) => (
        <label key={f} className="field" htmlFor={`${id}-${f}`}>
          {LABELS[f]}
          <input
            id={`${id}-${f}`}
            className={`input${f === "model" ? " mono" : ""}`}
            type={f === "effectiveFrom" ? "date" : "text"}
            inputMode={PRICES.includes(f) ? "decimal" : undefined}
            aria-invalid={errors[f] ? true : undefined}
            aria-describedby={errors[f] ? `${id}-${f}-error` : undefined}
            value={values[f]}
            onChange={(e) => setValues((v) => ({ ...v, [f]: e.target.value }))}
          />
          {errors[f] && (
            <span className="form-note error" id={`${id}-${f}-error`} role="alert">
              {errors[f]}
            </span>
          )}
        </label>
      ))}
      {failure && (
        <div className="form-note error" role="alert">
          {failure}
        </div>
      )}
      {done && (
        <div className="form-note" role="status" data-testid="override-added">
          {done}
        </div>
      )}
      <div className="row">
        <button type="submit" className="btn primary" disabled={busy}>
          {busy ? "Adding…" : "Add override"}
        </button>
      </div>
    </form>
  );
}
