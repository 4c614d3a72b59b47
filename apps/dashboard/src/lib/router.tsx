/** Minimal History-API router: the URL is the state, so every view can be shared as a link. */
import { type AnchorHTMLAttributes, type MouseEvent, useCallback, useSyncExternalStore } from "react";

const NAVIGATE_EVENT = "codex-fleet:navigate";

function subscribe(onChange: () => void): () => void {
  window.addEventListener("popstate", onChange);
  window.addEventListener(NAVIGATE_EVENT, onChange);
  return () => {
    window.removeEventListener("popstate", onChange);
    window.removeEventListener(NAVIGATE_EVENT, onChange);
  };
}

function snapshot(): string {
  return window.location.pathname + window.location.search;
}

/** Push (or replace) a same-origin URL and re-render subscribers. */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === snapshot()) return;
  if (options.replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
  if (!options.replace) window.scrollTo?.(0, 0);
}

/** Current pathname and parsed search params; re-renders on navigation. */
export function useLocation(): { pathname: string; search: URLSearchParams } {
  const href = useSyncExternalStore(subscribe, snapshot, snapshot);
  const queryAt = href.indexOf("?");
  const pathname = queryAt === -1 ? href : href.slice(0, queryAt);
  return { pathname, search: new URLSearchParams(queryAt === -1 ? "" : href.slice(queryAt)) };
}

/** Search params plus a setter that merges a patch (null/"" removes a key) into the URL. */
export function useSearchParams(): [
  URLSearchParams,
  (patch: Record<string, string | null | undefined>, options?: { replace?: boolean }) => void,
] {
  const { pathname, search } = useLocation();
  const update = useCallback(
    (patch: Record<string, string | null | undefined>, options: { replace?: boolean } = {}) => {
      const next = new URLSearchParams(window.location.search);
      for (const [key, value] of Object.entries(patch)) {
        if (value == null || value === "") next.delete(key);
        else next.set(key, value);
      }
      const query = next.toString();
      navigate(query ? `${pathname}?${query}` : pathname, { replace: options.replace ?? true });
    },
    [pathname],
  );
  return [search, update];
}

/** Route table entry: `/threads/:id` style patterns. */
export type RouteMatch = { name: string; params: Record<string, string> };

/** Matches `pathname` against patterns in order; the first hit wins. */
export function matchRoute(pathname: string, routes: [name: string, pattern: string][]): RouteMatch | null {
  const parts = trimSlashes(pathname).split("/");
  for (const [name, pattern] of routes) {
    const patternParts = trimSlashes(pattern).split("/");
    if (patternParts.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const ok = patternParts.every((segment, index) => {
      const part = parts[index] ?? "";
      if (segment.startsWith(":")) {
        if (!part) return false;
        params[segment.slice(1)] = safeDecode(part);
        return true;
      }
      return segment === part;
    });
    if (ok) return { name, params };
  }
  return null;
}

/** An <a> that navigates client-side on plain left clicks and behaves normally otherwise. */
export function Link({ href, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const handleClick = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    if (rest.target && rest.target !== "_self") return;
    event.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={handleClick} {...rest} />;
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, "");
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
