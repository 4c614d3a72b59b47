/** JSON bodies parsed with zod; the first problem becomes a 400 that names the field. */
import type { z } from "zod";
import { badParam } from "./errors.ts";

const describeType = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "a list" : typeof value;

/**
 * Words type errors for every body schema (the protocol's schemas carry only their rules):
 * "is required", "must be a string, got number". The schemas' own messages take precedence.
 */
const typeErrors: z.core.$ZodErrorMap = (issue) => {
  if (issue.code !== "invalid_type") return undefined;
  if (issue.input === undefined) return "is required";
  return `must be ${issue.expected === "array" ? "a list" : `a ${issue.expected}`}, got ${describeType(issue.input)}`;
};

/** `body` as `schema`'s output, or a 400 naming the first bad field (never echoing its value). */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {}, { error: typeErrors });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path =
    issue?.code === "unrecognized_keys"
      ? [...issue.path, issue.keys[0] ?? ""].join(".")
      : (issue?.path ?? []).map(String).join(".");
  const message = issue?.code === "unrecognized_keys" ? "unknown field" : (issue?.message ?? "invalid");
  throw badParam(path === "" ? "body" : path, message);
}
