-- Mute windows (issue 9): recurring or planned silences, owned by the alert manager (alerting).
-- A window has silence matchers, either a one-off range (starts_at..ends_at) or a recurrence (cron
-- in tz, each occurrence open for duration_s seconds), a name and reason, and a kind: 'mute', or
-- 'maintenance' for the jobs' maintenance windows, which become mute windows here: matchers
-- source="job" (the whole organisation) or source="job", check_id="<id>" (one check). Their ids
-- and creation times are kept, so /api/v1/maintenance shows the same windows as before.
-- Job instances get the check_id label that those matchers use (new reports carry it too).

-- migrate:up
CREATE TABLE mute_windows (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  kind        text NOT NULL DEFAULT 'mute' CHECK (kind IN ('mute', 'maintenance')),
  name        text NOT NULL DEFAULT '',
  reason      text NOT NULL DEFAULT '',
  matchers    jsonb NOT NULL,
  starts_at   timestamptz,
  ends_at     timestamptz,
  cron        text,
  tz          text NOT NULL DEFAULT 'UTC',
  duration_s  integer,
  created_by  text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mute_windows_org ON mute_windows (org_id, kind);

INSERT INTO mute_windows (id, org_id, kind, name, reason, matchers, starts_at, ends_at, cron, tz, duration_s, created_at)
SELECT id, org_id, 'maintenance', 'maintenance', reason,
       CASE WHEN check_id IS NULL
            THEN '[{"name":"source","op":"=","value":"job"}]'::jsonb
            ELSE jsonb_build_array(jsonb_build_object('name', 'source', 'op', '=', 'value', 'job'),
                                   jsonb_build_object('name', 'check_id', 'op', '=', 'value', check_id::text))
       END,
       starts_at, ends_at, cron, tz, duration_s, created_at
FROM maintenance_windows;
DROP TABLE maintenance_windows;

UPDATE alert_instances SET labels = labels || jsonb_build_object('check_id', rule_id) WHERE source = 'job';

-- migrate:down
CREATE TABLE maintenance_windows (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  check_id    uuid REFERENCES checks(id) ON DELETE CASCADE,
  starts_at   timestamptz,
  ends_at     timestamptz,
  cron        text,
  tz          text NOT NULL DEFAULT 'UTC',
  duration_s  integer,
  reason      text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX maintenance_org ON maintenance_windows (org_id);
INSERT INTO maintenance_windows (id, org_id, check_id, starts_at, ends_at, cron, tz, duration_s, reason, created_at)
SELECT w.id, w.org_id, c.id, w.starts_at, w.ends_at, w.cron, w.tz, w.duration_s, w.reason, w.created_at
FROM mute_windows w
LEFT JOIN LATERAL (SELECT m->>'value' AS v FROM jsonb_array_elements(w.matchers) m WHERE m->>'name' = 'check_id' LIMIT 1) cid ON true
LEFT JOIN checks c ON c.id::text = cid.v AND c.org_id = w.org_id
WHERE w.kind = 'maintenance' AND (cid.v IS NULL OR c.id IS NOT NULL);
DROP TABLE mute_windows;
UPDATE alert_instances SET labels = labels - 'check_id' WHERE source = 'job';
