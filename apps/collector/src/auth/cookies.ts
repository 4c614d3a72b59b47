/** The session cookie: parse the Cookie header, write Set-Cookie (no cookie library needed). */

/** Name of the session cookie. */
export const SESSION_COOKIE = "fleet_session";

/** The value of cookie `name` in a Cookie header, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return value === "" ? null : value;
  }
  return null;
}

/**
 * Set-Cookie for a session: HttpOnly (scripts never see it), SameSite=Strict (no cross-site
 * request carries it: the first CSRF defence), Path=/, Secure when served over https.
 * `maxAgeMs` 0 deletes the cookie.
 */
export function sessionCookie(value: string, opts: { maxAgeMs: number; secure: boolean }): string {
  const parts = [
    `${SESSION_COOKIE}=${value}`,
    "Path=/",
    "HttpOnly",
    "SameSite=Strict",
    `Max-Age=${Math.max(0, Math.floor(opts.maxAgeMs / 1000))}`,
  ];
  if (opts.secure) parts.push("Secure");
  return parts.join("; ");
}
