/**
 * The collector's configuration: the file schema (JSON or YAML, strict: unknown keys are errors)
 * and the resolved `Config` that `load.ts` builds from it. Validation here is pure; reading token
 * files, CA files and environment variables happens in `load.ts`.
 */
import { CATALOGUE_REMOTE_URL, PriceOverrideSchema } from "@codex-fleet/pricing";
import { isCodexVersion, SUPPORTED_CODEX_FLOOR } from "@codex-fleet/protocol/codex-version";
import {
  insecureTokenProblem,
  isLoopbackHost,
  TargetNameSchema,
  targetUrlSchema,
} from "@codex-fleet/protocol/targets";
import { z } from "zod";
import { type AlertsConfig, AlertsConfigSchema, type NotifierConfig } from "./alerts-schema.ts";
import type { Secret } from "./secret.ts";

/**
 * One budget (issue 14, README "Budgets"): a developer's, a team's or the fleet's spend in USD
 * (list price) per UTC day, week (from Monday) or month, or the used % of a plan window
 * (`planPct`: the window itself is the period, so `period` is refused there rather than ignored).
 * `subject` names a target (developer) or a team; one not configured yet is not an error: its
 * row says it has no data until it appears.
 */
export const BudgetSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,100}$/, "must be an id of 1-100 letters, digits, '.', '_' or '-'"),
    scope: z.enum(["developer", "team", "fleet"]),
    subject: z.string().min(1, { error: "must not be empty" }).max(200).optional(),
    period: z.enum(["day", "week", "month"]).optional(),
    unit: z.enum(["usd", "planPct"]),
    amount: z.number().positive({ error: "must be greater than 0" }),
    window: z.enum(["primary", "secondary"]).optional(),
    limitId: z.string().min(1, { error: "must not be empty" }).max(100).optional(),
    /** The share of `amount` (%) at which the row turns `warning`. */
    warnPct: z.number().positive().max(100).default(80),
  })
  .superRefine((b, ctx) => {
    const issue = (key: string, message: string) => ctx.addIssue({ code: "custom", path: [key], message });
    if (b.scope === "fleet" && b.subject !== undefined) issue("subject", "must be omitted for scope fleet");
    if (b.scope !== "fleet" && b.subject === undefined)
      issue(
        "subject",
        `is required for scope ${b.scope} (the ${b.scope === "team" ? "team" : "target"} name)`,
      );
    if (b.unit === "usd") {
      if (b.period === undefined) issue("period", "is required for unit usd (day, week or month)");
      if (b.window !== undefined) issue("window", "applies to unit planPct only");
      if (b.limitId !== undefined) issue("limitId", "applies to unit planPct only");
    } else {
      if (b.period !== undefined)
        issue("period", "does not apply to unit planPct: the period is the plan window itself (remove it)");
      if (b.amount > 100) issue("amount", "must be at most 100 for unit planPct (a % of the window)");
    }
  })
  .transform((b) => ({
    ...b,
    subject: b.subject ?? null,
    period: b.unit === "usd" ? (b.period ?? "day") : null,
    window: b.unit === "planPct" ? (b.window ?? "secondary") : null,
    limitId: b.unit === "planPct" ? (b.limitId ?? "codex") : null,
  }));
/** A budget after defaults: `period` set for usd, `window`/`limitId` for planPct, null otherwise. */
export type BudgetConfig = z.output<typeof BudgetSchema>;

/** Log levels (pino's, which Fastify uses). */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
/** `auto`: readable lines on a terminal, JSON (one object a line) otherwise. */
export const LOG_FORMATS = ["auto", "json", "pretty"] as const;

const PORT_MESSAGE = "must be an integer between 0 and 65535";
/** A TCP port; 0 lets the OS pick. Shared with the `PORT` environment override. */
export const PortSchema = z
  .number({ error: PORT_MESSAGE })
  .int({ error: PORT_MESSAGE })
  .min(0, { error: PORT_MESSAGE })
  .max(65535, { error: PORT_MESSAGE });

/** A listen host. Shared with the `HOST` environment override. */
export const HostSchema = z.string().trim().min(1, { error: "must not be empty" });

