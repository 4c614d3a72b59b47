/**
 * Server-side sessions in memory: a random id (256 bits) in the cookie, its SHA-256 as the key,
 * an absolute expiry. A restart signs everyone out; several collectors behind one address need
 * sticky sessions (README "Authentication").
 */
import { createHash, randomBytes } from "node:crypto";
import type { Role } from "@codex-fleet/protocol/auth";

/** One signed-in browser. */
export interface Session {
  role: Role;
  createdAtMs: number;
  expiresAtMs: number;
}

export interface SessionStoreOptions {
  ttlMs: number;
  /** Most live sessions; the oldest goes first beyond this (default 10 000). */
  maxSessions?: number;
  now?: () => number;
}

const keyOf = (id: string): string => createHash("sha256").update(id).digest("base64url");

/** Creates, finds and ends sessions. */
export class SessionStore {
  // Insertion order is creation order: the first key is the oldest session.
  private readonly sessions = new Map<string, Session>();
  private readonly now: () => number;

  constructor(private readonly opts: SessionStoreOptions) {
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** A new session for `role`; the returned id goes into the cookie and nowhere else. */
  create(role: Role): { id: string; session: Session } {
    const at = this.now();
    this.sweep(at);
    const max = this.opts.maxSessions ?? 10_000;
    while (this.sessions.size >= max) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const id = randomBytes(32).toString("base64url");
    const session: Session = { role, createdAtMs: at, expiresAtMs: at + this.opts.ttlMs };
    this.sessions.set(keyOf(id), session);
    return { id, session };
  }

  /** The live session of `id`, or null (unknown, malformed or expired). */
  get(id: string): Session | null {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return null;
    const key = keyOf(id);
    const session = this.sessions.get(key);
    if (!session) return null;
    if (session.expiresAtMs <= this.now()) {
      this.sessions.delete(key);
      return null;
    }
    return session;
  }

  /** End the session of `id` (sign-out). */
  delete(id: string): void {
    this.sessions.delete(keyOf(id));
  }

  /** Drop expired sessions (called on every create: memory stays bounded by the live ones). */
  private sweep(at: number): void {
    for (const [key, session] of this.sessions) if (session.expiresAtMs <= at) this.sessions.delete(key);
  }
}
