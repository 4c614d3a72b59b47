/**
 * Targets added, changed and removed at runtime through the admin API. Definitions live in the
 * `target` table (`managed`), tokens only as AES-256-GCM ciphertext (token-cipher.ts); the Fleet
 * connects and disconnects. Config-file targets are read-only here. Changes run one at a time.
 * A token may instead come from a file or a variable of this host where server.targetSecrets
 * allows it (token-source.ts; only the path or name is stored). Paused targets (issue 17) stay
 * defined but out of the Fleet, on every collector (`reload`), until resumed.
 */
import type { DbPool } from "@codex-fleet/db/client";
import {
  listManagedTargets,
  type ManagedTargetRow,
  releaseManagedTargets,
  setManagedTargetPaused,
  upsertManagedTarget,
} from "@codex-fleet/db/repositories/managed-targets-repository";
import type { TargetView } from "@codex-fleet/protocol/api";
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
import { readTokenEnv, readTokenFile } from "./token-source.ts";

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

/** Where a managed target's token comes from besides a stored (encrypted) one. */
interface TokenRef {
  tokenFile: string | null;
  tokenEnv: string | null;
}
const NO_REF: TokenRef = { tokenFile: null, tokenEnv: null };

/** A paused managed target: its definition (token included, in memory only) and since when. */
interface PausedTarget {
  config: TargetConfig;
  pausedAtMs: number;
  lastContactAtMs: number | null;
}

