-- Sessions in Postgres (issue 12): every collector on this database finds every session, a
-- restart signs no one out, a sign-out ends it everywhere. The key is the SHA-256 of the session
-- id (base64url); the id itself lives only in the browser's cookie. Times are the collector's
-- clock at sign-in (created_at + auth.sessionTtlMs = expires_at).

-- CreateTable
CREATE TABLE "session" (
    "key_hash" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "expires_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "session_pkey" PRIMARY KEY ("key_hash")
);

-- CreateIndex
CREATE INDEX "session_expires_at_idx" ON "session"("expires_at");

-- CreateIndex
CREATE INDEX "session_created_at_idx" ON "session"("created_at");
