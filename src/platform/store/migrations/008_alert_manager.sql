-- The alert manager (issue 9): one place that owns the state of every alert, whatever raised it
-- (jobs, log rules, fraud).
-- - `alert_instances`: one row per fingerprint (source + rule or check + identity labels), its
--   current state (pending / firing / resolved), the timers of `for` and keep-firing-for, and the
--   acknowledgement of its current occurrence.
-- - `alert_transitions`: every state change of an instance, with its reason and value (history).
-- - `alert_groups`: Alertmanager's aggregation groups, their stored timers (`first_active_at`,
--   `last_notified_at`, what was announced) and `wake_at`, the next instant the flush worker must
--   look at them; routing (channels + timers) as last reported.
-- - `silences`: label matchers over a time range; expired ones are kept (history).
-- `alerts` (001) stays the record of each notification sent; a group notification is one row there.

-- migrate:up
CREATE TABLE alert_instances (
  org_id           uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  fingerprint      text NOT NULL,
  source           text NOT NULL,
  rule_id          text NOT NULL,
  rule_name        text NOT NULL,
  labels           jsonb NOT NULL DEFAULT '{}'::jsonb,
  severity         text NOT NULL DEFAULT 'warning',
  summary          text NOT NULL DEFAULT '',
  kind             text NOT NULL DEFAULT '',
  state            text NOT NULL DEFAULT 'inactive' CHECK (state IN ('inactive', 'pending', 'firing', 'resolved')),
  active_since     timestamptz,
  firing_since     timestamptz,
  clear_since      timestamptz,
  resolved_at      timestamptz,
  value            double precision,
  threshold        double precision,
  acknowledged_at  timestamptz,
  acknowledged_by  text,
  group_key        text NOT NULL,
  link             text,
  details          jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, fingerprint)
);
CREATE INDEX alert_instances_group ON alert_instances (org_id, group_key);
CREATE INDEX alert_instances_rule ON alert_instances (org_id, source, rule_id);
-- What the live publisher reads every second: instances whose state changed lately.
CREATE INDEX alert_instances_updated ON alert_instances (updated_at);

CREATE TABLE alert_transitions (
  id           bigserial PRIMARY KEY,
  org_id       uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  fingerprint  text NOT NULL,
  at           timestamptz NOT NULL,
  from_state   text NOT NULL,
  to_state     text NOT NULL,
  reason       text NOT NULL,
  value        double precision
);
CREATE INDEX alert_transitions_instance ON alert_transitions (org_id, fingerprint, id);

CREATE TABLE alert_groups (
  org_id            uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  group_key         text NOT NULL,
  source            text NOT NULL,
  rule_id           text NOT NULL,
  first_active_at   timestamptz,
  last_notified_at  timestamptz,
  announced         text[] NOT NULL DEFAULT '{}',
  wake_at           timestamptz,
  routing           jsonb NOT NULL,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, group_key)
);
CREATE INDEX alert_groups_wake ON alert_groups (wake_at) WHERE wake_at IS NOT NULL;

CREATE TABLE silences (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  matchers    jsonb NOT NULL,
  starts_at   timestamptz NOT NULL,
  ends_at     timestamptz NOT NULL,
  comment     text NOT NULL DEFAULT '',
  created_by  text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX silences_org ON silences (org_id, ends_at);

-- migrate:down
DROP TABLE IF EXISTS silences, alert_groups, alert_transitions, alert_instances;
