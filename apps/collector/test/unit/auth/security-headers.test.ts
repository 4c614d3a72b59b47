/** The security headers as @fastify/helmet sends them, through a real Fastify instance. */
import { createHash } from "node:crypto";
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { inlineScriptHashes, installSecurityHeaders } from "../../../src/auth/security-headers.ts";

const sha = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

describe("inlineScriptHashes", () => {
  it("does hash the exact text of inline scripts and skip external ones", () => {
    const body = "\n  try { x() } catch {}\n";
    const html = `<head><script>${body}</script><script type="module" crossorigin src="/a.js"></script><SCRIPT>y()</SCRIPT></head>`;
    expect(inlineScriptHashes(html)).toEqual([sha(body), sha("y()")]);
  });
});

/** The headers of a 200 and of a refusal thrown by a later onRequest hook. */
async function headersOf(https: boolean) {
  const app = Fastify();
  await installSecurityHeaders(app, { scriptHashes: ["'sha256-x'"], https });
  app.addHook("onRequest", async (req) => {
    if (req.url === "/refused") throw Object.assign(new Error("no"), { statusCode: 401 });
  });
  app.get("/ok", async () => ({ ok: true }));
  app.get("/refused", async () => ({ ok: true }));
  const ok = await app.inject({ url: "/ok" });
  const refused = await app.inject({ url: "/refused" });
  await app.close();
  expect([ok.statusCode, refused.statusCode]).toEqual([200, 401]);
  return [ok.headers, refused.headers];
}

describe("security headers", () => {
  it("does allow only self, the given hashes, data: images and ws(s) connections", async () => {
    for (const headers of await headersOf(false))
      expect(headers["content-security-policy"]).toBe(
        "default-src 'self';script-src 'self' 'sha256-x';style-src 'self';img-src 'self' data:;font-src 'self';" +
          "connect-src 'self' ws: wss:;object-src 'none';base-uri 'none';form-action 'self';frame-ancestors 'none'",
      );
  });

  it.each([
    [false, undefined],
    [true, "max-age=31536000"],
  ])("does send HSTS only behind https (%s), and the rest on every answer", async (https, hsts) => {
    for (const headers of await headersOf(https)) {
      expect(headers["strict-transport-security"]).toBe(hsts);
      expect(headers).toMatchObject({
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-resource-policy": "same-origin",
      });
      expect(headers["content-security-policy"]).not.toContain("upgrade-insecure-requests");
    }
  });
});
