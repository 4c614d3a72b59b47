/** Top bar: navigation, firing-alert count, live-feed state, the theme toggle and sign-out. */
import { useAuth, useIsAdmin } from "../auth/AuthGate.tsx";
import { formatDuration } from "../lib/format.ts";
import { Link } from "../lib/router.tsx";
import type { ThemePreference } from "../lib/useTheme.ts";
import { useLive } from "../live/LiveProvider.tsx";
import { useNow } from "../live/useNow.ts";

const NAV: { href: string; label: string; match: (path: string) => boolean; adminOnly?: boolean }[] = [
  { href: "/", label: "Fleet", match: (path) => path === "/" || path.startsWith("/threads/") },
  { href: "/usage", label: "Usage & cost", match: (path) => path.startsWith("/usage") },
  { href: "/activity", label: "Activity", match: (path) => path.startsWith("/activity") },
  { href: "/limits", label: "Plan limits", match: (path) => path.startsWith("/limits") },
  { href: "/targets", label: "Targets", match: (path) => path.startsWith("/targets") },
  { href: "/alerts", label: "Alerts", match: (path) => path.startsWith("/alerts") },
  { href: "/prices", label: "Prices", match: (path) => path.startsWith("/prices") },
  { href: "/access", label: "Access", match: (path) => path.startsWith("/access"), adminOnly: true },
  { href: "/audit", label: "Audit", match: (path) => path.startsWith("/audit"), adminOnly: true },
];

/** The sticky application header. */
export function AppHeader({
  pathname,
  theme,
  onThemeChange,
}: {
  pathname: string;
  theme: ThemePreference;
  onThemeChange: (next: ThemePreference) => void;
}) {
  const { data, alertsEnabled } = useLive();
  const firing = [...data.alerts.values()].filter((alert) => alert.state === "firing" && !alert.silenced);
  const critical = firing.some((alert) => alert.severity === "critical");
  // Viewers see no admin pages.
  const isAdmin = useIsAdmin();
  return (
    <header className="app-header">
      <Link href="/" className="brand" aria-label="codex-fleet home">
        <span className="brand-mark" aria-hidden>
          cf
        </span>
        codex-fleet
      </Link>
      <nav className="nav" aria-label="Main">
        {NAV.filter((item) => isAdmin || !item.adminOnly).map((item) => (
          <Link key={item.href} href={item.href} aria-current={item.match(pathname) ? "page" : undefined}>
            {item.label}
            {item.href === "/alerts" && alertsEnabled !== false && firing.length > 0 && (
              <span
                className={`badge ${critical ? "err" : "warn"}`}
                data-testid="header-alert-count"
                title={`${firing.length} firing alert${firing.length === 1 ? "" : "s"}`}
              >
                {firing.length}
              </span>
            )}
          </Link>
        ))}
      </nav>
      <div className="header-right">
        <LiveIndicator />
        <ThemeToggle theme={theme} onChange={onThemeChange} />
        <SignOut />
      </div>
    </header>
  );
}

/** "Live" / "Connecting…" / "Reconnecting in 4s" with a click-to-retry while waiting. */
function LiveIndicator() {
  const { connection, retry } = useLive();
  useNow(); // re-render every second so the countdown below ticks
  if (connection.state === "open") {
    return (
      <span
        className="live-indicator"
        data-testid="live-state"
        data-state="open"
        title="Receiving live updates"
      >
        <span className="dot ok" />
        Live
      </span>
    );
  }
  if (connection.state === "waiting") {
    // retryAtMs is in client time (the socket's clock), not the server-corrected one.
    const inMs = Math.max(0, (connection.retryAtMs ?? Date.now()) - Date.now());
    return (
      <button
        type="button"
        className="btn ghost small live-indicator"
        data-testid="live-state"
        data-state="waiting"
        title={`Live feed disconnected: ${connection.lastError ?? "unknown"}. Click to retry now.`}
        onClick={retry}
      >
        <span className="dot err" />
        Reconnecting in {formatDuration(Math.ceil(inMs / 1000) * 1000)}
      </button>
    );
  }
  return (
    <span className="live-indicator" data-testid="live-state" data-state={connection.state}>
      <span className="dot warn" />
      {connection.state === "connecting" ? "Connecting…" : "Offline"}
    </span>
  );
}

/**
 * Who is signed in — a person's name (email on hover) or an API key's name; a static token's
 * session is named by its role on the button — and a sign-out button, when auth is on.
 */
function SignOut() {
  const auth = useAuth();
  if (!auth?.me.authEnabled) return null;
  const principal = auth.me.principal;
  const named = principal !== undefined && (principal.kind === "oidc" || principal.kind === "apiKey");
  return (
    <>
      {named && (
        <span className="faint" data-testid="signed-in-as" title={principal.email ?? undefined}>
          {principal.name}
          {principal.email !== null && principal.email !== principal.name ? ` · ${principal.email}` : ""}
        </span>
      )}
      <SignOutButton role={auth.me.role} onClick={() => void auth.signOut()} />
    </>
  );
}

function SignOutButton({ role, onClick }: { role: string; onClick: () => void }) {
  return (
    <button
      type="button"
      className="btn ghost small"
      data-testid="sign-out"
      title={`Signed in as ${role}`}
      onClick={onClick}
    >
      Sign out ({role})
    </button>
  );
}

const NEXT_THEME: Record<ThemePreference, ThemePreference> = {
  system: "light",
  light: "dark",
  dark: "system",
};

/** Cycles system → light → dark. */
function ThemeToggle({
  theme,
  onChange,
}: {
  theme: ThemePreference;
  onChange: (next: ThemePreference) => void;
}) {
  return (
    <button
      type="button"
      className="btn ghost icon-btn"
      aria-label={`Theme: ${theme} (click for ${NEXT_THEME[theme]})`}
      title={`Theme: ${theme}`}
      data-testid="theme-toggle"
      onClick={() => onChange(NEXT_THEME[theme])}
    >
      <svg
        width="16"
        height="16"
        viewBox="0 0 16 16"
        aria-hidden
        fill="none"
        stroke="currentColor"
        strokeWidth="1.5"
      >
        {theme === "light" && (
          <>
            <circle cx="8" cy="8" r="3" />
            <path d="M8 1.5v1.5M8 13v1.5M1.5 8H3M13 8h1.5M3.4 3.4l1 1M11.6 11.6l1 1M3.4 12.6l1-1M11.6 4.4l1-1" />
          </>
        )}
        {theme === "dark" && <path d="M13 9.5A5.5 5.5 0 0 1 6.5 3a5.5 5.5 0 1 0 6.5 6.5z" />}
        {theme === "system" && (
          <>
            <rect x="2" y="3" width="12" height="8" rx="1.5" />
            <path d="M5.5 14h5M8 11v3" />
          </>
        )}
      </svg>
    </button>
  );
}
