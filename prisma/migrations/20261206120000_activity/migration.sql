-- Activity (issue 15): how threads spent their time and how turns went, per hour and per day.
--
-- activity_hourly / activity_daily are additive rollups keyed like usage_hourly / usage_daily
-- (hour or day, target, team, model, repo), so that /api/v1/activity groups and filters exactly as
-- /api/v1/usage does. What they hold:
--   * time, in ms, per status kind, from the status transitions the collector received (receive
--     time): working (active, no wait flag), waiting on approval, waiting on user input, system
--     error. Only observed time is counted: a span the collector did not see (disconnected, no
--     holder during an HA handover) is not invented. A span is split at hour boundaries.
--   * waits that ended in the hour: how many per kind, how many were answered (the wait flag
--     cleared while the thread stayed active), and the answered ones' durations as a sum and a
--     histogram (ans_h0..ans_h9, bounds in packages/protocol/src/activity.ts).
--   * turns started (keyed by start hour) and turns ended per outcome (keyed by end hour, like
--     usage_hourly's turns), and the ended turns' durations as a sum, a count and a histogram
--     (dur_h0..dur_h9).
-- activity_daily is kept in step by statement-level triggers on activity_hourly, like usage_daily.
--
-- Exactly once: the ingest path applies a span only past thread.activity_until and a wait only
-- past thread.wait_counted_until (both moved forward in the same statement), so a replayed batch
-- or two instances observing the same thread during a handover never count the same time twice.
--
-- activity_peak: the most threads active at once per hour, sampled (every 15 s) from the thread
-- table, per scope: fleet (key ''), team, target, model, repo. Written with GREATEST: any number
-- of instances may sample.

ALTER TABLE "thread" ADD COLUMN "activity_until" TIMESTAMP(3);
ALTER TABLE "thread" ADD COLUMN "wait_counted_until" TIMESTAMP(3);

CREATE TABLE "activity_hourly" (
    "hour" TIMESTAMP(3) NOT NULL,
    "target_id" TEXT NOT NULL,
    "team" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "repo" TEXT NOT NULL,
    "working_ms" BIGINT NOT NULL DEFAULT 0,
    "approval_wait_ms" BIGINT NOT NULL DEFAULT 0,
    "input_wait_ms" BIGINT NOT NULL DEFAULT 0,
    "system_error_ms" BIGINT NOT NULL DEFAULT 0,
    "approval_waits" BIGINT NOT NULL DEFAULT 0,
    "input_waits" BIGINT NOT NULL DEFAULT 0,
    "answered_waits" BIGINT NOT NULL DEFAULT 0,
    "answer_ms" BIGINT NOT NULL DEFAULT 0,
    "ans_h0" BIGINT NOT NULL DEFAULT 0,
    "ans_h1" BIGINT NOT NULL DEFAULT 0,
    "ans_h2" BIGINT NOT NULL DEFAULT 0,
    "ans_h3" BIGINT NOT NULL DEFAULT 0,
    "ans_h4" BIGINT NOT NULL DEFAULT 0,
    "ans_h5" BIGINT NOT NULL DEFAULT 0,
    "ans_h6" BIGINT NOT NULL DEFAULT 0,
    "ans_h7" BIGINT NOT NULL DEFAULT 0,
    "ans_h8" BIGINT NOT NULL DEFAULT 0,
    "ans_h9" BIGINT NOT NULL DEFAULT 0,
    "turns_started" BIGINT NOT NULL DEFAULT 0,
    "turns_completed" BIGINT NOT NULL DEFAULT 0,
    "turns_failed" BIGINT NOT NULL DEFAULT 0,
    "turns_interrupted" BIGINT NOT NULL DEFAULT 0,
    "timed_turns" BIGINT NOT NULL DEFAULT 0,
    "turn_ms" BIGINT NOT NULL DEFAULT 0,
    "dur_h0" BIGINT NOT NULL DEFAULT 0,
    "dur_h1" BIGINT NOT NULL DEFAULT 0,
    "dur_h2" BIGINT NOT NULL DEFAULT 0,
    "dur_h3" BIGINT NOT NULL DEFAULT 0,
    "dur_h4" BIGINT NOT NULL DEFAULT 0,
    "dur_h5" BIGINT NOT NULL DEFAULT 0,
    "dur_h6" BIGINT NOT NULL DEFAULT 0,
    "dur_h7" BIGINT NOT NULL DEFAULT 0,
    "dur_h8" BIGINT NOT NULL DEFAULT 0,
    "dur_h9" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "activity_hourly_pkey" PRIMARY KEY ("hour","target_id","team","model","repo")
);
CREATE INDEX "activity_hourly_hour_idx" ON "activity_hourly"("hour");

CREATE TABLE "activity_daily" (LIKE "activity_hourly" INCLUDING DEFAULTS);
ALTER TABLE "activity_daily" RENAME COLUMN "hour" TO "day";
ALTER TABLE "activity_daily" ADD CONSTRAINT "activity_daily_pkey" PRIMARY KEY ("day","target_id","team","model","repo");

CREATE TABLE "activity_peak" (
    "hour" TIMESTAMP(3) NOT NULL,
    "scope" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "peak" INTEGER NOT NULL,

    CONSTRAINT "activity_peak_pkey" PRIMARY KEY ("scope","hour","key")
);

-- activity_daily follows activity_hourly: the net change of each statement, per day, in key order.
CREATE FUNCTION "activity_daily_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO activity_daily
    SELECT date_trunc('day', hour), target_id, team, model, repo,
        sum(working_ms), sum(approval_wait_ms), sum(input_wait_ms), sum(system_error_ms),
        sum(approval_waits), sum(input_waits), sum(answered_waits), sum(answer_ms),
        sum(ans_h0), sum(ans_h1), sum(ans_h2), sum(ans_h3), sum(ans_h4), sum(ans_h5), sum(ans_h6), sum(ans_h7),
        sum(ans_h8), sum(ans_h9), sum(turns_started), sum(turns_completed), sum(turns_failed),
        sum(turns_interrupted), sum(timed_turns), sum(turn_ms),
        sum(dur_h0), sum(dur_h1), sum(dur_h2), sum(dur_h3), sum(dur_h4), sum(dur_h5), sum(dur_h6), sum(dur_h7),
        sum(dur_h8), sum(dur_h9)
    FROM new_rows GROUP BY 1, 2, 3, 4, 5 ORDER BY 2, 3, 4, 5, 1
    ON CONFLICT (day, target_id, team, model, repo) DO UPDATE SET
        working_ms = activity_daily.working_ms + EXCLUDED.working_ms,
        approval_wait_ms = activity_daily.approval_wait_ms + EXCLUDED.approval_wait_ms,
        input_wait_ms = activity_daily.input_wait_ms + EXCLUDED.input_wait_ms,
        system_error_ms = activity_daily.system_error_ms + EXCLUDED.system_error_ms,
        approval_waits = activity_daily.approval_waits + EXCLUDED.approval_waits,
        input_waits = activity_daily.input_waits + EXCLUDED.input_waits,
        answered_waits = activity_daily.answered_waits + EXCLUDED.answered_waits,
        answer_ms = activity_daily.answer_ms + EXCLUDED.answer_ms,
        ans_h0 = activity_daily.ans_h0 + EXCLUDED.ans_h0, ans_h1 = activity_daily.ans_h1 + EXCLUDED.ans_h1,
        ans_h2 = activity_daily.ans_h2 + EXCLUDED.ans_h2, ans_h3 = activity_daily.ans_h3 + EXCLUDED.ans_h3,
        ans_h4 = activity_daily.ans_h4 + EXCLUDED.ans_h4, ans_h5 = activity_daily.ans_h5 + EXCLUDED.ans_h5,
        ans_h6 = activity_daily.ans_h6 + EXCLUDED.ans_h6, ans_h7 = activity_daily.ans_h7 + EXCLUDED.ans_h7,
        ans_h8 = activity_daily.ans_h8 + EXCLUDED.ans_h8, ans_h9 = activity_daily.ans_h9 + EXCLUDED.ans_h9,
        turns_started = activity_daily.turns_started + EXCLUDED.turns_started,
        turns_completed = activity_daily.turns_completed + EXCLUDED.turns_completed,
        turns_failed = activity_daily.turns_failed + EXCLUDED.turns_failed,
        turns_interrupted = activity_daily.turns_interrupted + EXCLUDED.turns_interrupted,
        timed_turns = activity_daily.timed_turns + EXCLUDED.timed_turns,
        turn_ms = activity_daily.turn_ms + EXCLUDED.turn_ms,
        dur_h0 = activity_daily.dur_h0 + EXCLUDED.dur_h0, dur_h1 = activity_daily.dur_h1 + EXCLUDED.dur_h1,
        dur_h2 = activity_daily.dur_h2 + EXCLUDED.dur_h2, dur_h3 = activity_daily.dur_h3 + EXCLUDED.dur_h3,
        dur_h4 = activity_daily.dur_h4 + EXCLUDED.dur_h4, dur_h5 = activity_daily.dur_h5 + EXCLUDED.dur_h5,
        dur_h6 = activity_daily.dur_h6 + EXCLUDED.dur_h6, dur_h7 = activity_daily.dur_h7 + EXCLUDED.dur_h7,
        dur_h8 = activity_daily.dur_h8 + EXCLUDED.dur_h8, dur_h9 = activity_daily.dur_h9 + EXCLUDED.dur_h9;
  ELSE
    -- UPDATE: new values minus old ones, per day (right even if an update moved a row to another key).
    INSERT INTO activity_daily
    SELECT date_trunc('day', hour), target_id, team, model, repo,
        sum(working_ms), sum(approval_wait_ms), sum(input_wait_ms), sum(system_error_ms),
        sum(approval_waits), sum(input_waits), sum(answered_waits), sum(answer_ms),
        sum(ans_h0), sum(ans_h1), sum(ans_h2), sum(ans_h3), sum(ans_h4), sum(ans_h5), sum(ans_h6), sum(ans_h7),
        sum(ans_h8), sum(ans_h9), sum(turns_started), sum(turns_completed), sum(turns_failed),
        sum(turns_interrupted), sum(timed_turns), sum(turn_ms),
        sum(dur_h0), sum(dur_h1), sum(dur_h2), sum(dur_h3), sum(dur_h4), sum(dur_h5), sum(dur_h6), sum(dur_h7),
        sum(dur_h8), sum(dur_h9)
    FROM (
      SELECT * FROM new_rows
      UNION ALL
      SELECT hour, target_id, team, model, repo, -working_ms, -approval_wait_ms, -input_wait_ms, -system_error_ms,
          -approval_waits, -input_waits, -answered_waits, -answer_ms, -ans_h0, -ans_h1, -ans_h2, -ans_h3, -ans_h4,
          -ans_h5, -ans_h6, -ans_h7, -ans_h8, -ans_h9, -turns_started, -turns_completed, -turns_failed,
          -turns_interrupted, -timed_turns, -turn_ms, -dur_h0, -dur_h1, -dur_h2, -dur_h3, -dur_h4, -dur_h5,
          -dur_h6, -dur_h7, -dur_h8, -dur_h9
      FROM old_rows
    ) d
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 2, 3, 4, 5, 1
    ON CONFLICT (day, target_id, team, model, repo) DO UPDATE SET
        working_ms = activity_daily.working_ms + EXCLUDED.working_ms,
        approval_wait_ms = activity_daily.approval_wait_ms + EXCLUDED.approval_wait_ms,
        input_wait_ms = activity_daily.input_wait_ms + EXCLUDED.input_wait_ms,
        system_error_ms = activity_daily.system_error_ms + EXCLUDED.system_error_ms,
        approval_waits = activity_daily.approval_waits + EXCLUDED.approval_waits,
        input_waits = activity_daily.input_waits + EXCLUDED.input_waits,
        answered_waits = activity_daily.answered_waits + EXCLUDED.answered_waits,
        answer_ms = activity_daily.answer_ms + EXCLUDED.answer_ms,
        ans_h0 = activity_daily.ans_h0 + EXCLUDED.ans_h0, ans_h1 = activity_daily.ans_h1 + EXCLUDED.ans_h1,
        ans_h2 = activity_daily.ans_h2 + EXCLUDED.ans_h2, ans_h3 = activity_daily.ans_h3 + EXCLUDED.ans_h3,
        ans_h4 = activity_daily.ans_h4 + EXCLUDED.ans_h4, ans_h5 = activity_daily.ans_h5 + EXCLUDED.ans_h5,
        ans_h6 = activity_daily.ans_h6 + EXCLUDED.ans_h6, ans_h7 = activity_daily.ans_h7 + EXCLUDED.ans_h7,
        ans_h8 = activity_daily.ans_h8 + EXCLUDED.ans_h8, ans_h9 = activity_daily.ans_h9 + EXCLUDED.ans_h9,
        turns_started = activity_daily.turns_started + EXCLUDED.turns_started,
        turns_completed = activity_daily.turns_completed + EXCLUDED.turns_completed,
        turns_failed = activity_daily.turns_failed + EXCLUDED.turns_failed,
        turns_interrupted = activity_daily.turns_interrupted + EXCLUDED.turns_interrupted,
        timed_turns = activity_daily.timed_turns + EXCLUDED.timed_turns,
        turn_ms = activity_daily.turn_ms + EXCLUDED.turn_ms,
        dur_h0 = activity_daily.dur_h0 + EXCLUDED.dur_h0, dur_h1 = activity_daily.dur_h1 + EXCLUDED.dur_h1,
        dur_h2 = activity_daily.dur_h2 + EXCLUDED.dur_h2, dur_h3 = activity_daily.dur_h3 + EXCLUDED.dur_h3,
        dur_h4 = activity_daily.dur_h4 + EXCLUDED.dur_h4, dur_h5 = activity_daily.dur_h5 + EXCLUDED.dur_h5,
        dur_h6 = activity_daily.dur_h6 + EXCLUDED.dur_h6, dur_h7 = activity_daily.dur_h7 + EXCLUDED.dur_h7,
        dur_h8 = activity_daily.dur_h8 + EXCLUDED.dur_h8, dur_h9 = activity_daily.dur_h9 + EXCLUDED.dur_h9;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "activity_daily_after_hourly_insert" AFTER INSERT ON "activity_hourly"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "activity_daily_apply"();
CREATE TRIGGER "activity_daily_after_hourly_update" AFTER UPDATE ON "activity_hourly"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "activity_daily_apply"();

CREATE FUNCTION "activity_daily_after_hourly_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE activity_daily;
  RETURN NULL;
END $$;
CREATE TRIGGER "activity_daily_after_hourly_truncate" AFTER TRUNCATE ON "activity_hourly"
  FOR EACH STATEMENT EXECUTE FUNCTION "activity_daily_after_hourly_truncate"();
