-- The janitor deletes feed log entries older than the feed's retention
-- (a stream resuming from an older Last-Event-ID starts from the log's
-- oldest entry); this index finds them without a scan.
CREATE INDEX feed_log_created ON feed_log (created_at);