const hasProtocol = (value: string, protocols: readonly string[]): boolean =>
  URL.canParse(value) && protocols.includes(new URL(value).protocol);

/** A Postgres connection URL. Shared with the `DATABASE_URL` environment override. */
export const DatabaseUrlSchema = z
  .string()
  .refine((s) => hasProtocol(s, ["postgres:", "postgresql:"]), "must be a postgres:// or postgresql:// URL");

const httpUrl = z
  .string()
  .refine((s) => hasProtocol(s, ["http:", "https:"]), "must be an http:// or https:// URL");

const ms = z.int().positive();
const hostName = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^\.?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, "must be a host name like fleet.example.com or .example.com");
const path = z.string().min(1, { error: "must not be empty" });
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name");

/** One app-server to observe, as written in the config file (name and URL rules: protocol/targets). */
export const TargetSchema = z
  .strictObject({
    name: TargetNameSchema,
    team: z.string().default(""),
    url: targetUrlSchema("use tokenFile or tokenEnv"),
    tokenFile: path.optional(),
    tokenEnv: envName.optional(),
    labels: z.record(z.string(), z.string()).default({}),
    allowInsecure: z.boolean().default(false),
    caFile: path.optional(),
  })
  .superRefine((target, ctx) => {
    if (target.tokenFile !== undefined && target.tokenEnv !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["tokenEnv"],
        message: "set at most one of tokenFile and tokenEnv",
      });
    }
    if (!URL.canParse(target.url)) return;
    const url = new URL(target.url);
    if (target.caFile !== undefined && url.protocol !== "wss:") {
      ctx.addIssue({ code: "custom", path: ["caFile"], message: "only applies to wss:// URLs" });
    }
    // DESIGN.md rule 7, as for targets added through the API.
    const hasToken = target.tokenFile !== undefined || target.tokenEnv !== undefined;
    const problem = insecureTokenProblem({ ...target, hasToken });
    if (problem !== null) ctx.addIssue({ code: "custom", path: ["url"], message: problem });
  });

/** How `auth.mode: auto` decides: on unless the collector listens on loopback only. */
export const AUTH_MODES = ["auto", "on", "off"] as const;

const origin = z
  .string()
  .refine(
    (s) => hasProtocol(s, ["http:", "https:"]) && new URL(s).origin === s.replace(/\/$/, ""),
    "must be an origin like https://fleet.example.com (scheme, host and port only)",
  );

/**
 * Single sign-on through an OpenID Connect provider (issue 17, README "Access"). The client secret
 * comes from a file or an environment variable (else CODEX_FLEET_OIDC_CLIENT_SECRET); the redirect
 * URI is server.publicUrl + /api/v1/auth/oidc/callback (register it at the provider).
 */
export const OidcSchema = z
  .strictObject({
    /** The issuer URL (discovery at /.well-known/openid-configuration). https, or http on loopback. */
    issuer: httpUrl.refine((s) => {
      const url = new URL(s);
      return url.protocol === "https:" || isLoopbackHost(url.hostname);
    }, "must be https:// (http:// only for a loopback address, e.g. a local test provider)"),
    clientId: z.string().trim().min(1, "must not be empty").max(500),
    clientSecretFile: path.optional(),
    clientSecretEnv: envName.optional(),
    /** Space-separated scopes; `openid` is required. */
    scopes: z
      .string()
      .default("openid profile email")
      .refine((s) => s.split(/\s+/).includes("openid"), "must include openid"),
    /** The claim (ID token or userinfo) whose value(s) map to a role: a string or a list of strings. */
    roleClaim: z.string().trim().min(1, "must not be empty").default("groups"),
    /** Claim values that grant a role; admin wins when a user has both. */
    roleMap: z
      .strictObject({
        adminValues: z.array(z.string().min(1)).default([]),
        viewerValues: z.array(z.string().min(1)).default([]),
      })
      .prefault({}),
    /** The role of a user none of whose claim values is mapped; null refuses them. */
    defaultRole: z.enum(["viewer", "admin"]).nullable().default(null),
    /** The provider's name on the sign-in button ("Sign in with …"); default: the issuer's host. */
    displayName: z.string().trim().min(1).max(100).optional(),
    /** Whom a refused user should ask for access (shown on the refusal page). */
    contact: z.string().trim().min(1).max(300).optional(),
    /** After sign-out, also sign out at the provider (its end_session_endpoint), when it has one. */
    providerLogout: z.boolean().default(false),
  })
  .superRefine((oidc, ctx) => {
    if (oidc.clientSecretFile !== undefined && oidc.clientSecretEnv !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["clientSecretEnv"],
        message: "set at most one of clientSecretFile and clientSecretEnv",
      });
  });

