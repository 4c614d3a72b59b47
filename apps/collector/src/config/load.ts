/**
 * Loads the collector's configuration once at start: finds the file (`--config FILE` or
 * `CODEX_FLEET_CONFIG`), parses JSON or YAML, validates it strictly, applies the `DATABASE_URL`,
 * `PORT` and `HOST` environment overrides, reads token and CA files, decides access control
 * (`auth`, CODEX_FLEET_SECRET_KEY), and freezes the result.
 * This and the entry point are the only code that sees the environment (STYLE.md "config").
 */
import { readFile, realpath, stat } from "node:fs/promises";
import { dirname, extname, resolve } from "node:path";
import { OIDC_CALLBACK_PATH } from "@codex-fleet/protocol/auth";
import { isLoopbackHost } from "@codex-fleet/protocol/targets";
import { parseDocument } from "yaml";
import { z } from "zod";
import { destinationProblem } from "../net/destination.ts";
import { ConfigError, type ConfigIssue, createIssueMapper } from "./errors.ts";
import {
  type AuthConfig,
  type Config,
  ConfigFileSchema,
  DatabaseUrlSchema,
  HostSchema,
  LOG_FORMATS,
  type NotifierRuntimeConfig,
  type OidcConfig,
  PortSchema,
  type TargetConfig,
  type TargetSecretsConfig,
} from "./schema.ts";
import { Secret } from "./secret.ts";

/** What `loadConfig` reads; pass `process.argv.slice(2)`, `process.env`, `process.cwd()`. */
export interface LoadConfigOptions {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

/** The data directory when the config file names none, relative to the working directory. */
export const DEFAULT_DATA_DIR = "./.codex-fleet";

type ConfigFile = z.output<typeof ConfigFileSchema>;
type FileTarget = ConfigFile["targets"][number];

const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === "" ? undefined : value;

/** `--config FILE` or `--config=FILE` (the last one wins); other arguments are left to others. */
function configArgument(argv: readonly string[]): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    let value: string | undefined;
    if (arg === "--config") value = argv[++i];
    else if (arg.startsWith("--config=")) value = arg.slice("--config=".length);
    else continue;
    if (value === undefined || value === "" || value.startsWith("--")) {
      throw new ConfigError("command line", [{ path: "--config", message: "needs a file name" }]);
    }
    found = value;
  }
  return found;
}

interface EnvOverrides {
  databaseUrl?: string;
  port?: number;
  host?: string;
  secretKey?: Secret;
  logFormat?: (typeof LOG_FORMATS)[number];
}

/** The environment variable holding the key that encrypts target tokens stored in the database. */
export const SECRET_KEY_ENV = "CODEX_FLEET_SECRET_KEY";

/** 32 bytes as 64 hex digits or base64, normalized to hex; null when it is neither. */
function parseSecretKey(text: string): string | null {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return text.toLowerCase();
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const bytes = Buffer.from(text, "base64");
    if (bytes.length === 32) return bytes.toString("hex");
  }
  return null;
}

function envOverrides(env: LoadConfigOptions["env"]): EnvOverrides {
  const mapper = createIssueMapper();
  const issues: ConfigIssue[] = [];
  const check = <T>(name: string, schema: z.ZodType<T>, input: unknown): T | undefined => {
    const result = schema.safeParse(input, { error: mapper.errorMap });
    if (result.success) return result.data;
    issues.push(...mapper.toIssues(result.error).map((issue) => ({ ...issue, path: name })));
    return undefined;
  };
  const out: EnvOverrides = {};
  const databaseUrl = nonEmpty(env.DATABASE_URL);
  if (databaseUrl !== undefined) out.databaseUrl = check("DATABASE_URL", DatabaseUrlSchema, databaseUrl);
  const port = nonEmpty(env.PORT);
  // Number("") and Number(" 1e3 ") are numbers: accept plain decimal digits only.
  if (port !== undefined) out.port = check("PORT", PortSchema, /^\d+$/.test(port) ? Number(port) : port);
  const host = nonEmpty(env.HOST);
  if (host !== undefined) out.host = check("HOST", HostSchema, host);
  const logFormat = nonEmpty(env.LOG_FORMAT);
  if (logFormat !== undefined) out.logFormat = check("LOG_FORMAT", z.enum(LOG_FORMATS), logFormat);
  const secretKey = nonEmpty(env[SECRET_KEY_ENV])?.trim();
  if (secretKey !== undefined) {
    const hex = parseSecretKey(secretKey);
    if (hex === null)
      issues.push({
        path: SECRET_KEY_ENV,
        message: "must be 32 random bytes as 64 hex digits or base64 (e.g. `openssl rand -hex 32`)",
      });
    else out.secretKey = new Secret(hex);
  }
  if (issues.length > 0) throw new ConfigError("environment", issues);
  return out;
}

