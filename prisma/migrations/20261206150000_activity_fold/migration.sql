-- Per-team and fleet activity without a row that two collectors write (issue 15's query speed).
--
-- activity_daily_target (migration 20261206140300_activity_grain) is the finest grain no two
-- collectors share; summing it per (day, team) or over a month per developer still reads ≈ 30,000
-- rows a request for 1,000 developers. The coarser grains below are written by no ingest
-- statement. Ingest only appends: a statement trigger on activity_daily_target inserts each
-- statement's net change per (day, target, team) into activity_fold_pending (a heap insert: no row
-- two transactions both update, so no queue and no deadlock between collectors). activity_fold()
-- moves the pending rows into the grains in ONE statement (DELETE … RETURNING feeding the upserts),
-- run by one instance at a time (an advisory transaction lock; see activity-fold.ts in
-- packages/db). Exact by snapshot, without a watermark: a reader's statement sees every pending row
-- either still pending (and adds it) or already moved (and finds it in the grain), never both and
-- never neither; a row inserted while a fold runs is invisible to its DELETE and stays pending.
--
-- activity_daily_team: per (day, team), activity_daily_target summed over targets. The fleet is
-- the sum of its ≈ 20 teams a day.
-- activity_span_target: per target (with its team, as every activity rollup keys it) over aligned
-- spans of 1, 2, 4, 8 and 16 days (start_day a multiple of span since 1970-01-01): a window's
-- whole days are read as at most two blocks of each size (a 30-day window: ≈ 5 blocks of 1,000
-- developers instead of 30 days of them). Span 1 is activity_daily_target again, but written by
-- the fold in key order: a day's rows share pages, where activity_daily_target's, updated by every
-- ingest statement, lie one a page (a day of 1,000 developers: 1,000 pages, 10–16× the time).
-- activity_peak_span: activity_peak_daily's maximum over the same spans (below).
-- Counters: the 31 that GET /api/v1/activity reads, float8 (exact below 2^53, by-value sums) like
-- activity_daily_target; `n` counts the activity_daily_target rows behind a row, so a group
-- exists when the sum of its n (grain plus pending) is positive — rows at 0 are left in place.

CREATE TABLE "activity_fold_pending" (
    "id" BIGSERIAL NOT NULL,
    "day" TIMESTAMP(3) NOT NULL,
    "target_id" TEXT NOT NULL,
    "team" TEXT NOT NULL,
    "turns_started" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "turns_completed" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "turns_failed" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "turns_interrupted" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "working_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "approval_wait_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "input_wait_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "system_error_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "approval_waits" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "input_waits" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "answered_waits" DOUBLE PRECISION NOT NULL DEFAULT 0,
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
    "n" DOUBLE PRECISION NOT NULL DEFAULT 0,

    CONSTRAINT "activity_fold_pending_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "activity_daily_team" (
    "day" TIMESTAMP(3) NOT NULL,
    "team" TEXT NOT NULL,
    "turns_started" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "turns_completed" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "turns_failed" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "turns_interrupted" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "working_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "approval_wait_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "input_wait_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "system_error_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "approval_waits" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "input_waits" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "answered_waits" DOUBLE PRECISION NOT NULL DEFAULT 0,
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
    "n" DOUBLE PRECISION NOT NULL DEFAULT 0,

    CONSTRAINT "activity_daily_team_pkey" PRIMARY KEY ("day","team")
);

CREATE TABLE "activity_span_target" (
    "span" INTEGER NOT NULL,
    "start_day" TIMESTAMP(3) NOT NULL,
    "target_id" TEXT NOT NULL,
    "team" TEXT NOT NULL,
    "turns_started" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "turns_completed" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "turns_failed" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "turns_interrupted" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "working_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "approval_wait_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "input_wait_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "system_error_ms" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "approval_waits" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "input_waits" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "answered_waits" DOUBLE PRECISION NOT NULL DEFAULT 0,
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
    "n" DOUBLE PRECISION NOT NULL DEFAULT 0,

    CONSTRAINT "activity_span_target_pkey" PRIMARY KEY ("span","start_day","target_id","team")
);
-- As activity_daily_target: one backend per request, no parallel workers.
ALTER TABLE "activity_daily_team" SET (parallel_workers = 0);
ALTER TABLE "activity_span_target" SET (parallel_workers = 0);
ALTER TABLE "activity_fold_pending" SET (parallel_workers = 0);

