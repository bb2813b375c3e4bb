-- The stream processor's journal of statistics not yet folded into traffic_counts /
-- traffic_sketches (src/domains/stream/traffic-journal.ts): each batch writes its counter and
-- sketch deltas here, one row per organisation, in its own transaction; a later transaction folds
-- the rows into the statistics and deletes them. The rows live about a second.
--
-- - `deltas` is JSON text read only by the processor; EXTERNAL storage skips compressing it (the
--   row is deleted within a second, compressing it would cost more than it saves).
-- - `version`: the checkpoint version of the batch that wrote the row.
-- - stream_progress.counted_watermark: the watermark as of the batches folded so far. Readers of
--   the statistics (charts, alert rules, the InfluxDB sink) use it instead of `watermark`, which
--   the processor moves with every batch, so a bucket they take as final holds all of its counts.
-- - Going down drops unfolded rows: stop the processors first (a clean stop folds the journal).

-- migrate:up
CREATE TABLE traffic_journal (
  consumer  text NOT NULL,
  version   bigint NOT NULL,
  org_id    uuid NOT NULL,
  deltas    text NOT NULL,
  PRIMARY KEY (consumer, version, org_id)
);
ALTER TABLE traffic_journal ALTER COLUMN deltas SET STORAGE EXTERNAL;
SELECT vigil_enforce_tenancy('traffic_journal');

ALTER TABLE stream_progress ADD COLUMN counted_watermark timestamptz;
UPDATE stream_progress SET counted_watermark = watermark;

-- migrate:down
ALTER TABLE stream_progress DROP COLUMN counted_watermark;
DROP TABLE traffic_journal;