const errorCode = (error: unknown): string =>
  (error as NodeJS.ErrnoException | null)?.code ?? (error instanceof Error ? error.message : String(error));

/** JSON by extension (`.json`) or content (starts with `{`); YAML otherwise. */
function parseText(label: string, file: string, text: string): unknown {
  const ext = extname(file).toLowerCase();
  const isJson = ext === ".json" || (ext !== ".yaml" && ext !== ".yml" && text.trimStart().startsWith("{"));
  if (isJson) {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new ConfigError(label, [{ path: "", message: `invalid JSON: ${(error as Error).message}` }]);
    }
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new ConfigError(
      label,
      doc.errors.map((error) => ({
        path: "",
        // yaml's messages end with a code excerpt after the first line; the first line has line/column.
        message: `invalid YAML: ${(error.message.split("\n")[0] ?? "").replace(/:$/, "")}`,
      })),
    );
  }
  // An empty file (or one with only comments) is an empty config: all defaults.
  return doc.toJS() ?? {};
}

async function readTrimmed(file: string): Promise<{ text: string } | { error: string }> {
  try {
    return { text: (await readFile(file, "utf8")).trim() };
  } catch (error) {
    return { error: `cannot read ${file} (${errorCode(error)})` };
  }
}

async function resolveTarget(
  target: FileTarget,
  index: number,
  baseDir: string,
  env: LoadConfigOptions["env"],
  issues: ConfigIssue[],
): Promise<TargetConfig> {
  const at = (key: string): string => `targets[${index}].${key}`;
  const tokenFile = target.tokenFile === undefined ? undefined : resolve(baseDir, target.tokenFile);
  const caFile = target.caFile === undefined ? undefined : resolve(baseDir, target.caFile);
  let token: Secret | null = null;
  if (tokenFile !== undefined) {
    const read = await readTrimmed(tokenFile);
    if ("error" in read) issues.push({ path: at("tokenFile"), message: read.error });
    else if (read.text === "") issues.push({ path: at("tokenFile"), message: `${tokenFile} is empty` });
    else token = new Secret(read.text);
  } else if (target.tokenEnv !== undefined) {
    const value = env[target.tokenEnv]?.trim();
    if (value === undefined || value === "") {
      issues.push({
        path: at("tokenEnv"),
        message: `environment variable ${target.tokenEnv} is unset or empty`,
      });
    } else token = new Secret(value);
  }
  let ca: string | null = null;
  if (caFile !== undefined) {
    const read = await readTrimmed(caFile);
    if ("error" in read) issues.push({ path: at("caFile"), message: read.error });
    else if (!read.text.includes("-----BEGIN CERTIFICATE-----")) {
      issues.push({ path: at("caFile"), message: `${caFile} is not a PEM certificate` });
    } else ca = `${read.text}\n`;
  }
  return { ...target, tokenFile, caFile, token, ca };
}

/** The key naming a notifier's secret variable (and the variable), or null for types without one. */
function notifierSecretKey(
  notifier: ConfigFile["alerts"]["notify"][number],
): { key: "secretEnv" | "routingKeyEnv" | "apiKeyEnv" | "passwordEnv"; name: string | undefined } | null {
  switch (notifier.type) {
    case "webhook":
      return { key: "secretEnv", name: notifier.secretEnv };
    case "pagerduty":
      return { key: "routingKeyEnv", name: notifier.routingKeyEnv };
    case "opsgenie":
      return { key: "apiKeyEnv", name: notifier.apiKeyEnv };
    case "email":
      return { key: "passwordEnv", name: notifier.passwordEnv };
    default:
      return null;
  }
}

/** An email receiver's `caFile` read (PEM), or null. */
async function resolveNotifierCa(
  notifier: ConfigFile["alerts"]["notify"][number],
  index: number,
  baseDir: string,
  issues: ConfigIssue[],
): Promise<string | null> {
  if (notifier.type !== "email" || notifier.caFile === undefined) return null;
  const path = `alerts.notify[${index}].caFile`;
  const file = resolve(baseDir, notifier.caFile);
  const read = await readTrimmed(file);
  if ("error" in read) issues.push({ path, message: read.error });
  else if (!read.text.includes("-----BEGIN CERTIFICATE-----"))
    issues.push({ path, message: `${file} is not a PEM certificate` });
  else return `${read.text}\n`;
  return null;
}

