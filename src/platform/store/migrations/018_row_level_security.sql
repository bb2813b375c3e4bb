-- Row-level security on every tenant table (issue 10, tenant isolation).
--
-- * Role `vigil_app` (NOLOGIN, cluster-wide, so created only if missing: tests create many
--   databases in one cluster): what the application runs as. The store switches every pooled
--   connection to it (`SET ROLE`, see src/platform/store/tenancy.ts); migrations run as the owner.
--   A deployment may instead log in as its own role that is a member of `vigil_app`.
--   It may read and write rows, never change the schema; the three pieces of DDL the application
--   does at run time (log partitions: create, detach, drop) go through SECURITY DEFINER functions.
-- * Every table with an `org_id` column (found in the catalogue, so tables of every earlier
--   migration are covered, whoever wrote them) gets ENABLE + FORCE ROW LEVEL SECURITY and the
--   policy `tenant_isolation`: a row is visible and writable when its org_id is the organisation the
--   connection is set to (`vigil.org_id`), or when the connection is set to the documented bypass
--   (`vigil.bypass = on`). With nothing set, no row (deny). Later migrations that add a tenant table
--   call `SELECT vigil_enforce_tenancy('the_table')`; test/row-level-security.test.ts fails for a
--   table with org_id that lacks it.
-- * Tenant tables without org_id:
--     orgs   — the tenant itself: its own row (id = vigil.org_id) or bypass.
-- * Tables left without row-level security, on purpose (not one organisation's data):
--     users (identities: an e-mail is unique across the platform and a user may belong to several
--     organisations; an organisation reaches its users only through `memberships`, which is isolated),
--     currency_rates (platform-wide rates), login_throttle (keyed by login name, before anyone is
--     authenticated), stream_checkpoints (the processor's bus position, one per consumer),
--     kysely_migration / kysely_migration_lock (read-only for vigil_app).
-- * In the policy, `true` in current_setting makes an unset setting read as NULL (no error), and
--   nullif makes an empty one (as a reset leaves it) unset too.

-- migrate:up
CREATE FUNCTION vigil_enforce_tenancy(target regclass) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', target);
  EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %s', target);
  EXECUTE format($p$CREATE POLICY tenant_isolation ON %s
    USING (org_id = nullif(current_setting('vigil.org_id', true), '')::uuid OR current_setting('vigil.bypass', true) = 'on')
    WITH CHECK (org_id = nullif(current_setting('vigil.org_id', true), '')::uuid OR current_setting('vigil.bypass', true) = 'on')$p$, target);
END $fn$;
REVOKE EXECUTE ON FUNCTION vigil_enforce_tenancy(regclass) FROM PUBLIC;

DO $$
BEGIN
  CREATE ROLE vigil_app NOLOGIN;
EXCEPTION
  -- Another database of the cluster made it first (or at the same time).
  WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

-- A non-superuser owner must be a member to SET ROLE to it (superusers may anyway).
DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('GRANT vigil_app TO %I', current_user);
  END IF;
EXCEPTION
  WHEN insufficient_privilege THEN RAISE NOTICE 'could not grant vigil_app to %: grant it as a superuser', current_user;
END $$;

GRANT USAGE ON SCHEMA public TO vigil_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO vigil_app;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO vigil_app;
-- Tables and sequences of later migrations (made by the same owner) get the same rights.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO vigil_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO vigil_app;
REVOKE INSERT, UPDATE, DELETE ON kysely_migration, kysely_migration_lock FROM vigil_app;


DO $$
DECLARE
  t regclass;
BEGIN
  FOR t IN
    SELECT c.oid::regclass
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
  LOOP
    PERFORM vigil_enforce_tenancy(t);
  END LOOP;
END $$;

ALTER TABLE orgs ENABLE ROW LEVEL SECURITY;
ALTER TABLE orgs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON orgs
  USING (id = nullif(current_setting('vigil.org_id', true), '')::uuid OR current_setting('vigil.bypass', true) = 'on');

-- Run-time DDL of the log store, as the owner. Names and bounds are derived here from a date, so a
-- caller can create, detach or drop nothing but a daily log partition.
CREATE FUNCTION vigil_log_partition_name(day date) RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
  SELECT 'log_events_p' || to_char(day, 'YYYYMMDD')
$fn$;

CREATE FUNCTION vigil_create_log_partition(day date) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
  name text := vigil_log_partition_name(day);
BEGIN
  IF to_regclass(name) IS NOT NULL THEN RETURN; END IF;
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF log_events FOR VALUES FROM (%L) TO (%L)',
    name, day::text || 'T00:00:00Z', (day + 1)::text || 'T00:00:00Z');
  -- Reachable by its own name too (retention reads it), so it is isolated like its parent.
  PERFORM vigil_enforce_tenancy(name::regclass);
END $fn$;

CREATE FUNCTION vigil_detach_log_partition(day date) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
  EXECUTE format('ALTER TABLE log_events DETACH PARTITION %I', vigil_log_partition_name(day));
END $fn$;

CREATE FUNCTION vigil_drop_log_partition(day date) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
  EXECUTE format('DROP TABLE %I', vigil_log_partition_name(day));
END $fn$;

REVOKE EXECUTE ON FUNCTION vigil_create_log_partition(date), vigil_detach_log_partition(date), vigil_drop_log_partition(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil_create_log_partition(date), vigil_detach_log_partition(date), vigil_drop_log_partition(date) TO vigil_app;

-- migrate:down
DROP FUNCTION vigil_create_log_partition(date);
DROP FUNCTION vigil_detach_log_partition(date);
DROP FUNCTION vigil_drop_log_partition(date);
DROP FUNCTION vigil_log_partition_name(date);
DO $$
DECLARE
  t regclass;
BEGIN
  FOR t IN
    SELECT c.oid::regclass
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relrowsecurity
  LOOP
    EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %s', t);
    EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', t);
  END LOOP;
END $$;
DROP FUNCTION vigil_enforce_tenancy(regclass);
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM vigil_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT, UPDATE ON SEQUENCES FROM vigil_app;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM vigil_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM vigil_app;
REVOKE USAGE ON SCHEMA public FROM vigil_app;
-- The role stays: it is cluster-wide and other databases may use it.
