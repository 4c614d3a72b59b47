-- Price overrides added in the dashboard (issue 17). Config-file overrides (pricing.overrides)
-- keep winning over a stored one of the same model and date; `definition` is the override as
-- packages/pricing's PriceOverrideSchema parses it (prices, cache writes, long context).
CREATE TABLE "price_override" (
    "id" SERIAL NOT NULL,
    "model" TEXT NOT NULL,
    "effective_from" DATE NOT NULL,
    "definition" JSONB NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by" TEXT,
    CONSTRAINT "price_override_pkey" PRIMARY KEY ("id")
);

-- One override per model and date: a second is a conflict, not a silent replacement.
CREATE UNIQUE INDEX "price_override_model_effective_from_key" ON "price_override"("model", "effective_from");
