/**
 * Admin API for targets (issue #6): GET/POST/PUT/DELETE /api/v1/targets[/:name]. Reading needs a
 * viewer, changing an admin (auth/policy.ts). Bodies are the protocol's target requests; answers
 * never carry a token: `hasToken` says whether one is set. Config-file targets answer 409 to changes.
 * POST /api/v1/targets/test (issue 17) tries a definition before it is saved.
 */
import {
  TARGET_NAME_MESSAGE,
  TARGET_NAME_PATTERN,
  TargetCreateRequestSchema,
  TargetTestRequestSchema,
  TargetUpdateRequestSchema,
} from "@codex-fleet/protocol/targets";
import type { FastifyInstance } from "fastify";
import { parseBody } from "../http/body.ts";
import { badParam, notFound } from "../http/errors.ts";
import { rejectUnknown } from "../http/params.ts";
import type { ManagedTargets } from "./managed-targets.ts";

function nameParam(params: unknown): string {
  const { name } = params as { name: string };
  if (!TARGET_NAME_PATTERN.test(name)) throw badParam("name", TARGET_NAME_MESSAGE);
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
    const { name, ...input } = parseBody(TargetCreateRequestSchema, req.body);
    return reply.status(201).send(await targets.add(name, input));
  });

  // Before saving (admin UI): connect once, initialize, close; 200 with ok false on failure.
  app.post("/api/v1/targets/test", async (req) => {
    rejectUnknown(req.query as Record<string, unknown>, []);
    return targets.test(parseBody(TargetTestRequestSchema, req.body));
  });

  app.put("/api/v1/targets/:name", async (req) => {
    const name = nameParam(req.params);
    rejectUnknown(req.query as Record<string, unknown>, []);
    return targets.update(name, parseBody(TargetUpdateRequestSchema, req.body));
  });

  app.delete("/api/v1/targets/:name", async (req, reply) => {
    const name = nameParam(req.params);
    rejectUnknown(req.query as Record<string, unknown>, []);
    await targets.remove(name);
    return reply.status(204).send();
  });
}
