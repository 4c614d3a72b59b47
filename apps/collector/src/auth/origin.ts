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

/** The host names a request may address (the Host header), besides loopback names and IP addresses. */
export interface HostPolicy {
  /** `server.host` (when a name), publicUrl's host name, `server.allowedHosts` (`.suffix` allowed). */
  names: readonly string[];
}

/**
 * DNS rebinding protection: true when the Host header names the collector — an IP address (a
 * rebinding page always addresses it by the attacker's name), a loopback name, or a configured
 * name. A request without Host (HTTP/1.0, not a browser) passes. The port is not compared.
 */
export function hostAllowed(host: string | undefined, policy: HostPolicy): boolean {
  if (host === undefined || host === "") return true;
  if (!URL.canParse(`http://${host}`)) return false;
  const name = new URL(`http://${host}`).hostname.replace(/\.$/, "").toLowerCase();
  if (name.startsWith("[") || /^\d+\.\d+\.\d+\.\d+$/.test(name)) return true;
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  return policy.names.some((allowed) =>
    allowed.startsWith(".") ? name.endsWith(allowed) || name === allowed.slice(1) : name === allowed,
  );
}
