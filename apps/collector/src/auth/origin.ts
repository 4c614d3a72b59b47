/**
 * The Origin check (CSRF and cross-site WebSocket hijacking): a browser request that changes
 * state, or opens the live feed, must come from the collector's own origin. SameSite=Strict
 * already keeps the cookie off cross-site requests; this is the second, independent defence.
 */

/** The origins a request may come from, besides its own Host. */
export interface OriginPolicy {
  /** `server.publicUrl`'s origin (the address behind a TLS-terminating proxy), if any. */
  publicOrigin: string | null;
  /** `auth.allowedOrigins` (e.g. a Vite dev server that proxies to the collector). */
  allowed: readonly string[];
}

/**
 * True when `origin` (the Origin header) is the request's own host — same host and port as the
 * Host header, any scheme, since a TLS proxy may sit in between — or an allowed origin.
 */
export function originAllowed(origin: string, host: string | undefined, policy: OriginPolicy): boolean {
  if (!URL.canParse(origin)) return false;
  const url = new URL(origin);
  if (url.protocol !== "http:" && url.protocol !== "https:") return false;
  // Compare as URLs so that default ports agree (`Host: fleet:80` is origin `http://fleet`).
  const own = host === undefined ? null : `${url.protocol}//${host}`;
  if (own !== null && URL.canParse(own) && new URL(own).host === url.host) return true;
  return url.origin === policy.publicOrigin || policy.allowed.includes(url.origin);
}
