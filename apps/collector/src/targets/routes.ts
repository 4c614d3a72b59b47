/**
 * Admin API for targets (issue #6): GET/POST/PUT/DELETE /api/v1/targets[/:name]. Reading needs a
 * viewer, changing an admin (auth/policy.ts). Bodies are the protocol's target requests; answers
 * never carry a token: `hasToken` says whether one is set. Config-file targets answer 409 to changes.
 * POST /api/v1/targets/test (issue 17) tries a definition before it is saved.
 */

import type { TargetAdminView } from "@codex-fleet/protocol/targets";
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

/** What the audit log keeps of a target change: never the token, only what happened to it. */
function auditDetail(view: TargetAdminView, token: string | null | undefined): Record<string, unknown> {
  return {
    url: view.url,
    team: view.team,
    labels: view.labels,
    allowInsecure: view.allowInsecure,
    token: token === undefined ? "kept" : token === null ? "none" : "set",
  };
}

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
    const view = await targets.add(name, input);
    await req.audit({
      action: "target.create",
      subject: name,
      detail: auditDetail(view, input.token ?? null),
    });
    return reply.status(201).send(view);
  });

  // Before saving (admin UI): connect once, initialize, close; 200 with ok false on failure.
  app.post("/api/v1/targets/test", async (req) => {
    rejectUnknown(req.query as Record<string, unknown>, []);
    return targets.test(parseBody(TargetTestRequestSchema, req.body));
  });

  app.put("/api/v1/targets/:name", async (req) => {
    const name = nameParam(req.params);
    rejectUnknown(req.query as Record<string, unknown>, []);
    const input = parseBody(TargetUpdateRequestSchema, req.body);
    const view = await targets.update(name, input);
    await req.audit({ action: "target.update", subject: name, detail: auditDetail(view, input.token) });
    return view;
  });

  app.delete("/api/v1/targets/:name", async (req, reply) => {
    const name = nameParam(req.params);
    rejectUnknown(req.query as Record<string, unknown>, []);
    await targets.remove(name);
    await req.audit({ action: "target.delete", subject: name });
    return reply.status(204).send();
  });
}
