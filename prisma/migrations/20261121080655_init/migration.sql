-- CreateTable
CREATE TABLE "target" (
    "id" TEXT NOT NULL,
    "team" TEXT NOT NULL DEFAULT '',
    "url" TEXT NOT NULL,
    "labels" JSONB NOT NULL DEFAULT '{}',
    "state" TEXT NOT NULL DEFAULT 'connecting',
    "state_reason" TEXT,
    "state_since" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,
    "user_agent" TEXT,
    "last_event_at" TIMESTAMP(3),
    "last_contact_at" TIMESTAMP(3),
    "connected_since" TIMESTAMP(3),
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "target_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "thread" (
    "id" TEXT NOT NULL,
    "target_id" TEXT NOT NULL,
    "cwd" TEXT,
    "repo" TEXT,
    "git_branch" TEXT,
    "git_origin" TEXT,
    "model" TEXT,
    "model_provider" TEXT,
    "source" TEXT,
    "name" TEXT,
    "cli_version" TEXT,
    "status" TEXT NOT NULL DEFAULT 'notLoaded',
    "active_flags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "status_since" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_event_at" TIMESTAMP(3),
    "current_turn_id" TEXT,
    "current_turn_started_at" TIMESTAMP(3),
    "last_turn_id" TEXT,
    "last_turn_status" TEXT,
    "last_error_message" TEXT,
    "last_codex_error_info" TEXT,
    "context_tokens" INTEGER,
    "model_context_window" INTEGER,
    "pending_requests" JSONB NOT NULL DEFAULT '[]',
    "created_at" TIMESTAMP(3),
    "updated_at" TIMESTAMP(3),
    "first_seen_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "counted_input_tokens" BIGINT NOT NULL DEFAULT 0,
    "counted_cached_input_tokens" BIGINT NOT NULL DEFAULT 0,
    "counted_output_tokens" BIGINT NOT NULL DEFAULT 0,
    "counted_reasoning_output_tokens" BIGINT NOT NULL DEFAULT 0,
    "counted_total_tokens" BIGINT NOT NULL DEFAULT 0,
    "baseline_at" TIMESTAMP(3),

    CONSTRAINT "thread_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "turn" (
    "id" TEXT NOT NULL,
    "thread_id" TEXT NOT NULL,
    "target_id" TEXT NOT NULL,
    "model" TEXT,
    "status" TEXT NOT NULL DEFAULT 'inProgress',
    "error_message" TEXT,
    "codex_error_info" TEXT,
    "started_at" TIMESTAMP(3),
    "completed_at" TIMESTAMP(3),
    "duration_ms" INTEGER,
    "input_tokens" BIGINT NOT NULL DEFAULT 0,
    "cached_input_tokens" BIGINT NOT NULL DEFAULT 0,
    "output_tokens" BIGINT NOT NULL DEFAULT 0,
    "reasoning_output_tokens" BIGINT NOT NULL DEFAULT 0,
    "total_tokens" BIGINT NOT NULL DEFAULT 0,
    "cost_usd" DECIMAL(20,10) NOT NULL DEFAULT 0,
    "unpriced_tokens" BIGINT NOT NULL DEFAULT 0,
    "price_version" TEXT,
    "backfill" BOOLEAN NOT NULL DEFAULT false,
    "end_counted" BOOLEAN NOT NULL DEFAULT false,
    "context_tokens" INTEGER,

    CONSTRAINT "turn_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "usage_event" (
    "id" BIGSERIAL NOT NULL,
    "thread_id" TEXT NOT NULL,
    "turn_id" TEXT,
    "target_id" TEXT NOT NULL,
    "team" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "repo" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "input_tokens" BIGINT NOT NULL,
    "cached_input_tokens" BIGINT NOT NULL,
    "output_tokens" BIGINT NOT NULL,
    "reasoning_output_tokens" BIGINT NOT NULL,
    "total_tokens" BIGINT NOT NULL,
    "cost_usd" DECIMAL(20,10) NOT NULL,
    "unpriced_tokens" BIGINT NOT NULL,
    "price_version" TEXT NOT NULL,
    "backfill" BOOLEAN NOT NULL DEFAULT false,
    "cumulative_total" BIGINT NOT NULL,

    CONSTRAINT "usage_event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "usage_hourly" (
    "hour" TIMESTAMP(3) NOT NULL,
    "target_id" TEXT NOT NULL,
    "team" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "repo" TEXT NOT NULL,
    "turns" BIGINT NOT NULL DEFAULT 0,
    "failed_turns" BIGINT NOT NULL DEFAULT 0,
    "input_tokens" BIGINT NOT NULL DEFAULT 0,
    "cached_input_tokens" BIGINT NOT NULL DEFAULT 0,
    "output_tokens" BIGINT NOT NULL DEFAULT 0,
    "reasoning_output_tokens" BIGINT NOT NULL DEFAULT 0,
    "total_tokens" BIGINT NOT NULL DEFAULT 0,
    "cost_usd" DECIMAL(20,10) NOT NULL DEFAULT 0,
    "unpriced_tokens" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "usage_hourly_pkey" PRIMARY KEY ("hour","target_id","team","model","repo")
);

-- CreateTable
CREATE TABLE "alert" (
    "id" TEXT NOT NULL,
    "rule_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "subject_type" TEXT NOT NULL,
    "subject_id" TEXT NOT NULL,
    "target_id" TEXT,
    "thread_id" TEXT,
    "severity" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "summary" TEXT NOT NULL,
    "details" JSONB NOT NULL DEFAULT '{}',
    "pending_since" TIMESTAMP(3) NOT NULL,
    "firing_since" TIMESTAMP(3),
    "resolved_at" TIMESTAMP(3),
    "last_notified_at" TIMESTAMP(3),
    "ack_by" TEXT,
    "ack_at" TIMESTAMP(3),
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "alert_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "silence" (
    "id" TEXT NOT NULL,
    "matchers" JSONB NOT NULL,
    "comment" TEXT NOT NULL DEFAULT '',
    "created_by" TEXT NOT NULL DEFAULT '',
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ends_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "silence_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "notification_delivery" (
    "id" BIGSERIAL NOT NULL,
    "alert_id" TEXT NOT NULL,
    "notifier" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "ok" BOOLEAN NOT NULL,
    "status" INTEGER,
    "error" TEXT,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notification_delivery_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "thread_target_id_idx" ON "thread"("target_id");

-- CreateIndex
CREATE INDEX "thread_status_idx" ON "thread"("status");

-- CreateIndex
CREATE INDEX "turn_thread_id_started_at_idx" ON "turn"("thread_id", "started_at");

-- CreateIndex
CREATE INDEX "usage_event_thread_id_idx" ON "usage_event"("thread_id");

-- CreateIndex
CREATE INDEX "usage_event_at_idx" ON "usage_event"("at");

-- CreateIndex
CREATE INDEX "usage_hourly_hour_idx" ON "usage_hourly"("hour");

-- CreateIndex
CREATE INDEX "alert_state_idx" ON "alert"("state");

-- CreateIndex
CREATE INDEX "alert_rule_id_subject_id_idx" ON "alert"("rule_id", "subject_id");

-- CreateIndex
CREATE INDEX "notification_delivery_alert_id_idx" ON "notification_delivery"("alert_id");

-- AddForeignKey
ALTER TABLE "thread" ADD CONSTRAINT "thread_target_id_fkey" FOREIGN KEY ("target_id") REFERENCES "target"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "turn" ADD CONSTRAINT "turn_thread_id_fkey" FOREIGN KEY ("thread_id") REFERENCES "thread"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
