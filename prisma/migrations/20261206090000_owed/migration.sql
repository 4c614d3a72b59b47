-- What is owed is persistent (DESIGN "Status and alerts", issue "a thread's total lost across a
-- SIGKILL"): a thread whose cumulative total the collector knows it has not read yet carries a
-- recovery obligation here until a total for it has been counted. `owed_since` is when it was
-- first owed (shown), `owed_at` when it was last marked (a report received at or after it clears
-- the obligation, in the same transaction as the usage write), `owed_reason` why.

-- AlterTable
ALTER TABLE "thread" ADD COLUMN     "owed_at" TIMESTAMP(3),
ADD COLUMN     "owed_reason" TEXT,
ADD COLUMN     "owed_since" TIMESTAMP(3);


-- CreateIndex (GET /api/v1/usage counts open obligations: a handful of rows among all threads)
CREATE INDEX "thread_owed_since_idx" ON "thread"("owed_since");
