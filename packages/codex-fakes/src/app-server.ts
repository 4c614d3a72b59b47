/**
 * Spawns the real `codex app-server` offline for integration tests: 0.169.0 by default, or any
 * version in {@link CODEX_VERSIONS} (installed side by side through npm aliases, see package.json).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** Approval policies accepted by config.toml / `AskForApproval`. */
export type ApprovalPolicy = "untrusted" | "on-failure" | "on-request" | "never";

/** Options for {@link startAppServer}. */
export type AppServerOptions = {
  /** Mock model base URL, e.g. `http://127.0.0.1:PORT/v1`. */
  modelUrl: string;
  /** Bearer token; a random one is made when omitted. `null` disables WS auth. */
  token?: string | null;
  /** Label used in temp dir names and debug output. */
  name: string;
  approvalPolicy?: ApprovalPolicy;
  /** Extra `[features]` flags, e.g. `{ multi_agent: true }` (sub-agent tools). */
  features?: Record<string, boolean>;
  /** Which installed codex runs; default {@link DEFAULT_CODEX_VERSION}. */
  version?: CodexVersion;
  /**
   * A fake ChatGPT login (facts "Rate limits and credits"): `auth.json` with unsigned JWTs of this
   * plan, `chatgpt_base_url` and the token-refresh URL pointed at `baseUrl` (the model stand-in,
   * which serves `/backend-api/wham/usage`), so `account/rateLimits/read` works offline. Turns
   * still go to the mock provider with its API key.
   */
  chatgptLogin?: { baseUrl: string; planType: string };
};

/** An unsigned JWT (`alg: none`) holding `claims`: codex reads the claims without verifying. */
function unsignedJwt(claims: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  return `${part({ alg: "none", typ: "JWT" })}.${part(claims)}.sig`;
}

/** The `auth.json` of a ChatGPT login of `planType` that needs no network (facts). */
export function fakeChatgptAuthJson(planType: string): string {
  const exp = Math.floor(Date.now() / 1000) + 30 * 86_400;
  const auth = {
    chatgpt_plan_type: planType,
    chatgpt_user_id: "user-x",
    chatgpt_account_id: "acct-x",
  };
  return JSON.stringify({
    OPENAI_API_KEY: null,
    tokens: {
      id_token: unsignedJwt({ exp, email: "dev@example.com", "https://api.openai.com/auth": auth }),
      access_token: unsignedJwt({ exp, "https://api.openai.com/auth": auth }),
      refresh_token: "rt-x",
      account_id: "acct-x",
    },
    last_refresh: new Date().toISOString(),
  });
}

/** A running app-server. */
export type AppServer = {
  url: string;
  token: string | null;
  port: number;
  codexHome: string;
  cwd: string;
  /** Everything the process wrote to stderr (and stdout) since the last (re)start. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after 3 s (a thread waiting on approval ignores SIGTERM). */
  stop(): Promise<void>;
  /** SIGKILL now. */
  kill(): Promise<void>;
  /** Stop, then start again on the same port and CODEX_HOME. */
  restart(): Promise<void>;
  /** Stop and remove the temp directories. */
  dispose(): Promise<void>;
};

/**
 * Every codex version the real-peer suite runs against, oldest first. The first is the supported
 * floor (the oldest release a team was measured running, 0.150 … 0.171 within six weeks); the last
 * is the newest published when this list was last updated. Each is an npm alias in package.json
 * (`@openai/codex` itself for the default), so `npm ci` installs all of them with their native binary.
 */
export const CODEX_VERSIONS = ["0.150.0", "0.169.0", "0.171.0"] as const;
export type CodexVersion = (typeof CODEX_VERSIONS)[number];
/** The oldest codex version the collector supports and tests. */
export const CODEX_VERSION_FLOOR: CodexVersion = CODEX_VERSIONS[0];
/** The newest codex version tested. */
export const CODEX_VERSION_NEWEST: CodexVersion = CODEX_VERSIONS[CODEX_VERSIONS.length - 1] as CodexVersion;
/** The version the single-version real tests use. */
export const DEFAULT_CODEX_VERSION: CodexVersion = "0.169.0";

/**
 * Where the tested versions behave differently for the observer. `unloadIdleAfterMs`: how long
 * codex keeps an idle thread loaded after its last client left (0.150.0: 30 min per the issue's
 * measurement; 0.169.0/0.171.0: 60 s, facts §2). `coldResumeReplaysUsage`: a `thread/resume` of a
 * `notLoaded` thread sends the resumer `thread/tokenUsage/updated` with the thread's total
 * (facts §5); measured here that 0.150.0 sends none, so a total missed while the collector was
 * away stays pending until the thread's next turn.
 */
export const CODEX_BEHAVIOUR: Record<
  CodexVersion,
  { unloadIdleAfterMs: number; coldResumeReplaysUsage: boolean }
> = {
  "0.150.0": { unloadIdleAfterMs: 30 * 60_000, coldResumeReplaysUsage: false },
  "0.169.0": { unloadIdleAfterMs: 60_000, coldResumeReplaysUsage: true },
  "0.171.0": { unloadIdleAfterMs: 60_000, coldResumeReplaysUsage: true },
};

/**
 * Versions the real-peer suite runs against: all of {@link CODEX_VERSIONS}, or the comma-separated
 * subset in `CODEX_VERSIONS` (e.g. `CODEX_VERSIONS=0.171.0` to try one quickly). Unknown names throw.
 */
