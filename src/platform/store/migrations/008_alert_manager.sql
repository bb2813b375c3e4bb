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

-- Checks alerted down before the manager existed become firing instances whose firing was
-- announced, so their recovery is still sent (and reminded at the check's re-alert interval).
-- The fingerprint is the manager's: the first 32 hex digits of sha256 of ["job","<check id>",[]].
INSERT INTO alert_instances (org_id, fingerprint, source, rule_id, rule_name, labels, severity, summary, kind, state,
                             active_since, firing_since, group_key, link, details, updated_at)
SELECT c.org_id,
       substr(encode(sha256(convert_to('["job","' || c.id::text || '",[]]', 'UTF8')), 'hex'), 1, 32),
       'job', c.id::text, n.name,
       jsonb_build_object('check', n.name, 'rule', n.name, 'source', 'job', 'severity', 'critical'),
       'critical', 'Job "' || n.name || '" is down', '', 'firing',
       COALESCE(c.last_ping_at, now()), now(), 'job:' || c.id::text, '/checks/' || c.id::text,
       jsonb_build_object('check_id', c.id::text, 'check_name', n.name, 'reason', c.status_reason), now()
FROM checks c, LATERAL (SELECT COALESCE(NULLIF(c.name, ''), NULLIF(c.slug, ''), c.id::text) AS name) n
WHERE c.alerted_down AND c.status = 'down';

INSERT INTO alert_groups (org_id, group_key, source, rule_id, first_active_at, last_notified_at, announced, wake_at, routing, updated_at)
SELECT i.org_id, i.group_key, 'job', i.rule_id, now(), now(), ARRAY[i.fingerprint],
       CASE WHEN c.realert_s IS NOT NULL THEN now() + c.realert_s * interval '1 second' END,
       jsonb_build_object(
         'channels', CASE WHEN c.channels = '*' THEN to_jsonb('*'::text) ELSE to_jsonb(array_remove(string_to_array(c.channels, ','), '')) END,
         'group_by', '[]'::jsonb, 'group_wait_ms', 0, 'group_interval_ms', 0, 'repeat_interval_ms', c.realert_s * 1000),
       now()
FROM alert_instances i JOIN checks c ON c.id::text = i.rule_id AND c.org_id = i.org_id
WHERE i.source = 'job';
UPDATE checks SET next_realert_at = NULL WHERE next_realert_at IS NOT NULL;

-- migrate:down
DROP TABLE IF EXISTS silences, alert_groups, alert_transitions, alert_instances;
