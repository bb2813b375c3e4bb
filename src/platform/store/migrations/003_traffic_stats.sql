-- Event-time traffic statistics written by the stream processor, and the processor's checkpoint.
--
-- - `traffic_counts`: additive counters per bucket and dimension (service, section, status class,
--   method; '' where the event has none), one row set per resolution (1 s, 10 s, 60 s, 3600 s) so a
--   30-day chart reads 720 hourly rows instead of 2.6 million seconds.
-- - `traffic_sketches`: what cannot be added up per dimension — distinct remote hosts (HyperLogLog
--   registers) and the latency histogram — one row per bucket, merged by the processor.
-- - `stream_checkpoints`: the bus position of a consumer; `stream_progress`: its watermarks per
--   organisation. Both are written in the same transaction as the counters they describe.
-- - `log_events.too_late`: the event arrived after its bucket's allowed lateness had passed; it is
--   stored but not counted, so "stats = recount of raw events that are not too late" holds.

-- migrate:up
ALTER TABLE log_events ADD COLUMN too_late boolean NOT NULL DEFAULT false;

CREATE TABLE traffic_counts (
  org_id          uuid NOT NULL,
  resolution      integer NOT NULL,
  bucket          timestamptz NOT NULL,
  service         text NOT NULL,
  section         text NOT NULL,
  status_class    text NOT NULL,
  method          text NOT NULL,
  hits            bigint NOT NULL,
  bytes           bigint NOT NULL,
  duration_count  bigint NOT NULL,
  duration_sum_ms double precision NOT NULL,
  PRIMARY KEY (org_id, resolution, bucket, service, section, status_class, method)
);

CREATE TABLE traffic_sketches (
  org_id      uuid NOT NULL,
  resolution  integer NOT NULL,
  bucket      timestamptz NOT NULL,
  hosts       bytea NOT NULL,
  latency     bigint[] NOT NULL,
  too_late    bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (org_id, resolution, bucket)
);

CREATE TABLE stream_checkpoints (
  consumer    text PRIMARY KEY,
  position    jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE stream_progress (
  consumer    text NOT NULL,
  org_id      uuid NOT NULL,
  watermark   timestamptz,
  sources     jsonb NOT NULL DEFAULT '{}'::jsonb,
  too_late    bigint NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, org_id)
);

-- migrate:down
DROP TABLE IF EXISTS stream_progress, stream_checkpoints, traffic_sketches, traffic_counts; ALTER TABLE log_events DROP COLUMN IF EXISTS too_late;
