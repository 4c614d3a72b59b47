/**
 * Who may do what, as a pure function of the method and the route (README "Authentication"):
 * health checks and the dashboard's static files are open; reading the API, the live feed and
 * /metrics needs a viewer; acknowledging an alert is an on-call action a viewer may take; every
 * other change (targets, silences, anything added later) needs an admin, and so does reading the
 * API keys and the audit log.
 */
import { isWrite } from "../http/methods.ts";

/** What a request needs. */
export type Access = "open" | "viewer" | "admin";

/** Sign-in endpoints: open, they check credentials themselves. */
export const AUTH_ROUTES = new Set([
  "/api/v1/auth/login",
  "/api/v1/auth/logout",
  "/api/v1/auth/me",
  "/api/v1/auth/methods",
  "/api/v1/auth/oidc/login",
  "/api/v1/auth/oidc/callback",
]);

/** Reads only an admin may make (issue 17): the API keys and the audit log. */
const ADMIN_READS = new Set(["/api/v1/keys", "/api/v1/audit"]);

/** Changes a viewer may make: acknowledging an alert (it changes no rule and mutes no one else). */
const VIEWER_WRITES = new Set(["POST /api/v1/alerts/:id/ack"]);

/**
 * The access `method` on `route` needs. `route` is the matched route pattern
 * (`/api/v1/alerts/:id/ack`) or, for requests no specific route matched, the decoded path.
 */
export function requiredAccess(method: string, route: string): Access {
  if (AUTH_ROUTES.has(route)) return "open";
  const isApi = route === "/api" || route.startsWith("/api/") || route === "/metrics";
  if (!isApi) return "open";
  if (!isWrite(method)) return ADMIN_READS.has(route) ? "admin" : "viewer";
  return VIEWER_WRITES.has(`${method.toUpperCase()} ${route}`) ? "viewer" : "admin";
}