-- Each statement's net change of activity_daily_target (new rows minus old ones), appended.
CREATE FUNCTION "activity_fold_pending_append"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO activity_fold_pending (day, target_id, team,
        turns_started, turns_completed, turns_failed, turns_interrupted, working_ms, approval_wait_ms, input_wait_ms, system_error_ms,
        approval_waits, input_waits, answered_waits, dur_h0, dur_h1, dur_h2, dur_h3, dur_h4,
        dur_h5, dur_h6, dur_h7, dur_h8, dur_h9, ans_h0, ans_h1, ans_h2,
        ans_h3, ans_h4, ans_h5, ans_h6, ans_h7, ans_h8, ans_h9, n)
    SELECT day, target_id, team,
    turns_started, turns_completed, turns_failed, turns_interrupted, working_ms, approval_wait_ms, input_wait_ms, system_error_ms,
    approval_waits, input_waits, answered_waits, dur_h0, dur_h1, dur_h2, dur_h3, dur_h4,
    dur_h5, dur_h6, dur_h7, dur_h8, dur_h9, ans_h0, ans_h1, ans_h2,
    ans_h3, ans_h4, ans_h5, ans_h6, ans_h7, ans_h8, ans_h9, 1
    FROM new_rows;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO activity_fold_pending (day, target_id, team,
        turns_started, turns_completed, turns_failed, turns_interrupted, working_ms, approval_wait_ms, input_wait_ms, system_error_ms,
        approval_waits, input_waits, answered_waits, dur_h0, dur_h1, dur_h2, dur_h3, dur_h4,
        dur_h5, dur_h6, dur_h7, dur_h8, dur_h9, ans_h0, ans_h1, ans_h2,
        ans_h3, ans_h4, ans_h5, ans_h6, ans_h7, ans_h8, ans_h9, n)
    SELECT day, target_id, team,
      sum(turns_started), sum(turns_completed), sum(turns_failed), sum(turns_interrupted), sum(working_ms), sum(approval_wait_ms),
      sum(input_wait_ms), sum(system_error_ms), sum(approval_waits), sum(input_waits), sum(answered_waits), sum(dur_h0),
      sum(dur_h1), sum(dur_h2), sum(dur_h3), sum(dur_h4), sum(dur_h5), sum(dur_h6),
      sum(dur_h7), sum(dur_h8), sum(dur_h9), sum(ans_h0), sum(ans_h1), sum(ans_h2),
      sum(ans_h3), sum(ans_h4), sum(ans_h5), sum(ans_h6), sum(ans_h7), sum(ans_h8),
      sum(ans_h9), sum(n)
    FROM (
      SELECT day, target_id, team,
    turns_started, turns_completed, turns_failed, turns_interrupted, working_ms, approval_wait_ms, input_wait_ms, system_error_ms,
    approval_waits, input_waits, answered_waits, dur_h0, dur_h1, dur_h2, dur_h3, dur_h4,
    dur_h5, dur_h6, dur_h7, dur_h8, dur_h9, ans_h0, ans_h1, ans_h2,
    ans_h3, ans_h4, ans_h5, ans_h6, ans_h7, ans_h8, ans_h9, 1 AS n
      FROM new_rows
      UNION ALL
      SELECT day, target_id, team,
      -turns_started, -turns_completed, -turns_failed, -turns_interrupted, -working_ms, -approval_wait_ms, -input_wait_ms, -system_error_ms,
      -approval_waits, -input_waits, -answered_waits, -dur_h0, -dur_h1, -dur_h2, -dur_h3, -dur_h4,
      -dur_h5, -dur_h6, -dur_h7, -dur_h8, -dur_h9, -ans_h0, -ans_h1, -ans_h2,
      -ans_h3, -ans_h4, -ans_h5, -ans_h6, -ans_h7, -ans_h8, -ans_h9, -1
      FROM old_rows
    ) d
    GROUP BY 1, 2, 3;
  ELSE
    INSERT INTO activity_fold_pending (day, target_id, team,
        turns_started, turns_completed, turns_failed, turns_interrupted, working_ms, approval_wait_ms, input_wait_ms, system_error_ms,
        approval_waits, input_waits, answered_waits, dur_h0, dur_h1, dur_h2, dur_h3, dur_h4,
        dur_h5, dur_h6, dur_h7, dur_h8, dur_h9, ans_h0, ans_h1, ans_h2,
        ans_h3, ans_h4, ans_h5, ans_h6, ans_h7, ans_h8, ans_h9, n)
    SELECT day, target_id, team,
      -turns_started, -turns_completed, -turns_failed, -turns_interrupted, -working_ms, -approval_wait_ms, -input_wait_ms, -system_error_ms,
      -approval_waits, -input_waits, -answered_waits, -dur_h0, -dur_h1, -dur_h2, -dur_h3, -dur_h4,
      -dur_h5, -dur_h6, -dur_h7, -dur_h8, -dur_h9, -ans_h0, -ans_h1, -ans_h2,
      -ans_h3, -ans_h4, -ans_h5, -ans_h6, -ans_h7, -ans_h8, -ans_h9, -1
    FROM old_rows;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "activity_fold_pending_after_insert" AFTER INSERT ON "activity_daily_target"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "activity_fold_pending_append"();
