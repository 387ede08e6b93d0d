-- The WhatsApp Business Account (WABA) a business's number belongs to: what
-- Meta's `pricing_analytics` is read from, to reconcile the channel charges
-- the host recorded with what the channel reports (billing/reconcile.rs).
ALTER TABLE whatsapp_channels ADD COLUMN waba_id TEXT;
