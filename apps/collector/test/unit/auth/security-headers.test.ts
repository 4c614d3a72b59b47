import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  contentSecurityPolicy,
  inlineScriptHashes,
  securityHeaders,
} from "../../../src/auth/security-headers.ts";

const sha = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

describe("inlineScriptHashes", () => {
  it("does hash the exact text of inline scripts and skip external ones", () => {
    const body = "\n  try { x() } catch {}\n";
    const html = `<head><script>${body}</script><script type="module" crossorigin src="/a.js"></script><SCRIPT>y()</SCRIPT></head>`;
    expect(inlineScriptHashes(html)).toEqual([sha(body), sha("y()")]);
  });
});

describe("securityHeaders", () => {
  it("does allow only self, the given hashes, data: images and ws(s) connections", () => {
    expect(contentSecurityPolicy(["'sha256-x'"])).toBe(
      "default-src 'self'; script-src 'self' 'sha256-x'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
        "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
  });

  it.each([
    [false, undefined],
    [true, "max-age=31536000"],
  ])("does send HSTS only behind https (%s)", (https, hsts) => {
    const headers = securityHeaders({ scriptHashes: [], https });
    expect(headers["strict-transport-security"]).toBe(hsts);
    expect(headers).toMatchObject({
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "referrer-policy": "no-referrer",
    });
  });
});
