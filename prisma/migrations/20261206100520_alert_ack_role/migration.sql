-- Who acknowledged an alert, by signed-in role (issue 16); NULL when auth was off.
ALTER TABLE "alert" ADD COLUMN "ack_role" TEXT;