export function testedCodexVersions(env: string | undefined = process.env.CODEX_VERSIONS): CodexVersion[] {
  if (env === undefined || env.trim() === "") return [...CODEX_VERSIONS];
  const picked = env.split(",").map((v) => v.trim());
  for (const v of picked) {
    if (!(CODEX_VERSIONS as readonly string[]).includes(v)) {
      throw new Error(`CODEX_VERSIONS names ${v}, not one of the installed ${CODEX_VERSIONS.join(", ")}`);
    }
  }
  return picked as CodexVersion[];
}

const require = createRequire(import.meta.url);

/** The npm package (or alias) that holds a version's launcher. */
function packageOf(version: CodexVersion): string {
  return version === DEFAULT_CODEX_VERSION ? "@openai/codex" : `codex-${version}`;
}

/** The `codex` launcher of an installed version; throws if the alias or its version is not installed. */
export function codexBin(version: CodexVersion = DEFAULT_CODEX_VERSION): string {
  const pkgJson = require.resolve(`${packageOf(version)}/package.json`);
  const installed = (require(pkgJson) as { version: string }).version;
  if (installed !== version) {
    throw new Error(`${packageOf(version)} is ${installed}, expected ${version}: run npm ci`);
  }
  return join(dirname(pkgJson), "bin/codex.js");
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const child of live) {
      // The child is its own process group leader (detached), so this reaches the native
      // binary that the npm `codex` launcher spawns, too.
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    live.clear();
  };
  process.on("exit", killAll);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** The config.toml from codex-app-server-facts.md, pointed at `modelUrl`. */
export function configToml(
  modelUrl: string,
  approvalPolicy: ApprovalPolicy,
  features: Record<string, boolean> = {},
  chatgptBaseUrl: string | null = null,
): string {
  const extra = Object.entries(features)
    .map(([k, v]) => `${k} = ${v}\n`)
    .join("");
  const chatgpt = chatgptBaseUrl === null ? "" : `chatgpt_base_url = "${chatgptBaseUrl}"\n`;
  return `${chatgpt}model = "mock-model"
model_provider = "mock"
approval_policy = "${approvalPolicy}"
sandbox_mode = "danger-full-access"
[model_providers.mock]
name = "mock"
base_url = "${modelUrl}"
wire_api = "responses"
env_key = "MOCK_API_KEY"
request_max_retries = 0
stream_max_retries = 0
stream_idle_timeout_ms = 30000
[features]
plugins = false
apps = false
${extra}[analytics]
enabled = false
`;
}

async function waitReady(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`codex app-server exited early (${child.exitCode ?? child.signalCode}):\n${log()}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`codex app-server not ready after 20 s:\n${log()}`);
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once("exit", () => r()));
}

function signalGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, sig);
  } catch {
    // already gone
  }
}

/** Start a real app-server with its own CODEX_HOME and working dir; resolves once `/readyz` is 200. */
export async function startAppServer(opts: AppServerOptions): Promise<AppServer> {
  installExitHook();
  const bin = codexBin(opts.version);
  const root = mkdtempSync(join(tmpdir(), `codex-${opts.name}-`));
  const codexHome = join(root, "home");
  const cwd = join(root, "project");
  mkdirSync(codexHome);
  mkdirSync(cwd);
  const login = opts.chatgptLogin;
  const chatgptBaseUrl = login ? `${login.baseUrl.replace(/\/+$/, "")}/backend-api/` : null;
  writeFileSync(
    join(codexHome, "config.toml"),
    configToml(opts.modelUrl, opts.approvalPolicy ?? "never", opts.features, chatgptBaseUrl),
  );
  if (login)
    writeFileSync(join(codexHome, "auth.json"), fakeChatgptAuthJson(login.planType), { mode: 0o600 });
  const token = opts.token === undefined ? randomBytes(24).toString("hex") : opts.token;
  const tokenFile = join(root, "ws-token");
  if (token !== null) writeFileSync(tokenFile, token, { mode: 0o600 });
  const port = await freePort();

  let child: ChildProcess | null = null;
  let log = "";

  const launch = async () => {
    log = "";
    const args = ["app-server", "--listen", `ws://127.0.0.1:${port}`];
    if (token !== null) args.push("--ws-auth", "capability-token", "--ws-token-file", tokenFile);
    const proc = spawn(bin, args, {
      cwd,
      env: {
        ...process.env,
        CODEX_HOME: codexHome,
        MOCK_API_KEY: "mock-key",
        // Nothing leaves the machine: a token refresh would go to the stand-in.
        ...(login
          ? { CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${login.baseUrl.replace(/\/+$/, "")}/oauth/token` }
          : {}),
        RUST_LOG: process.env.RUST_LOG ?? "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    child = proc;
    live.add(proc);
    proc.on("exit", () => live.delete(proc));
    proc.stdout?.on("data", (c: Buffer) => {
      log += c.toString("utf8");
    });
    proc.stderr?.on("data", (c: Buffer) => {
      log += c.toString("utf8");
    });
    await waitReady(port, proc, () => log);
  };

  const stop = async () => {
    const proc = child;
    if (!proc) return;
    child = null;
    signalGroup(proc, "SIGTERM");
    const timer = setTimeout(() => signalGroup(proc, "SIGKILL"), 3000);
    await waitExit(proc);
    clearTimeout(timer);
    // The launcher may exit before the native binary; make sure the group is gone.
    signalGroup(proc, "SIGKILL");
  };

  await launch();

  return {
    url: `ws://127.0.0.1:${port}`,
    token,
    port,
    codexHome,
    cwd,
    stderr: () => log,
    stop,
    async kill() {
      const proc = child;
      if (!proc) return;
      child = null;
      signalGroup(proc, "SIGKILL");
      await waitExit(proc);
    },
    async restart() {
      await stop();
      await launch();
    },
    async dispose() {
      await stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
