-- Coarser activity grains for /api/v1/activity (issue 15's query-speed goal).
--
-- activity_daily_target: activity_daily summed over model and repo, per (day, target) with the
-- target's team carried in the key (as in every activity rollup). The Activity page's requests
-- group and filter by day, team and target only; they read this table (≈ half the rows of
-- activity_daily on the bench, fewer wherever a developer works on more models or repos a day).
-- Kept by statement-level triggers on activity_daily (insert, update, delete, truncate), so it
-- equals activity_daily's sums by construction (`daily_rows` counts the activity_daily rows behind
-- a row, which is deleted when none is left), and is written in the same transaction as the
-- activity_hourly statement that moved activity_daily. It adds no cross-collector contention: its
-- rows are keyed by target, and a target is written by the collector holding its lease (two only
-- during a handover, which already share that target's hourly and daily rows, locked in the same
-- order). No per-team or fleet rows are written here: every collector would queue on them.
--
-- activity_peak_daily: the most threads active at once per (scope, day, key), the maximum of
-- activity_peak's hours, raised with GREATEST by a trigger on activity_peak (the sampler's
-- statement, not ingest). A 30-day per-developer peak reads 30 rows a developer, not 720.
-- Like the daily rollups, both are kept when retention prunes the hourly tables.

CREATE TABLE "activity_daily_target" (
    "day" TIMESTAMP(3) NOT NULL,
    "target_id" TEXT NOT NULL,
    "team" TEXT NOT NULL,
    "working_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "approval_wait_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "input_wait_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "system_error_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "approval_waits" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "input_waits" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "answered_waits" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "answer_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "ans_h0" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "ans_h1" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "ans_h2" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "ans_h3" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "ans_h4" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "ans_h5" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "ans_h6" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "ans_h7" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "ans_h8" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "ans_h9" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "turns_started" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "turns_completed" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "turns_failed" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "turns_interrupted" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "timed_turns" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "turn_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "dur_h0" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "dur_h1" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "dur_h2" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "dur_h3" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "dur_h4" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "dur_h5" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "dur_h6" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "dur_h7" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "dur_h8" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "dur_h9" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "daily_rows" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "activity_daily_target_pkey" PRIMARY KEY ("day","target_id","team")
);
-- Its counters are float8, not bigint: exact for integers below 2^53 like every sum here, and
-- sum(float8) keeps its state by value, where sum(bigint) builds a numeric state per column and
-- group (1,000 developers' 31 counters spilled past work_mem: 100 ms instead of 45 ms, measured).
-- No parallel scans: reading its ≈ 30,000 rows of a month took 2-3x as long with a worker as
-- without on the shared two cores of the bench (load 7-9); one backend per request is the point.
ALTER TABLE "activity_daily_target" SET (parallel_workers = 0);

CREATE TABLE "activity_peak_daily" (
    "day" TIMESTAMP(3) NOT NULL,
    "scope" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "peak" INTEGER NOT NULL,

    CONSTRAINT "activity_peak_daily_pkey" PRIMARY KEY ("scope","day","key")
);

-- The net change of each statement on activity_daily, per (day, target, team), in key order.
CREATE FUNCTION "activity_daily_target_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO activity_daily_target AS g
    SELECT day, target_id, team,
        sum(working_ms), sum(approval_wait_ms), sum(input_wait_ms), sum(system_error_ms), sum(approval_waits), sum(input_waits),
        sum(answered_waits), sum(answer_ms), sum(ans_h0), sum(ans_h1), sum(ans_h2), sum(ans_h3),
        sum(ans_h4), sum(ans_h5), sum(ans_h6), sum(ans_h7), sum(ans_h8), sum(ans_h9),
        sum(turns_started), sum(turns_completed), sum(turns_failed), sum(turns_interrupted), sum(timed_turns), sum(turn_ms),
        sum(dur_h0), sum(dur_h1), sum(dur_h2), sum(dur_h3), sum(dur_h4), sum(dur_h5),
        sum(dur_h6), sum(dur_h7), sum(dur_h8), sum(dur_h9),
        count(*)
    FROM new_rows
    GROUP BY 1, 2, 3 ORDER BY 2, 3, 1
    ON CONFLICT (day, target_id, team) DO UPDATE SET
        working_ms = g.working_ms + EXCLUDED.working_ms, approval_wait_ms = g.approval_wait_ms + EXCLUDED.approval_wait_ms,
        input_wait_ms = g.input_wait_ms + EXCLUDED.input_wait_ms, system_error_ms = g.system_error_ms + EXCLUDED.system_error_ms,
        approval_waits = g.approval_waits + EXCLUDED.approval_waits, input_waits = g.input_waits + EXCLUDED.input_waits,
        answered_waits = g.answered_waits + EXCLUDED.answered_waits, answer_ms = g.answer_ms + EXCLUDED.answer_ms,
        ans_h0 = g.ans_h0 + EXCLUDED.ans_h0, ans_h1 = g.ans_h1 + EXCLUDED.ans_h1,
        ans_h2 = g.ans_h2 + EXCLUDED.ans_h2, ans_h3 = g.ans_h3 + EXCLUDED.ans_h3,
        ans_h4 = g.ans_h4 + EXCLUDED.ans_h4, ans_h5 = g.ans_h5 + EXCLUDED.ans_h5,
        ans_h6 = g.ans_h6 + EXCLUDED.ans_h6, ans_h7 = g.ans_h7 + EXCLUDED.ans_h7,
        ans_h8 = g.ans_h8 + EXCLUDED.ans_h8, ans_h9 = g.ans_h9 + EXCLUDED.ans_h9,
        turns_started = g.turns_started + EXCLUDED.turns_started, turns_completed = g.turns_completed + EXCLUDED.turns_completed,
        turns_failed = g.turns_failed + EXCLUDED.turns_failed, turns_interrupted = g.turns_interrupted + EXCLUDED.turns_interrupted,
        timed_turns = g.timed_turns + EXCLUDED.timed_turns, turn_ms = g.turn_ms + EXCLUDED.turn_ms,
        dur_h0 = g.dur_h0 + EXCLUDED.dur_h0, dur_h1 = g.dur_h1 + EXCLUDED.dur_h1,
        dur_h2 = g.dur_h2 + EXCLUDED.dur_h2, dur_h3 = g.dur_h3 + EXCLUDED.dur_h3,
        dur_h4 = g.dur_h4 + EXCLUDED.dur_h4, dur_h5 = g.dur_h5 + EXCLUDED.dur_h5,
        dur_h6 = g.dur_h6 + EXCLUDED.dur_h6, dur_h7 = g.dur_h7 + EXCLUDED.dur_h7,
        dur_h8 = g.dur_h8 + EXCLUDED.dur_h8, dur_h9 = g.dur_h9 + EXCLUDED.dur_h9,
        daily_rows = g.daily_rows + EXCLUDED.daily_rows;
  ELSIF TG_OP = 'UPDATE' THEN
    -- New values minus old ones (right even if an update moved a row to another key).
    INSERT INTO activity_daily_target AS g
    SELECT day, target_id, team,
        sum(working_ms), sum(approval_wait_ms), sum(input_wait_ms), sum(system_error_ms), sum(approval_waits), sum(input_waits),
        sum(answered_waits), sum(answer_ms), sum(ans_h0), sum(ans_h1), sum(ans_h2), sum(ans_h3),
        sum(ans_h4), sum(ans_h5), sum(ans_h6), sum(ans_h7), sum(ans_h8), sum(ans_h9),
        sum(turns_started), sum(turns_completed), sum(turns_failed), sum(turns_interrupted), sum(timed_turns), sum(turn_ms),
        sum(dur_h0), sum(dur_h1), sum(dur_h2), sum(dur_h3), sum(dur_h4), sum(dur_h5),
        sum(dur_h6), sum(dur_h7), sum(dur_h8), sum(dur_h9),
        sum(n)
    FROM (
      SELECT day, target_id, team,
          working_ms, approval_wait_ms, input_wait_ms, system_error_ms, approval_waits, input_waits, answered_waits, answer_ms,
          ans_h0, ans_h1, ans_h2, ans_h3, ans_h4, ans_h5, ans_h6, ans_h7,
          ans_h8, ans_h9, turns_started, turns_completed, turns_failed, turns_interrupted, timed_turns, turn_ms,
          dur_h0, dur_h1, dur_h2, dur_h3, dur_h4, dur_h5, dur_h6, dur_h7,
          dur_h8, dur_h9,
          1 AS n
      FROM new_rows
      UNION ALL
      SELECT day, target_id, team,
          -working_ms, -approval_wait_ms, -input_wait_ms, -system_error_ms, -approval_waits, -input_waits, -answered_waits, -answer_ms,
          -ans_h0, -ans_h1, -ans_h2, -ans_h3, -ans_h4, -ans_h5, -ans_h6, -ans_h7,
          -ans_h8, -ans_h9, -turns_started, -turns_completed, -turns_failed, -turns_interrupted, -timed_turns, -turn_ms,
          -dur_h0, -dur_h1, -dur_h2, -dur_h3, -dur_h4, -dur_h5, -dur_h6, -dur_h7,
          -dur_h8, -dur_h9,
          -1
      FROM old_rows
    ) d
    GROUP BY 1, 2, 3 ORDER BY 2, 3, 1
    ON CONFLICT (day, target_id, team) DO UPDATE SET
        working_ms = g.working_ms + EXCLUDED.working_ms, approval_wait_ms = g.approval_wait_ms + EXCLUDED.approval_wait_ms,
        input_wait_ms = g.input_wait_ms + EXCLUDED.input_wait_ms, system_error_ms = g.system_error_ms + EXCLUDED.system_error_ms,
        approval_waits = g.approval_waits + EXCLUDED.approval_waits, input_waits = g.input_waits + EXCLUDED.input_waits,
        answered_waits = g.answered_waits + EXCLUDED.answered_waits, answer_ms = g.answer_ms + EXCLUDED.answer_ms,
        ans_h0 = g.ans_h0 + EXCLUDED.ans_h0, ans_h1 = g.ans_h1 + EXCLUDED.ans_h1,
        ans_h2 = g.ans_h2 + EXCLUDED.ans_h2, ans_h3 = g.ans_h3 + EXCLUDED.ans_h3,
        ans_h4 = g.ans_h4 + EXCLUDED.ans_h4, ans_h5 = g.ans_h5 + EXCLUDED.ans_h5,
        ans_h6 = g.ans_h6 + EXCLUDED.ans_h6, ans_h7 = g.ans_h7 + EXCLUDED.ans_h7,
        ans_h8 = g.ans_h8 + EXCLUDED.ans_h8, ans_h9 = g.ans_h9 + EXCLUDED.ans_h9,
        turns_started = g.turns_started + EXCLUDED.turns_started, turns_completed = g.turns_completed + EXCLUDED.turns_completed,
        turns_failed = g.turns_failed + EXCLUDED.turns_failed, turns_interrupted = g.turns_interrupted + EXCLUDED.turns_interrupted,
        timed_turns = g.timed_turns + EXCLUDED.timed_turns, turn_ms = g.turn_ms + EXCLUDED.turn_ms,
        dur_h0 = g.dur_h0 + EXCLUDED.dur_h0, dur_h1 = g.dur_h1 + EXCLUDED.dur_h1,
        dur_h2 = g.dur_h2 + EXCLUDED.dur_h2, dur_h3 = g.dur_h3 + EXCLUDED.dur_h3,
        dur_h4 = g.dur_h4 + EXCLUDED.dur_h4, dur_h5 = g.dur_h5 + EXCLUDED.dur_h5,
        dur_h6 = g.dur_h6 + EXCLUDED.dur_h6, dur_h7 = g.dur_h7 + EXCLUDED.dur_h7,
        dur_h8 = g.dur_h8 + EXCLUDED.dur_h8, dur_h9 = g.dur_h9 + EXCLUDED.dur_h9,
        daily_rows = g.daily_rows + EXCLUDED.daily_rows;
    DELETE FROM activity_daily_target g USING old_rows o
    WHERE g.day = o.day AND g.target_id = o.target_id AND g.team = o.team AND g.daily_rows = 0;
  ELSE
    INSERT INTO activity_daily_target AS g
    SELECT day, target_id, team,
        sum(working_ms), sum(approval_wait_ms), sum(input_wait_ms), sum(system_error_ms), sum(approval_waits), sum(input_waits),
        sum(answered_waits), sum(answer_ms), sum(ans_h0), sum(ans_h1), sum(ans_h2), sum(ans_h3),
        sum(ans_h4), sum(ans_h5), sum(ans_h6), sum(ans_h7), sum(ans_h8), sum(ans_h9),
        sum(turns_started), sum(turns_completed), sum(turns_failed), sum(turns_interrupted), sum(timed_turns), sum(turn_ms),
        sum(dur_h0), sum(dur_h1), sum(dur_h2), sum(dur_h3), sum(dur_h4), sum(dur_h5),
        sum(dur_h6), sum(dur_h7), sum(dur_h8), sum(dur_h9),
        sum(n)
    FROM (
      SELECT day, target_id, team,
          -working_ms AS working_ms, -approval_wait_ms AS approval_wait_ms, -input_wait_ms AS input_wait_ms, -system_error_ms AS system_error_ms, -approval_waits AS approval_waits, -input_waits AS input_waits,
          -answered_waits AS answered_waits, -answer_ms AS answer_ms, -ans_h0 AS ans_h0, -ans_h1 AS ans_h1, -ans_h2 AS ans_h2, -ans_h3 AS ans_h3,
          -ans_h4 AS ans_h4, -ans_h5 AS ans_h5, -ans_h6 AS ans_h6, -ans_h7 AS ans_h7, -ans_h8 AS ans_h8, -ans_h9 AS ans_h9,
          -turns_started AS turns_started, -turns_completed AS turns_completed, -turns_failed AS turns_failed, -turns_interrupted AS turns_interrupted, -timed_turns AS timed_turns, -turn_ms AS turn_ms,
          -dur_h0 AS dur_h0, -dur_h1 AS dur_h1, -dur_h2 AS dur_h2, -dur_h3 AS dur_h3, -dur_h4 AS dur_h4, -dur_h5 AS dur_h5,
          -dur_h6 AS dur_h6, -dur_h7 AS dur_h7, -dur_h8 AS dur_h8, -dur_h9 AS dur_h9,
          -1 AS n
      FROM old_rows
    ) d
    GROUP BY 1, 2, 3 ORDER BY 2, 3, 1
    ON CONFLICT (day, target_id, team) DO UPDATE SET
        working_ms = g.working_ms + EXCLUDED.working_ms, approval_wait_ms = g.approval_wait_ms + EXCLUDED.approval_wait_ms,
        input_wait_ms = g.input_wait_ms + EXCLUDED.input_wait_ms, system_error_ms = g.system_error_ms + EXCLUDED.system_error_ms,
        approval_waits = g.approval_waits + EXCLUDED.approval_waits, input_waits = g.input_waits + EXCLUDED.input_waits,
        answered_waits = g.answered_waits + EXCLUDED.answered_waits, answer_ms = g.answer_ms + EXCLUDED.answer_ms,
        ans_h0 = g.ans_h0 + EXCLUDED.ans_h0, ans_h1 = g.ans_h1 + EXCLUDED.ans_h1,
        ans_h2 = g.ans_h2 + EXCLUDED.ans_h2, ans_h3 = g.ans_h3 + EXCLUDED.ans_h3,
        ans_h4 = g.ans_h4 + EXCLUDED.ans_h4, ans_h5 = g.ans_h5 + EXCLUDED.ans_h5,
        ans_h6 = g.ans_h6 + EXCLUDED.ans_h6, ans_h7 = g.ans_h7 + EXCLUDED.ans_h7,
        ans_h8 = g.ans_h8 + EXCLUDED.ans_h8, ans_h9 = g.ans_h9 + EXCLUDED.ans_h9,
        turns_started = g.turns_started + EXCLUDED.turns_started, turns_completed = g.turns_completed + EXCLUDED.turns_completed,
        turns_failed = g.turns_failed + EXCLUDED.turns_failed, turns_interrupted = g.turns_interrupted + EXCLUDED.turns_interrupted,
        timed_turns = g.timed_turns + EXCLUDED.timed_turns, turn_ms = g.turn_ms + EXCLUDED.turn_ms,
        dur_h0 = g.dur_h0 + EXCLUDED.dur_h0, dur_h1 = g.dur_h1 + EXCLUDED.dur_h1,
        dur_h2 = g.dur_h2 + EXCLUDED.dur_h2, dur_h3 = g.dur_h3 + EXCLUDED.dur_h3,
        dur_h4 = g.dur_h4 + EXCLUDED.dur_h4, dur_h5 = g.dur_h5 + EXCLUDED.dur_h5,
        dur_h6 = g.dur_h6 + EXCLUDED.dur_h6, dur_h7 = g.dur_h7 + EXCLUDED.dur_h7,
        dur_h8 = g.dur_h8 + EXCLUDED.dur_h8, dur_h9 = g.dur_h9 + EXCLUDED.dur_h9,
        daily_rows = g.daily_rows + EXCLUDED.daily_rows;
    DELETE FROM activity_daily_target g USING old_rows o
    WHERE g.day = o.day AND g.target_id = o.target_id AND g.team = o.team AND g.daily_rows = 0;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "activity_daily_target_after_daily_insert" AFTER INSERT ON "activity_daily"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "activity_daily_target_apply"();
CREATE TRIGGER "activity_daily_target_after_daily_update" AFTER UPDATE ON "activity_daily"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "activity_daily_target_apply"();
CREATE TRIGGER "activity_daily_target_after_daily_delete" AFTER DELETE ON "activity_daily"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "activity_daily_target_apply"();

CREATE FUNCTION "activity_daily_target_after_daily_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE activity_daily_target;
  RETURN NULL;
END $$;
CREATE TRIGGER "activity_daily_target_after_daily_truncate" AFTER TRUNCATE ON "activity_daily"
  FOR EACH STATEMENT EXECUTE FUNCTION "activity_daily_target_after_daily_truncate"();

-- activity_peak_daily follows activity_peak's inserts and updates (peaks only rise: GREATEST).
CREATE FUNCTION "activity_peak_daily_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO activity_peak_daily AS p (scope, day, key, peak)
  SELECT scope, date_trunc('day', hour), key, max(peak) FROM new_rows
  GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (scope, day, key) DO UPDATE SET peak = GREATEST(p.peak, EXCLUDED.peak);
  RETURN NULL;
END $$;

CREATE TRIGGER "activity_peak_daily_after_insert" AFTER INSERT ON "activity_peak"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "activity_peak_daily_apply"();
CREATE TRIGGER "activity_peak_daily_after_update" AFTER UPDATE ON "activity_peak"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "activity_peak_daily_apply"();

CREATE FUNCTION "activity_peak_daily_after_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE activity_peak_daily;
  RETURN NULL;
END $$;
CREATE TRIGGER "activity_peak_daily_after_truncate" AFTER TRUNCATE ON "activity_peak"
  FOR EACH STATEMENT EXECUTE FUNCTION "activity_peak_daily_after_truncate"();

-- What is already there.
INSERT INTO activity_daily_target
SELECT day, target_id, team,
        sum(working_ms), sum(approval_wait_ms), sum(input_wait_ms), sum(system_error_ms), sum(approval_waits), sum(input_waits),
        sum(answered_waits), sum(answer_ms), sum(ans_h0), sum(ans_h1), sum(ans_h2), sum(ans_h3),
        sum(ans_h4), sum(ans_h5), sum(ans_h6), sum(ans_h7), sum(ans_h8), sum(ans_h9),
        sum(turns_started), sum(turns_completed), sum(turns_failed), sum(turns_interrupted), sum(timed_turns), sum(turn_ms),
        sum(dur_h0), sum(dur_h1), sum(dur_h2), sum(dur_h3), sum(dur_h4), sum(dur_h5),
        sum(dur_h6), sum(dur_h7), sum(dur_h8), sum(dur_h9),
    count(*)
FROM activity_daily GROUP BY 1, 2, 3;
INSERT INTO activity_peak_daily (day, scope, key, peak)
SELECT date_trunc('day', hour), scope, key, max(peak) FROM activity_peak GROUP BY 1, 2, 3;