/**
 * Access control (issue #6). Tokens come from a file or an environment variable (else the
 * CODEX_FLEET_ADMIN_TOKEN / CODEX_FLEET_VIEWER_TOKEN variables) and are exchanged for a session.
 */
export const AuthSchema = z
  .strictObject({
    mode: z.enum(AUTH_MODES).default("auto"),
    adminTokenFile: path.optional(),
    adminTokenEnv: envName.optional(),
    viewerTokenFile: path.optional(),
    viewerTokenEnv: envName.optional(),
    sessionTtlMs: ms.max(30 * 86_400_000, "must be at most 30 days").default(12 * 3_600_000),
    /** Default: true when server.publicUrl is https://. */
    secureCookies: z.boolean().optional(),
    /** Origins besides the collector's own (Host, publicUrl) allowed to call it, e.g. a dev proxy. */
    allowedOrigins: z.array(origin).default([]),
    loginRateLimit: z
      .strictObject({ max: z.int().positive().default(10), windowMs: ms.default(300_000) })
      .prefault({}),
    /** Single sign-on (issue 17); absent → static tokens only. */
    oidc: OidcSchema.optional(),
  })
  .superRefine((auth, ctx) => {
    for (const role of ["admin", "viewer"] as const) {
      if (auth[`${role}TokenFile`] !== undefined && auth[`${role}TokenEnv`] !== undefined)
        ctx.addIssue({
          code: "custom",
          path: [`${role}TokenEnv`],
          message: `set at most one of ${role}TokenFile and ${role}TokenEnv`,
        });
    }
  });

