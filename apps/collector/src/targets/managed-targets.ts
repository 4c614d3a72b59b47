/**
 * Targets added, changed and removed at runtime through the admin API. Definitions live in the
 * `target` table (`managed`), tokens only as AES-256-GCM ciphertext (token-cipher.ts); the Fleet
 * connects and disconnects. Config-file targets are read-only here. Changes run one at a time.
 */
import type { DbPool } from "@codex-fleet/db/client";
import {
  listManagedTargets,
  releaseManagedTargets,
  upsertManagedTarget,
} from "@codex-fleet/db/repositories/managed-targets-repository";
import {
  insecureTokenProblem,
  type TargetAdminView,
  type TargetTestRequestSchema,
  type TargetTestResult,
  type TargetUpdateRequestSchema,
} from "@codex-fleet/protocol/targets";
import type { z } from "zod";
import { targetView } from "../api/views.ts";
import { SECRET_KEY_ENV } from "../config/load.ts";
import type { Config, TargetConfig } from "../config/schema.ts";
import { Secret } from "../config/secret.ts";
import type { Fleet } from "../fleet/fleet.ts";
import { ApiError, badParam, notFound } from "../http/errors.ts";
import type { Logger } from "../logger.ts";
import { destinationProblem } from "../net/destination.ts";
import { testTargetConnection } from "./test-connection.ts";
import { TokenCipher } from "./token-cipher.ts";

/** A validated definition from the API. `token`: undefined keeps the stored one, null removes it. */
export type TargetInput = z.output<typeof TargetUpdateRequestSchema>;
/** A validated POST /api/v1/targets/test body. */
export type TargetTestInput = z.output<typeof TargetTestRequestSchema>;

export interface ManagedTargetsOptions {
  pool: DbPool;
  fleet: Fleet;
  config: Config;
  log: Logger;
  /** The collector's version, in `clientInfo` of a connection test. */
  version?: string;
}

/** Thrown by `load()` when stored tokens cannot be read back: refuse to start rather than drop targets. */
export class StoredTokenError extends Error {}

