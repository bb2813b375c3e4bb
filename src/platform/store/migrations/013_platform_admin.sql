-- Platform administration (accounts domain, issue 10): who runs the platform, customer
-- organisations' invitations, and the log of administrative actions.
--
-- * `platform_admin` on users and API keys: a platform administrator creates, renames and removes
--   customer organisations and manages any organisation's members. The user and the key
--   bootstrapped from VIGIL_ADMIN_EMAIL / VIGIL_ADMIN_TOKEN are marked at every start. Everyone
--   else is false: existing data stays valid.
-- * `invitations`: a single-use, expiring token (stored as its SHA-256 only) that lets the invited
--   address set a password and become a member with the given role. Roles keep their stored
--   names ('member' is shown as "analyst" by the API).
-- * `admin_actions`: append-only. `org_id` has no foreign key on purpose: the record that an
--   organisation was removed must survive the organisation.

-- migrate:up
ALTER TABLE users ADD COLUMN platform_admin boolean NOT NULL DEFAULT false;
ALTER TABLE api_keys ADD COLUMN platform_admin boolean NOT NULL DEFAULT false;

CREATE TABLE invitations (
  id           uuid PRIMARY KEY,
  org_id       uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  email        text NOT NULL,
  role         text NOT NULL CHECK (role IN ('admin', 'member', 'read-only')),
  token_hash   text NOT NULL UNIQUE,
  invited_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  accepted_at  timestamptz,
  revoked_at   timestamptz
);
CREATE INDEX invitations_org ON invitations (org_id);

CREATE TABLE admin_actions (
  id        bigserial PRIMARY KEY,
  at        timestamptz NOT NULL DEFAULT now(),
  org_id    uuid,
  actor     text NOT NULL,
  action    text NOT NULL,
  target    text NOT NULL,
  details   jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX admin_actions_org ON admin_actions (org_id, id);

-- migrate:down
DROP TABLE admin_actions;
DROP TABLE invitations;
ALTER TABLE api_keys DROP COLUMN platform_admin;
ALTER TABLE users DROP COLUMN platform_admin;
