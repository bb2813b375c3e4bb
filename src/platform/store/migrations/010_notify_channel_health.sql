-- Channel health (issue 9): a channel whose deliveries keep failing is disabled with the reason
-- (domains/notify/channel-health.ts decides when), and notifications meant for a disabled channel
-- are kept as 'skipped' so they can be re-sent once it works again.
--   failure_streak / failing_since: failed delivery attempts in a row and when the first of them
--   was made; any successful attempt resets both.

-- migrate:up
ALTER TABLE channels
  ADD COLUMN disabled_at timestamptz,
  ADD COLUMN disabled_reason text,
  ADD COLUMN failure_streak integer NOT NULL DEFAULT 0,
  ADD COLUMN failing_since timestamptz;

ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check CHECK (status IN ('pending', 'delivered', 'failed', 'skipped'));

-- migrate:down
UPDATE outbox SET status = 'failed' WHERE status = 'skipped';
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check CHECK (status IN ('pending', 'delivered', 'failed'));

ALTER TABLE channels
  DROP COLUMN failing_since,
  DROP COLUMN failure_streak,
  DROP COLUMN disabled_reason,
  DROP COLUMN disabled_at;