/** The managed targets of one collector. */
export class ManagedTargets {
  /** Managed targets the Fleet follows. */
  private readonly names = new Set<string>();
  /** Managed targets paused through the API: not in the Fleet. */
  private readonly paused = new Map<string, PausedTarget>();
  /** Token file or variable of managed targets (followed or paused) that use one. */
  private readonly refs = new Map<string, TokenRef>();
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
      } else token = await this.referencedToken(row);
      const tc = targetConfig(row.id, row, token);
      this.remember(row);
      if (row.paused) {
        this.paused.set(row.id, pausedEntry(tc, row));
        continue;
      }
      out.push(tc);
      this.names.add(row.id);
    }
    return out;
  }

  /**
   * The token of a row that names a file or a variable, read now (at start, on resume, on a
   * reload): the rules are checked again, the config may have changed. A token that cannot be
   * read is logged and the target followed without one (its state then shows the refusal).
   */
  private async referencedToken(ref: TokenRef & { id: string }): Promise<Secret | null> {
    const secrets = this.opts.config.server.targetSecrets;
    try {
      if (ref.tokenFile !== null) return (await readTokenFile(secrets, ref.tokenFile)).token;
      if (ref.tokenEnv !== null) return readTokenEnv(secrets, ref.tokenEnv);
    } catch (err) {
      this.log.error(
        { target: ref.id, err: err instanceof Error ? err.message : String(err) },
        "cannot read the token of a target added through the API: following it without one",
      );
    }
    return null;
  }

  private remember(row: { id: string } & TokenRef): void {
    if (row.tokenFile === null && row.tokenEnv === null) this.refs.delete(row.id);
    else this.refs.set(row.id, { tokenFile: row.tokenFile, tokenEnv: row.tokenEnv });
  }

  /** True for targets added through the API (followed or paused). */
  isManaged(name: string): boolean {
    return this.names.has(name) || this.paused.has(name);
  }

  /** The admin view of a followed or paused target, or null. */
  view(name: string): TargetAdminView | null {
    const { fleet } = this.opts;
    const ref = this.refs.get(name) ?? NO_REF;
    const p = this.paused.get(name);
    if (p) {
      return {
        ...this.pausedView(name, p),
        managed: true,
        hasToken: p.config.token !== null || ref.tokenFile !== null || ref.tokenEnv !== null,
        allowInsecure: p.config.allowInsecure,
        paused: true,
        ...ref,
      };
    }
    const rt = fleet.targets.get(name);
    if (!rt) return null;
    const managed = this.names.has(name);
    return {
      ...targetView(rt, fleet.threads, fleet.codexVersionFloor),
      managed,
      hasToken: rt.config.token !== null || ref.tokenFile !== null || ref.tokenEnv !== null,
      allowInsecure: rt.config.allowInsecure,
      paused: false,
      ...(managed ? ref : NO_REF),
    };
  }

  /** GET /api/v1/targets?paused=true: the paused targets, as `stopped` since their pause. */
  pausedViews(): TargetView[] {
    return [...this.paused.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, p]) => this.pausedView(name, p));
  }

  private pausedView(name: string, p: PausedTarget): TargetView {
    const { threads, pending } = this.opts.fleet.threads.countsOf(name);
    return {
      name,
      team: p.config.team,
      url: p.config.url,
      labels: { ...p.config.labels },
      state: "stopped",
      reason: null,
      stateSince: new Date(p.pausedAtMs).toISOString(),
      lastError: null,
      userAgent: null,
      lastEventAt: null,
      connectedSince: null,
      threads,
      // Nobody follows it: no thread of it is known to be active.
      activeThreads: 0,
      pendingThreads: pending,
      followedBy: null,
    };
  }

  /**
   * Test a definition before it is saved: one guarded connection, initialize, close. The same
   * 400s as a save (token rules, destinations). Without `token`, a managed target named `name`
   * lends its stored token (as a PUT keeps it); a config target never does.
   */
  async test(input: TargetTestInput): Promise<TargetTestResult> {
    const stored =
      input.name !== undefined && this.isManaged(input.name) ? this.currentToken(input.name) : null;
    const { token } = await this.tokenFor(input, stored);
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
      if (this.opts.fleet.targets.has(name) || this.paused.has(name))
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
      this.writable(name);
      const tc = await this.store(name, input, this.currentToken(name));
      const p = this.paused.get(name);
      if (p) {
        // A paused definition may be edited; it stays paused.
        this.paused.set(name, { ...p, config: tc });
      } else {
        const { fleet } = this.opts;
        const rt = fleet.targets.get(name);
        fleet.removeTarget(name);
        fleet.addTarget(tc, rt?.lastContactAtMs ?? null);
      }
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
      this.opts.fleet.forgetThreadsOf(name);
      this.names.delete(name);
      this.paused.delete(name);
      this.refs.delete(name);
      await releaseManagedTargets({ pool: this.opts.pool, ids: [name], disable: true });
      this.log.info({ target: name }, "target removed through the API");
      this.changed();
    });
  }

  /**
   * Pause a managed target: its connection closes and no collector follows it (the others
   * reload, cluster/replica.ts) until it is resumed; its definition, threads and usage stay.
   * `changed` false: it was paused already.
   */
  pause(name: string): Promise<{ view: TargetAdminView; changed: boolean }> {
    return this.serial(async () => {
      this.writable(name);
      if (this.paused.has(name)) return { view: this.view(name) as TargetAdminView, changed: false };
      const { fleet, pool } = this.opts;
      const rt = fleet.targets.get(name);
      if (!rt) throw notFound(`target ${name}`);
      await setManagedTargetPaused({ pool, id: name, paused: true });
      fleet.removeTarget(name);
      this.names.delete(name);
      this.paused.set(name, {
        config: rt.config,
        pausedAtMs: Date.now(),
        lastContactAtMs: rt.lastContactAtMs,
      });
      this.log.info({ target: name }, "target paused through the API");
      this.changed();
      return { view: this.view(name) as TargetAdminView, changed: true };
    });
  }

  /** Resume a paused managed target: followed again (a token file or variable is read again). */
  resume(name: string): Promise<{ view: TargetAdminView; changed: boolean }> {
    return this.serial(async () => {
      this.writable(name);
      const p = this.paused.get(name);
      if (!p) return { view: this.view(name) as TargetAdminView, changed: false };
      const ref = this.refs.get(name);
      const tc = ref ? { ...p.config, token: await this.referencedToken({ id: name, ...ref }) } : p.config;
      await setManagedTargetPaused({ pool: this.opts.pool, id: name, paused: false });
      this.paused.delete(name);
      this.opts.fleet.addTarget(tc, p.lastContactAtMs);
      this.names.add(name);
      this.log.info({ target: name }, "target resumed through the API");
      this.changed();
      return { view: this.view(name) as TargetAdminView, changed: true };
    });
  }

  /** A managed target's token as the collector holds it now (followed or paused). */
  private currentToken(name: string): Secret | null {
    return this.paused.get(name)?.config.token ?? this.opts.fleet.targets.get(name)?.config.token ?? null;
  }

  private writable(name: string): void {
    if (this.paused.has(name)) return;
    const rt = this.opts.fleet.targets.get(name);
    if (!rt) throw notFound(`target ${name}`);
    if (!this.names.has(name))
      throw new ApiError(
        409,
        "READ_ONLY",
        `target ${name} comes from the config file: change it there (the API manages only targets it added)`,
      );
  }

  /**
   * The token a definition asks for: `token`, `tokenFile` or `tokenEnv` (checked: token-source.ts);
   * none of them given keeps `kept` and the stored file or variable; null ones remove it.
   */
  private async tokenFor(
    input: { name?: string; token?: string | null; tokenFile?: string | null; tokenEnv?: string | null },
    kept: Secret | null,
    keptRef: TokenRef = input.name === undefined ? NO_REF : (this.refs.get(input.name) ?? NO_REF),
  ): Promise<{ token: Secret | null; ref: TokenRef; stored: boolean }> {
    const secrets = this.opts.config.server.targetSecrets;
    if (typeof input.token === "string") return { token: new Secret(input.token), ref: NO_REF, stored: true };
    if (typeof input.tokenFile === "string") {
      const { path, token } = await readTokenFile(secrets, input.tokenFile);
      return { token, ref: { tokenFile: path, tokenEnv: null }, stored: false };
    }
    if (typeof input.tokenEnv === "string")
      return {
        token: readTokenEnv(secrets, input.tokenEnv),
        ref: { tokenFile: null, tokenEnv: input.tokenEnv },
        stored: false,
      };
    if (input.token === null || input.tokenFile === null || input.tokenEnv === null)
      return { token: null, ref: NO_REF, stored: false };
    const referenced = keptRef.tokenFile !== null || keptRef.tokenEnv !== null;
    return { token: kept, ref: keptRef, stored: !referenced && kept !== null };
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
    const { token, ref, stored } = await this.tokenFor({ name, ...input }, kept);
    this.checkDestination(input, token);
    let tokenCiphertext: string | null = null;
    if (token !== null && stored) {
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
        ...ref,
      },
    });
    this.remember({ id: name, ...ref });
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
              ? await this.referencedToken(row)
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
        const tc = targetConfig(row.id, row, token);
        this.remember(row);
        const rt = fleet.targets.get(row.id);
        if (row.paused) {
          // Paused on another collector (or still paused): follow it no more.
          if (rt) {
            fleet.removeTarget(row.id);
            this.log.info({ target: row.id }, "target paused on another collector");
          }
          this.names.delete(row.id);
          this.paused.set(row.id, pausedEntry(tc, row));
          continue;
        }
        if (this.paused.delete(row.id))
          this.log.info({ target: row.id }, "target resumed on another collector");
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
        fleet.forgetThreadsOf(name);
        this.names.delete(name);
        this.refs.delete(name);
        this.log.info({ target: name }, "target removed on another collector");
      }
      for (const name of [...this.paused.keys()]) {
        if (seen.has(name)) continue;
        this.paused.delete(name);
        this.refs.delete(name);
        this.opts.fleet.forgetThreadsOf(name);
        this.log.info({ target: name }, "paused target removed on another collector");
      }
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }
}

function pausedEntry(config: TargetConfig, row: ManagedTargetRow): PausedTarget {
  return {
    config,
    pausedAtMs: row.pausedAtMs ?? Date.now(),
    lastContactAtMs: row.lastContactAtMs,
  };
}

function targetConfig(
  name: string,
  input: Omit<TargetInput, "token" | "tokenFile" | "tokenEnv">,
  token: Secret | null,
): TargetConfig {
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
