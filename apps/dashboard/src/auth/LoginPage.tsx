/**
 * The sign-in page: "Sign in with <provider>" when the collector offers single sign-on (GET
 * /api/v1/auth/methods; a plain navigation to the provider and back), and the token field. The
 * token goes to POST /api/v1/auth/login, which answers with an httpOnly session cookie; the token
 * itself is never stored in the browser.
 */
import {
  type AuthMe,
  AuthMeSchema,
  type AuthMethods,
  AuthMethodsSchema,
  type LoginRequest,
} from "@codex-fleet/protocol/auth";
import { type FormEvent, useEffect, useState } from "react";
import { ApiRequestError, apiFetch, errorMessage } from "../lib/api-client.ts";

/** What to tell the user about a failed sign-in. */
function problem(error: unknown): string {
  if (error instanceof ApiRequestError) {
    if (error.status === 401) return "That token was not accepted. Check it and try again.";
    if (error.status === 429)
      return "Too many attempts from this address. Wait a few minutes, then try again.";
  }
  return errorMessage(error);
}

/** Calls `onSignedIn` with the new session's role. */
export function LoginPage({ onSignedIn }: { onSignedIn: (me: AuthMe) => void }) {
  const [token, setToken] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [sso, setSso] = useState<AuthMethods["oidc"]>(null);

  useEffect(() => {
    const controller = new AbortController();
    // An older collector has no such route: then there is only the token form.
    apiFetch("/api/v1/auth/methods", AuthMethodsSchema, { signal: controller.signal }).then(
      (methods) => setSso(methods.oidc),
      () => {},
    );
    return () => controller.abort();
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body: LoginRequest = { token };
      const me = await apiFetch("/api/v1/auth/login", AuthMeSchema, { method: "POST", body });
      setToken("");
      onSignedIn(me);
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  };

  return (
    <main className="page">
      <form
        className="card"
        style={{ maxWidth: 400, margin: "12vh auto 0" }}
        onSubmit={submit}
        aria-label="Sign in to codex-fleet"
      >
        <div className="card-head">
          <span className="brand-mark" aria-hidden>
            cf
          </span>
          <h2>Sign in to codex-fleet</h2>
        </div>
        <div className="card-body" style={{ display: "grid", gap: 12 }}>
          {sso !== null && (
            <>
              <a className="btn primary" href={sso.loginUrl} data-testid="sign-in-sso">
                Sign in with {sso.label}
              </a>
              <p className="faint" style={{ margin: 0 }}>
                Or, for operators and break-glass access:
              </p>
            </>
          )}
          <p className="faint" style={{ margin: 0 }}>
            This collector needs an access token: the admin or viewer token its operator configured.
          </p>
          <label className="field">
            Access token
            <input
              className="input"
              type="password"
              name="token"
              autoComplete="current-password"
              value={token}
              onChange={(e) => setToken(e.target.value)}
              // biome-ignore lint/a11y/noAutofocus: the only field on the page.
              autoFocus
              required
            />
          </label>
          {error !== undefined && (
            <div className="form-note error" role="alert">
              {problem(error)}
            </div>
          )}
          <button type="submit" className="btn primary" disabled={busy || token.trim() === ""}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
        </div>
      </form>
    </main>
  );
}
