-- The email providers' rate limits, shared by every node: one row per
-- provider holding the next free request slot, in microseconds since the
-- Unix epoch. A node takes a slot with one UPDATE before each API call.
CREATE TABLE email_provider_rate (
    provider TEXT PRIMARY KEY,
    next_us  BIGINT NOT NULL
);
