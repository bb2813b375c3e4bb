-- Shipment table watchers (watchers domain, issue 10 "Shipments in"): platform administrators
-- point Vigil at a table of the platform's own PostgreSQL; a `process` worker reads its newly
-- inserted rows into `shipments` (through the shipments domain's intake).
--
-- * `shipment_watchers`: one row per watcher, configuration and state together.
--   - Configuration: `connection_url` (holds the password: never answered by the API), the table,
--     its integer ordering column (`order_column`, indexed), `columns` (shipment field -> column,
--     jsonb), whose shipments: `org_id` (fixed) or `org_column` + `org_map` (column value -> org id,
--     jsonb), `poll_interval_ms`, `batch_size`.
--   - Position (see src/domains/watchers/position.ts for the invariant): `settled` (every row with
--     an ordering value <= it has been read or will never appear), `read_above` (the ranges of
--     ordering values above `settled` already read, jsonb [[lo, hi], ...]), and the settling
--     candidate `pending_settle` / `pending_xid` (xid8 as text). `state_version` is bumped by
--     every commit of a batch: a batch whose version moved under it (another process) is refused.
--   - State shown: rows read / stored / rejected, last error, caught-up time.
--   - Lease: `owner` and `lease_until` (database time), as the rule evaluator's (migration 012):
--     one process reads a watcher at a time; exactly-once rests on `state_version`, not the lease.
--   No foreign key to orgs: removing an organisation must not fail on a watcher; rows meant for
--   an organisation that no longer exists are rejected with that reason.
--   Not tenant data: a watcher is the platform's configuration (it may feed several
--   organisations); only platform administrators see it.
-- * `shipment_watcher_rejections`: rows of the watched table the intake refused (ordering value,
--   field, reason), written in the batch's transaction; the latest ones per watcher are kept.

-- migrate:up
CREATE TABLE shipment_watchers (
  id               uuid PRIMARY KEY,
  name             text NOT NULL UNIQUE,
  connection_url   text NOT NULL,
  table_schema     text NOT NULL,
  table_name       text NOT NULL,
  order_column     text NOT NULL,
  columns          jsonb NOT NULL,
  org_id           uuid,
  org_column       text,
  org_map          jsonb,
  poll_interval_ms integer NOT NULL CHECK (poll_interval_ms >= 100),
  batch_size       integer NOT NULL CHECK (batch_size BETWEEN 1 AND 100000),
  enabled          boolean NOT NULL DEFAULT true,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  settled          bigint NOT NULL,
  read_above       jsonb NOT NULL DEFAULT '[]'::jsonb,
  pending_settle   bigint,
  pending_xid      text,
  max_seen         bigint,
  state_version    bigint NOT NULL DEFAULT 0,
  rows_read        bigint NOT NULL DEFAULT 0,
  rows_stored      bigint NOT NULL DEFAULT 0,
  rows_rejected    bigint NOT NULL DEFAULT 0,
  last_read_at     timestamptz,
  caught_up_at     timestamptz,
  last_error       text,
  last_error_at    timestamptz,
  failures         integer NOT NULL DEFAULT 0,
  owner            text,
  lease_until      timestamptz,
  CHECK ((org_id IS NULL) <> (org_column IS NULL)),
  CHECK ((org_column IS NULL) = (org_map IS NULL))
);

CREATE TABLE shipment_watcher_rejections (
  id           bigserial PRIMARY KEY,
  watcher_id   uuid NOT NULL REFERENCES shipment_watchers(id) ON DELETE CASCADE,
  at           timestamptz NOT NULL DEFAULT now(),
  source_key   bigint NOT NULL,
  org_id       uuid,
  field        text NOT NULL,
  message      text NOT NULL
);
CREATE INDEX shipment_watcher_rejections_watcher ON shipment_watcher_rejections (watcher_id, id);

-- migrate:down
DROP TABLE shipment_watcher_rejections;
DROP TABLE shipment_watchers;
