/**
 * Target tokens at rest: AES-256-GCM with the key from CODEX_FLEET_SECRET_KEY, a random 96-bit
 * nonce per encryption, and the target's name as associated data, so a ciphertext copied onto
 * another target's row fails to decrypt. Stored as `v1:<nonce>:<tag>:<ciphertext>` (base64url).
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { Secret } from "../config/secret.ts";

const VERSION = "v1";

/** Encrypts and decrypts target tokens with one key. */
export class TokenCipher {
  readonly #key: Buffer;

  /** `key`: 32 bytes as 64 hex digits (what config/load.ts normalizes CODEX_FLEET_SECRET_KEY to). */
  constructor(key: Secret) {
    const bytes = Buffer.from(key.reveal(), "hex");
    if (bytes.length !== 32) throw new Error("the token key must be 32 bytes");
    this.#key = bytes;
  }

  /** The stored form of `token` for target `name`. */
  encrypt(name: string, token: Secret): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.#key, nonce);
    cipher.setAAD(Buffer.from(name, "utf8"));
    const body = Buffer.concat([cipher.update(token.reveal(), "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, nonce, tag, body]
      .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
      .join(":");
  }

  /** The token of target `name`; throws when the key or the name does not match. */
  decrypt(name: string, stored: string): Secret {
    const [version, nonce, tag, body, extra] = stored.split(":");
    if (version !== VERSION || !nonce || !tag || body === undefined || extra !== undefined)
      throw new Error("not a v1 token ciphertext");
    const decipher = createDecipheriv("aes-256-gcm", this.#key, Buffer.from(nonce, "base64url"));
    decipher.setAAD(Buffer.from(name, "utf8"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    const plain = Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]);
    return new Secret(plain.toString("utf8"));
  }
}
