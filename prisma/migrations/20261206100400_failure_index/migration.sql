-- Failure reasons (GET /api/v1/usage/failures, issue 11): failed turns counted by codexErrorInfo
-- over a time range. Failed turns are a small share of all turns, so a partial index holds only
-- them, keyed by the time the rollups count a turn's end at (`COALESCE(completed_at, started_at)`,
-- see upsertTurns in packages/db/src/repositories/ingest-repository.ts): a month's range is an
-- index range scan however many million turns the table holds. Prisma's schema language cannot
-- declare an expression or partial index; the query in packages/db/src/queries/failures.ts uses
-- exactly this expression and predicate.
CREATE INDEX "turn_failed_at_idx" ON "turn" ((COALESCE("completed_at", "started_at"))) WHERE "status" = 'failed';
