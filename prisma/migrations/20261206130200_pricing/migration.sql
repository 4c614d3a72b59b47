-- Prices (issue 14): cache writes per usage row, the request that decided a row's long-context
-- tier, the price set last applied, and the re-pricing job that follows a change of overrides.

-- Input tokens written to the prompt cache (a part of input_tokens; 0 on rows from before).
ALTER TABLE "usage_event" ADD COLUMN "cache_write_input_tokens" BIGINT NOT NULL DEFAULT 0;
-- The input of the one request whose size decided the long-context tier: the row's own input for
-- one response; the last response's input for a delta of several (price_version ends '+merged').
-- NULL on rows from before: the row's input_tokens.
ALTER TABLE "usage_event" ADD COLUMN "request_input_tokens" BIGINT;
-- The counted cache writes (the baseline, like the other counted_* columns).
ALTER TABLE "thread" ADD COLUMN "counted_cache_write_input_tokens" BIGINT NOT NULL DEFAULT 0;

-- The override set in force when history was last (re-)priced: one row. `overrides` is the
-- canonical set (pricing overridesFingerprint), compared at start with the configured one.
CREATE TABLE "pricing_state" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "fingerprint" TEXT NOT NULL,
    "overrides" JSONB NOT NULL,
    "applied_at" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "pricing_state_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "pricing_state_one_row" CHECK ("id" = 1)
);

-- One re-pricing of history: which models from which date (`changes`: [{model, fromDate}]), the
-- rows to do and done, the last usage_event id done (the cursor; each batch moves it in the same
-- transaction as the rows it re-priced) and the last id that existed when it was scheduled (rows
-- written after it were priced with the new set already). status: 'running', 'done' or
-- 'superseded' (a newer change took over its models).
CREATE TABLE "repricing_job" (
    "id" SERIAL NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "changes" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'running',
    "rows_total" BIGINT NOT NULL,
    "rows_done" BIGINT NOT NULL DEFAULT 0,
    "rows_changed" BIGINT NOT NULL DEFAULT 0,
    "cursor_id" BIGINT NOT NULL DEFAULT 0,
    "last_id" BIGINT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "finished_at" TIMESTAMP(3),
    CONSTRAINT "repricing_job_pkey" PRIMARY KEY ("id")
);
