-- Who a session belongs to (issue 17): a person signed in through single sign-on (OIDC) has the
-- provider's subject, a display name and an email; all three are NULL for a static-token session.
ALTER TABLE "session" ADD COLUMN "subject" TEXT,
ADD COLUMN "name" TEXT,
ADD COLUMN "email" TEXT;
