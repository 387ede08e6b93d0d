-- An operator may suspend a business: while `suspended_at` is set its API
-- answers 403 `business_suspended`, its console is closed and its bot (and
-- automations) say nothing; customers' messages are still kept. Resuming
-- clears it.
ALTER TABLE businesses ADD COLUMN suspended_at BIGINT;
