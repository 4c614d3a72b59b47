-- Access control (issue #6): targets added through the admin API. `managed` marks them (config
-- file targets stay false and read-only through the API); their bearer token is stored only as
-- AES-256-GCM ciphertext (apps/collector/src/auth/token-cipher.ts), never in clear.

-- AlterTable
ALTER TABLE "target" ADD COLUMN "managed" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN "allow_insecure" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN "token_ciphertext" TEXT;
