-- One conversation's inbound events are answered in order on any number of
-- nodes: each event names its sender (a hash of channel and handle: the queue
-- never holds a customer's number in a column of its own), and an event is
-- processed only when no earlier pending event of the same sender is left.
ALTER TABLE inbound_events ADD COLUMN sender_key TEXT;
CREATE INDEX inbound_events_by_sender ON inbound_events (business_id, sender_key, created_at) WHERE state = 'pending';
