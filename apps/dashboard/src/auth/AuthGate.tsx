/**
 * Shows the dashboard to a signed-in user and the sign-in page otherwise. Asks the collector who
 * we are (GET /api/v1/auth/me) at start and goes back to the sign-in page whenever an API call
 * answers 401 (the session expired or the collector restarted). A loopback collector has auth off:
 * `me` says so and the dashboard shows at once.
 */
import { type AuthMe, AuthMeSchema, LogoutResultSchema } from "@codex-fleet/protocol/auth";
import { createContext, type ReactNode, useCallback, useContext, useEffect, useState } from "react";
import { ErrorState, LoadingState } from "../components/StateViews.tsx";
import { ApiRequestError, apiFetch, apiSendFor, UNAUTHORIZED_EVENT } from "../lib/api-client.ts";
import { LoginPage } from "./LoginPage.tsx";

/** The signed-in user, for the header's sign-out button. */
export type Auth = { me: AuthMe; signOut: () => Promise<void> };

const AuthContext = createContext<Auth | null>(null);

/** The current user inside <AuthGate>, or null (tests that render <App/> alone). */
export function useAuth(): Auth | null {
  return useContext(AuthContext);
}

type GateState =
  | { kind: "checking" }
  | { kind: "signedOut" }
  | { kind: "signedIn"; me: AuthMe }
  | { kind: "error"; error: unknown };

/**
 * True when the signed-in user may change things (admin; everyone when auth is off, as /auth/me
 * says). Viewers see no admin controls. Outside <AuthGate> (tests of <App/> alone) there is no
 * sign-in at all, as with auth off: admin.
 */
export function useIsAdmin(): boolean {
  return (useContext(AuthContext)?.me.role ?? "admin") === "admin";
}

/** Wraps the app: see the module comment. */
export function AuthGate({ children }: { children: ReactNode }) {
  const [state, setState] = useState<GateState>({ kind: "checking" });
  const [generation, setGeneration] = useState(0);

  // biome-ignore lint/correctness/useExhaustiveDependencies: generation is the retry trigger.
  useEffect(() => {
    const controller = new AbortController();
    apiFetch("/api/v1/auth/me", AuthMeSchema, { signal: controller.signal }).then(
      (me) => setState({ kind: "signedIn", me }),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setState(
          error instanceof ApiRequestError && error.status === 401
            ? { kind: "signedOut" }
            : { kind: "error", error },
        );
      },
    );
    return () => controller.abort();
  }, [generation]);

  useEffect(() => {
    const onUnauthorized = () =>
      setState((s) => (s.kind === "signedIn" && !s.me.authEnabled ? s : { kind: "signedOut" }));
    window.addEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
  }, []);

  const signOut = useCallback(async () => {
    try {
      // A single sign-on session may also end at the identity provider (auth.oidc.providerLogout).
      const next = await apiSendFor("/api/v1/auth/logout", LogoutResultSchema, { method: "POST" });
      if (next !== undefined) {
        window.location.assign(next.redirectTo);
        return;
      }
    } finally {
      setState({ kind: "signedOut" });
    }
  }, []);

  if (state.kind === "checking") return <LoadingState label="Connecting to the collector…" />;
  if (state.kind === "error")
    return (
      <ErrorState
        title="Could not reach the collector"
        error={state.error}
        onRetry={() => {
          setState({ kind: "checking" });
          setGeneration((g) => g + 1);
        }}
      />
    );
  if (state.kind === "signedOut")
    return <LoginPage onSignedIn={(me) => setState({ kind: "signedIn", me })} />;
  return <AuthContext.Provider value={{ me: state.me, signOut }}>{children}</AuthContext.Provider>;
}