CREATE TRIGGER "activity_fold_pending_after_update" AFTER UPDATE ON "activity_daily_target"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "activity_fold_pending_append"();
CREATE TRIGGER "activity_fold_pending_after_delete" AFTER DELETE ON "activity_daily_target"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "activity_fold_pending_append"();

CREATE FUNCTION "activity_fold_after_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE activity_fold_pending, activity_daily_team, activity_span_target;
  RETURN NULL;
END $$;
CREATE TRIGGER "activity_fold_after_truncate" AFTER TRUNCATE ON "activity_daily_target"
  FOR EACH STATEMENT EXECUTE FUNCTION "activity_fold_after_truncate"();

-- Moves every pending row it sees into the grains, in one statement; returns how many it moved.
-- Upserts in key order (a second fold, should one run despite the lock, queues, never deadlocks).
CREATE FUNCTION "activity_fold"() RETURNS bigint LANGUAGE sql AS $$
  WITH moved AS (
    DELETE FROM activity_fold_pending RETURNING *
  ), d AS (
    SELECT day, target_id, team,
      sum(turns_started) AS turns_started, sum(turns_completed) AS turns_completed, sum(turns_failed) AS turns_failed, sum(turns_interrupted) AS turns_interrupted, sum(working_ms) AS working_ms,
      sum(approval_wait_ms) AS approval_wait_ms, sum(input_wait_ms) AS input_wait_ms, sum(system_error_ms) AS system_error_ms, sum(approval_waits) AS approval_waits, sum(input_waits) AS input_waits,
      sum(answered_waits) AS answered_waits, sum(dur_h0) AS dur_h0, sum(dur_h1) AS dur_h1, sum(dur_h2) AS dur_h2, sum(dur_h3) AS dur_h3,
      sum(dur_h4) AS dur_h4, sum(dur_h5) AS dur_h5, sum(dur_h6) AS dur_h6, sum(dur_h7) AS dur_h7, sum(dur_h8) AS dur_h8,
      sum(dur_h9) AS dur_h9, sum(ans_h0) AS ans_h0, sum(ans_h1) AS ans_h1, sum(ans_h2) AS ans_h2, sum(ans_h3) AS ans_h3,
      sum(ans_h4) AS ans_h4, sum(ans_h5) AS ans_h5, sum(ans_h6) AS ans_h6, sum(ans_h7) AS ans_h7, sum(ans_h8) AS ans_h8,
      sum(ans_h9) AS ans_h9, sum(n) AS n
    FROM moved GROUP BY 1, 2, 3
  ), team AS (
    INSERT INTO activity_daily_team AS g (day, team,
        turns_started, turns_completed, turns_failed, turns_interrupted, working_ms, approval_wait_ms, input_wait_ms, system_error_ms,
        approval_waits, input_waits, answered_waits, dur_h0, dur_h1, dur_h2, dur_h3, dur_h4,
        dur_h5, dur_h6, dur_h7, dur_h8, dur_h9, ans_h0, ans_h1, ans_h2,
        ans_h3, ans_h4, ans_h5, ans_h6, ans_h7, ans_h8, ans_h9, n)
    SELECT day, team,
      sum(turns_started), sum(turns_completed), sum(turns_failed), sum(turns_interrupted), sum(working_ms), sum(approval_wait_ms),
      sum(input_wait_ms), sum(system_error_ms), sum(approval_waits), sum(input_waits), sum(answered_waits), sum(dur_h0),
      sum(dur_h1), sum(dur_h2), sum(dur_h3), sum(dur_h4), sum(dur_h5), sum(dur_h6),
      sum(dur_h7), sum(dur_h8), sum(dur_h9), sum(ans_h0), sum(ans_h1), sum(ans_h2),
      sum(ans_h3), sum(ans_h4), sum(ans_h5), sum(ans_h6), sum(ans_h7), sum(ans_h8),
      sum(ans_h9), sum(n)
    FROM d GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (day, team) DO UPDATE SET
      turns_started = g.turns_started + EXCLUDED.turns_started, turns_completed = g.turns_completed + EXCLUDED.turns_completed, turns_failed = g.turns_failed + EXCLUDED.turns_failed,
      turns_interrupted = g.turns_interrupted + EXCLUDED.turns_interrupted, working_ms = g.working_ms + EXCLUDED.working_ms, approval_wait_ms = g.approval_wait_ms + EXCLUDED.approval_wait_ms,
      input_wait_ms = g.input_wait_ms + EXCLUDED.input_wait_ms, system_error_ms = g.system_error_ms + EXCLUDED.system_error_ms, approval_waits = g.approval_waits + EXCLUDED.approval_waits,
      input_waits = g.input_waits + EXCLUDED.input_waits, answered_waits = g.answered_waits + EXCLUDED.answered_waits, dur_h0 = g.dur_h0 + EXCLUDED.dur_h0,
      dur_h1 = g.dur_h1 + EXCLUDED.dur_h1, dur_h2 = g.dur_h2 + EXCLUDED.dur_h2, dur_h3 = g.dur_h3 + EXCLUDED.dur_h3,
      dur_h4 = g.dur_h4 + EXCLUDED.dur_h4, dur_h5 = g.dur_h5 + EXCLUDED.dur_h5, dur_h6 = g.dur_h6 + EXCLUDED.dur_h6,
      dur_h7 = g.dur_h7 + EXCLUDED.dur_h7, dur_h8 = g.dur_h8 + EXCLUDED.dur_h8, dur_h9 = g.dur_h9 + EXCLUDED.dur_h9,
      ans_h0 = g.ans_h0 + EXCLUDED.ans_h0, ans_h1 = g.ans_h1 + EXCLUDED.ans_h1, ans_h2 = g.ans_h2 + EXCLUDED.ans_h2,
      ans_h3 = g.ans_h3 + EXCLUDED.ans_h3, ans_h4 = g.ans_h4 + EXCLUDED.ans_h4, ans_h5 = g.ans_h5 + EXCLUDED.ans_h5,
      ans_h6 = g.ans_h6 + EXCLUDED.ans_h6, ans_h7 = g.ans_h7 + EXCLUDED.ans_h7, ans_h8 = g.ans_h8 + EXCLUDED.ans_h8,
      ans_h9 = g.ans_h9 + EXCLUDED.ans_h9,
      n = g.n + EXCLUDED.n
  ), span AS (
    INSERT INTO activity_span_target AS g (span, start_day, target_id, team,
        turns_started, turns_completed, turns_failed, turns_interrupted, working_ms, approval_wait_ms, input_wait_ms, system_error_ms,
        approval_waits, input_waits, answered_waits, dur_h0, dur_h1, dur_h2, dur_h3, dur_h4,
        dur_h5, dur_h6, dur_h7, dur_h8, dur_h9, ans_h0, ans_h1, ans_h2,
        ans_h3, ans_h4, ans_h5, ans_h6, ans_h7, ans_h8, ans_h9, n)
    SELECT s.span, to_timestamp(floor(extract(epoch FROM day) / (86400 * s.span)) * 86400 * s.span) AT TIME ZONE 'UTC',
        target_id, team,
      sum(turns_started), sum(turns_completed), sum(turns_failed), sum(turns_interrupted), sum(working_ms), sum(approval_wait_ms),
      sum(input_wait_ms), sum(system_error_ms), sum(approval_waits), sum(input_waits), sum(answered_waits), sum(dur_h0),
      sum(dur_h1), sum(dur_h2), sum(dur_h3), sum(dur_h4), sum(dur_h5), sum(dur_h6),
      sum(dur_h7), sum(dur_h8), sum(dur_h9), sum(ans_h0), sum(ans_h1), sum(ans_h2),
      sum(ans_h3), sum(ans_h4), sum(ans_h5), sum(ans_h6), sum(ans_h7), sum(ans_h8),
      sum(ans_h9), sum(n)
    FROM d CROSS JOIN (VALUES (1), (2), (4), (8), (16)) AS s (span)
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (span, start_day, target_id, team) DO UPDATE SET
      turns_started = g.turns_started + EXCLUDED.turns_started, turns_completed = g.turns_completed + EXCLUDED.turns_completed, turns_failed = g.turns_failed + EXCLUDED.turns_failed,
      turns_interrupted = g.turns_interrupted + EXCLUDED.turns_interrupted, working_ms = g.working_ms + EXCLUDED.working_ms, approval_wait_ms = g.approval_wait_ms + EXCLUDED.approval_wait_ms,
      input_wait_ms = g.input_wait_ms + EXCLUDED.input_wait_ms, system_error_ms = g.system_error_ms + EXCLUDED.system_error_ms, approval_waits = g.approval_waits + EXCLUDED.approval_waits,
      input_waits = g.input_waits + EXCLUDED.input_waits, answered_waits = g.answered_waits + EXCLUDED.answered_waits, dur_h0 = g.dur_h0 + EXCLUDED.dur_h0,
      dur_h1 = g.dur_h1 + EXCLUDED.dur_h1, dur_h2 = g.dur_h2 + EXCLUDED.dur_h2, dur_h3 = g.dur_h3 + EXCLUDED.dur_h3,
      dur_h4 = g.dur_h4 + EXCLUDED.dur_h4, dur_h5 = g.dur_h5 + EXCLUDED.dur_h5, dur_h6 = g.dur_h6 + EXCLUDED.dur_h6,
      dur_h7 = g.dur_h7 + EXCLUDED.dur_h7, dur_h8 = g.dur_h8 + EXCLUDED.dur_h8, dur_h9 = g.dur_h9 + EXCLUDED.dur_h9,
      ans_h0 = g.ans_h0 + EXCLUDED.ans_h0, ans_h1 = g.ans_h1 + EXCLUDED.ans_h1, ans_h2 = g.ans_h2 + EXCLUDED.ans_h2,
      ans_h3 = g.ans_h3 + EXCLUDED.ans_h3, ans_h4 = g.ans_h4 + EXCLUDED.ans_h4, ans_h5 = g.ans_h5 + EXCLUDED.ans_h5,
      ans_h6 = g.ans_h6 + EXCLUDED.ans_h6, ans_h7 = g.ans_h7 + EXCLUDED.ans_h7, ans_h8 = g.ans_h8 + EXCLUDED.ans_h8,
      ans_h9 = g.ans_h9 + EXCLUDED.ans_h9,
      n = g.n + EXCLUDED.n
  )
  SELECT count(*) FROM moved
