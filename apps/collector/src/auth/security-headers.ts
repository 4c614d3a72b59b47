/**
 * Security headers on every response, including 401s and errors: a Content-Security-Policy that
 * lets the built dashboard run (its own scripts and the hashed inline theme script in index.html,
 * the live feed over ws:/wss:), no sniffing, no referrer, no framing, HSTS behind https.
 */
import { createHash } from "node:crypto";

/** sha256 source expressions (`'sha256-…'`) of the inline `<script>` elements of `html`. */
export function inlineScriptHashes(html: string): string[] {
  const hashes: string[] = [];
  for (const match of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    const [, attrs = "", body = ""] = match;
    if (/\bsrc\s*=/i.test(attrs)) continue;
    // The hash covers the exact text between the tags, as the browser sees it.
    hashes.push(`'sha256-${createHash("sha256").update(body, "utf8").digest("base64")}'`);
  }
  return hashes;
}

/** The Content-Security-Policy value for the dashboard and the API. */
export function contentSecurityPolicy(scriptHashes: readonly string[]): string {
  return [
    "default-src 'self'",
    `script-src 'self'${scriptHashes.map((h) => ` ${h}`).join("")}`,
    // React `style={…}` props go through the CSSOM, which CSP does not restrict; no inline <style>.
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    // The live feed: same host over ws: or wss: (CSP 'self' alone does not cover ws: everywhere).
    "connect-src 'self' ws: wss:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Header name → value, computed once at start. */
export function securityHeaders(opts: {
  scriptHashes: readonly string[];
  https: boolean;
}): Record<string, string> {
  const headers: Record<string, string> = {
    "content-security-policy": contentSecurityPolicy(opts.scriptHashes),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  };
  // Only where the collector is known to be served over https, or a plain-http setup locks itself out.
  if (opts.https) headers["strict-transport-security"] = "max-age=31536000";
  return headers;
}
