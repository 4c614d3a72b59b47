/** Derive a repository name from a git origin URL: `git@github.com:acme/api.git` → `github.com/acme/api`. */
export function repoFromOrigin(origin: string | null | undefined): string | null {
  if (!origin) return null;
  let s = origin.trim();
  if (s === "") return null;
  // scp-like syntax, `[user@]host:path` (git's rule: a colon before any slash, no "://"); a one-letter
  // host is a Windows drive (`C:\…`), not a host.
  const scp = /^(?:[^/@\s]+@)?([^:/\\\s]{2,}):(?!\/\/)(.+)$/.exec(s);
  if (scp) s = `${scp[1]}/${scp[2]}`;
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    try {
      const u = new URL(s);
      s = `${u.hostname}${u.pathname}`;
    } catch {
      // not a URL after all: keep as given
    }
  }
  // else a local path or something unknown: keep as given
  s = s
    .replace(/\/+$/, "")
    .replace(/\.git$/, "")
    .replace(/^\/+/, "");
  return s.slice(0, 300) || null;
}
