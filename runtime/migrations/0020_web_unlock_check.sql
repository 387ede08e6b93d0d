-- At most one unlock check (an argon2 verification) in flight per web chat
-- session, on every node: a check takes the session's slot with a conditional
-- UPDATE before the password is verified, and gives it back with its outcome
-- (and any wait it earned). The slot is a lease: one a crash left behind ends
-- on its own.
ALTER TABLE web_sessions ADD COLUMN unlock_checking_until BIGINT;
