-- Plan limits (issue 14): each target's usage windows and credits as its app-server reports them
-- (account/rateLimits/read and the sparse account/rateLimits/updated), merged per limit id
-- (protocol limits.ts mergePlanLimit), and a history of each window's use for charts and forecasts.

-- The merged state of one limit of one target (`state` is a PlanLimitState, times in epoch ms).
CREATE TABLE "plan_limit" (
    "target_id" TEXT NOT NULL,
    "limit_id" TEXT NOT NULL,
    "state" JSONB NOT NULL,
    "observed_at" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "plan_limit_pkey" PRIMARY KEY ("target_id", "limit_id")
);

-- One sample of one window's use ("window" is 'primary' or 'secondary'). Pruned after
-- retention.detailDays.
CREATE TABLE "plan_limit_sample" (
    "target_id" TEXT NOT NULL,
    "limit_id" TEXT NOT NULL,
    "window" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "used_percent" DOUBLE PRECISION NOT NULL,
    "resets_at" TIMESTAMP(3),
    CONSTRAINT "plan_limit_sample_pkey" PRIMARY KEY ("target_id", "limit_id", "window", "at")
);
CREATE INDEX "plan_limit_sample_at_idx" ON "plan_limit_sample" USING BRIN ("at");

-- Whether each target's app-server can report plan limits: 'ok' (a read answered), 'unavailable'
-- (API-key login: "codex account authentication required"), or 'error' (any other failure),
-- with the reason and when it was last asked. GET /api/v1/limits lists the unavailable ones.
CREATE TABLE "plan_limit_source" (
    "target_id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "reason" TEXT,
    "checked_at" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "plan_limit_source_pkey" PRIMARY KEY ("target_id")
);
