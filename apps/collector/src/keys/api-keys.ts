/**
 * API keys (issue 17): the secret's format and hash, and the Bearer check `auth/install.ts` calls
 * after the static tokens. A key is found by the SHA-256 of the presented secret (an indexed
 * lookup of a hash: its timing says nothing usable about any stored secret). Expired and revoked
 * keys get a 401 that says so; an unknown key learns nothing (the caller's generic 401).
 */
import { randomBytes } from "node:crypto";
import type { DbPool } from "@codex-fleet/db/client";
import {
  type ApiKeyRow,
  findApiKeyByHash,
  touchApiKey,
} from "@codex-fleet/db/repositories/api-keys-repository";
import type { Principal, Role } from "@codex-fleet/protocol/auth";
import { API_KEY_PREFIX, type ApiKeyStatus, type ApiKeyView } from "@codex-fleet/protocol/keys";
import { sessionKeyOf } from "../auth/sessions.ts";
import { ApiError } from "../http/errors.ts";
import type { Logger } from "../logger.ts";

/** Last use is written at most this often per key (and never awaited by the request). */
export const LAST_USED_GAP_MS = 60_000;
/** Characters of the secret kept for display: the prefix and 6 of its 43 random characters. */
const DISPLAY_CHARS = API_KEY_PREFIX.length + 6;

/** A new secret: the prefix and 32 random bytes, base64url. */
export function newApiKeySecret(): { secret: string; hash: string; prefix: string } {
  const secret = `${API_KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
  return { secret, hash: hashApiKeySecret(secret), prefix: secret.slice(0, DISPLAY_CHARS) };
}

/** What is stored for a secret: its SHA-256, base64url — the same digest as a session id's. */
export const hashApiKeySecret = sessionKeyOf;

/** A key's state at `nowMs`. */
export function apiKeyStatus(key: ApiKeyRow, nowMs: number): ApiKeyStatus {
  if (key.revokedAtMs !== null) return "revoked";
  if (key.expiresAtMs !== null && key.expiresAtMs <= nowMs) return "expired";
  return "active";
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The API's view of a stored key (never its hash). */
export function apiKeyView(key: ApiKeyRow, nowMs: number): ApiKeyView {
  return {
    id: key.id,
    name: key.name,
    role: key.role === "admin" ? "admin" : "viewer",
    prefix: key.prefix,
    status: apiKeyStatus(key, nowMs),
    createdAt: new Date(key.createdAtMs).toISOString(),
    createdBy: key.createdBy,
    expiresAt: iso(key.expiresAtMs),
    revokedAt: iso(key.revokedAtMs),
    lastUsedAt: iso(key.lastUsedAtMs),
  };
}

/** Checks presented keys and records their use. */
export class ApiKeyAuth {
  /** When this process last wrote each key's use. */
  readonly #touched = new Map<string, number>();
  readonly #pending = new Set<Promise<unknown>>();

  constructor(private readonly deps: { pool: DbPool; now: () => number; log: Logger }) {}

  /**
   * The role and principal of the key `presented`, or null when it is no key of ours. Throws a
   * 401 naming the key when it expired or was revoked.
   */
  async identify(presented: string): Promise<{ role: Role; principal: Principal } | null> {
    if (!presented.startsWith(API_KEY_PREFIX)) return null;
    const key = await findApiKeyByHash({ pool: this.deps.pool, secretHash: hashApiKeySecret(presented) });
    if (key === null) return null;
    const nowMs = this.deps.now();
    const status = apiKeyStatus(key, nowMs);
    if (status !== "active") {
      this.deps.log.warn({ key: key.name, status }, "API key refused");
      throw new ApiError(
        401,
        "UNAUTHORIZED",
        status === "revoked"
          ? `the API key ${key.name} was revoked at ${iso(key.revokedAtMs)}`
          : `the API key ${key.name} expired at ${iso(key.expiresAtMs)}`,
      );
    }
    this.#touch(key.id, nowMs);
    return {
      role: key.role === "admin" ? "admin" : "viewer",
      principal: { kind: "apiKey", name: key.name, email: null },
    };
  }

  /** Resolves when every last-use write started so far has finished (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  /** Write the use in the background, at most once a gap per key per process (and per database). */
  #touch(id: string, nowMs: number): void {
    const last = this.#touched.get(id);
    if (last !== undefined && nowMs - last < LAST_USED_GAP_MS) return;
    this.#touched.set(id, nowMs);
    // Bounded: one entry per key used in the last gap.
    if (this.#touched.size > 10_000)
      for (const [k, at] of this.#touched) if (nowMs - at >= LAST_USED_GAP_MS) this.#touched.delete(k);
    const write = touchApiKey({ pool: this.deps.pool, id, nowMs, minGapMs: LAST_USED_GAP_MS })
      .catch((err: unknown) =>
        this.deps.log.warn(
          { key: id, err: err instanceof Error ? err.message : String(err) },
          "API key: recording its last use failed",
        ),
      )
      .finally(() => this.#pending.delete(write));
    this.#pending.add(write);
  }
}
