-- Without code: a business's greeting, away message with opening hours, quick
-- replies for its agents, and the words that ask for a person (JSON; NULL for
-- none). And who holds a conversation, and when it was last told "we're away".
ALTER TABLE businesses ADD COLUMN automations TEXT;
ALTER TABLE conversations ADD COLUMN agent TEXT;
ALTER TABLE conversations ADD COLUMN away_sent_at BIGINT;
