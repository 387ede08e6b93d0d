-- Pseudonyms are random now (minted when a handle is first seen, kept by the
-- customer_handles mapping): the key they were once derived under is
-- forgotten, so no pseudonym of the past can be recomputed from a phone
-- number. The column stays (dropping one is not portable), empty.
UPDATE businesses SET pseudonym_key = '';