/** The config file. Paths in it are relative to the file's directory. */
const ConfigFileObject = z.strictObject({
  server: z
    .strictObject({
      host: HostSchema.default("127.0.0.1"),
      port: PortSchema.default(8080),
      publicUrl: httpUrl.optional(),
      /**
       * Host names (the Host header) the collector answers to besides loopback names, IP
       * addresses, `host` and publicUrl's host: DNS rebinding protection. `.example.com` allows
       * every subdomain.
       */
      allowedHosts: z.array(hostName).default([]),
      /**
       * Where targets added through the API may read their token from on this host (issue 17).
       * Null (default): nowhere, only a token sent in the request. `dir`: `tokenFile` must resolve
       * inside it (symlinks included); `envPrefix`: `tokenEnv` must start with it.
       */
      targetSecrets: z
        .strictObject({
          dir: path.nullable().default(null),
          envPrefix: z
            .string()
            .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be the start of an environment variable name")
            .min(3, "must be at least 3 characters (e.g. CODEX_FLEET_TARGET_)")
            .nullable()
            .default(null),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Where the collector may connect (targets, alert receivers): net/destination.ts. */
  network: z
    .strictObject({
      /** Link-local addresses (169.254/16, fe80::/10) and cloud metadata hosts. */
      allowLinkLocal: z.boolean().default(false),
    })
    .prefault({}),
  database: z.strictObject({ url: DatabaseUrlSchema.optional() }).prefault({}),
  dataDir: path.optional(),
  targets: z
    .array(TargetSchema)
    .default([])
    .superRefine((targets, ctx) => {
      const seen = new Map<string, number>();
      targets.forEach((target, index) => {
        const first = seen.get(target.name);
        if (first === undefined) seen.set(target.name, index);
        else
          ctx.addIssue({
            code: "custom",
            path: [index, "name"],
            message: `duplicate target name "${target.name}" (first used by targets[${first}].name)`,
          });
      });
    }),
  observer: z
    .strictObject({
      idleUnsubscribeMs: ms.default(300_000),
      backfillLookbackMs: ms.default(86_400_000),
      connectTimeoutMs: ms.default(10_000),
      pingIntervalMs: ms.default(30_000),
      minBackoffMs: ms.default(1_000),
      maxBackoffMs: ms.default(60_000),
      stableAfterMs: ms.default(30_000),
      maxPayloadBytes: z
        .int()
        .positive()
        .default(16 * 1024 * 1024),
      requestTimeoutMs: ms.default(30_000),
      /** Invalid frames per minute a target may send before it is disconnected as hostile. */
      maxInvalidPerMinute: z.int().positive().default(1000),
      /**
       * Bytes a target may send per minute before it is disconnected as a flood (parsing is
       * synchronous: one server streaming large frames would starve every other target).
       */
      maxBytesPerMinute: z
        .int()
        .min(1024 * 1024)
        .default(256 * 1024 * 1024),
      /**
       * How often `account/rateLimits/read` asks each app-server for its plan limits (issue 14);
       * 0: only once at connect (the pushed updates still arrive). Not below 10 s: each read is a
       * call to OpenAI's backend on the developer's account.
       */
      rateLimitPollMs: z
        .int()
        .refine((v) => v === 0 || v >= 10_000, "must be 0 (read once at connect) or at least 10000")
        .default(300_000),
    })
    .prefault({})
    .superRefine((observer, ctx) => {
      if (observer.maxBackoffMs < observer.minBackoffMs) {
        ctx.addIssue({
          code: "custom",
          path: ["maxBackoffMs"],
          message: `must be >= minBackoffMs (${observer.minBackoffMs})`,
        });
      }
    }),
  alerts: AlertsConfigSchema.prefault({}),
  budgets: z
    .array(BudgetSchema)
    .max(1000)
    .default([])
    .superRefine((budgets, ctx) => {
      const seen = new Map<string, number>();
      budgets.forEach((b, index) => {
        const first = seen.get(b.id);
        if (first === undefined) seen.set(b.id, index);
        else
          ctx.addIssue({
            code: "custom",
            path: [index, "id"],
            message: `duplicate budget id "${b.id}" (first used by budgets[${first}].id)`,
          });
      });
    }),
  pricing: z
    .strictObject({
      overrides: z
        .array(PriceOverrideSchema)
        .default([])
        .superRefine((overrides, ctx) => {
          // Two prices for one model from the same day would be ambiguous: refuse rather than guess.
          const seen = new Map<string, number>();
          overrides.forEach((override, index) => {
            const key = `${override.model.toLowerCase()}@${override.effectiveFrom}`;
            const first = seen.get(key);
            if (first === undefined) seen.set(key, index);
            else
              ctx.addIssue({
                code: "custom",
                path: [index, "effectiveFrom"],
                message: `duplicate override for ${override.model} from ${override.effectiveFrom} (first: pricing.overrides[${first}])`,
              });
          });
        }),
      /**
       * The price catalogue (README "Prices"): the dated snapshot shipped with the collector, and
       * an optional refresh from the catalogue's maintainers, off unless the operator allows the
       * network access. A failed refresh keeps what was in force and is logged once.
       */
      catalogue: z
        .strictObject({
          refresh: z
            .strictObject({
              enabled: z.boolean().default(false),
              url: z.url({ protocol: /^https?$/ }).default(CATALOGUE_REMOTE_URL),
              timeoutMs: z.int().min(1000).max(120_000).default(10_000),
              intervalMs: z
                .int()
                .min(3_600_000)
                .max(30 * 86_400_000)
                .default(86_400_000),
            })
            .prefault({}),
        })
        .prefault({}),
    })
    .prefault({}),
  logLevel: z.enum(LOG_LEVELS).default("info"),
  logFormat: z.enum(LOG_FORMATS).default("auto"),
  auth: AuthSchema.prefault({}),
  /** Several collectors on one Postgres (issue 12; README "Running more than one collector"). */
  cluster: z
    .strictObject({
      /** Shown in the UI and /api/v1/cluster; default: host name and process id. */
      instanceName: z
        .string()
        .trim()
        .min(1, { error: "must not be empty" })
        .max(100, { error: "must be at most 100 characters" })
        .optional(),
      /** A lease not renewed for this long is lost; the others take its targets over. */
      leaseTtlMs: z
        .int({ error: "must be an integer number of milliseconds" })
        .min(1000, { error: "must be at least 1000 (1 s): renewals run every third of it" })
        .max(600_000, { error: "must be at most 600000 (10 min)" })
        .default(15_000),
    })
    .prefault({}),
  /**
   * How long detail is kept (issue 13, README "Retention"): the ledger (usage_event) and turn rows
   * for `detailDays`; the hourly rollups (usage_hourly, activity_hourly, activity_peak) for
   * `hourlyDays`. Daily rollups and threads are kept. Pruned in small batches every
   * `pruneIntervalMs` by one instance at a time.
   */
  retention: z
    .strictObject({
      detailDays: z
        .int({ error: "must be a whole number of days" })
        .min(1, { error: "must be at least 1" })
        .max(36_500, { error: "must be at most 36500 (100 years)" })
        .default(400),
      hourlyDays: z
        .int({ error: "must be a whole number of days" })
        .min(1, { error: "must be at least 1" })
        .max(36_500, { error: "must be at most 36500 (100 years)" })
        .default(400),
      /**
       * Threads neither loaded in an app-server nor owed a total stay in memory (live feed, thread
       * list, alerts) this many days after they were last heard from (issue 13: the working set,
       * threads-repository.ts isHeldThread); older ones are history, in the database only.
       */
      threadMemoryDays: z
        .int({ error: "must be a whole number of days" })
        .min(1, { error: "must be at least 1" })
        .max(400, { error: "must be at most 400" })
        .default(7),
      pruneIntervalMs: z
        .int({ error: "must be an integer number of milliseconds" })
        .min(60_000, { error: "must be at least 60000 (1 min)" })
        .default(3_600_000),
    })
    .prefault({}),
  /** The audit log (issue 17, README "Access"): events older than `retentionDays` are pruned by the retention job. */
  audit: z
    .strictObject({
      retentionDays: z
        .int({ error: "must be a whole number of days" })
        .min(1, { error: "must be at least 1" })
        .max(36_500, { error: "must be at most 36500 (100 years)" })
        .default(400),
    })
    .prefault({}),
  /**
   * Targets whose codex (read from the `initialize` userAgent) is older than this are flagged
   * `belowSupportedFloor` in the targets API and on the Targets page. Default: the oldest version
   * the real-peer suite runs against.
   */
  codexVersionFloor: z
    .string()
    .refine(isCodexVersion, "must be a codex version like 0.150.0")
    .default(SUPPORTED_CODEX_FLOOR),
});

/** The config file, with the checks that span sections. */
export const ConfigFileSchema = ConfigFileObject.superRefine((file, ctx) => {
  // Budget rules name budgets by id: a typo would watch nothing, silently.
  const ids = new Set(file.budgets.map((b) => b.id));
  file.alerts.rules.forEach((rule, index) => {
    if (rule.kind !== "budget" && rule.kind !== "budgetForecast") return;
    rule.budgets?.forEach((id, j) => {
      if (!ids.has(id))
        ctx.addIssue({
          code: "custom",
          path: ["alerts", "rules", index, "budgets", j],
          message: `no budget with id "${id}" (budgets: ${[...ids].join(", ") || "none configured"})`,
        });
    });
  });
});

/** The config file after validation and defaults. */
export type ConfigFile = z.output<typeof ConfigFileSchema>;

/** A target after load: absolute paths, the token and CA read. */
export interface TargetConfig extends Omit<z.output<typeof TargetSchema>, "labels"> {
  readonly labels: Readonly<Record<string, string>>;
  /** The bearer token from `tokenFile` or `tokenEnv`; a `Secret`, so it cannot be logged. */
  readonly token: Secret | null;
  /** PEM text of `caFile`, for wss:// with a private CA. */
  readonly ca: string | null;
}

/**
 * A notifier after load, with its secret read from the variable its type names: `secretEnv`
 * (webhook signing secret), `routingKeyEnv` (PagerDuty), `apiKeyEnv` (Opsgenie) or `passwordEnv`
 * (email); null when the type has none or it is optional and not set.
 */
export type NotifierRuntimeConfig = NotifierConfig & {
  readonly secret: Secret | null;
  /** PEM text of an email receiver's `caFile`. */
  readonly ca?: string | null;
};

/** Access control after load: the mode decided, tokens and the encryption key read. */
export interface AuthConfig {
  readonly mode: (typeof AUTH_MODES)[number];
  /** `on`, or `auto` with a server.host that is not loopback. */
  readonly enabled: boolean;
  readonly adminToken: Secret | null;
  readonly viewerToken: Secret | null;
  readonly sessionTtlMs: number;
  readonly secureCookies: boolean;
  readonly allowedOrigins: readonly string[];
  readonly loginRateLimit: { readonly max: number; readonly windowMs: number };
  /** Single sign-on (issue 17), or null when not configured. */
  readonly oidc: OidcConfig | null;
  /**
   * CODEX_FLEET_SECRET_KEY as 64 hex digits: the AES-256-GCM key of target tokens stored in the
   * database (targets added through the API). Null → such targets cannot carry a token.
   */
  readonly secretKey: Secret | null;
}

/** `auth.oidc` after load: the secret read, the redirect URI fixed. */
export interface OidcConfig {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: Secret;
  /** server.publicUrl + /api/v1/auth/oidc/callback. */
  readonly redirectUri: string;
  readonly scopes: string;
  readonly roleClaim: string;
  readonly roleMap: { readonly adminValues: readonly string[]; readonly viewerValues: readonly string[] };
  readonly defaultRole: "viewer" | "admin" | null;
  readonly displayName: string;
  readonly contact: string | null;
  readonly providerLogout: boolean;
}

/** `server.targetSecrets` after load: `dir` absolute and real, the allowed variables read. */
export interface TargetSecretsConfig {
  /** The real path of the directory `tokenFile` must be inside; null: files refused. */
  readonly dir: string | null;
  /** null: variables refused. */
  readonly envPrefix: string | null;
  /**
   * The non-empty variables starting with `envPrefix`, read once at start (no other file reads
   * the environment), minus the ones the collector itself uses (its key, tokens, database URL).
   */
  readonly env: Readonly<Record<string, Secret>>;
}

/** The resolved configuration: parsed once at start, then frozen. */
export interface Config {
  /** Absolute path of the config file, or null when running on defaults. */
  readonly source: string | null;
  readonly server: {
    readonly host: string;
    readonly port: number;
    readonly publicUrl: string | null;
    readonly allowedHosts: readonly string[];
    readonly targetSecrets: TargetSecretsConfig;
  };
  readonly network: Readonly<ConfigFile["network"]>;
  /** `url` null → embedded PGlite under `dataDir`. */
  readonly database: { readonly url: string | null };
  /** Absolute. */
  readonly dataDir: string;
  readonly targets: readonly TargetConfig[];
  /** With `allowLinkLocal` from `network`, so that each target connection sees it. */
  readonly observer: Readonly<ConfigFile["observer"]> & { readonly allowLinkLocal: boolean };
  readonly alerts: Readonly<Omit<AlertsConfig, "notify">> & {
    readonly notify: readonly NotifierRuntimeConfig[];
  };
  readonly pricing: Readonly<ConfigFile["pricing"]>;
  readonly logLevel: ConfigFile["logLevel"];
  readonly logFormat: ConfigFile["logFormat"];
  readonly auth: AuthConfig;
  /** `instanceName` null: the collector names itself (host name and pid). */
  readonly cluster: { readonly instanceName: string | null; readonly leaseTtlMs: number };
  /** Targets on an older codex are flagged below the supported floor. */
  readonly codexVersionFloor: string;
  readonly retention: Readonly<ConfigFile["retention"]>;
  /** The audit log's retention. */
  readonly audit: Readonly<ConfigFile["audit"]>;
  readonly budgets: readonly BudgetConfig[];
}
