/**
 * Codex versions: read from the `userAgent` an app-server answers `initialize` with
 * (e.g. `codex_vscode/0.169.0 (Debian 12.0.0; x86_64) xterm (codex_fleet_observer; 0.1.0)`),
 * compared, and checked against the supported floor. Pure and browser-safe: the collector's
 * targets API and metrics and the dashboard's Targets page share it.
 */

/**
 * The oldest codex the collector supports: the oldest release a team was measured running
 * (0.150 … 0.171 within six weeks) and the oldest the real-peer suite runs against. Counting is
 * exact on it; it unloads an idle thread 30 min after its last client leaves (0.169+ after 60 s),
 * so usage missed while the collector was down stays pending that much longer.
 */
export const SUPPORTED_CODEX_FLOOR = "0.150.0";

/** `major.minor.patch`, optionally `-prerelease`; bounded so a hostile string cannot make a long label. */
const VERSION =
  /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:-([0-9A-Za-z]+(?:\.[0-9A-Za-z]+){0,7}))?$/;
const MAX_VERSION_CHARS = 64;

/** Whether `s` is a version this module understands (`0.169.0`, `0.172.0-alpha.1`). */
export function isCodexVersion(s: string): boolean {
  return s.length <= MAX_VERSION_CHARS && VERSION.test(s);
}

/**
 * The codex version in an app-server's `userAgent`: the part after the last `/` of its first
 * word (the originator may be any client name). Null when absent or not a version.
 */
export function codexVersionFromUserAgent(userAgent: string | null | undefined): string | null {
  if (typeof userAgent !== "string") return null;
  const first = userAgent.trimStart().split(/\s/, 1)[0] ?? "";
  const slash = first.lastIndexOf("/");
  if (slash <= 0) return null;
  const v = first.slice(slash + 1);
  return isCodexVersion(v) ? v : null;
}

type Parsed = { core: [number, number, number]; pre: string[] };

function parse(v: string): Parsed | null {
  if (!isCodexVersion(v)) return null;
  const m = VERSION.exec(v) as RegExpExecArray;
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] === undefined ? [] : m[4].split(".") };
}

function comparePre(a: string[], b: string[]): number {
  // A release sorts after its prereleases (semver §11).
  if (a.length === 0 || b.length === 0) return b.length - a.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    if (xn && yn) {
      const d = Number(x) - Number(y);
      if (d !== 0) return Math.sign(d);
    } else if (xn !== yn) return xn ? -1 : 1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * Orders two versions: negative when `a` is older, 0 when equal, positive when newer.
 * Anything that is not a version sorts before every version (and equal to other such strings).
 */
export function compareCodexVersions(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return (pa ? 1 : 0) - (pb ? 1 : 0);
  for (let i = 0; i < 3; i++) {
    const d = (pa.core[i] as number) - (pb.core[i] as number);
    if (d !== 0) return Math.sign(d);
  }
  return comparePre(pa.pre, pb.pre);
}

/**
 * Whether a known version is older than the floor. An unknown version (null) is not claimed to
 * be below it: it is shown as unknown instead.
 */
export function isBelowCodexFloor(version: string | null, floor: string = SUPPORTED_CODEX_FLOOR): boolean {
  return version !== null && isCodexVersion(version) && compareCodexVersions(version, floor) < 0;
}
