-- Log events Vigil refused or set aside, listed for their organisation (`GET /api/v1/logs/rejected`):
--
-- - `stage = 'ingest'`: refused while decoding a request (bad JSON line, over a limit, unreadable
--   timestamp...). The sender got the reason in the answer where its protocol has room for one;
--   Datadog and Loki clients do not, so the list is where their users see it.
-- - `stage = 'processing'`: accepted at ingest, then found unstorable by the stream processor (a
--   poison event that failed its batch's transaction). The processor commits the rest of the batch
--   and records the event here, in the same transaction, with the database's reason.
--
-- `position` says where in its request the event was (`index`, `line`, `path`); `sample` is the start
-- of the event as JSON, for finding the sender. No foreign key to orgs: a row must be writable
-- whatever happens to the organisation meanwhile; pruned with the hot store's retention.

-- migrate:up
CREATE TABLE log_rejections (
  id           bigserial PRIMARY KEY,
  org_id       uuid NOT NULL,
  at           timestamptz NOT NULL DEFAULT now(),
  stage        text NOT NULL,
  protocol     text,
  position     jsonb NOT NULL DEFAULT '{}'::jsonb,
  reason       text NOT NULL,
  sample       text
);
CREATE INDEX log_rejections_org ON log_rejections (org_id, id DESC);
CREATE INDEX log_rejections_at ON log_rejections (at);

-- migrate:down
DROP TABLE IF EXISTS log_rejections;
