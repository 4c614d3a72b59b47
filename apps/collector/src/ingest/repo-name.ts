/** Derive a repository name from a git origin URL: `git@github.com:acme/api.git` → `github.com/acme/api`. */
export function repoFromOrigin(origin: string | null | undefined): string | null {
  if (!origin) return null;
  let s = origin.trim();
  if (s === "") return null;
  // scp-like syntax: user@host:path
  const scp = /^[^/@\s]+@([^:/\s]+):(.+)$/.exec(s);
  if (scp) s = `${scp[1]}/${scp[2]}`;
  else {
    try {
      const u = new URL(s);
      s = `${u.hostname}${u.pathname}`;
    } catch {
      // a local path or something unknown: keep as given
    }
  }
  s = s.replace(/\.git$/, "").replace(/\/+$/, "").replace(/^\/+/, "");
  return s.slice(0, 300) || null;
}
