/**
 * A real OpenID Connect provider for the single sign-on tests: `oidc-provider` in-process on
 * 127.0.0.1:0 with one confidential client (PKCE required), a `groups` scope and claim, and a few
 * test accounts. Its development sign-in form accepts any password for a known login (the
 * account id); consent is granted up front for the client, as an organization's provider does
 * for its first-party apps. `signInThroughProvider` walks that form over HTTP for the API tests.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Provider, { type KoaContextWithOIDC } from "oidc-provider";

/** One person at the provider. */
export interface TestAccount {
  name: string;
  email: string;
  groups: string[];
}

export interface TestProvider {
  /** `http://127.0.0.1:<port>`. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  provider: Provider;
  stop(): Promise<void>;
}

export const CLIENT_ID = "codex-fleet";
export const CLIENT_SECRET = "client-secret-6d1f0a9b3e7c2d5f";

/** Start a provider whose client may redirect to `redirectUri` (and back to `postLogoutRedirectUri`). */
export async function startOidcProvider(opts: {
  redirectUri: string;
  postLogoutRedirectUri: string;
  accounts: Record<string, TestAccount>;
}): Promise<TestProvider> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  const server = createServer((req, res) => handler?.(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [opts.redirectUri],
        post_logout_redirect_uris: [opts.postLogoutRedirectUri],
        grant_types: ["authorization_code"],
        response_types: ["code"],
        // openid-client's default client authentication.
        token_endpoint_auth_method: "client_secret_post",
      },
    ],
    pkce: { required: () => true },
    scopes: ["openid", "profile", "email", "groups"],
    claims: {
      openid: ["sub"],
      profile: ["name"],
      email: ["email", "email_verified"],
      groups: ["groups"],
    },
    cookies: { keys: ["test-provider-cookie-key-3a9d"] },
    async findAccount(_ctx: KoaContextWithOIDC, id: string) {
      const account = opts.accounts[id];
      if (account === undefined) return undefined;
      return {
        accountId: id,
        claims: async () => ({ sub: id, ...account, email_verified: true }),
      };
    },
    // Consent granted up front for every requested scope (the dev consent page is skipped).
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const oidc = ctx.oidc;
      const clientId = oidc.client?.clientId;
      const accountId = oidc.session?.accountId;
      if (clientId === undefined || accountId === undefined) return undefined;
      const existing = oidc.session?.grantIdFor(clientId);
      if (existing) return oidc.provider.Grant.find(existing);
      const grant = new oidc.provider.Grant({ clientId, accountId });
      grant.addOIDCScope("openid profile email groups");
      await grant.save();
      return grant;
    },
  });
  const callback = provider.callback();
  handler = (req, res) => void callback(req, res);
  return {
    issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    provider,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A minimal cookie jar for one host (the provider): name → value. */
class Jar {
  readonly cookies = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

/**
 * Follow a provider authorization URL as a browser would, signing in as `login` on the
 * development form, up to the redirect back to the collector; returns that callback URL.
 */
export async function signInThroughProvider(authorizationUrl: string, login: string): Promise<URL> {
  const jar = new Jar();
  let url = new URL(authorizationUrl);
  const origin = url.origin;
  for (let hop = 0; hop < 10; hop++) {
    if (url.origin !== origin) return url; // back at the collector
    const res = await fetch(url, { redirect: "manual", headers: { cookie: jar.header() } });
    jar.take(res);
    const location = res.headers.get("location");
    if (location !== null) {
      url = new URL(location, url);
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (res.status !== 200 || action === undefined || !html.includes('name="login"'))
      throw new Error(`unexpected provider page ${url} (${res.status}): ${html.slice(0, 300)}`);
    const submitted = await fetch(new URL(action, url), {
      method: "POST",
      redirect: "manual",
      headers: { cookie: jar.header(), "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ prompt: "login", login, password: "any" }).toString(),
    });
    jar.take(submitted);
    const next = submitted.headers.get("location");
    if (next === null) throw new Error(`the provider's sign-in form answered ${submitted.status}`);
    url = new URL(next, url);
  }
  throw new Error("too many redirects at the provider");
}