$$;

-- activity_peak_span: the most threads active at once per (scope, key) over the same aligned
-- spans, the maximum of activity_peak_daily's days. Peaks only rise and a maximum is exact however
-- often it is taken, so it follows activity_peak_daily's statements directly (the sampler's, not
-- ingest), raised with GREATEST like activity_peak_daily itself.
CREATE TABLE "activity_peak_span" (
    "span" INTEGER NOT NULL,
    "start_day" TIMESTAMP(3) NOT NULL,
    "scope" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "peak" INTEGER NOT NULL,

    CONSTRAINT "activity_peak_span_pkey" PRIMARY KEY ("scope","span","start_day","key")
);

CREATE FUNCTION "activity_peak_span_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO activity_peak_span AS p (scope, span, start_day, key, peak)
  SELECT scope, s.span, to_timestamp(floor(extract(epoch FROM day) / (86400 * s.span)) * 86400 * s.span) AT TIME ZONE 'UTC',
      key, max(peak)
  FROM new_rows CROSS JOIN (VALUES (2), (4), (8), (16)) AS s (span)
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (scope, span, start_day, key) DO UPDATE SET peak = GREATEST(p.peak, EXCLUDED.peak);
  RETURN NULL;
END $$;

CREATE TRIGGER "activity_peak_span_after_insert" AFTER INSERT ON "activity_peak_daily"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "activity_peak_span_apply"();
CREATE TRIGGER "activity_peak_span_after_update" AFTER UPDATE ON "activity_peak_daily"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "activity_peak_span_apply"();

