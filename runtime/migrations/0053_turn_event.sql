-- The inbound event a customer's message came in, kept on the stored message:
-- an event answered again (its node died before it was settled) finds its
-- message stored instead of storing it a second time.
ALTER TABLE messages ADD COLUMN event_id TEXT;
CREATE UNIQUE INDEX messages_by_event ON messages (business_id, event_id);
-- A conversation's sends still waiting, found without scanning the queue: a
-- turn's sends go out at once only when none of its conversation wait, and a
-- claim takes only the head of each conversation's queue.
CREATE INDEX outbox_pending_by_conversation ON outbox (conversation_id, seq) WHERE state = 'pending';
