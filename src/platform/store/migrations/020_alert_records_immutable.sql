-- Alert records are never changed (notify domain, src/domains/notify/payload.ts): an outbox row
-- of a recorded alert leaves out the record's title, message and details, and every attempt,
-- retry and re-send reads them from the record. The outbox row references its record with
-- ON DELETE CASCADE, so the record cannot vanish while the row exists (an organisation removed
-- takes both); this trigger makes sure it cannot change either, so a notification delivers what
-- was queued. Deleting records stays allowed.

-- migrate:up
CREATE FUNCTION vigil_alert_record_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'alert records are never changed: their queued notifications read title, message and details from them'
    USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER alerts_unchanged BEFORE UPDATE ON alerts FOR EACH ROW EXECUTE FUNCTION vigil_alert_record_unchanged();

-- migrate:down
DROP TRIGGER alerts_unchanged ON alerts;
DROP FUNCTION vigil_alert_record_unchanged();
