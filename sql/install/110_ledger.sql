-- ---------------------------------------------------------------------------
-- The ledger, balances and their after-states.
--
-- ledger          one row per fact, as the source stated it (append-only).
-- balance         (item, location, lot, bucket) -> quantity, version.
-- balance_change  one row per effect of a posting on a balance key, with the
--                 key's version and quantity after it (append-only). A posting
--                 has one effect, or two when it moves stock between buckets or
--                 locations. This is what the change feed publishes.
--
-- Why after-states live in balance_change and not in the ledger row: a batch
-- must lock its balance keys in one global order (so two batches never
-- deadlock), which is only possible once every row of the statement is known,
-- i.e. after the ledger rows are stored. The posting trigger therefore runs in
-- two steps (src/posting_validate.c, src/posting_apply.c): a row trigger validates and resolves each fact, a
-- statement trigger applies them key by key in sorted order.
-- ---------------------------------------------------------------------------

CREATE TYPE posting_kind AS ENUM (
    'receipt',       -- + at location/bucket
    'issue',         -- - at location/bucket (sale, shipment to a customer)
    'transfer_out',  -- location/bucket -> to_location (an in-transit location), with eta
    'transfer_in',   -- location (in transit) -> to_location/to_bucket
    'adjustment',    -- +/- with a reason code
    'move',          -- bucket -> to_bucket at one location (QA release, quarantine, damage)
    'consumption',   -- - (manufacturing input)
    'production',    -- + (manufacturing output)
    'return',        -- + (customer return)
    'count'          -- absolute quantity as of event_time; the delta is computed
);
COMMENT ON TYPE posting_kind IS 'What a ledger posting records; decides the sign and the keys it affects';

CREATE TABLE ledger (
    posting_id        bigint GENERATED ALWAYS AS IDENTITY,
    kind              posting_kind NOT NULL,
    source            text NOT NULL,
    source_event_id   text NOT NULL CHECK (length(source_event_id) BETWEEN 1 AND 200),
    source_sequence   bigint,
    event_time        timestamptz NOT NULL DEFAULT now(),
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    gtin              gtin NOT NULL,
    item_gtin         gtin,
    location          gln NOT NULL,
    to_location       gln,
    lot               lot_number,
    serial            serial_number,
    bucket            text NOT NULL DEFAULT 'released',
    to_bucket         text,
    quantity          numeric NOT NULL,
    unit              text,
    base_quantity     numeric,
    expected_quantity numeric,
    reason            text,
    reference         text,
    eta               timestamptz,
    corrects          bigint,
    actor             text NOT NULL DEFAULT current_user,
    PRIMARY KEY (posting_id),
    UNIQUE (source, source_event_id)
);

COMMENT ON TABLE ledger IS 'Append-only stock ledger: one row per posted fact. INSERT or COPY is the write path; UPDATE, DELETE and TRUNCATE are refused';
COMMENT ON COLUMN ledger.posting_id IS 'Posting number, assigned by the ledger';
COMMENT ON COLUMN ledger.kind IS 'What the posting records (posting_kind)';
COMMENT ON COLUMN ledger.source IS 'Source system that stated the fact; the posting role must be bound to it';
COMMENT ON COLUMN ledger.source_event_id IS 'The source''s id for the event: (source, source_event_id) is unique, a replay changes nothing';
COMMENT ON COLUMN ledger.source_sequence IS 'Optional per-source sequence number; gaps and out-of-order arrivals are listed by sequence_anomaly';
COMMENT ON COLUMN ledger.event_time IS 'When it happened at the source (for counts: the watermark the count is as of)';
COMMENT ON COLUMN ledger.recorded_at IS 'When the ledger recorded it (transaction time, set by the ledger)';
COMMENT ON COLUMN ledger.gtin IS 'GTIN as posted: the item''s own GTIN or a pack GTIN';
COMMENT ON COLUMN ledger.item_gtin IS 'The base item, resolved by the ledger from gtin';
COMMENT ON COLUMN ledger.location IS 'Location the posting is at (for transfers: where the stock leaves)';
COMMENT ON COLUMN ledger.to_location IS 'transfer_out/transfer_in: where the stock goes';
COMMENT ON COLUMN ledger.bucket IS 'Status bucket (for moves and transfers: the one the stock leaves)';
COMMENT ON COLUMN ledger.to_bucket IS 'move/transfer_in: the bucket the stock enters (defaults to bucket for transfers)';
COMMENT ON COLUMN ledger.quantity IS 'Quantity as posted, in unit: positive for directional kinds, signed for adjustments, absolute for counts';
COMMENT ON COLUMN ledger.unit IS 'Unit of quantity; NULL means the base unit of the posted GTIN (a pack GTIN counts packs)';
COMMENT ON COLUMN ledger.base_quantity IS 'Signed quantity in base units at (location, bucket), computed by the ledger; for counts the absolute count in base units';
COMMENT ON COLUMN ledger.expected_quantity IS 'Compare-and-set: refuse the posting unless the balance (base units) is exactly this before it';
COMMENT ON COLUMN ledger.reason IS 'Reason code (required for adjustments)';
COMMENT ON COLUMN ledger.reference IS 'Reference document (order, ASN, work order, count sheet)';
COMMENT ON COLUMN ledger.eta IS 'transfer_out: expected arrival';
COMMENT ON COLUMN ledger.corrects IS 'posting_id of the posting this one corrects (a counter-posting)';
COMMENT ON COLUMN ledger.actor IS 'Database role that posted (set by the ledger: current_user, or the role that called an entry point such as fulfil())';


