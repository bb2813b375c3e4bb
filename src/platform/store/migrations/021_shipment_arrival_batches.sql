-- Shipment arrivals by intake statement (issue 10, the fraud bench): one row per organisation and
-- intake statement, holding the ids of the shipments that statement stored new, instead of one row
-- per shipment. A bulk of 100,000 shipments wrote 100,000 arrival rows (each with its primary-key
-- entry and foreign-key check: ~0.5 s of the bulk's ~4 s) and the detector deleted them again one
-- by one (~0.4 s before it could start); now a bulk across 100 organisations is 100 rows.
--
-- * `ids`: the ids as a multirange. Every id inside it is one of the statement's shipments of that
--   organisation (range_agg merges only adjacent ids), so a claim names exactly its shipments;
--   `shipments` is how many (a claim takes rows up to a number of shipments, and splits the row
--   that crosses it: the rest stays queued in the same row).
-- * The queue semantics are those of migration 016: a row is inserted in the intake's transaction,
--   claimed with FOR UPDATE SKIP LOCKED and deleted (or shrunk) in the detector's; a statement that
--   commits late is still queued. Oldest row first (`id`).
-- * A tenant table: row-level security as migration 018 sets it.

-- migrate:up
CREATE TABLE shipment_arrival_batches (
  id         bigserial PRIMARY KEY,
  org_id     uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  ids        int8multirange NOT NULL,
  shipments  integer NOT NULL CHECK (shipments > 0)
);
CREATE INDEX shipment_arrival_batches_org ON shipment_arrival_batches (org_id, id);
SELECT vigil_enforce_tenancy('shipment_arrival_batches');
INSERT INTO shipment_arrival_batches (org_id, ids, shipments)
  SELECT org_id, range_agg(int8range(shipment_id, shipment_id, '[]')), count(*) FROM shipment_arrivals GROUP BY org_id ORDER BY min(shipment_id);
DROP TABLE shipment_arrivals;

-- migrate:down
CREATE TABLE shipment_arrivals (
  shipment_id  bigint PRIMARY KEY,
  org_id       uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE
);
SELECT vigil_enforce_tenancy('shipment_arrivals');
INSERT INTO shipment_arrivals (shipment_id, org_id)
  SELECT generate_series(lower(r), upper(r) - 1), b.org_id FROM shipment_arrival_batches b, unnest(b.ids) AS r;
DROP TABLE shipment_arrival_batches;
