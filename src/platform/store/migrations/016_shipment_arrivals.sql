-- Shipment arrivals (issue 10, "Detection and alerts"): the queue of shipments the fraud detector
-- has not evaluated yet, owned by the shipments domain.
--
-- * Intake inserts one row per NEW shipment in the same transaction as the shipment itself, so a
--   committed shipment always has its arrival and a rolled-back one never does.
-- * The detector claims arrivals with FOR UPDATE SKIP LOCKED, stores its alerts and deletes the
--   arrivals in one transaction. A queue (not a cursor on shipments.id) is what keeps bulk
--   transactions committing out of order from being skipped: a smaller id committed later is
--   still in the queue.
-- * Indexes that make the velocity history reads (per organisation, entity and time) index scans.

-- migrate:up
CREATE TABLE shipment_arrivals (
  shipment_id  bigint PRIMARY KEY,
  org_id       uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE
);
CREATE INDEX shipments_org_sender ON shipments (org_id, sender_id, created_at);
CREATE INDEX shipments_org_recipient_address ON shipments (org_id, recipient_address, created_at);

-- migrate:down
DROP INDEX shipments_org_recipient_address;
DROP INDEX shipments_org_sender;
DROP TABLE shipment_arrivals;
