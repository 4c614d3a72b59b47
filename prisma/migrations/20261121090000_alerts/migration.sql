-- Alerts (issue #4): identity with a group key, a unique key while open, the silenced flag and
-- the measured value; the notification outbox with its per-attempt delivery log.

-- AlterTable
ALTER TABLE "alert" ADD COLUMN "group_key" TEXT NOT NULL DEFAULT '',
ADD COLUMN "team" TEXT,
ADD COLUMN "value" DOUBLE PRECISION,
ADD COLUMN "silenced" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN "open_key" TEXT;

-- AlterTable
ALTER TABLE "notification_delivery" ADD COLUMN "notification_id" TEXT NOT NULL DEFAULT '',
ADD COLUMN "state" TEXT NOT NULL DEFAULT 'pending',
ADD COLUMN "payload" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN "log" JSONB NOT NULL DEFAULT '[]',
ADD COLUMN "next_attempt_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN "delivered_at" TIMESTAMP(3),
ADD COLUMN "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ALTER COLUMN "attempt" SET DEFAULT 0,
ALTER COLUMN "ok" SET DEFAULT false;

-- The default only filled rows that existed before; new rows always name their notification.
ALTER TABLE "notification_delivery" ALTER COLUMN "notification_id" DROP DEFAULT;

-- CreateIndex
CREATE UNIQUE INDEX "alert_open_key_key" ON "alert"("open_key");

-- CreateIndex
CREATE INDEX "alert_pending_since_idx" ON "alert"("pending_since");

-- CreateIndex
CREATE UNIQUE INDEX "notification_delivery_notification_id_notifier_key" ON "notification_delivery"("notification_id", "notifier");

-- CreateIndex
CREATE INDEX "notification_delivery_state_next_attempt_at_idx" ON "notification_delivery"("state", "next_attempt_at");
