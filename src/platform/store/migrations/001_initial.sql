-- Foundation schema: accounts, job monitoring, alerts and the notification outbox.
-- Every row that belongs to an organisation carries `org_id`.

-- migrate:up
CREATE TABLE orgs (
  id          uuid PRIMARY KEY,
  name        text NOT NULL,
  ping_key    text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  id             uuid PRIMARY KEY,
  email          text NOT NULL UNIQUE,
  password_hash  text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
  org_id   uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  user_id  uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role     text NOT NULL CHECK (role IN ('admin', 'member', 'read-only')),
  PRIMARY KEY (org_id, user_id)
);

CREATE TABLE api_keys (
  id            uuid PRIMARY KEY,
  org_id        uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name          text NOT NULL,
  prefix        text NOT NULL,
  key_hash      text NOT NULL UNIQUE,
  role          text NOT NULL CHECK (role IN ('admin', 'member', 'read-only')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
CREATE INDEX api_keys_org ON api_keys (org_id);

CREATE TABLE sessions (
  token_hash  text PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  org_id      uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);

CREATE TABLE checks (
  id                    uuid PRIMARY KEY,
  org_id                uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name                  text NOT NULL DEFAULT '',
  slug                  text NOT NULL DEFAULT '',
  tags                  text NOT NULL DEFAULT '',
  description           text NOT NULL DEFAULT '',
  kind                  text NOT NULL DEFAULT 'simple' CHECK (kind IN ('simple', 'cron')),
  timeout_s             integer NOT NULL DEFAULT 86400,
  grace_s               integer NOT NULL DEFAULT 3600,
  schedule              text NOT NULL DEFAULT '* * * * *',
  tz                    text NOT NULL DEFAULT 'UTC',
  manual_resume         boolean NOT NULL DEFAULT false,
  methods               text NOT NULL DEFAULT '',
  channels              text NOT NULL DEFAULT '*',
  max_runtime_s         integer,
  min_runtime_s         integer,
  failure_threshold     integer NOT NULL DEFAULT 1,
  realert_s             integer,
  status                text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'up', 'down', 'paused')),
  status_reason         text NOT NULL DEFAULT '',
  last_ping_at          timestamptz,
  last_start_at         timestamptz,
  last_start_rid        uuid,
  last_duration_ms      bigint,
  n_pings               integer NOT NULL DEFAULT 0,
  consecutive_failures  integer NOT NULL DEFAULT 0,
  alerted_down          boolean NOT NULL DEFAULT false,
  -- Deadlines the sweeper acts on (stored, not in-memory timers, so restarts and several instances agree).
  late_at               timestamptz,
  down_at               timestamptz,
  runtime_deadline_at   timestamptz,
  next_realert_at       timestamptz,
  created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX checks_org ON checks (org_id, created_at);
-- Slugs need not be unique (as in Healthchecks): a ping to an ambiguous slug answers 409.
CREATE INDEX checks_org_slug ON checks (org_id, slug) WHERE slug <> '';
CREATE INDEX checks_down_at ON checks (down_at) WHERE down_at IS NOT NULL;
CREATE INDEX checks_runtime_deadline ON checks (runtime_deadline_at) WHERE runtime_deadline_at IS NOT NULL;
CREATE INDEX checks_next_realert ON checks (next_realert_at) WHERE next_realert_at IS NOT NULL;

CREATE TABLE pings (
  id           bigserial PRIMARY KEY,
  org_id       uuid NOT NULL,
  check_id     uuid NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
  n            integer NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('success', 'start', 'fail', 'log', 'ign')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  scheme       text NOT NULL DEFAULT 'http',
  method       text NOT NULL DEFAULT 'GET',
  remote_addr  text NOT NULL DEFAULT '',
  user_agent   text NOT NULL DEFAULT '',
  exit_status  integer,
  rid          uuid,
  body         text,
  body_size    integer NOT NULL DEFAULT 0,
  duration_ms  bigint
);
CREATE INDEX pings_check ON pings (check_id, n DESC);

CREATE TABLE runs (
  id           bigserial PRIMARY KEY,
  org_id       uuid NOT NULL,
  check_id     uuid NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
  rid          uuid,
  started_at   timestamptz,
  finished_at  timestamptz,
  outcome      text NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'success', 'fail', 'too_long', 'too_short')),
  exit_status  integer,
  duration_ms  bigint,
  output_tail  text
);
CREATE INDEX runs_check ON runs (check_id, id DESC);
CREATE INDEX runs_rid ON runs (check_id, rid) WHERE rid IS NOT NULL;

CREATE TABLE flips (
  id          bigserial PRIMARY KEY,
  org_id      uuid NOT NULL,
  check_id    uuid NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  old_status  text NOT NULL,
  new_status  text NOT NULL,
  reason      text NOT NULL
);
CREATE INDEX flips_check ON flips (check_id, id DESC);

CREATE TABLE maintenance_windows (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  check_id    uuid REFERENCES checks(id) ON DELETE CASCADE,
  -- one-off: starts_at..ends_at; recurring: cron (in tz) opening a window of duration_s
  starts_at   timestamptz,
  ends_at     timestamptz,
  cron        text,
  tz          text NOT NULL DEFAULT 'UTC',
  duration_s  integer,
  reason      text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX maintenance_org ON maintenance_windows (org_id);

CREATE TABLE channels (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  kind        text NOT NULL CHECK (kind IN ('webhook', 'email', 'slack')),
  name        text NOT NULL DEFAULT '',
  config      jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX channels_org ON channels (org_id);

CREATE TABLE alerts (
  id               uuid PRIMARY KEY,
  org_id           uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  source           text NOT NULL,
  subject_id       text NOT NULL,
  kind             text NOT NULL,
  idempotency_key  text NOT NULL,
  title            text NOT NULL,
  message          text NOT NULL,
  details          jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, idempotency_key)
);
CREATE INDEX alerts_org ON alerts (org_id, created_at DESC);

CREATE TABLE outbox (
  id               uuid PRIMARY KEY,
  org_id           uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  channel_id       uuid NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  alert_id         uuid REFERENCES alerts(id) ON DELETE CASCADE,
  payload          jsonb NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  delivered_at     timestamptz,
  UNIQUE (channel_id, alert_id)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';

CREATE TABLE delivery_attempts (
  id           bigserial PRIMARY KEY,
  outbox_id    uuid NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
  org_id       uuid NOT NULL,
  attempted_at timestamptz NOT NULL DEFAULT now(),
  ok           boolean NOT NULL,
  status_code  integer,
  error        text,
  duration_ms  integer NOT NULL DEFAULT 0
);
CREATE INDEX delivery_attempts_outbox ON delivery_attempts (outbox_id, id);

-- migrate:down
DROP TABLE IF EXISTS delivery_attempts, outbox, alerts, channels, maintenance_windows, flips, runs,
pings, checks, sessions, api_keys, memberships, users, orgs CASCADE;
