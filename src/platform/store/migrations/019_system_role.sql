-- The role system work runs as (issue 10 tenancy, issue 11 ingest speed).
--
-- Migration 018 lets system work (the documented bypass: the processor, the detector, sweepers…)
-- through one policy, `org_id = vigil.org_id OR vigil.bypass = 'on'`. That works, but costs twice:
-- the planner cannot see through the OR and estimates every tenant table at a handful of rows
-- (nested loops over 100,000 rows: the fraud history query, 70 s before it was rewritten), and
-- PostgreSQL refuses COPY into a table under row-level security (the stream processor went through
-- a staging table: ~15 ms of a ~62 ms batch).
--
-- * Role `vigil_system` (NOLOGIN, BYPASSRLS, cluster-wide, made only if missing): a member of
--   `vigil_app`, so it has exactly the application's rights (rows, no schema changes, the log
--   partition functions) and no others; row-level security does not apply to it. The store sets
--   system-context connections to it (src/platform/store/session.ts); org work and work in no
--   context stay `vigil_app` under the policies.
-- * Only a superuser can make a BYPASSRLS role. When the migrating user is not one, nothing is made
--   and system work stays `vigil_app` with the bypass setting (the store checks at run time).

-- migrate:up
DO $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    BEGIN
      CREATE ROLE vigil_system NOLOGIN BYPASSRLS;
    EXCEPTION
      -- Another database of the cluster made it first (or at the same time).
      WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    GRANT vigil_app TO vigil_system;
  END IF;
END $$;

-- migrate:down
-- The role is the cluster's (other databases may use it): left in place.
SELECT 1;
