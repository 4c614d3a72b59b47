/**
 * Structural equality of JSON-like values (objects, arrays, primitives), optionally ignoring one
 * key at any depth (e.g. a time that changes on every report). No copy, no serialisation: the
 * collector compares states on every plan-limit report and a whole fleet's rows on every re-read.
 */
export function sameValue(a: unknown, b: unknown, ignoredKey?: string): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  // Every key but the ignored one, on both sides (present on one side only, it is ignored too).
  let n = 0;
  for (const k in x) {
    if (!Object.hasOwn(x, k) || k === ignoredKey) continue;
    n++;
    if (!(Object.hasOwn(y, k) && sameValue(x[k], y[k], ignoredKey))) return false;
  }
  for (const k in y) if (Object.hasOwn(y, k) && k !== ignoredKey) n--;
  return n === 0;
}
