-- Sub-agents: a thread's parent and its sub-agent kind/depth. The root of a tree is resolved at
-- read time (bounded walk up parent_thread_id); the index serves the walk down (children).
ALTER TABLE "thread" ADD COLUMN "parent_thread_id" TEXT,
  ADD COLUMN "sub_agent_kind" TEXT,
  ADD COLUMN "sub_agent_depth" INTEGER;

CREATE INDEX "thread_parent_thread_id_idx" ON "thread"("parent_thread_id");

-- GET /api/v1/usage?groupBy=rootThread reads turn ends (turns, failedTurns) by the hour they are
-- counted in the rollups: only ended turns, by that expression.
CREATE INDEX "turn_end_at_idx" ON "turn"((COALESCE("completed_at", "started_at"))) WHERE "end_counted";
