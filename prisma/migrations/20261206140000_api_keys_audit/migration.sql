-- API keys and the audit log (issue 17).
--
-- api_key: named keys for scripts, each with a role and an optional expiry. Only the SHA-256 of
-- the secret (base64url) is stored, and a short display prefix of it ("cfk_Ab12Cd") so that an
-- admin can tell keys apart; the secret itself is shown once, at creation. A name is unique
-- among keys not revoked (a partial unique index: a revoked key's name may be used again).
-- Times are the collector's clock, UTC, like the session table.

-- CreateTable
CREATE TABLE "api_key" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "created_by" TEXT NOT NULL,
    "expires_at" TIMESTAMP(3),
    "revoked_at" TIMESTAMP(3),
    "last_used_at" TIMESTAMP(3),

    CONSTRAINT "api_key_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_key_secret_hash_key" ON "api_key"("secret_hash");

-- CreateIndex
CREATE UNIQUE INDEX "api_key_live_name_key" ON "api_key"("name") WHERE "revoked_at" IS NULL;

-- The audit log: one row per change made through the API (who, when, from where, what). `detail`
-- never holds a secret or a token. Pruned after audit.retentionDays by the retention job.

-- CreateTable
CREATE TABLE "audit_event" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "principal_kind" TEXT NOT NULL,
    "principal_name" TEXT NOT NULL,
    "principal_email" TEXT,
    "ip" TEXT,
    "action" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "detail" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "audit_event_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "audit_event_at_idx" ON "audit_event"("at");

-- CreateIndex
CREATE INDEX "audit_event_action_at_idx" ON "audit_event"("action", "at");
