-- ---------------------------------------------------------------------------
-- Master data: units, items, packs, locations, buckets, sources, ownership.
--
-- Items are keyed by their GTIN and locations by their GLN: both are 8-byte
-- pass-by-value types, as cheap as a bigint surrogate and meaningful to every
-- system that talks to us.
-- ---------------------------------------------------------------------------

CREATE TABLE unit (
    unit          text PRIMARY KEY CHECK (unit ~ '^[A-Za-z0-9_]{1,16}$'),
    name          text NOT NULL,
    whole_numbers boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE unit IS 'Units of measure (UN/ECE rec. 20 codes are a good choice: EA, KGM, LTR, CS); whole_numbers refuses fractional quantities';
COMMENT ON COLUMN unit.unit IS 'Unit code, e.g. EA, KGM';
COMMENT ON COLUMN unit.whole_numbers IS 'true when quantities in this unit must be integral (pieces, cases)';

INSERT INTO unit VALUES
  ('EA',  'each', true),
  ('KGM', 'kilogram', false),
  ('LTR', 'litre', false),
  ('MTR', 'metre', false);

CREATE TABLE item (
    gtin            gtin PRIMARY KEY,
    name            text NOT NULL,
    base_unit       text NOT NULL DEFAULT 'EA' REFERENCES unit,
    lot_tracked     boolean NOT NULL DEFAULT false,
    serial_tracked  boolean NOT NULL DEFAULT false,
    shelf_life_days integer CHECK (shelf_life_days > 0),
    created_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE item IS 'Items (trade items at their base unit), keyed by GTIN';
COMMENT ON COLUMN item.base_unit IS 'Unit in which balances and ledger base quantities are kept';
COMMENT ON COLUMN item.lot_tracked IS 'Postings must name a lot (GS1 AI 10)';
COMMENT ON COLUMN item.serial_tracked IS 'Postings must name a serial (GS1 AI 21) and move exactly one base unit';
COMMENT ON COLUMN item.shelf_life_days IS 'Nominal shelf life; a lot without an explicit expiry gets production date + shelf life';

CREATE TABLE item_pack (
    pack_gtin  gtin PRIMARY KEY,
    item_gtin  gtin NOT NULL REFERENCES item,
    quantity   numeric NOT NULL CHECK (quantity > 0),
    name       text
);
COMMENT ON TABLE item_pack IS 'Pack GTINs (cases, pallets, GTIN-14 with an indicator digit) and how many base units each holds';
COMMENT ON COLUMN item_pack.quantity IS 'Base units of item_gtin in one pack';

CREATE TABLE item_unit (
    item_gtin gtin NOT NULL REFERENCES item,
    unit      text NOT NULL REFERENCES unit,
    factor    numeric NOT NULL CHECK (factor > 0),
    PRIMARY KEY (item_gtin, unit)
);
COMMENT ON TABLE item_unit IS 'Unit conversions per item: one <unit> is <factor> base units';

CREATE TYPE location_kind AS ENUM ('warehouse', 'store', 'plant', 'supplier', 'in_transit', 'customer');
COMMENT ON TYPE location_kind IS 'What a location is; in_transit locations hold stock moving between two others';

CREATE TABLE location (
    gln               gln PRIMARY KEY,
    name              text NOT NULL,
    kind              location_kind NOT NULL,
    latitude          double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude         double precision CHECK (longitude BETWEEN -180 AND 180),
    strict            boolean NOT NULL DEFAULT false,
    enforce_ownership boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE location IS 'Locations (warehouses, stores, plants, suppliers, in-transit), keyed by GLN';
COMMENT ON COLUMN location.strict IS 'Refuse postings that would drive a balance negative (default: record them and raise an exception)';
COMMENT ON COLUMN location.enforce_ownership IS 'Refuse postings from a source that is not the declared system of record for the location and bucket';

CREATE TABLE bucket (
    bucket      text PRIMARY KEY CHECK (bucket ~ '^[a-z][a-z0-9_]{0,31}$'),
    sellable    boolean NOT NULL DEFAULT false,
    description text NOT NULL
);
COMMENT ON TABLE bucket IS 'Stock status buckets; only sellable buckets count toward available-to-promise';
COMMENT ON COLUMN bucket.sellable IS 'Stock in this bucket may be promised';

INSERT INTO bucket VALUES
  ('receiving',  false, 'Received, not yet inspected or put away'),
  ('qa_hold',    false, 'Held for quality inspection or laboratory release'),
  ('quarantine', false, 'Isolated pending investigation'),
  ('released',   true,  'Released: available for sale and fulfilment'),
  ('damaged',    false, 'Damaged, awaiting disposition'),
  ('blocked',    false, 'Blocked by a recall, legal hold or other reason');

CREATE TABLE reason_code (
    reason      text PRIMARY KEY,
    description text NOT NULL
);
COMMENT ON TABLE reason_code IS 'Reason codes for adjustments and corrections';
INSERT INTO reason_code VALUES
  ('shrink',     'Unexplained loss (theft, miscount)'),
  ('damage',     'Damaged in handling'),
  ('expired',    'Expired and written off'),
  ('found',      'Found stock'),
  ('correction', 'Counter-posting correcting an earlier posting'),
  ('sample',     'Taken as a sample (quality, marketing)'),
  ('count',      'Physical count or snapshot reset'),
  ('lot_release', 'Quality release of a lot (release_lot): a move of it into a sellable bucket stamps it released');

CREATE TABLE source (
    source      text PRIMARY KEY CHECK (source ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    name        text NOT NULL,
    kind        text NOT NULL DEFAULT 'other'
                CHECK (kind IN ('erp', 'wms', 'pos', 'oms', 'mes', 'lims', 'store', 'ecommerce', 'marketplace', 'other')),
    role        name NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE source IS 'Source systems that post facts; each is bound to the database role allowed to post as it';
COMMENT ON COLUMN source.role IS 'Database role (or a role it is a member of) that may post as this source';

CREATE TABLE ownership (
    location gln NOT NULL REFERENCES location,
    bucket   text REFERENCES bucket,
    source   text NOT NULL REFERENCES source,
    UNIQUE NULLS NOT DISTINCT (location, bucket)
);
COMMENT ON TABLE ownership IS 'System of record per location and bucket (bucket NULL: every bucket without its own row)';

CREATE TABLE lot (
    item_gtin       gtin NOT NULL REFERENCES item,
    lot             lot_number NOT NULL,
    production_date date,
    expiry          date,
    released_at     timestamptz,
    released_by     text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (item_gtin, lot)
);
COMMENT ON TABLE lot IS 'Lots (batches) of lot-tracked items: expiry and quality release';
COMMENT ON COLUMN lot.expiry IS 'Expiry date (GS1 AI 17); stock of a lot past its expiry leaves ATP';
COMMENT ON COLUMN lot.released_at IS 'When the lot was released (release_lot()), everywhere at once';
