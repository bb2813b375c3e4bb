-- What Healthchecks' check objects carry and Vigil lacked:
-- - `checks.badge_key`: the public key of a check's status badge (`/b/2/<key>.svg`), separate from
--   the check id so a badge shown on a wiki does not hand out the ping URL;
-- - HTTP body filtering (`filter_http_body` with `start_kw` / `success_kw` / `failure_kw`, and
--   `filter_default_fail`): a ping's body decides whether it is a start, a success or a failure;
-- - `badge_keys`: an organisation's key and signing secret for tag badges (`/badge/<key>/<sig>/<tag>.svg`),
--   created when first asked for.

-- migrate:up
ALTER TABLE checks
  ADD COLUMN badge_key uuid NOT NULL DEFAULT gen_random_uuid(),
  ADD COLUMN filter_http_body boolean NOT NULL DEFAULT false,
  ADD COLUMN filter_default_fail boolean NOT NULL DEFAULT false,
  ADD COLUMN start_kw text NOT NULL DEFAULT '',
  ADD COLUMN success_kw text NOT NULL DEFAULT '',
  ADD COLUMN failure_kw text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX checks_badge_key ON checks (badge_key);

CREATE TABLE badge_keys (
  org_id     uuid PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
  key        uuid NOT NULL UNIQUE,
  secret     text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- migrate:down
DROP TABLE IF EXISTS badge_keys;
ALTER TABLE checks DROP COLUMN IF EXISTS badge_key, DROP COLUMN IF EXISTS filter_http_body, DROP COLUMN IF EXISTS filter_default_fail,
DROP COLUMN IF EXISTS start_kw, DROP COLUMN IF EXISTS success_kw, DROP COLUMN IF EXISTS failure_kw;