/**
 * Each notifier with its secret (signing secret, routing key, API key, SMTP password) read from
 * the environment, and an email receiver's CA from its file.
 */
async function resolveNotifiers(
  file: ConfigFile,
  env: LoadConfigOptions["env"],
  baseDir: string,
  issues: ConfigIssue[],
): Promise<NotifierRuntimeConfig[]> {
  const cas = await Promise.all(
    file.alerts.notify.map((notifier, index) => resolveNotifierCa(notifier, index, baseDir, issues)),
  );
  return file.alerts.notify.map((notifier, index) =>
    withSecret(notifier, index, cas[index] ?? null, env, issues),
  );
}

/** `notifier` with its secret read from the variable its type names. */
function withSecret(
  notifier: ConfigFile["alerts"]["notify"][number],
  index: number,
  ca: string | null,
  env: LoadConfigOptions["env"],
  issues: ConfigIssue[],
): NotifierRuntimeConfig {
  const secretKey = notifierSecretKey(notifier);
  if (secretKey === null || secretKey.name === undefined) return { ...notifier, secret: null, ca };
  const value = env[secretKey.name]?.trim();
  if (value === undefined || value === "") {
    issues.push({
      path: `alerts.notify[${index}].${secretKey.key}`,
      message: `environment variable ${secretKey.name} is unset or empty`,
    });
    return { ...notifier, secret: null, ca };
  }
  return { ...notifier, secret: new Secret(value), ca };
}

/** Shortest admin or viewer token accepted: a guessable token would defeat the login rate limit. */
export const MIN_AUTH_TOKEN_LENGTH = 16;

async function resolveAuthToken(
  auth: ConfigFile["auth"],
  role: "admin" | "viewer",
  baseDir: string,
  env: LoadConfigOptions["env"],
  issues: ConfigIssue[],
): Promise<Secret | null> {
  const file = auth[`${role}TokenFile`];
  const envName = auth[`${role}TokenEnv`];
  const fallbackEnv = `CODEX_FLEET_${role.toUpperCase()}_TOKEN`;
  let key: string;
  let value: string | undefined;
  if (file !== undefined) {
    key = `auth.${role}TokenFile`;
    const read = await readTrimmed(resolve(baseDir, file));
    if ("error" in read) {
      issues.push({ path: key, message: read.error });
      return null;
    }
    value = read.text;
    if (value === "") issues.push({ path: key, message: `${resolve(baseDir, file)} is empty` });
  } else {
    const name = envName ?? fallbackEnv;
    key = envName === undefined ? fallbackEnv : `auth.${role}TokenEnv`;
    value = env[name]?.trim();
    if (envName !== undefined && (value === undefined || value === ""))
      issues.push({ path: key, message: `environment variable ${envName} is unset or empty` });
  }
  if (value === undefined || value === "") return null;
  if (value.length < MIN_AUTH_TOKEN_LENGTH) {
    issues.push({
      path: key,
      message: `the ${role} token is too short: use at least ${MIN_AUTH_TOKEN_LENGTH} characters (e.g. \`openssl rand -hex 32\`)`,
    });
    return null;
  }
  return new Secret(value);
}

/** The environment variable read for the OIDC client secret when auth.oidc names neither a file nor a variable. */
export const OIDC_CLIENT_SECRET_ENV = "CODEX_FLEET_OIDC_CLIENT_SECRET";

