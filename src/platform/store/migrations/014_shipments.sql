-- Shipments (issue 10, "Shipments in"): the customers' shipments as sent to POST /api/v1/shipments,
-- and the currency rates their declared values are converted to US dollars with.
--
-- * `shipments`: one row per (org_id, external_id); intake inserts with ON CONFLICT DO NOTHING, so
--   a repeated row is never stored twice. `id` is the intake order (a cursor for readers);
--   `declared_value_usd` is derived at intake from `currency_rates` and never taken from the client.
-- * `currency_rates`: platform-wide, maintained by platform administrators; seeded with a few
--   currencies (USD = 1) so that intake works out of the box.

-- migrate:up
CREATE TABLE currency_rates (
  currency      text PRIMARY KEY CHECK (currency ~ '^[A-Z]{3}$'),
  usd_per_unit  double precision NOT NULL CHECK (usd_per_unit > 0),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
INSERT INTO currency_rates (currency, usd_per_unit) VALUES
  ('USD', 1), ('EUR', 1.08), ('GBP', 1.27), ('CHF', 1.12), ('JPY', 0.0067), ('CNY', 0.14),
  ('CAD', 0.73), ('AUD', 0.66), ('INR', 0.012), ('BRL', 0.18), ('MXN', 0.055), ('NGN', 0.00065);

CREATE TABLE shipments (
  id                     bigserial NOT NULL,
  org_id                 uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  external_id            text NOT NULL,
  created_at             timestamptz NOT NULL,
  declared_value         double precision,
  currency               text,
  declared_value_usd     double precision,
  weight_kg              double precision,
  length_cm              double precision,
  width_cm               double precision,
  height_cm              double precision,
  pieces                 integer,
  origin_country         text,
  destination_country    text,
  origin_postcode        text,
  destination_postcode   text,
  service_level          text,
  sender_id              text,
  sender_name            text,
  sender_email           text,
  sender_phone           text,
  sender_created_at      timestamptz,
  recipient_name         text,
  recipient_address      text,
  recipient_phone        text,
  hs_code                text,
  description            text,
  sales_channel          text,
  ip_country             text,
  attributes             jsonb NOT NULL DEFAULT '{}'::jsonb,
  received_at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, external_id)
);
CREATE UNIQUE INDEX shipments_id ON shipments (id);
CREATE INDEX shipments_org_newest ON shipments (org_id, created_at DESC, id DESC);

-- migrate:down
DROP TABLE shipments;
DROP TABLE currency_rates;
