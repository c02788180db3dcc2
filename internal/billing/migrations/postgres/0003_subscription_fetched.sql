-- When the subscription's state was last taken from Stripe's API: the time
-- its fetch started. A fetch that started earlier than the one already
-- applied never overwrites it, whatever order the two jobs commit in.
ALTER TABLE subscriptions ADD COLUMN state_fetched_at TIMESTAMPTZ;
