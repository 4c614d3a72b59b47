-- day x target for some teams (the Usage page's chart stacked by developer, filtered by team):
-- queries/usage.ts reads usage_span_target's span-1 rows of the window, whose primary key
-- (span, start_day, target_id, team) finds every team's rows of those days — 145,000 rows read to
-- keep the 29,000 of four teams of twenty (5,000 developers x 29 days). This index finds only
-- theirs: 133-330 -> 45-55 ms for that statement in EXPLAIN ANALYZE at load 10 (session 11).
-- Partial (span 1 only: the other spans are read by block, never by team and day range), built in
-- ~8 s for a year of 5,000 developers (1.8 M span-1 rows). The fold's upserts change no indexed
-- column of an existing row, so only a new (day, target) adds an entry.
CREATE INDEX "usage_span_target_team_day_idx" ON "usage_span_target" ("team", "start_day") WHERE "span" = 1;
