-- Placeholder on the push branch only, so that 0003_push runs without a
-- gap: the feed's own 0002_feed.sql replaces this file at merge.
SELECT 1;
