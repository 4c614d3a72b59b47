/**
 * Security headers on every response, including 401s and errors, set by @fastify/helmet (issue
 * 17): a Content-Security-Policy that lets the built dashboard run (its own scripts and the hashed
 * inline theme script in index.html, the live feed over ws:/wss:), no sniffing, no referrer, no
 * framing, cross-origin isolation of windows and resources, HSTS behind https — plus helmet's
 * other defaults (Origin-Agent-Cluster, X-DNS-Prefetch-Control, X-Download-Options,
 * X-Permitted-Cross-Domain-Policies, X-XSS-Protection: 0).
 */
import { createHash } from "node:crypto";
import fastifyHelmet, { type FastifyHelmetOptions } from "@fastify/helmet";
import type { FastifyInstance } from "fastify";

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

/** The Content-Security-Policy directives for the dashboard and the API. */
export function cspDirectives(scriptHashes: readonly string[]): Record<string, string[]> {
  return {
    "default-src": ["'self'"],
    "script-src": ["'self'", ...scriptHashes],
    // React `style={…}` props go through the CSSOM, which CSP does not restrict; no inline <style>.
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    // The live feed: same host over ws: or wss: (CSP 'self' alone does not cover ws: everywhere).
    "connect-src": ["'self'", "ws:", "wss:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
  };
}

/** The helmet configuration: see the module comment. */
export function helmetOptions(opts: {
  scriptHashes: readonly string[];
  https: boolean;
}): FastifyHelmetOptions {
  return {
    global: true,
    // Exactly these directives: helmet's defaults would add upgrade-insecure-requests, which
    // breaks a plain-http collector on a LAN.
    contentSecurityPolicy: { useDefaults: false, directives: cspDirectives(opts.scriptHashes) },
    referrerPolicy: { policy: "no-referrer" },
    xFrameOptions: { action: "deny" },
    crossOriginOpenerPolicy: { policy: "same-origin" },
    crossOriginResourcePolicy: { policy: "same-origin" },
    // Only where the collector is known to be served over https, or a plain-http setup locks itself out.
    strictTransportSecurity: opts.https ? { maxAge: 31_536_000, includeSubDomains: false } : false,
  };
}

/**
 * Register @fastify/helmet. Await it before the auth hook: its onRequest hook then sets the
 * headers first, so they are on every answer, the auth hook's refusals included.
 */
export async function installSecurityHeaders(
  app: FastifyInstance,
  opts: { scriptHashes: readonly string[]; https: boolean },
): Promise<void> {
  await app.register(fastifyHelmet, helmetOptions(opts));
}
