/**
 * Server-side sessions in Postgres (issue 12): a random id (256 bits) in the cookie, its SHA-256
 * as the key of a `session` row, an absolute expiry. Every collector on the database finds every
 * session, a restart signs no one out, and a sign-out on one collector ends the session on all.
 * The id itself is never stored or logged. Works the same on embedded PGlite (one instance).
 */
import { createHash, randomBytes } from "node:crypto";
import type { DbPool } from "@codex-fleet/db/client";
import {
  deleteSession,
  findSession,
  insertSession,
  pruneSessions,
  type SessionPerson,
} from "@codex-fleet/db/repositories/sessions-repository";
import type { Role } from "@codex-fleet/protocol/auth";

export type { SessionPerson };

/** One signed-in browser. */
export interface Session {
  role: Role;
  createdAtMs: number;
  expiresAtMs: number;
  /** Who signed in through single sign-on (issue 17); null for a static-token session. */
  person: SessionPerson | null;
}

export interface SessionStoreOptions {
  pool: DbPool;
  ttlMs: number;
  /** Most live sessions; the oldest goes first beyond this (default 10 000). */
  maxSessions?: number;
  now?: () => number;
}

/** The stored key of a session id: base64url SHA-256. */
export const sessionKeyOf = (id: string): string => createHash("sha256").update(id).digest("base64url");

const ID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** Creates, finds and ends sessions. */
export class SessionStore {
  private readonly now: () => number;

  constructor(private readonly opts: SessionStoreOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * A new session for `role` (and the person, for a single sign-on); the returned id goes into the cookie and nowhere else. Expired
   * sessions, and the oldest beyond `maxSessions`, are deleted in the same statement.
   */
  async create(role: Role, person: SessionPerson | null = null): Promise<{ id: string; session: Session }> {
    const at = this.now();
    const id = randomBytes(32).toString("base64url");
    const session: Session = { role, createdAtMs: at, expiresAtMs: at + this.opts.ttlMs, person };
    await insertSession({
      pool: this.opts.pool,
      keyHash: sessionKeyOf(id),
      role,
      nowMs: at,
      expiresAtMs: session.expiresAtMs,
      maxSessions: this.opts.maxSessions ?? 10_000,
      person,
    });
    return { id, session };
  }

  /** The live session of `id`, or null (unknown, malformed or expired: an expired row is deleted). */
  async get(id: string): Promise<Session | null> {
    if (!ID_SHAPE.test(id)) return null;
    const row = await findSession({ pool: this.opts.pool, keyHash: sessionKeyOf(id), nowMs: this.now() });
    if (!row) return null;
    // A role this version does not know (a newer collector on the same database) grants nothing.
    if (row.role !== "admin" && row.role !== "viewer") return null;
    return { role: row.role, createdAtMs: row.createdAtMs, expiresAtMs: row.expiresAtMs, person: row.person };
  }

  /** End the session of `id` on every collector (sign-out). */
  async delete(id: string): Promise<void> {
    if (!ID_SHAPE.test(id)) return;
    await deleteSession({ pool: this.opts.pool, keyHash: sessionKeyOf(id) });
  }

  /** Delete expired sessions; returns how many. */
  prune(): Promise<number> {
    return pruneSessions({ pool: this.opts.pool, nowMs: this.now() });
  }
}
