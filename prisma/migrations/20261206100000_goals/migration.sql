-- Thread goals (issue 11): the goal a thread pursues as `thread/goal/updated` last reported it.
-- NULL `goal_status` = no goal (never set, or `thread/goal/cleared`). `goal_status_since` is the
-- collector's receive time of the status change (the goalStalled alert's clock), `goal_updated_at`
-- the server's time of the goal's last change. The goal's objective (the developer's instruction,
-- a prompt) is not stored.

-- AlterTable
ALTER TABLE "thread" ADD COLUMN     "goal_status" TEXT,
ADD COLUMN     "goal_status_since" TIMESTAMP(3),
ADD COLUMN     "goal_token_budget" BIGINT,
ADD COLUMN     "goal_tokens_used" BIGINT,
ADD COLUMN     "goal_updated_at" TIMESTAMP(3);
