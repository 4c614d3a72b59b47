/**
 * Admin API for targets (issue #6): GET/POST/PUT/DELETE /api/v1/targets[/:name]. Reading needs a
 * viewer, changing an admin (policy.ts). Answers never carry a token: `hasToken` says whether
 * one is set. Config-file targets answer 409 to changes.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { parseBody } from "../api/body.ts";
import { badParam, notFound } from "../api/errors.ts";
import { rejectUnknown } from "../api/params.ts";
import type { ManagedTargets, TargetInput } from "./managed-targets.ts";

const NAME = /^[A-Za-z0-9._-]{1,100}$/;
const NAME_MESSAGE = "must be 1-100 letters, digits, '.', '_' or '-'";

const wsUrl = z
  .string({ error: "must be a string" })
  .max(2000, "must be at most 2000 characters")
  .refine(
    (s) => URL.canParse(s) && ["ws:", "wss:"].includes(new URL(s).protocol),
    "must be a ws:// or wss:// URL",
  )
  .refine((s) => {
    const url = URL.canParse(s) ? new URL(s) : null;
    return url === null || (url.username === "" && url.password === "");
  }, "must not contain credentials: send the token in `token`");

const definition = {
  team: z.string({ error: "must be a string" }).trim().max(200, "must be at most 200 characters").default(""),
  url: wsUrl,
  labels: z
    .record(
      z.string().min(1, "keys must not be empty").max(100, "keys must be at most 100 characters"),
      z.string({ error: "values must be strings" }).max(200, "values must be at most 200 characters"),
    )
    .refine((labels) => Object.keys(labels).length <= 50, "at most 50 labels")
    .default({}),
  allowInsecure: z.boolean({ error: "must be true or false" }).default(false),
  token: z
    .string({ error: "must be a string or null" })
    .trim()
    .min(1, "must not be empty")
    .max(4096, "must be at most 4096 characters")
    .regex(/^\S+$/, "must not contain whitespace")
    .nullable()
    .optional(),
};

const CreateBodySchema = z.strictObject({
  name: z.string({ error: "must be a string" }).regex(NAME, NAME_MESSAGE),
  ...definition,
});
const UpdateBodySchema = z.strictObject(definition);

function nameParam(params: unknown): string {
  const { name } = params as { name: string };
  if (!NAME.test(name)) throw badParam("name", NAME_MESSAGE);
  return name;
}

/** Register the target management routes. */
export function registerTargetRoutes(app: FastifyInstance, targets: ManagedTargets): void {
  app.get("/api/v1/targets/:name", async (req) => {
    const name = nameParam(req.params);
    rejectUnknown(req.query as Record<string, unknown>, []);
    const view = targets.view(name);
    if (view === null) throw notFound(`target ${name}`);
    return view;
  });

  app.post("/api/v1/targets", async (req, reply) => {
    rejectUnknown(req.query as Record<string, unknown>, []);
    const { name, ...input } = parseBody(CreateBodySchema, req.body);
    return reply.status(201).send(await targets.add(name, input as TargetInput));
  });

  app.put("/api/v1/targets/:name", async (req) => {
    const name = nameParam(req.params);
    rejectUnknown(req.query as Record<string, unknown>, []);
    return targets.update(name, parseBody(UpdateBodySchema, req.body) as TargetInput);
  });

  app.delete("/api/v1/targets/:name", async (req, reply) => {
    const name = nameParam(req.params);
    rejectUnknown(req.query as Record<string, unknown>, []);
    await targets.remove(name);
    return reply.status(204).send();
  });
}
