/** HTTP methods by what they do. */

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** True for methods that change state (they need the Origin check against CSRF and a JSON body). */
export function isWrite(method: string): boolean {
  return !READ_METHODS.has(method.toUpperCase());
}