CREATE TABLE balance (
    balance_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_gtin       gtin NOT NULL,
    location        gln NOT NULL,
    lot             lot_number,
    bucket          text NOT NULL,
    quantity        numeric NOT NULL DEFAULT 0,
    version         bigint NOT NULL DEFAULT 0,
    last_posting_id bigint,
    last_count_at   timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (item_gtin, location, lot, bucket)
);
COMMENT ON TABLE balance IS 'Current quantity per (item, location, lot, bucket); maintained by the ledger only';
COMMENT ON COLUMN balance.quantity IS 'Quantity in the item''s base unit; may be negative at a non-strict location (see exception)';
COMMENT ON COLUMN balance.version IS 'Per-key version: increases by one with every change';
COMMENT ON COLUMN balance.last_count_at IS 'Watermark of the latest count; later-arriving events older than it are flagged';

CREATE TABLE balance_change (
    posting_id      bigint NOT NULL,
    balance_id      bigint NOT NULL,
    item_gtin       gtin NOT NULL,
    location        gln NOT NULL,
    lot             lot_number,
    bucket          text NOT NULL,
    delta           numeric NOT NULL,
    quantity_after  numeric NOT NULL,
    version         bigint NOT NULL,
    kind            posting_kind NOT NULL,
    source          text NOT NULL,
    source_event_id text NOT NULL,
    event_time      timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL
);
COMMENT ON TABLE balance_change IS 'After-state of every posting per balance key: delta, quantity after and version (append-only; what the feed publishes)';
COMMENT ON COLUMN balance_change.version IS 'Version of the balance key after this change';
COMMENT ON COLUMN balance_change.quantity_after IS 'Balance quantity after this change';
CREATE INDEX balance_change_balance ON balance_change (balance_id, event_time);
COMMENT ON INDEX balance_change_balance IS 'History of one balance key by event time (counts compute the balance as of a watermark from it)';
CREATE INDEX balance_change_posting ON balance_change USING brin (posting_id);
COMMENT ON INDEX balance_change_posting IS 'Find the effects of a posting (posting ids grow with insertion order)';

CREATE TYPE exception_kind AS ENUM (
    'negative_balance',  -- a fact drove a balance below zero
    'late_event',        -- an event older than the latest count of its key arrived after it
    'serial_conflict'    -- a serial fact contradicts where the serial is known to be
);
COMMENT ON TYPE exception_kind IS 'Why a recorded fact needs investigation';

CREATE TABLE exception (
    exception_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         exception_kind NOT NULL,
    posting_id   bigint NOT NULL,
    item_gtin    gtin NOT NULL,
    location     gln NOT NULL,
    lot          lot_number,
    serial       serial_number,
    bucket       text,
    detail       text NOT NULL,
    raised_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz,
    resolution   text
);
COMMENT ON TABLE exception IS 'Facts that were recorded but need investigation (negative stock, late events, serial conflicts)';
CREATE INDEX exception_open ON exception (raised_at) WHERE resolved_at IS NULL;
COMMENT ON INDEX exception_open IS 'Open exceptions';

CREATE TABLE serial_unit (
    item_gtin  gtin NOT NULL,
    serial     serial_number NOT NULL,
    location   gln,
    lot        lot_number,
    bucket     text,
    posting_id bigint NOT NULL,
    PRIMARY KEY (item_gtin, serial)
);
COMMENT ON TABLE serial_unit IS 'Where each serialised unit is (location NULL: not on hand anywhere); maintained by the ledger';
