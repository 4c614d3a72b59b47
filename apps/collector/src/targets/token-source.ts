/**
 * Where a target added through the API reads its token on the collector's host (issue 17): a file
 * inside `server.targetSecrets.dir` or a variable starting with `server.targetSecrets.envPrefix`.
 * Both are off by default: an admin must not be able to send any file or variable of the host to
 * a URL they choose. Errors are 400s naming `tokenFile` or `tokenEnv`; they never carry the
 * token, and a path outside the directory is refused before the file system is touched.
 */
import { open, realpath, stat } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import type { TargetTokenSource } from "@codex-fleet/protocol/targets";
import type { TargetSecretsConfig } from "../config/schema.ts";
import { Secret } from "../config/secret.ts";
import { ApiError, badParam } from "../http/errors.ts";

/** A token larger than this is not a bearer token. */
const MAX_TOKEN_FILE_BYTES = 16 * 1024;

/** The sources this collector accepts, for the admin UI (GET /api/v1/auth/me). */
export function allowedTokenSources(cfg: TargetSecretsConfig): TargetTokenSource[] {
  return [
    "token",
    ...(cfg.dir !== null ? (["file"] as const) : []),
    ...(cfg.envPrefix !== null ? (["env"] as const) : []),
  ];
}

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel);
}

/**
 * Check `tokenFile` and read its token. The path (absolute, or relative to `dir`) must lie inside
 * `dir` as written and once every symlink is resolved; the file must be a non-empty regular file.
 * Returns the path as stored (absolute, as written) and the token.
 */
export async function readTokenFile(
  cfg: TargetSecretsConfig,
  given: string,
): Promise<{ path: string; token: Secret }> {
  const dir = cfg.dir;
  if (dir === null)
    throw badParam(
      "tokenFile",
      "this collector reads no token files for targets added through the API: set server.targetSecrets.dir in its config to a directory of token files, or send the token in `token`",
    );
  const path = resolve(dir, given);
  if (!inside(dir, path)) throw badParam("tokenFile", `must be a file inside ${dir}`);
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw badParam("tokenFile", `cannot read ${path}: no such file (or not readable by the collector)`);
  }
  // A symlink inside the directory must not lead out of it.
  if (!inside(dir, real)) throw badParam("tokenFile", `must be a file inside ${dir} (it links outside)`);
  // Not a regular file (a FIFO would block the open): refuse before opening it.
  const kind = await stat(real).catch(() => null);
  if (kind === null || !kind.isFile()) throw badParam("tokenFile", `${path} is not a file`);
  let text: string;
  try {
    const fh = await open(real, "r");
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw badParam("tokenFile", `${path} is not a file`);
      if (st.size > MAX_TOKEN_FILE_BYTES)
        throw badParam("tokenFile", `${path} is larger than ${MAX_TOKEN_FILE_BYTES} bytes: not a token`);
      text = (await fh.readFile("utf8")).trim();
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw badParam("tokenFile", `cannot read ${path}`);
  }
  if (text === "") throw badParam("tokenFile", `${path} is empty`);
  if (/\s/.test(text))
    throw badParam("tokenFile", `${path} does not hold one token (it contains whitespace)`);
  return { path, token: new Secret(text) };
}

/** Check `tokenEnv` and read its token from the variables read at start. */
export function readTokenEnv(cfg: TargetSecretsConfig, name: string): Secret {
  const prefix = cfg.envPrefix;
  if (prefix === null)
    throw badParam(
      "tokenEnv",
      "this collector reads no environment variables for targets added through the API: set server.targetSecrets.envPrefix in its config (e.g. CODEX_FLEET_TARGET_), or send the token in `token`",
    );
  if (!name.startsWith(prefix)) throw badParam("tokenEnv", `must start with ${prefix}`);
  const token = cfg.env[name];
  if (token === undefined)
    throw badParam("tokenEnv", `${name} is unset or empty in the collector's environment (read at start)`);
  return token;
}
