/** Which role a presented token grants, compared in constant time against the configured tokens. */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Role } from "@codex-fleet/protocol/auth";
import type { Secret } from "../config/secret.ts";

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/** The configured tokens, hashed once. */
export class Credentials {
  readonly #admin: Buffer | null;
  readonly #viewer: Buffer | null;

  constructor(tokens: { admin: Secret | null; viewer: Secret | null }) {
    this.#admin = tokens.admin === null ? null : digest(tokens.admin.reveal());
    this.#viewer = tokens.viewer === null ? null : digest(tokens.viewer.reveal());
  }

  /**
   * The role `presented` grants, or null. Both digests are always compared (equal-length SHA-256
   * values through timingSafeEqual), so the answer time says nothing about either token.
   */
  roleOf(presented: string): Role | null {
    const given = digest(presented);
    const admin = this.#admin !== null && timingSafeEqual(given, this.#admin);
    const viewer = this.#viewer !== null && timingSafeEqual(given, this.#viewer);
    if (presented === "") return null;
    return admin ? "admin" : viewer ? "viewer" : null;
  }
}