/** `auth.oidc` with its client secret read and its redirect URI fixed; null (with issues) when it cannot be used. */
async function resolveOidc(
  file: ConfigFile,
  baseDir: string,
  env: LoadConfigOptions["env"],
  issues: ConfigIssue[],
): Promise<OidcConfig | null> {
  const oidc = file.auth.oidc;
  if (oidc === undefined) return null;
  let secret: string | undefined;
  if (oidc.clientSecretFile !== undefined) {
    const read = await readTrimmed(resolve(baseDir, oidc.clientSecretFile));
    if ("error" in read) issues.push({ path: "auth.oidc.clientSecretFile", message: read.error });
    else if (read.text === "")
      issues.push({
        path: "auth.oidc.clientSecretFile",
        message: `${resolve(baseDir, oidc.clientSecretFile)} is empty`,
      });
    else secret = read.text;
  } else {
    const name = oidc.clientSecretEnv ?? OIDC_CLIENT_SECRET_ENV;
    secret = nonEmpty(env[name])?.trim();
    if (secret === undefined)
      issues.push({
        path: oidc.clientSecretEnv === undefined ? "auth.oidc" : "auth.oidc.clientSecretEnv",
        message: `environment variable ${name} is unset or empty: single sign-on needs the client secret (auth.oidc.clientSecretFile, auth.oidc.clientSecretEnv or ${OIDC_CLIENT_SECRET_ENV})`,
      });
  }
  const publicUrl = file.server.publicUrl;
  if (publicUrl === undefined)
    issues.push({
      path: "server.publicUrl",
      message: `single sign-on (auth.oidc) needs server.publicUrl: the provider sends the browser back to publicUrl + ${OIDC_CALLBACK_PATH}`,
    });
  if (secret === undefined || publicUrl === undefined) return null;
  return {
    issuer: oidc.issuer,
    clientId: oidc.clientId,
    clientSecret: new Secret(secret),
    redirectUri: `${publicUrl.replace(/\/+$/, "")}${OIDC_CALLBACK_PATH}`,
    scopes: oidc.scopes.trim().split(/\s+/).join(" "),
    roleClaim: oidc.roleClaim,
    roleMap: oidc.roleMap,
    defaultRole: oidc.defaultRole,
    displayName: oidc.displayName ?? new URL(oidc.issuer).host,
    contact: oidc.contact ?? null,
    providerLogout: oidc.providerLogout,
  };
}

