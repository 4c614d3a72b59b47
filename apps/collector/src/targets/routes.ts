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
  TargetAdminViewSchema,
  TargetCreateRequestSchema,
  TargetTestRequestSchema,
  TargetTestResultSchema,
  TargetUpdateRequestSchema,
} from "@codex-fleet/protocol/targets";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { parseBody } from "../http/body.ts";
import { badParam, notFound } from "../http/errors.ts";
import { describeRoute, noContent, pathParams } from "../http/openapi.ts";
import { noQuery } from "../http/params.ts";
import type { ManagedTargets } from "./managed-targets.ts";

/** Pause and resume take no body (an empty object is fine). */
const NoBody = z.strictObject({});

type TokenFields = { token?: string | null; tokenFile?: string | null; tokenEnv?: string | null };

/**
 * What the audit log keeps of a target change: never the token, only what happened to it (and
 * the file or variable it is read from, which are not secret).
 */
function auditDetail(view: TargetAdminView, input: TokenFields): Record<string, unknown> {
  const { token, tokenFile, tokenEnv } = input;
  return {
    url: view.url,
    team: view.team,
    labels: view.labels,
    allowInsecure: view.allowInsecure,
    token:
      typeof token === "string"
        ? "set"
        : typeof tokenFile === "string"
          ? "file"
          : typeof tokenEnv === "string"
            ? "env"
            : token === undefined && tokenFile === undefined && tokenEnv === undefined
              ? "kept"
              : "none",
    ...(typeof tokenFile === "string" ? { tokenFile: view.tokenFile } : {}),
    ...(typeof tokenEnv === "string" ? { tokenEnv } : {}),
  };
}

function nameParam(params: unknown): string {
  const { name } = params as { name: string };
  if (!TARGET_NAME_PATTERN.test(name)) throw badParam("name", TARGET_NAME_MESSAGE);
  return name;
}

const nameParams = pathParams({ name: TARGET_NAME_MESSAGE });
/** The routes' OpenAPI descriptions (http/openapi.ts); the bodies are the schemas parseBody checks. */
const SCHEMAS = {
  get: describeRoute({
    tags: ["targets"],
    summary: "One target's definition (never its token)",
    params: nameParams,
    query: noQuery,
    response: { 200: TargetAdminViewSchema },
  }),
  create: describeRoute({
    tags: ["targets"],
    summary: "Add a target (admin)",
    query: noQuery,
    body: TargetCreateRequestSchema,
    response: { 201: TargetAdminViewSchema },
  }),
  test: describeRoute({
    tags: ["targets"],
    summary: "Try a target definition before saving it (admin); ok false with the reason on failure",
    query: noQuery,
    body: TargetTestRequestSchema,
    response: { 200: TargetTestResultSchema },
  }),
  update: describeRoute({
    tags: ["targets"],
    summary: "Change a target added through the API (admin); config-file targets answer 409",
    params: nameParams,
    query: noQuery,
    body: TargetUpdateRequestSchema,
    response: { 200: TargetAdminViewSchema },
  }),
  pause: describeRoute({
    tags: ["targets"],
    summary: "Pause a target added through the API (admin): no collector follows it until resumed",
    params: nameParams,
    query: noQuery,
    body: NoBody.optional(),
    response: { 200: TargetAdminViewSchema },
  }),
  resume: describeRoute({
    tags: ["targets"],
    summary: "Resume a paused target (admin): it is followed again",
    params: nameParams,
    query: noQuery,
    body: NoBody.optional(),
    response: { 200: TargetAdminViewSchema },
  }),
  remove: describeRoute({
    tags: ["targets"],
    summary: "Remove a target added through the API (admin)",
    params: nameParams,
    query: noQuery,
    response: { 204: noContent },
  }),
};

/** Register the target management routes. */
export function registerTargetRoutes(app: FastifyInstance, targets: ManagedTargets): void {
  app.get("/api/v1/targets/:name", SCHEMAS.get, async (req) => {
    const name = nameParam(req.params);
    const view = targets.view(name);
    if (view === null) throw notFound(`target ${name}`);
    return view;
  });

  app.post("/api/v1/targets", SCHEMAS.create, async (req, reply) => {
    const { name, ...input } = parseBody(TargetCreateRequestSchema, req.body);
    const view = await targets.add(name, input);
    await req.audit({
      action: "target.create",
      subject: name,
      detail: auditDetail(view, { token: null, ...input }),
    });
    return reply.status(201).send(view);
  });

  // Before saving (admin UI): connect once, initialize, close; 200 with ok false on failure.
  app.post("/api/v1/targets/test", SCHEMAS.test, async (req) => {
    return targets.test(parseBody(TargetTestRequestSchema, req.body));
  });

  app.put("/api/v1/targets/:name", SCHEMAS.update, async (req) => {
    const name = nameParam(req.params);
    const input = parseBody(TargetUpdateRequestSchema, req.body);
    const view = await targets.update(name, input);
    await req.audit({ action: "target.update", subject: name, detail: auditDetail(view, input) });
    return view;
  });

  // Pause/resume (issue 17): their own routes, not a `paused` field in PUT, because PUT replaces
  // the whole definition (a body of only `paused` would be a partial update) and each is its own
  // audited action. Idempotent: pausing a paused target answers it as it is, with no audit row.
  for (const [action, verb] of [
    ["pause", "target.pause"],
    ["resume", "target.resume"],
  ] as const) {
    app.post(`/api/v1/targets/:name/${action}`, SCHEMAS[action], async (req) => {
      const name = nameParam(req.params);
      parseBody(NoBody, req.body);
      const { view, changed } = await (action === "pause" ? targets.pause(name) : targets.resume(name));
      if (changed) await req.audit({ action: verb, subject: name });
      return view;
    });
  }

  app.delete("/api/v1/targets/:name", SCHEMAS.remove, async (req, reply) => {
    const name = nameParam(req.params);
    await targets.remove(name);
    await req.audit({ action: "target.delete", subject: name });
    return reply.status(204).send();
  });
}
