-- Daily usage rollup (issue #5, benchmarks): GET /api/v1/usage over 30 days read ~600,000
-- hourly rows for 1,000 developers (p95 ~300 ms); whole days now come from this table (~30x
-- fewer rows) and only the partial first and last day from usage_hourly.
-- It is kept by statement-level triggers on usage_hourly, so that every writer of the hourly
-- rollup (the ingest path, imports, tests) keeps the two in step: an insert or update of hourly
-- rows adds its net change per day, in key order, by atomic upsert-and-increment. A DELETE does
-- not propagate (each rollup keeps its own retention); a TRUNCATE of usage_hourly empties both.

-- CreateTable
CREATE TABLE "usage_daily" (
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

    CONSTRAINT "usage_daily_pkey" PRIMARY KEY ("day","target_id","team","model","repo")
);

-- Backfill from the hourly rows written so far.
INSERT INTO "usage_daily" ("day", "target_id", "team", "model", "repo", "turns", "failed_turns", "input_tokens",
    "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens", "cost_usd", "unpriced_tokens")
SELECT date_trunc('day', "hour"), "target_id", "team", "model", "repo", sum("turns"), sum("failed_turns"),
    sum("input_tokens"), sum("cached_input_tokens"), sum("output_tokens"), sum("reasoning_output_tokens"),
    sum("total_tokens"), sum("cost_usd"), sum("unpriced_tokens")
FROM "usage_hourly" GROUP BY 1, 2, 3, 4, 5;

CREATE FUNCTION "usage_daily_after_hourly_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_daily (day, target_id, team, model, repo, turns, failed_turns, input_tokens,
      cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens)
  SELECT date_trunc('day', hour), target_id, team, model, repo, sum(turns), sum(failed_turns), sum(input_tokens),
      sum(cached_input_tokens), sum(output_tokens), sum(reasoning_output_tokens), sum(total_tokens), sum(cost_usd),
      sum(unpriced_tokens)
  FROM new_rows GROUP BY 1, 2, 3, 4, 5 ORDER BY 2, 3, 4, 5, 1
  ON CONFLICT (day, target_id, team, model, repo) DO UPDATE SET
      turns = usage_daily.turns + EXCLUDED.turns,
      failed_turns = usage_daily.failed_turns + EXCLUDED.failed_turns,
      input_tokens = usage_daily.input_tokens + EXCLUDED.input_tokens,
      cached_input_tokens = usage_daily.cached_input_tokens + EXCLUDED.cached_input_tokens,
      output_tokens = usage_daily.output_tokens + EXCLUDED.output_tokens,
      reasoning_output_tokens = usage_daily.reasoning_output_tokens + EXCLUDED.reasoning_output_tokens,
      total_tokens = usage_daily.total_tokens + EXCLUDED.total_tokens,
      cost_usd = usage_daily.cost_usd + EXCLUDED.cost_usd,
      unpriced_tokens = usage_daily.unpriced_tokens + EXCLUDED.unpriced_tokens;
  RETURN NULL;
END $$;

CREATE FUNCTION "usage_daily_after_hourly_update"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- New values minus old ones, per day: right even if an update moved a row to another key.
  INSERT INTO usage_daily (day, target_id, team, model, repo, turns, failed_turns, input_tokens,
      cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens)
  SELECT date_trunc('day', hour), target_id, team, model, repo, sum(turns), sum(failed_turns), sum(input_tokens),
      sum(cached_input_tokens), sum(output_tokens), sum(reasoning_output_tokens), sum(total_tokens), sum(cost_usd),
      sum(unpriced_tokens)
  FROM (
    SELECT hour, target_id, team, model, repo, turns, failed_turns, input_tokens, cached_input_tokens, output_tokens,
        reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens FROM new_rows
    UNION ALL
    SELECT hour, target_id, team, model, repo, -turns, -failed_turns, -input_tokens, -cached_input_tokens,
        -output_tokens, -reasoning_output_tokens, -total_tokens, -cost_usd, -unpriced_tokens FROM old_rows
  ) d
  GROUP BY 1, 2, 3, 4, 5 ORDER BY 2, 3, 4, 5, 1
  ON CONFLICT (day, target_id, team, model, repo) DO UPDATE SET
      turns = usage_daily.turns + EXCLUDED.turns,
      failed_turns = usage_daily.failed_turns + EXCLUDED.failed_turns,
      input_tokens = usage_daily.input_tokens + EXCLUDED.input_tokens,
      cached_input_tokens = usage_daily.cached_input_tokens + EXCLUDED.cached_input_tokens,
      output_tokens = usage_daily.output_tokens + EXCLUDED.output_tokens,
      reasoning_output_tokens = usage_daily.reasoning_output_tokens + EXCLUDED.reasoning_output_tokens,
      total_tokens = usage_daily.total_tokens + EXCLUDED.total_tokens,
      cost_usd = usage_daily.cost_usd + EXCLUDED.cost_usd,
      unpriced_tokens = usage_daily.unpriced_tokens + EXCLUDED.unpriced_tokens;
  RETURN NULL;
END $$;

CREATE FUNCTION "usage_daily_after_hourly_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE usage_daily;
  RETURN NULL;
END $$;

CREATE TRIGGER "usage_hourly_to_daily_insert" AFTER INSERT ON "usage_hourly"
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "usage_daily_after_hourly_insert"();
CREATE TRIGGER "usage_hourly_to_daily_update" AFTER UPDATE ON "usage_hourly"
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION "usage_daily_after_hourly_update"();
CREATE TRIGGER "usage_hourly_to_daily_truncate" AFTER TRUNCATE ON "usage_hourly"
    FOR EACH STATEMENT EXECUTE FUNCTION "usage_daily_after_hourly_truncate"();
