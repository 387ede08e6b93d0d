-- The optional second factor of a staff account: a TOTP secret (RFC 6238,
-- base32 as authenticator apps take it), set once its owner confirmed a code
-- from it, and the last time step a code was accepted at, so a code works once.
ALTER TABLE staff_members ADD COLUMN totp_secret TEXT;
ALTER TABLE staff_members ADD COLUMN totp_last_step BIGINT;
