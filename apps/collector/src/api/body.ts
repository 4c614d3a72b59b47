/** JSON bodies parsed with zod; the first problem becomes a 400 that names the field. */
import type { z } from "zod";
import { badParam } from "../api/errors.ts";

/** `body` as `schema`'s output, or a 400 naming the first bad field (never echoing its value). */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path =
    issue?.code === "unrecognized_keys"
      ? [...issue.path, issue.keys[0] ?? ""].join(".")
      : (issue?.path ?? []).map(String).join(".");
  const message =
    issue?.code === "unrecognized_keys"
      ? "unknown field"
      : issue?.code === "invalid_type" && issue.input === undefined
        ? "is required"
        : (issue?.message ?? "invalid");
  throw badParam(path === "" ? "body" : path, message);
}
