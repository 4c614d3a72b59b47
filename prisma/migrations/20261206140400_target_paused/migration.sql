-- Issue 17: pause/resume a target added through the admin API (kept, not followed by any
-- collector), and a managed target's token read from a file or an environment variable.
ALTER TABLE "target" ADD COLUMN "paused" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "target" ADD COLUMN "paused_at" TIMESTAMP(3);
ALTER TABLE "target" ADD COLUMN "token_file" TEXT;
ALTER TABLE "target" ADD COLUMN "token_env" TEXT;
