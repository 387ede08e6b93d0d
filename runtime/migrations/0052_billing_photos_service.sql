-- Fees for stored photos, and WhatsApp's free service messages.
--
-- Service messages are billable since October 2026, with a monthly free
-- allowance per number: how many a rate-card version lets through free each
-- month (the version in effect when the month starts decides). 0: none.
ALTER TABLE rate_card_versions ADD COLUMN free_service_per_month BIGINT NOT NULL DEFAULT 0;
-- Stored photos are priced per period from the count a business stores at the
-- period's end (`images`), written to the ledger once by the finalising
-- transaction as a 'photos_stored' row keyed by the period; plans price it
-- with `terms.photos` (an allowance and tiers, per photo per month).
