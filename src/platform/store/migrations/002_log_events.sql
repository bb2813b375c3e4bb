-- Hot store of raw log events, range-partitioned by event day so retention drops (or archives)
-- whole partitions instead of deleting rows. Partitions are created on demand by the log store.

-- migrate:up
CREATE TABLE log_events (
  id           bigserial NOT NULL,
  org_id       uuid NOT NULL,
  ts           timestamptz NOT NULL,
  received_at  timestamptz NOT NULL,
  service      text,
  host         text,
  source       text,
  level        text,
  message      text NOT NULL,
  method       text,
  path         text,
  section      text,
  status       integer,
  bytes        bigint,
  duration_ms  double precision,
  remote_addr  text,
  user_agent   text,
  attributes   jsonb NOT NULL DEFAULT '{}'::jsonb
) PARTITION BY RANGE (ts);
CREATE INDEX log_events_org_ts ON log_events (org_id, ts DESC, id DESC);

-- migrate:down
DROP TABLE IF EXISTS log_events CASCADE;
