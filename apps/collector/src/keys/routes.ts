/**
 * API key management (issue 17), admin only (auth/policy.ts): GET /api/v1/keys lists every key
 * (never a secret or hash), POST creates one and answers its secret this once, DELETE
 * /api/v1/keys/:id revokes. Each change is audited.
 */
import { randomUUID } from "node:crypto";
import type { DbPool } from "@codex-fleet/db/client";
import {
  ApiKeyNameTaken,
  insertApiKey,
  listApiKeys,
  revokeApiKey,
} from "@codex-fleet/db/repositories/api-keys-repository";
import {
  type ApiKeyCreated,
  ApiKeyCreatedSchema,
  ApiKeyCreateRequestSchema,
  ApiKeyViewSchema,
} from "@codex-fleet/protocol/keys";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { parseBody } from "../http/body.ts";
import { ApiError, badParam, notFound } from "../http/errors.ts";
import { describeRoute, pathParams } from "../http/openapi.ts";
import { noQuery } from "../http/params.ts";
import { apiKeyView, newApiKeySecret } from "./api-keys.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Longest a key may live: ten years. */
const MAX_KEY_LIFETIME_MS = 3653 * 86_400_000;

/** Register the key routes. */
export function registerKeyRoutes(app: FastifyInstance, deps: { pool: DbPool; now?: () => number }): void {
  const { pool } = deps;
  const now = deps.now ?? Date.now;

  const listSchema = describeRoute({
    tags: ["keys"],
    summary: "Every API key, never its secret (admin)",
    query: noQuery,
    response: { 200: z.array(ApiKeyViewSchema) },
  });
  app.get("/api/v1/keys", listSchema, async () => {
    const nowMs = now();
    return (await listApiKeys({ pool })).map((key) => apiKeyView(key, nowMs));
  });

  const createSchema = describeRoute({
    tags: ["keys"],
    summary: "Create an API key (admin); its secret is answered this once",
    query: noQuery,
    body: ApiKeyCreateRequestSchema,
    response: { 201: ApiKeyCreatedSchema },
  });
  app.post("/api/v1/keys", createSchema, async (req, reply) => {
    const body = parseBody(ApiKeyCreateRequestSchema, req.body);
    const nowMs = now();
    const expiresAtMs = body.expiresAt ?? null;
    if (expiresAtMs !== null && expiresAtMs <= nowMs) throw badParam("expiresAt", "must be in the future");
    if (expiresAtMs !== null && expiresAtMs > nowMs + MAX_KEY_LIFETIME_MS)
      throw badParam("expiresAt", "must be at most ten years ahead");
    const principal = req.fleetAuth?.principal;
    const { secret, hash, prefix } = newApiKeySecret();
    let stored: Awaited<ReturnType<typeof insertApiKey>>;
    try {
      stored = await insertApiKey({
        pool,
        id: randomUUID(),
        name: body.name,
        role: body.role,
        secretHash: hash,
        prefix,
        // Authentication off: nobody is signed in.
        createdBy: principal?.name || "(authentication off)",
        nowMs,
        expiresAtMs,
      });
    } catch (err) {
      if (err instanceof ApiKeyNameTaken)
        throw new ApiError(409, "CONFLICT", `${err.message}: revoke it first or choose another name`);
      throw err;
    }
    await req.audit({
      action: "key.create",
      subject: stored.id,
      detail: { name: stored.name, role: stored.role, expiresAt: apiKeyView(stored, nowMs).expiresAt },
    });
    const created: ApiKeyCreated = { ...apiKeyView(stored, nowMs), secret };
    return reply.status(201).send(created);
  });

  const revokeSchema = describeRoute({
    tags: ["keys"],
    summary: "Revoke an API key (admin)",
    params: pathParams({ id: "The key's id (a lowercase UUID)" }),
    query: noQuery,
    response: { 200: ApiKeyViewSchema },
  });
  app.delete("/api/v1/keys/:id", revokeSchema, async (req) => {
    const { id } = req.params as { id: string };
    if (!UUID.test(id)) throw badParam("id", "must be a key id (a lowercase UUID)");
    const nowMs = now();
    const result = await revokeApiKey({ pool, id, nowMs });
    if (result === null) throw notFound(`API key ${id}`);
    if (!result.alreadyRevoked)
      await req.audit({ action: "key.revoke", subject: id, detail: { name: result.key.name } });
    return apiKeyView(result.key, nowMs);
  });
}
