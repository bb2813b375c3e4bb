-- The stream processor's bulk write of raw log events by COPY (issue 11, ingest speed).
--
-- PostgreSQL refuses COPY FROM into a table under row-level security, so since migration 018 the
-- processor COPYs into a session-private staging table and moves the rows with INSERT … SELECT:
-- measured at ~15 ms of a ~62 ms batch transaction. Its work is system work already (the bypass:
-- `vigil.bypass = on`, every organisation's events in one stream), so the policy admits every row
-- it writes; only the COPY needs a role to which row-level security does not apply.
--
-- * Role `vigil_bulk` (NOLOGIN, BYPASSRLS, cluster-wide, made only if missing): INSERT on
--   log_events and nothing else — no SELECT, UPDATE or DELETE of any table. The processor switches
--   to it for the COPY statement alone (`SET LOCAL ROLE`, see src/platform/store/copy.ts), inside
--   its system-context transaction; the session's role (`vigil_app`) is set back right after it.
-- * Only a superuser can make a BYPASSRLS role. When the migrating user is not one, nothing is made
--   and the processor keeps the staging path (it checks at run time whether it may use the role).

-- migrate:up
DO $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    BEGIN
      CREATE ROLE vigil_bulk NOLOGIN BYPASSRLS;
    EXCEPTION
      -- Another database of the cluster made it first (or at the same time).
      WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    GRANT USAGE ON SCHEMA public TO vigil_bulk;
    GRANT INSERT ON log_events TO vigil_bulk;
    GRANT USAGE ON SEQUENCE log_events_id_seq TO vigil_bulk;
  END IF;
END $$;

-- migrate:down
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigil_bulk') THEN
    REVOKE INSERT ON log_events FROM vigil_bulk;
    REVOKE USAGE ON SEQUENCE log_events_id_seq FROM vigil_bulk;
    REVOKE USAGE ON SCHEMA public FROM vigil_bulk;
  END IF;
END $$;
