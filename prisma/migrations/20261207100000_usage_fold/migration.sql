-- Usage at organization scale (issue 13 goal 2: 5,000 developers x 365 days).
--
-- usage_daily (migration 20261123090000_usage_daily) holds a row per (day, target, team, model,
-- repo): the Usage page's 30 days of 5,000 developers are ≈ 300,000 rows a request, a year ≈ 3.6 M.
-- Two coarser grains answer the groupings the dashboard asks for, the pattern of the activity fold
-- (migration 20261206150000_activity_fold), which no ingest statement writes:
--
-- usage_daily_team: per (day, team, model) — usage_daily summed over targets and repos. Serves
--   every grouping and filter within {day, team, model} (the page's series and models, totals).
-- usage_span_target: per (target, team) over aligned spans of 1, 2, 4, … 256 days (start_day a
--   multiple of span since 1970-01-01), summed over models and repos. Serves every grouping and
--   filter within {target, team} (the page's spenders: a window's whole days as at most one block
--   of each size on either side of the largest — a 30-day window is 5 blocks on average, 7 at most;
--   a year 8.5, 13 at most — instead of a row per day) and, with span 1, within {day, target, team}.
--
-- Ingest only appends: statement triggers on usage_daily insert each statement's net change per
-- (day, target, team, model, repo) into usage_fold_pending (a heap insert: no row that two
-- collectors both update — the grains' rows are shared by every target of a team). usage_fold()
-- moves the pending rows into the grains in ONE statement (DELETE … RETURNING feeding the upserts),
-- run by one instance at a time (an advisory lock; packages/db/src/repositories/usage-fold.ts).
-- Exact by snapshot: a reader's statement (queries/usage.ts) sees every pending row either still
-- pending (and adds it) or already moved (and finds it in a grain), never both, never neither.
-- Counters keep usage_daily's types (sums exact); `n` counts the usage_daily rows behind a row, so
-- a group exists when its n sum is positive, exactly when a usage_daily row has its keys.

CREATE TABLE "usage_fold_pending" (
    "id" BIGSERIAL NOT NULL,
    "day" TIMESTAMP(3) NOT NULL,
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
    "n" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "usage_fold_pending_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "usage_daily_team" (
    "day" TIMESTAMP(3) NOT NULL,
    "team" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "turns" BIGINT NOT NULL DEFAULT 0,
    "failed_turns" BIGINT NOT NULL DEFAULT 0,
    "input_tokens" BIGINT NOT NULL DEFAULT 0,
    "cached_input_tokens" BIGINT NOT NULL DEFAULT 0,
    "output_tokens" BIGINT NOT NULL DEFAULT 0,
    "reasoning_output_tokens" BIGINT NOT NULL DEFAULT 0,
    "total_tokens" BIGINT NOT NULL DEFAULT 0,
    "cost_usd" DECIMAL(20,10) NOT NULL DEFAULT 0,
    "unpriced_tokens" BIGINT NOT NULL DEFAULT 0,
    "n" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "usage_daily_team_pkey" PRIMARY KEY ("day","team","model")
);

CREATE TABLE "usage_span_target" (
    "span" INTEGER NOT NULL,
    "start_day" TIMESTAMP(3) NOT NULL,
    "target_id" TEXT NOT NULL,
    "team" TEXT NOT NULL,
    "turns" BIGINT NOT NULL DEFAULT 0,
    "failed_turns" BIGINT NOT NULL DEFAULT 0,
    "input_tokens" BIGINT NOT NULL DEFAULT 0,
    "cached_input_tokens" BIGINT NOT NULL DEFAULT 0,
    "output_tokens" BIGINT NOT NULL DEFAULT 0,
    "reasoning_output_tokens" BIGINT NOT NULL DEFAULT 0,
    "total_tokens" BIGINT NOT NULL DEFAULT 0,
    "cost_usd" DECIMAL(20,10) NOT NULL DEFAULT 0,
    "unpriced_tokens" BIGINT NOT NULL DEFAULT 0,
    "n" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "usage_span_target_pkey" PRIMARY KEY ("span","start_day","target_id","team")
);

-- Each statement's net change, appended (an UPDATE adds new minus old: right even if it moved a
-- row to other keys; a DELETE, which no writer does today, subtracts).
CREATE FUNCTION "usage_fold_pending_append"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO usage_fold_pending (day, target_id, team, model, repo, turns, failed_turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens, n)
    SELECT day, target_id, team, model, repo, turns, failed_turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens, 1 FROM new_rows;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO usage_fold_pending (day, target_id, team, model, repo, turns, failed_turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens, n)
    SELECT day, target_id, team, model, repo, sum(turns), sum(failed_turns), sum(input_tokens), sum(cached_input_tokens), sum(output_tokens), sum(reasoning_output_tokens), sum(total_tokens), sum(cost_usd), sum(unpriced_tokens), sum(n)
    FROM (
      SELECT day, target_id, team, model, repo, turns, failed_turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens, 1 AS n FROM new_rows
      UNION ALL
      SELECT day, target_id, team, model, repo, -turns, -failed_turns, -input_tokens, -cached_input_tokens, -output_tokens, -reasoning_output_tokens, -total_tokens, -cost_usd, -unpriced_tokens, -1 FROM old_rows
    ) d GROUP BY 1, 2, 3, 4, 5;
  ELSE
    INSERT INTO usage_fold_pending (day, target_id, team, model, repo, turns, failed_turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens, n)
    SELECT day, target_id, team, model, repo, -turns, -failed_turns, -input_tokens, -cached_input_tokens, -output_tokens, -reasoning_output_tokens, -total_tokens, -cost_usd, -unpriced_tokens, -1 FROM old_rows;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "usage_fold_after_insert" AFTER INSERT ON "usage_daily"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "usage_fold_pending_append"();
CREATE TRIGGER "usage_fold_after_update" AFTER UPDATE ON "usage_daily"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION "usage_fold_pending_append"();
CREATE TRIGGER "usage_fold_after_delete" AFTER DELETE ON "usage_daily"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "usage_fold_pending_append"();

CREATE FUNCTION "usage_fold_after_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE usage_fold_pending, usage_daily_team, usage_span_target;
  RETURN NULL;
END $$;
CREATE TRIGGER "usage_fold_after_truncate" AFTER TRUNCATE ON "usage_daily"
  FOR EACH STATEMENT EXECUTE FUNCTION "usage_fold_after_truncate"();

-- Moves every pending row it sees into the grains, in one statement; returns how many it moved.
-- Upserts in key order (a second fold, should one run despite the lock, queues, never deadlocks).
CREATE FUNCTION "usage_fold"() RETURNS bigint LANGUAGE sql AS $$
  WITH moved AS (
    DELETE FROM usage_fold_pending RETURNING *
  ), team AS (
    INSERT INTO usage_daily_team AS g (day, team, model, turns, failed_turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens, n)
    SELECT day, team, model, sum(turns), sum(failed_turns), sum(input_tokens), sum(cached_input_tokens), sum(output_tokens), sum(reasoning_output_tokens), sum(total_tokens), sum(cost_usd), sum(unpriced_tokens), sum(n)
    FROM moved GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (day, team, model) DO UPDATE SET turns = g.turns + EXCLUDED.turns, failed_turns = g.failed_turns + EXCLUDED.failed_turns, input_tokens = g.input_tokens + EXCLUDED.input_tokens, cached_input_tokens = g.cached_input_tokens + EXCLUDED.cached_input_tokens, output_tokens = g.output_tokens + EXCLUDED.output_tokens, reasoning_output_tokens = g.reasoning_output_tokens + EXCLUDED.reasoning_output_tokens, total_tokens = g.total_tokens + EXCLUDED.total_tokens, cost_usd = g.cost_usd + EXCLUDED.cost_usd, unpriced_tokens = g.unpriced_tokens + EXCLUDED.unpriced_tokens, n = g.n + EXCLUDED.n
  ), span AS (
    INSERT INTO usage_span_target AS g (span, start_day, target_id, team, turns, failed_turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens, n)
    SELECT s.span, to_timestamp(floor(extract(epoch FROM day) / (86400 * s.span)) * 86400 * s.span) AT TIME ZONE 'UTC',
        target_id, team, sum(turns), sum(failed_turns), sum(input_tokens), sum(cached_input_tokens), sum(output_tokens), sum(reasoning_output_tokens), sum(total_tokens), sum(cost_usd), sum(unpriced_tokens), sum(n)
    FROM moved CROSS JOIN (VALUES (1), (2), (4), (8), (16), (32), (64), (128), (256)) AS s (span)
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (span, start_day, target_id, team) DO UPDATE SET turns = g.turns + EXCLUDED.turns, failed_turns = g.failed_turns + EXCLUDED.failed_turns, input_tokens = g.input_tokens + EXCLUDED.input_tokens, cached_input_tokens = g.cached_input_tokens + EXCLUDED.cached_input_tokens, output_tokens = g.output_tokens + EXCLUDED.output_tokens, reasoning_output_tokens = g.reasoning_output_tokens + EXCLUDED.reasoning_output_tokens, total_tokens = g.total_tokens + EXCLUDED.total_tokens, cost_usd = g.cost_usd + EXCLUDED.cost_usd, unpriced_tokens = g.unpriced_tokens + EXCLUDED.unpriced_tokens, n = g.n + EXCLUDED.n
  )
  SELECT count(*) FROM moved
$$;

-- What is already there, folded straight from usage_daily (not through the pending log: a
-- year of 5,000 developers is 3.6 M rows that would leave as many dead ones behind).
INSERT INTO usage_daily_team (day, team, model, turns, failed_turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens, n)
SELECT day, team, model, sum(turns), sum(failed_turns), sum(input_tokens), sum(cached_input_tokens), sum(output_tokens), sum(reasoning_output_tokens), sum(total_tokens), sum(cost_usd), sum(unpriced_tokens), count(*) FROM usage_daily GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
INSERT INTO usage_span_target (span, start_day, target_id, team, turns, failed_turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens, n)
SELECT s.span, to_timestamp(floor(extract(epoch FROM day) / (86400 * s.span)) * 86400 * s.span) AT TIME ZONE 'UTC',
    target_id, team, sum(turns), sum(failed_turns), sum(input_tokens), sum(cached_input_tokens), sum(output_tokens), sum(reasoning_output_tokens), sum(total_tokens), sum(cost_usd), sum(unpriced_tokens), count(*)
FROM usage_daily CROSS JOIN (VALUES (1), (2), (4), (8), (16), (32), (64), (128), (256)) AS s (span)
GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;