CREATE FUNCTION "activity_peak_span_after_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE activity_peak_span;
  RETURN NULL;
END $$;
CREATE TRIGGER "activity_peak_span_after_truncate" AFTER TRUNCATE ON "activity_peak_daily"
  FOR EACH STATEMENT EXECUTE FUNCTION "activity_peak_span_after_truncate"();

-- What is already there: its rows, as if just inserted, folded.
INSERT INTO activity_fold_pending (day, target_id, team,
    turns_started, turns_completed, turns_failed, turns_interrupted, working_ms, approval_wait_ms, input_wait_ms, system_error_ms,
    approval_waits, input_waits, answered_waits, dur_h0, dur_h1, dur_h2, dur_h3, dur_h4,
    dur_h5, dur_h6, dur_h7, dur_h8, dur_h9, ans_h0, ans_h1, ans_h2,
    ans_h3, ans_h4, ans_h5, ans_h6, ans_h7, ans_h8, ans_h9, n)
SELECT day, target_id, team,
    turns_started, turns_completed, turns_failed, turns_interrupted, working_ms, approval_wait_ms, input_wait_ms, system_error_ms,
    approval_waits, input_waits, answered_waits, dur_h0, dur_h1, dur_h2, dur_h3, dur_h4,
    dur_h5, dur_h6, dur_h7, dur_h8, dur_h9, ans_h0, ans_h1, ans_h2,
    ans_h3, ans_h4, ans_h5, ans_h6, ans_h7, ans_h8, ans_h9, 1
FROM activity_daily_target;
SELECT activity_fold();
INSERT INTO activity_peak_span (scope, span, start_day, key, peak)
SELECT scope, s.span, to_timestamp(floor(extract(epoch FROM day) / (86400 * s.span)) * 86400 * s.span) AT TIME ZONE 'UTC',
    key, max(peak)
FROM activity_peak_daily CROSS JOIN (VALUES (2), (4), (8), (16)) AS s (span)
GROUP BY 1, 2, 3, 4;
