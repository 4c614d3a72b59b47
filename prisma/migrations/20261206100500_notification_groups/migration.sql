-- Grouped notifications (issue 16): one row per (receiver, alert group). The alert engine marks a
-- group due in the same fenced transaction as the alert transition; the flusher writes the group's
-- message into notification_delivery and advances the group in one transaction conditioned on
-- `seq`, so a failover neither loses nor repeats a message. `notified` holds the ids of the alerts
-- the receiver last heard as firing (empty: the group has ended or never sent).
-- notification_delivery rows of a group message carry the group key in `alert_id` (it orders a
-- group's messages per receiver as it ordered an alert's). Per-alert rows (payload version 1) still
-- pending at upgrade are marked failed by the dispatcher with a clear error, never sent in the new
-- format's place.

-- CreateTable
CREATE TABLE "notification_group" (
    "receiver" TEXT NOT NULL,
    "group_key" TEXT NOT NULL,
    "labels" JSONB NOT NULL DEFAULT '{}',
    "notified" JSONB NOT NULL DEFAULT '[]',
    "seq" INTEGER NOT NULL DEFAULT 0,
    "group_wait_ms" BIGINT NOT NULL,
    "group_interval_ms" BIGINT NOT NULL,
    "repeat_interval_ms" BIGINT NOT NULL,
    "next_flush_at" TIMESTAMP(3),
    "last_flush_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notification_group_pkey" PRIMARY KEY ("receiver","group_key")
);

-- CreateIndex
CREATE INDEX "notification_group_next_flush_at_idx" ON "notification_group"("next_flush_at");