async function resolveAuth(
  file: ConfigFile,
  host: string,
  secretKey: Secret | null,
  baseDir: string,
  env: LoadConfigOptions["env"],
  issues: ConfigIssue[],
): Promise<AuthConfig> {
  const { auth } = file;
  const enabled = auth.mode === "on" || (auth.mode === "auto" && !isLoopbackHost(host));
  const before = issues.length;
  const adminToken = await resolveAuthToken(auth, "admin", baseDir, env, issues);
  const adminReported = issues.length > before;
  const viewerToken = await resolveAuthToken(auth, "viewer", baseDir, env, issues);
  if (enabled && adminToken === null && !adminReported) {
    const why = auth.mode === "on" ? "auth.mode is on" : `server.host ${host} is not a loopback address`;
    issues.push({
      path: "auth",
      message: `authentication is on (${why}) but no admin token is set: set auth.adminTokenFile, auth.adminTokenEnv or CODEX_FLEET_ADMIN_TOKEN (or auth.mode: off behind your own authenticating proxy)`,
    });
  }
  if (adminToken !== null && viewerToken !== null && adminToken.reveal() === viewerToken.reveal())
    issues.push({
      path: "auth.viewerTokenFile",
      message: "the viewer token must differ from the admin token",
    });
  const publicUrl = file.server.publicUrl;
  return {
    mode: auth.mode,
    enabled,
    adminToken,
    viewerToken,
    sessionTtlMs: auth.sessionTtlMs,
    secureCookies: auth.secureCookies ?? publicUrl?.startsWith("https:") === true,
    allowedOrigins: auth.allowedOrigins.map((o) => new URL(o).origin),
    loginRateLimit: auth.loginRateLimit,
    oidc: await resolveOidc(file, baseDir, env, issues),
    secretKey,
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Names of every `…Env` key in a config section: the variables the collector itself reads. */
function envKeysIn(value: unknown, out: Set<string>): Set<string> {
  if (Array.isArray(value)) for (const v of value) envKeysIn(v, out);
  else if (typeof value === "object" && value !== null)
    for (const [k, v] of Object.entries(value)) {
      if (k.endsWith("Env") && typeof v === "string") out.add(v);
      else envKeysIn(v, out);
    }
  return out;
}

/**
 * `server.targetSecrets`: the directory's real path (it must exist) and a snapshot of the
 * variables under the prefix. Variables the collector uses for itself (its key, the database URL,
 * every `…Env` of auth and alerts) are left out even when they match the prefix.
 */
async function resolveTargetSecrets(
  file: ConfigFile,
  env: LoadConfigOptions["env"],
  baseDir: string,
  issues: ConfigIssue[],
): Promise<TargetSecretsConfig> {
  const { dir, envPrefix } = file.server.targetSecrets;
  let realDir: string | null = null;
  if (dir !== null) {
    try {
      realDir = await realpath(resolve(baseDir, dir));
      if (!(await stat(realDir)).isDirectory())
        issues.push({ path: "server.targetSecrets.dir", message: `${realDir} is not a directory` });
    } catch (error) {
      issues.push({
        path: "server.targetSecrets.dir",
        message: `cannot read ${resolve(baseDir, dir)} (${errorCode(error)})`,
      });
    }
  }
  const own = envKeysIn({ auth: file.auth, alerts: file.alerts }, new Set([SECRET_KEY_ENV, "DATABASE_URL"]));
  const vars: Record<string, Secret> = {};
  if (envPrefix !== null)
    for (const [name, value] of Object.entries(env)) {
      const text = value?.trim();
      if (name.startsWith(envPrefix) && !own.has(name) && text) vars[name] = new Secret(text);
    }
  return { dir: realDir, envPrefix, env: vars };
}

/**
 * Reads, validates and resolves the configuration. Throws `ConfigError` naming every bad key.
 * Paths written in the config file are relative to the file's directory.
 */
export async function loadConfig({ argv, env, cwd }: LoadConfigOptions): Promise<Config> {
  const given = configArgument(argv) ?? nonEmpty(env.CODEX_FLEET_CONFIG);
  const overrides = envOverrides(env);
  const source = given === undefined ? null : resolve(cwd, given);
  const label = given ?? "defaults";

  let raw: unknown = {};
  if (source !== null) {
    let text: string;
    try {
      text = await readFile(source, "utf8");
    } catch (error) {
      throw new ConfigError(label, [{ path: "", message: `cannot read ${source} (${errorCode(error)})` }]);
    }
    raw = parseText(label, source, text);
  }

  const mapper = createIssueMapper();
  const parsed = ConfigFileSchema.safeParse(raw, { error: mapper.errorMap });
  if (!parsed.success) throw new ConfigError(label, mapper.toIssues(parsed.error));
  const file = parsed.data;

  const baseDir = source === null ? cwd : dirname(source);
  const issues: ConfigIssue[] = [];
  const targets = await Promise.all(
    file.targets.map((target, index) => resolveTarget(target, index, baseDir, env, issues)),
  );
  const notify = await resolveNotifiers(file, env, baseDir, issues);
  // SSRF (net/destination.ts): refuse link-local and metadata destinations by their text here;
  // names are checked again on their addresses at every connection.
  file.targets.forEach((target, index) => {
    const problem = destinationProblem(target.url, file.network);
    if (problem !== null) issues.push({ path: `targets[${index}].url`, message: problem });
  });
  file.alerts.notify.forEach((notifier, index) => {
    const [key, url] =
      notifier.type === "email"
        ? ["host", `smtp://${notifier.host.includes(":") ? `[${notifier.host}]` : notifier.host}`]
        : ["url", notifier.url];
    const problem = destinationProblem(url, file.network);
    if (problem !== null) issues.push({ path: `alerts.notify[${index}].${key}`, message: problem });
  });
  const targetSecrets = await resolveTargetSecrets(file, env, baseDir, issues);
  const host = overrides.host ?? file.server.host;
  const auth = await resolveAuth(file, host, overrides.secretKey ?? null, baseDir, env, issues);
  if (issues.length > 0) {
    // Targets resolve concurrently: report in key order, not in I/O completion order.
    issues.sort((a, b) => a.path.localeCompare(b.path, "en", { numeric: true }));
    throw new ConfigError(label, issues);
  }

  const config: Config = {
    source,
    server: {
      host,
      port: overrides.port ?? file.server.port,
      publicUrl: file.server.publicUrl ?? null,
      allowedHosts: file.server.allowedHosts,
      targetSecrets,
    },
    network: file.network,
    database: { url: overrides.databaseUrl ?? file.database.url ?? null },
    dataDir: file.dataDir === undefined ? resolve(cwd, DEFAULT_DATA_DIR) : resolve(baseDir, file.dataDir),
    targets,
    observer: { ...file.observer, allowLinkLocal: file.network.allowLinkLocal },
    alerts: { ...file.alerts, notify },
    pricing: file.pricing,
    logLevel: file.logLevel,
    logFormat: overrides.logFormat ?? file.logFormat,
    auth,
    cluster: { instanceName: file.cluster.instanceName ?? null, leaseTtlMs: file.cluster.leaseTtlMs },
    codexVersionFloor: file.codexVersionFloor,
    retention: file.retention,
    audit: file.audit,
    budgets: file.budgets,
  };
  return deepFreeze(config);
}
