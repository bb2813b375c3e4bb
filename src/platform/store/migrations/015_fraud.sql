-- Shipment fraud criteria (issue 10, "Criteria" and "Detection and alerts"), owned by the fraud domain.
--
-- * `fraud_criteria`: the current state of each criterion (its latest version's spec, status,
--   why it is paused). Deleting one sets deleted_at: its versions and alerts stay readable.
-- * `fraud_criterion_versions`: immutable, one row per edit; alerts point at (criterion, version).
-- * `fraud_lists` / `fraud_list_items`: the organisation's lists (blocked senders, watched
--   addresses, high-risk HS codes, countries), referenced in CEL as lists.<name>.
-- * `fraud_audit`: who changed what and when (criteria and lists).
-- * `fraud_alerts`: one row per (criterion, version, shipment) that matched — the unique key is what
--   makes detection exactly-once across restarts and redeliveries; acknowledgement and verdict live
--   on the row (the customer's own statistics on each criterion's precision).

-- migrate:up
CREATE TABLE fraud_criteria (
  id              uuid PRIMARY KEY,
  org_id          uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  version         integer NOT NULL CHECK (version >= 1),
  name            text NOT NULL,
  description     text NOT NULL DEFAULT '',
  expression      text NOT NULL,
  enabled         boolean NOT NULL,
  shadow          boolean NOT NULL DEFAULT false,
  severity        text NOT NULL,
  channels        jsonb NOT NULL,
  group_by        jsonb NOT NULL,
  group_wait      text NOT NULL,
  group_interval  text NOT NULL,
  aggregates      jsonb NOT NULL DEFAULT '[]'::jsonb,
  paused_reason   text,
  paused_at       timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  created_by      text,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  updated_by      text,
  deleted_at      timestamptz
);
CREATE INDEX fraud_criteria_org ON fraud_criteria (org_id) WHERE deleted_at IS NULL;

CREATE TABLE fraud_criterion_versions (
  criterion_id    uuid NOT NULL REFERENCES fraud_criteria(id) ON DELETE CASCADE,
  version         integer NOT NULL,
  org_id          uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name            text NOT NULL,
  description     text NOT NULL DEFAULT '',
  expression      text NOT NULL,
  enabled         boolean NOT NULL,
  shadow          boolean NOT NULL,
  severity        text NOT NULL,
  channels        jsonb NOT NULL,
  group_by        jsonb NOT NULL,
  group_wait      text NOT NULL,
  group_interval  text NOT NULL,
  aggregates      jsonb NOT NULL DEFAULT '[]'::jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  created_by      text,
  PRIMARY KEY (criterion_id, version)
);

CREATE TABLE fraud_lists (
  org_id       uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name         text NOT NULL,
  description  text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  updated_by   text,
  PRIMARY KEY (org_id, name)
);
CREATE TABLE fraud_list_items (
  org_id     uuid NOT NULL,
  list_name  text NOT NULL,
  value      text NOT NULL,
  PRIMARY KEY (org_id, list_name, value),
  FOREIGN KEY (org_id, list_name) REFERENCES fraud_lists (org_id, name) ON DELETE CASCADE
);

CREATE TABLE fraud_audit (
  id            uuid PRIMARY KEY,
  org_id        uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  at            timestamptz NOT NULL DEFAULT now(),
  actor         text,
  action        text NOT NULL,
  criterion_id  uuid,
  list_name     text,
  version       integer,
  changes       jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX fraud_audit_org_at ON fraud_audit (org_id, at DESC);

CREATE TABLE fraud_alerts (
  id                   uuid PRIMARY KEY,
  org_id               uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  criterion_id         uuid NOT NULL,
  criterion_version    integer NOT NULL,
  shipment_id          bigint NOT NULL,
  external_id          text NOT NULL,
  shipment_created_at  timestamptz NOT NULL,
  matched_at           timestamptz NOT NULL DEFAULT now(),
  shadow               boolean NOT NULL,
  severity             text NOT NULL,
  "values"             jsonb NOT NULL DEFAULT '{}'::jsonb,
  acknowledged_at      timestamptz,
  acknowledged_by      text,
  verdict              text CHECK (verdict IN ('fraud', 'false_positive', 'benign')),
  verdict_note         text,
  verdict_by           text,
  verdict_at           timestamptz,
  UNIQUE (criterion_id, criterion_version, shipment_id),
  FOREIGN KEY (criterion_id, criterion_version) REFERENCES fraud_criterion_versions (criterion_id, version) ON DELETE CASCADE
);
CREATE INDEX fraud_alerts_org_matched ON fraud_alerts (org_id, matched_at DESC, id DESC);
CREATE INDEX fraud_alerts_criterion ON fraud_alerts (criterion_id, matched_at DESC);

-- migrate:down
DROP TABLE fraud_alerts;
DROP TABLE fraud_audit;
DROP TABLE fraud_list_items;
DROP TABLE fraud_lists;
DROP TABLE fraud_criterion_versions;
DROP TABLE fraud_criteria;
