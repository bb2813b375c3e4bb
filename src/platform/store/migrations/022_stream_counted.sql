-- Traffic statistics written once a second under load instead of with every batch (issue 11).
--
-- The stream processor still commits every batch's raw events, their too-late flags and its bus
-- position together (a 2xx still means stored). The counters, sketches and progress (watermarks,
-- sources) it adds up are kept in its memory and written together at most a second later, in a
-- batch's transaction or one of their own: a busy organisation's 10 s, 1 min and 1 h rows are then
-- written once a second instead of by every batch (bench, few shape: 12,570 counter rows for 8
-- batches became 3,591).
--
-- * `stream_checkpoints.counted_version`: the checkpoint version (commits so far) through which the
--   statistics tables include every batch. Below `version`, the batches after it were committed by
--   a processor whose memory is gone (a crash, another instance, a failed transaction).
-- * `stream_checkpoints.counted_id`: the highest log_events id the statistics include. Batches take
--   the checkpoint's lock before they insert, so ids grow in commit order: the events of those
--   batches are exactly the rows above it, which the next processor to take the lock counts again
--   from what they hold (too-late flags included) before it goes on.
-- * `log_events_id_brin`: finds those rows by id without reading every partition (a BRIN index
--   costs next to nothing per inserted row; ids are inserted in order).
-- * Existing checkpoints start with everything counted.

-- migrate:up
ALTER TABLE stream_checkpoints ADD COLUMN counted_version bigint NOT NULL DEFAULT 0,
  ADD COLUMN counted_id bigint NOT NULL DEFAULT 0;
UPDATE stream_checkpoints SET counted_version = version, counted_id = coalesce(pg_sequence_last_value('log_events_id_seq'::regclass), 0);
CREATE INDEX log_events_id_brin ON log_events USING brin (id);

-- migrate:down
DROP INDEX IF EXISTS log_events_id_brin;
ALTER TABLE stream_checkpoints DROP COLUMN counted_version, DROP COLUMN counted_id;
