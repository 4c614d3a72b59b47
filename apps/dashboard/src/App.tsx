/** Application shell: live feed provider, header, and the route → page switch. */
import { lazy, Suspense } from "react";
import { AppHeader } from "./components/AppHeader.tsx";
import { ErrorBoundary } from "./components/ErrorBoundary.tsx";
import { EmptyState, LoadingState } from "./components/StateViews.tsx";
import { Link, matchRoute, useLocation } from "./lib/router.tsx";
import { useTheme } from "./lib/useTheme.ts";
import { LiveProvider } from "./live/LiveProvider.tsx";
import type { LiveFeedOptions } from "./live/useLiveFeed.ts";
import { AccessPage } from "./pages/AccessPage.tsx";
import { AlertsPage } from "./pages/AlertsPage.tsx";
import { AuditPage } from "./pages/AuditPage.tsx";
import { FleetPage } from "./pages/FleetPage.tsx";
import { TargetsPage } from "./pages/TargetsPage.tsx";

// The chart pages pull in recharts (its own chunk): load them only when visited.
const UsagePage = lazy(() => import("./pages/UsagePage.tsx"));
const ActivityPage = lazy(() => import("./pages/ActivityPage.tsx"));
const LimitsPage = lazy(() => import("./pages/LimitsPage.tsx"));
const ThreadPage = lazy(() => import("./pages/ThreadPage.tsx"));
const PricesPage = lazy(() => import("./pages/PricesPage.tsx"));

const ROUTES: [string, string][] = [
  ["fleet", "/"],
  ["usage", "/usage"],
  ["activity", "/activity"],
  ["limits", "/limits"],
  ["thread", "/threads/:id"],
  ["targets", "/targets"],
  ["alerts", "/alerts"],
  ["prices", "/prices"],
  ["access", "/access"],
  ["audit", "/audit"],
];

/** The whole dashboard; `liveOptions` lets tests inject a fake WebSocket. */
export function App({ liveOptions }: { liveOptions?: LiveFeedOptions }) {
  const { pathname } = useLocation();
  const [theme, setTheme] = useTheme();
  const route = matchRoute(pathname, ROUTES);
  return (
    <LiveProvider options={liveOptions}>
      <AppHeader pathname={pathname} theme={theme} onThemeChange={setTheme} />
      <main className="page">
        <ErrorBoundary resetKey={pathname}>
          <Suspense fallback={<LoadingState label="Loading view…" />}>
            {route?.name === "fleet" && <FleetPage />}
            {route?.name === "usage" && <UsagePage />}
            {route?.name === "activity" && <ActivityPage />}
            {route?.name === "limits" && <LimitsPage />}
            {route?.name === "thread" && (
              <ThreadPage key={route.params.id} threadId={route.params.id ?? ""} />
            )}
            {route?.name === "targets" && <TargetsPage />}
            {route?.name === "alerts" && <AlertsPage />}
            {route?.name === "prices" && <PricesPage />}
            {route?.name === "access" && <AccessPage />}
            {route?.name === "audit" && <AuditPage />}
            {!route && (
              <EmptyState title="Page not found">
                <p>
                  Nothing lives at <code>{pathname}</code>. <Link href="/">Back to the fleet</Link>
                </p>
              </EmptyState>
            )}
          </Suspense>
        </ErrorBoundary>
      </main>
    </LiveProvider>
  );
}
