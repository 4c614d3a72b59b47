-- Retention (issue 13): turn rows older than `retention.detailDays` are deleted in small batches
-- (apps/collector/src/retention.ts). A BRIN index on started_at finds them without the cost a
-- btree would add to every turn insert: turns are written in roughly time order, so each block
-- range's min/max summary is tight.
CREATE INDEX "turn_started_at_idx" ON "turn" USING BRIN ("started_at");
