/**
 * Configuration errors that name the bad key exactly: one line per problem, e.g.
 * `config error in fleet.yaml: targets[1].url: must be a ws:// or wss:// URL`.
 */
import type { z } from "zod";

/** One problem in the configuration, named by its key path (`targets[1].url`, "" for the whole file). */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** An invalid configuration; `message` holds one line per issue. */
export class ConfigError extends Error {
  readonly code = "CONFIG_INVALID";
  readonly source: string;
  readonly issues: readonly ConfigIssue[];

  /** `source` is what the user knows the config by: the file name as given, or "environment". */
  constructor(source: string, issues: readonly ConfigIssue[]) {
    super(issues.map((issue) => formatIssue(source, issue)).join("\n"));
    this.name = "ConfigError";
    this.source = source;
    this.issues = issues;
  }
}

/** `config error in SOURCE: PATH: MESSAGE` (no `PATH: ` for the file as a whole). */
export function formatIssue(source: string, issue: ConfigIssue): string {
  return `config error in ${source}: ${issue.path === "" ? "" : `${issue.path}: `}${issue.message}`;
}

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `["targets", 1, "url"]` → `targets[1].url`; odd keys are quoted: `labels["a b"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else {
      const key = String(segment);
      out += PLAIN_KEY.test(key) ? (out === "" ? key : `.${key}`) : `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The known keys an unknown key was probably meant to be: the closest by case-insensitive edit
 * distance (at most a third of its length, min 1), else the known keys it is a prefix of
 * (`token` → `tokenFile`, `tokenEnv`; `idleUnsubscribe` → `idleUnsubscribeMs`).
 */
export function suggestKeys(unknown: string, known: readonly string[]): string[] {
  const lower = unknown.toLowerCase();
  const limit = Math.max(1, Math.floor(unknown.length / 3));
  let best: string[] = [];
  let bestDistance = limit;
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance > bestDistance) continue;
    if (distance < bestDistance || best.length === 0) [best, bestDistance] = [[candidate], distance];
    else best.push(candidate);
  }
  if (best.length > 0) return best;
  return lower.length >= 3 ? known.filter((candidate) => candidate.toLowerCase().startsWith(lower)) : [];
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  const suggestions = suggestKeys(key, known).map((s) => JSON.stringify(s));
  return suggestions.length === 0 ? "unknown key" : `unknown key (did you mean ${suggestions.join(" or ")}?)`;
}

const describeType = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "a list" : typeof value;

const quoteAll = (values: readonly unknown[]): string => values.map((v) => JSON.stringify(v)).join(", ");

type RawIssue = Parameters<z.core.$ZodErrorMap>[0];

function messageFor(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type": {
      if (issue.input === undefined) return "is required";
      const expected =
        issue.expected === "int"
          ? "an integer"
          : issue.expected === "object"
            ? "an object (a mapping)"
            : issue.expected === "array"
              ? "a list"
              : `a ${issue.expected}`;
      return issue.expected === "int" && typeof issue.input === "number"
        ? `must be ${expected}`
        : `must be ${expected}, got ${describeType(issue.input)}`;
    }
    case "too_small":
    case "too_big": {
      const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
      if (issue.origin === "string" && issue.code === "too_small" && Number(bound) === 1)
        return "must not be empty";
      if (issue.origin === "array" || issue.origin === "set") {
        return `must have ${issue.code === "too_small" ? "at least" : "at most"} ${bound} items`;
      }
      const op = issue.code === "too_small" ? (issue.inclusive ? ">=" : ">") : issue.inclusive ? "<=" : "<";
      return `must be ${op} ${bound}`;
    }
    case "invalid_value":
      return `must be one of ${quoteAll(issue.values)}`;
    case "invalid_format":
      return issue.format === "date" ? "must be a date YYYY-MM-DD" : `must be a valid ${issue.format}`;
    case "invalid_union": {
      // discriminatedUnion reports an unmatched tag with its options (zod 4.6 raw issue fields).
      const { discriminator, options } = issue as RawIssue & { discriminator?: string; options?: unknown[] };
      if (discriminator === undefined || options === undefined) return "does not match any allowed shape";
      const input = issue.input as Record<string, unknown> | null;
      const missing = typeof input !== "object" || input === null || input[discriminator] === undefined;
      return `${missing ? "is required, one of" : "must be one of"} ${quoteAll(options)}`;
    }
    case "unrecognized_keys":
      return "unknown key";
    default:
      return undefined;
  }
}

/**
 * A zod error map for one parse, plus the conversion of its result to `ConfigIssue`s. Schema-level
 * messages (refinements) win over this map. Unknown keys become one issue per key, with a hint
 * computed from the keys of the very object schema that rejected them (the right union branch).
 */
export function createIssueMapper(): {
  errorMap: z.core.$ZodErrorMap;
  toIssues(error: z.core.$ZodError): ConfigIssue[];
} {
  const knownKeys = new Map<string, string[]>();
  return {
    errorMap(issue) {
      if (issue.code === "unrecognized_keys") {
        const def = issue.inst?._zod.def as { shape?: Record<string, unknown> } | undefined;
        knownKeys.set(formatPath(issue.path ?? []), Object.keys(def?.shape ?? {}));
      }
      return messageFor(issue);
    },
    toIssues(error) {
      return error.issues.flatMap((issue): ConfigIssue[] => {
        if (issue.code !== "unrecognized_keys")
          return [{ path: formatPath(issue.path), message: issue.message }];
        const known = knownKeys.get(formatPath(issue.path)) ?? [];
        return issue.keys.map((key) => ({
          path: formatPath([...issue.path, key]),
          message: unknownKeyMessage(key, known),
        }));
      });
    },
  };
}