/** The managed targets of one collector. */
export class ManagedTargets {
  private readonly names = new Set<string>();
  private readonly cipher: TokenCipher | null;
  private readonly log: Logger;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ManagedTargetsOptions) {
    const key = opts.config.auth.secretKey;
    this.cipher = key === null ? null : new TokenCipher(key);
    this.log = opts.log.child({ module: "targets" });
  }

  /**
   * The stored managed targets, tokens decrypted, for `fleet.start(…)`. A name the config file now
   * defines goes back to the config (its stored definition and token are erased).
   */
  async load(): Promise<TargetConfig[]> {
    const { pool, config } = this.opts;
    const rows = await listManagedTargets({ pool });
    const configNames = new Set(config.targets.map((t) => t.name));
    const shadowed = rows.filter((r) => configNames.has(r.id)).map((r) => r.id);
    if (shadowed.length > 0) {
      await releaseManagedTargets({ pool, ids: shadowed, disable: false });
      this.log.warn(
        { targets: shadowed },
        "targets added through the API are now in the config file: the config wins",
      );
    }
    const out: TargetConfig[] = [];
    for (const row of rows) {
      if (configNames.has(row.id)) continue;
      let token: Secret | null = null;
      if (row.tokenCiphertext !== null) {
        if (this.cipher === null)
          throw new StoredTokenError(
            `target ${row.id} has a stored token but ${SECRET_KEY_ENV} is not set: set it to the key the token was stored with`,
          );
        try {
          token = this.cipher.decrypt(row.id, row.tokenCiphertext);
        } catch {
          throw new StoredTokenError(
            `cannot decrypt the stored token of target ${row.id}: is ${SECRET_KEY_ENV} the key it was stored with?`,
          );
        }
      }
      out.push(targetConfig(row.id, { ...row, token: undefined }, token));
      this.names.add(row.id);
    }
    return out;
  }

  /** True for targets added through the API. */
  isManaged(name: string): boolean {
    return this.names.has(name);
  }

  /** The admin view of a followed target, or null. */
  view(name: string): TargetAdminView | null {
    const { fleet } = this.opts;
    const rt = fleet.targets.get(name);
    if (!rt) return null;
    return {
      ...targetView(rt, fleet.threads.values(), fleet.codexVersionFloor),
      managed: this.names.has(name),
      hasToken: rt.config.token !== null,
      allowInsecure: rt.config.allowInsecure,
    };
  }

  /**
   * Test a definition before it is saved: one guarded connection, initialize, close. The same
   * 400s as a save (token rules, destinations). Without `token`, a managed target named `name`
   * lends its stored token (as a PUT keeps it); a config target never does.
   */
  async test(input: TargetTestInput): Promise<TargetTestResult> {
    const stored =
      input.token === undefined && input.name !== undefined && this.names.has(input.name)
        ? (this.opts.fleet.targets.get(input.name)?.config.token ?? null)
        : null;
    const token = typeof input.token === "string" ? new Secret(input.token) : stored;
    this.checkDestination(input, token);
    const result = await testTargetConnection({
      url: input.url,
      token,
      observer: this.opts.config.observer,
      clientVersion: this.opts.version ?? "unknown",
    });
    this.log.info(
      { url: input.url, ok: result.ok, reason: result.reason, hasToken: token !== null },
      "target connection tested",
    );
    return result;
  }

  /** Add and connect a new target; 409 when the name is taken. */
  add(name: string, input: TargetInput): Promise<TargetAdminView> {
    return this.serial(async () => {
      if (this.opts.fleet.targets.has(name))
        throw new ApiError(409, "CONFLICT", `target ${name} already exists`, "name");
      const tc = await this.store(name, input, null);
      this.opts.fleet.addTarget(tc);
      this.names.add(name);
      this.log.info({ target: name, hasToken: tc.token !== null }, "target added through the API");
      this.changed();
      return this.view(name) as TargetAdminView;
    });
  }

  /** Replace a managed target's definition and reconnect it. */
  update(name: string, input: TargetInput): Promise<TargetAdminView> {
    return this.serial(async () => {
      const rt = this.writable(name);
      const kept = input.token === undefined ? rt.config.token : null;
      const tc = await this.store(name, input, kept);
      const { fleet } = this.opts;
      fleet.removeTarget(name);
      fleet.addTarget(tc, rt.lastContactAtMs);
      this.log.info({ target: name, hasToken: tc.token !== null }, "target changed through the API");
      this.changed();
      return this.view(name) as TargetAdminView;
    });
  }

  /** Disconnect and forget a managed target (its threads and usage stay). */
  remove(name: string): Promise<void> {
    return this.serial(async () => {
      this.writable(name);
      this.opts.fleet.removeTarget(name);
      this.names.delete(name);
      await releaseManagedTargets({ pool: this.opts.pool, ids: [name], disable: true });
      this.log.info({ target: name }, "target removed through the API");
      this.changed();
    });
  }

  private writable(name: string) {
    const rt = this.opts.fleet.targets.get(name);
    if (!rt) throw notFound(`target ${name}`);
    if (!this.names.has(name))
      throw new ApiError(
        409,
        "READ_ONLY",
        `target ${name} comes from the config file: change it there (the API manages only targets it added)`,
      );
    return rt;
  }

  /** The token rules and the destination checks of a definition: 400s naming `url`. */
  private checkDestination(input: { url: string; allowInsecure: boolean }, token: Secret | null): void {
    // DESIGN.md rule 7, as for config targets: a token goes over wss:// or to loopback only.
    const problem = insecureTokenProblem({ ...input, hasToken: token !== null });
    if (problem !== null) throw badParam("url", problem);
    // SSRF (net/destination.ts): no link-local or metadata destination; names are checked again
    // on their addresses at every connection.
    const destination = destinationProblem(input.url, this.opts.config.network);
    if (destination !== null) throw badParam("url", destination);
  }

  /** Validate the token rules, encrypt, write the row; the TargetConfig to follow. */
  private async store(name: string, input: TargetInput, kept: Secret | null): Promise<TargetConfig> {
    const token = typeof input.token === "string" ? new Secret(input.token) : kept;
    this.checkDestination(input, token);
    let tokenCiphertext: string | null = null;
    if (token !== null) {
      if (this.cipher === null)
        throw new ApiError(
          400,
          "ENCRYPTION_KEY_MISSING",
          `token: cannot be stored: this collector has no encryption key (set ${SECRET_KEY_ENV} to 32 random bytes, e.g. \`openssl rand -hex 32\`, and restart)`,
          "token",
        );
      tokenCiphertext = this.cipher.encrypt(name, token);
    }
    await upsertManagedTarget({
      pool: this.opts.pool,
      target: {
        id: name,
        team: input.team,
        url: input.url,
        labels: input.labels,
        allowInsecure: input.allowInsecure,
        tokenCiphertext,
      },
    });
    return targetConfig(name, input, token);
  }

  // ── Several collectors on one database (cluster/replica.ts) ──────────────────────────────────

  private readonly changeListeners = new Set<() => void>();

  /** Called after every change made through this instance's API (the replica tells the others). */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private changed(): void {
    for (const l of this.changeListeners) l();
  }

  /**
   * Another collector changed managed targets: bring the Fleet in line with the stored rows
   * (add, replace what changed, remove what is gone). Writes nothing. A stored token this
   * instance cannot decrypt (another key) leaves that target as it was, with an error logged.
   */
  reload(): Promise<void> {
    return this.serial(async () => {
      const { pool, config, fleet } = this.opts;
      const rows = await listManagedTargets({ pool });
      const configNames = new Set(config.targets.map((t) => t.name));
      const seen = new Set<string>();
      for (const row of rows) {
        if (configNames.has(row.id)) continue;
        seen.add(row.id);
        let token: Secret | null = null;
        try {
          token =
            row.tokenCiphertext === null || this.cipher === null
              ? null
              : this.cipher.decrypt(row.id, row.tokenCiphertext);
        } catch {
          this.log.error(
            { target: row.id },
            `cannot decrypt the stored token of target ${row.id}: is ${SECRET_KEY_ENV} the same on every collector?`,
          );
          continue;
        }
        if (row.tokenCiphertext !== null && this.cipher === null) {
          this.log.error(
            { target: row.id },
            `target ${row.id} has a stored token but ${SECRET_KEY_ENV} is not set on this collector`,
          );
          continue;
        }
        const tc = targetConfig(row.id, { ...row, token: undefined }, token);
        const rt = fleet.targets.get(row.id);
        if (rt && sameDefinition(rt.config, tc)) {
          this.names.add(row.id);
          continue;
        }
        if (rt) fleet.removeTarget(row.id);
        fleet.addTarget(tc, rt?.lastContactAtMs ?? row.lastContactAtMs);
        this.names.add(row.id);
        this.log.info(
          { target: row.id },
          rt ? "target changed on another collector" : "target added on another collector",
        );
      }
      for (const name of [...this.names]) {
        if (seen.has(name)) continue;
        fleet.removeTarget(name);
        this.names.delete(name);
        this.log.info({ target: name }, "target removed on another collector");
      }
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }
}

function targetConfig(name: string, input: TargetInput, token: Secret | null): TargetConfig {
  return {
    name,
    team: input.team,
    url: input.url,
    labels: { ...input.labels },
    allowInsecure: input.allowInsecure,
    token,
    ca: null,
  };
}

/** Same URL, team, labels, insecure flag and token: nothing to reconnect for. */
function sameDefinition(a: TargetConfig, b: TargetConfig): boolean {
  return (
    a.url === b.url &&
    a.team === b.team &&
    a.allowInsecure === b.allowInsecure &&
    JSON.stringify(Object.entries(a.labels).sort()) === JSON.stringify(Object.entries(b.labels).sort()) &&
    (a.token?.reveal() ?? null) === (b.token?.reveal() ?? null)
  );
}
