-- Watermark sources in their own rows, so a batch writes back only the sources it changed instead
-- of the organisation's whole source map (a JSON column rewritten per batch cost time in proportion
-- to how many distinct `source`/`host` values senders had used). The number of rows per
-- organisation is bounded by the stream processor (sources.ts): idle sources are deleted, sources
-- beyond the cap are folded into the `fold_*` columns of `stream_progress`.
--
-- `stream_checkpoints.version` counts commits, so a processor can tell that no other instance
-- committed since its own last batch and keep its progress in memory instead of reading it again.

-- migrate:up
CREATE TABLE stream_sources (
  consumer          text NOT NULL,
  org_id            uuid NOT NULL,
  source            text NOT NULL,
  max_ts            double precision NOT NULL,
  last_received_at  double precision NOT NULL,
  PRIMARY KEY (consumer, org_id, source)
);
ALTER TABLE stream_progress ADD COLUMN fold_max_ts double precision, ADD COLUMN fold_received_at double precision;
INSERT INTO stream_sources (consumer, org_id, source, max_ts, last_received_at)
  SELECT p.consumer, p.org_id, s.key, (s.value->>'maxTs')::double precision, (s.value->>'lastReceivedAt')::double precision
  FROM stream_progress p, jsonb_each(p.sources) s;
ALTER TABLE stream_progress DROP COLUMN sources;
ALTER TABLE stream_checkpoints ADD COLUMN version bigint NOT NULL DEFAULT 0;

-- migrate:down
ALTER TABLE stream_progress ADD COLUMN sources jsonb NOT NULL DEFAULT '{}'::jsonb;
UPDATE stream_progress p SET sources = coalesce((
SELECT jsonb_object_agg(s.source, jsonb_build_object('maxTs', s.max_ts, 'lastReceivedAt', s.last_received_at))
FROM stream_sources s WHERE s.consumer = p.consumer AND s.org_id = p.org_id), '{}'::jsonb);
ALTER TABLE stream_progress DROP COLUMN fold_max_ts, DROP COLUMN fold_received_at;
ALTER TABLE stream_checkpoints DROP COLUMN version;
DROP TABLE stream_sources;
