-- since 0.2.0
-- ---------------------------------------------------------------------------
-- Promises: channels, safety stock, available-to-promise and two-phase reservations.
--
-- Facts are never refused (the ledger records reality); promises are refused when the
-- stock is not there, and under any concurrency nothing is promised beyond ATP.
--
-- Two invariants carry every promise (docs/reference/promises.md):
--   per (item, location): reservations held there <= eligible sellable on-hand - safety
--       stock there (serialised on the location's promise_key row);
--   per (channel, item): channel_atp.atp = what the channel can still promise, kept exact
--       in the same transaction as every change of its inputs (serialised on that row).
-- A reservation "anywhere" in a channel whose locations no other channel sells from is
-- held by the channel as a whole (reservation.location NULL, a "pooled" reservation): it
-- only moves that channel's ATP, so reserving it locks that one row (src/promise.c).
-- Anywhere in a channel that shares a location with another is placed at one location.
-- ---------------------------------------------------------------------------

CREATE TABLE channel (
    channel              text PRIMARY KEY CHECK (channel ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    name                 text NOT NULL,
    kind                 text NOT NULL DEFAULT 'web'
                         CHECK (kind IN ('web', 'marketplace', 'store', 'endless_aisle', 'b2b', 'other')),
    safety_stock         numeric NOT NULL DEFAULT 0 CHECK (safety_stock >= 0),
    min_shelf_life_days  integer NOT NULL DEFAULT 0 CHECK (min_shelf_life_days >= 0),
    allow_backorder      boolean NOT NULL DEFAULT false,
    fulfilment_source    text REFERENCES source,
    reservation_ttl      interval NOT NULL DEFAULT interval '30 minutes' CHECK (reservation_ttl > interval '0'),
    created_at           timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE channel IS 'Sales channels (web shop, marketplace, endless aisle...): where they sell from and how they promise';
COMMENT ON COLUMN channel.safety_stock IS 'Units of every item the channel keeps back from promising (channel_safety_stock overrides per item)';
COMMENT ON COLUMN channel.min_shelf_life_days IS 'Lots expiring sooner than this many days from today are not promised through the channel';
COMMENT ON COLUMN channel.allow_backorder IS 'May promise against future supply (time-phased ATP); the reservation gets a promised date';
COMMENT ON COLUMN channel.fulfilment_source IS 'Source the issue postings of fulfil() are posted as when the caller names none';
COMMENT ON COLUMN channel.reservation_ttl IS 'Default lifetime of a reservation before sweep_expired_reservations() expires it';

CREATE TABLE channel_location (
    channel  text NOT NULL REFERENCES channel ON DELETE CASCADE,
    location gln NOT NULL REFERENCES location,
    priority integer NOT NULL DEFAULT 100,
    PRIMARY KEY (channel, location)
);
CREATE INDEX channel_location_location ON channel_location (location);
COMMENT ON TABLE channel_location IS 'The locations a channel sells from; lower priority is preferred when ATP ties';
COMMENT ON INDEX channel_location_location IS 'Which channels sell from a location (a channel is dedicated when none of its locations is another channel''s)';

CREATE TABLE channel_safety_stock (
    channel   text NOT NULL REFERENCES channel ON DELETE CASCADE,
    item_gtin gtin NOT NULL REFERENCES item,
    quantity  numeric NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (channel, item_gtin)
);
COMMENT ON TABLE channel_safety_stock IS 'Per-item safety stock of a channel (overrides channel.safety_stock)';

CREATE TABLE safety_stock (
    item_gtin gtin NOT NULL REFERENCES item,
    location  gln NOT NULL REFERENCES location,
    quantity  numeric NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (item_gtin, location)
);
COMMENT ON TABLE safety_stock IS 'Units of an item a location keeps back from every promise';

-- One row per (item, location) that has ever been promised: the lock promises serialise
-- on, and the running total of open reservations there.
CREATE TABLE promise_key (
    item_gtin gtin NOT NULL,
    location  gln NOT NULL,
    reserved  numeric NOT NULL DEFAULT 0,
    version   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (item_gtin, location)
) WITH (fillfactor = 50);
COMMENT ON TABLE promise_key IS 'Open reserved quantity per item and location; promises lock this row (maintained by the reservation functions)';

CREATE TYPE reservation_status AS ENUM ('open', 'fulfilled', 'cancelled', 'expired');
COMMENT ON TYPE reservation_status IS 'Life of a reservation: open until fulfilled, cancelled or expired (once)';

-- Written only by the reservation functions, which check every value (order_ref and
-- line_ref of 1 to 200 characters, quantities above zero, the channel and item exist):
-- CHECK constraints and a foreign key would be evaluated again by every promise, and
-- verify_promises() checks the table's invariants.
CREATE TABLE reservation (
    reservation_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel            text NOT NULL,
    order_ref          text NOT NULL,
    line_ref           text NOT NULL,
    item_gtin          gtin NOT NULL,
    location           gln,
    anywhere           boolean NOT NULL,
    quantity           numeric NOT NULL,
    open_quantity      numeric NOT NULL,
    fulfilled_quantity numeric NOT NULL DEFAULT 0,
    status             reservation_status NOT NULL DEFAULT 'open',
    expires_at         timestamptz NOT NULL,
    due_date           date,
    promised_date      date,
    created_at         timestamptz NOT NULL DEFAULT now(),
    resolved_at        timestamptz,
    fulfilling         boolean NOT NULL DEFAULT false,
    UNIQUE (channel, order_ref, line_ref)
);
-- One index over open reservations serves ATP (by item and location; NULL: pooled) and
-- the expiry sweep (it reads the open ones): every index is paid for by every promise.
-- Backorders have their own, which promises from stock never enter.
CREATE INDEX reservation_open ON reservation (item_gtin, location) WHERE status = 'open';
COMMENT ON INDEX reservation_open IS 'Open reservations by item and location (location NULL: pooled in a dedicated channel)';
-- Inside fulfil() only (never true after a transaction ends): the channel ATP a posting
-- moves is summed again while a pooled reservation of it is being fulfilled.
CREATE INDEX reservation_fulfilling ON reservation (channel, item_gtin) WHERE fulfilling;
COMMENT ON INDEX reservation_fulfilling IS 'Reservations being fulfilled in an open transaction (empty between transactions)';
CREATE INDEX reservation_open_backorder ON reservation (item_gtin, location) WHERE status = 'open' AND promised_date IS NOT NULL;
COMMENT ON INDEX reservation_open_backorder IS 'Open backorders by item and location (a promise from stock never enters it)';
COMMENT ON TABLE reservation IS 'Two-phase promises: reserved (open), then fulfilled, cancelled or expired exactly once';
COMMENT ON COLUMN reservation.location IS 'Where the reservation is held; NULL: pooled anywhere in a dedicated channel (no other channel sells from its locations)';
COMMENT ON COLUMN reservation.anywhere IS 'Reserved anywhere in the channel (location, when set, is where it was placed)';
COMMENT ON COLUMN reservation.due_date IS 'When the customer wants it (informational for reservations held against stock)';
COMMENT ON COLUMN reservation.open_quantity IS 'What the reservation still holds back from ATP (0 once resolved)';
COMMENT ON COLUMN reservation.fulfilling IS 'Set inside fulfil() between locking the reservation and consuming it (never true after a transaction ends)';
COMMENT ON COLUMN reservation.promised_date IS 'For a backorder: the date time-phased ATP promised';

CREATE TYPE reservation_action AS ENUM ('reserve', 'fulfil', 'cancel', 'expire', 'allocate');
COMMENT ON TYPE reservation_action IS 'What changed a reservation (allocate: a backorder filled from stock, allocate_backorders())';

-- reservation_change and channel_atp_change are append-only logs written while the
-- channel's ATP row is locked (they carry the ATP and version that lock produced), so
-- every index on them lengthens the queue of promises behind a hot item (with many clients
-- on one item, two btree indexes cost about a tenth of the promise rate). They have none
-- but a BRIN: change_id is unique by construction (GENERATED ALWAYS, written
-- only by the engine), the feed reads them from the WAL, and verify_promises() and the
-- history queries read them whole or by range.
--
-- A change of channel ATP is recorded once. When a reservation change moves its own
-- channel's ATP by itself (a pooled reservation reserved, cancelled or expired), its
-- reservation_change row carries the move (atp_before, atp_after, version) and
-- channel_atp_change has no row for it: one row fewer under the hot row's lock. Every
-- other change (postings, refreshes, the channels a reservation at a location moves) is
-- a channel_atp_change row. channel_atp_history shows both as one history, and the feed
-- publishes both as atp events.
CREATE TABLE reservation_change (
    change_id      bigint GENERATED ALWAYS AS IDENTITY,
    reservation_id bigint NOT NULL,
    action         reservation_action NOT NULL,
    channel        text NOT NULL,
    item_gtin      gtin NOT NULL,
    location       gln,
    order_ref      text NOT NULL,
    line_ref       text NOT NULL,
    delta          numeric NOT NULL,
    open_after     numeric NOT NULL,
    atp_before     numeric,
    atp_after      numeric NOT NULL,
    version        bigint NOT NULL,
    posting_id     bigint,
    changed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reservation_change_reservation ON reservation_change USING brin (reservation_id, change_id);
COMMENT ON INDEX reservation_change_reservation IS 'The history of a reservation, and changes by id (both grow with insertion order; a BRIN costs the promise path almost nothing)';
COMMENT ON TABLE reservation_change IS 'After-state of every reservation change (what the change feed publishes): delta, open quantity after, channel ATP after, per-key version';
COMMENT ON COLUMN reservation_change.atp_before IS 'The channel''s ATP before, when this change moved it by itself and is the record of that move (version is then the move''s version, and channel_atp_change has no row for it); NULL when channel_atp_change records the channel''s ATP change, or it did not change';

CREATE TABLE channel_atp (
    channel    text NOT NULL,
    item_gtin  gtin NOT NULL,
    atp        numeric NOT NULL,
    version    bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, item_gtin)
) WITH (fillfactor = 50);
COMMENT ON TABLE channel_atp IS 'ATP per channel and item, exact as of every committed change of its inputs, with a version that increases with every change (for feeds and read copies)';
COMMENT ON COLUMN channel_atp.atp IS 'What the channel can still promise: may be below zero when facts took stock that was promised, or safety stock is not covered';

-- Every posting and promise rewrites rows of promise_key, location_atp, channel_atp and
-- channel_atp_state in place, none of them in an indexed column: room left on each page
-- keeps those rewrites heap-only (no new index entry, the old version pruned on the page).
--
-- What a channel's ATP is summed from: the ATP of an item at a location as channels with
-- one shelf-life rule see it, kept exact by every change of its inputs there (postings,
-- reservations, safety stock, expected supply), each made under the location's promise
-- key lock. A change of it moves every channel selling from the location by the change
-- of its contribution (never below zero): the cost of a posting depends on the channels
-- at its location, not on the locations of a channel. No row: contributes nothing.
CREATE TABLE location_atp (
    item_gtin           gtin NOT NULL,
    location            gln NOT NULL,
    min_shelf_life_days integer NOT NULL,
    atp                 numeric NOT NULL,
    computed_on         date NOT NULL,
    PRIMARY KEY (item_gtin, location, min_shelf_life_days)
) WITH (fillfactor = 70);
COMMENT ON TABLE location_atp IS 'ATP of an item at a location as channels with a minimum remaining shelf life see it: what published channel ATP is summed from (maintained with every change of its inputs)';
COMMENT ON COLUMN location_atp.atp IS 'Eligible sellable on-hand beyond safety stock, less reservations held there and backorder shortfall (below zero when promises exceed it)';
COMMENT ON COLUMN location_atp.computed_on IS 'The day it was computed: lots leave it by date, so a value of an earlier day is recomputed before a promise relies on it';

-- The running sum each channel's ATP is made of, and when it was last summed from its
-- locations: lots leave ATP by date, so a value computed on an earlier day is recomputed
-- before a promise relies on it.
CREATE TABLE channel_atp_state (
    channel     text NOT NULL,
    item_gtin   gtin NOT NULL,
    computed_on date NOT NULL,
    dedicated   boolean NOT NULL,
    stock       numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (channel, item_gtin)
) WITH (fillfactor = 50);
COMMENT ON TABLE channel_atp_state IS 'The running sum of each channel ATP, the oldest day its parts were computed on, and whether the channel was dedicated then (maintained with channel_atp)';
COMMENT ON COLUMN channel_atp_state.computed_on IS 'The oldest day any of the location ATP it sums was computed on (today: exact now)';
COMMENT ON COLUMN channel_atp_state.dedicated IS 'No other channel sells from the channel''s locations: anywhere reservations are pooled';
COMMENT ON COLUMN channel_atp_state.stock IS 'Sum over the channel''s locations of their location ATP (none below zero) as the channel sees it; its ATP is this less its safety stock (never below zero) less its pooled reservations';

CREATE TABLE channel_atp_change (
    channel        text NOT NULL,
    item_gtin      gtin NOT NULL,
    atp_before     numeric NOT NULL,
    atp_after      numeric NOT NULL,
    version        bigint NOT NULL,
    cause          text NOT NULL CHECK (cause IN ('posting', 'reservation', 'refresh')),
    posting_id     bigint,
    reservation_id bigint,
    changed_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE channel_atp_change IS 'Changes of a channel''s ATP for an item, with their cause (what the change feed publishes), except the moves a pooled reservation''s own change records in reservation_change: channel_atp_history shows all';

CREATE VIEW channel_atp_history AS
SELECT c.channel, c.item_gtin, c.atp_before, c.atp_after, c.version, c.cause, c.posting_id, c.reservation_id,
       c.changed_at
  FROM channel_atp_change c
UNION ALL
SELECT r.channel, r.item_gtin, r.atp_before, r.atp_after, r.version, 'reservation', NULL, r.reservation_id,
       r.changed_at
  FROM reservation_change r
 WHERE r.atp_before IS NOT NULL;
COMMENT ON VIEW channel_atp_history IS 'Every change of a channel''s ATP for an item, one row per version: channel_atp_change and the reservation changes that record their channel''s move themselves';

-- Expected receipts: purchase and production orders (transfers in transit are read from
-- the in-transit balances and the ETA of their transfer_out postings).
CREATE TABLE supply (
    supply_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('purchase_order', 'production_order', 'transfer')),
    item_gtin  gtin NOT NULL REFERENCES item,
    location   gln NOT NULL REFERENCES location,
    quantity   numeric NOT NULL CHECK (quantity > 0),
    due_date   date NOT NULL,
    reference  text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX supply_item ON supply (item_gtin, due_date);
COMMENT ON TABLE supply IS 'Expected receipts (purchase orders, production orders, transfers) by due date: future supply for time-phased ATP';
COMMENT ON COLUMN supply.quantity IS 'Quantity still expected (base units): reduce or delete the row as goods arrive';
COMMENT ON COLUMN supply.due_date IS 'When it is expected to be received (a date already past counts as today)';

-- Where stock in an in-transit location is going: its balance there, dated by the ETA of
-- the transfer_out postings that put it there, is expected supply at the destination.
CREATE TABLE transit_route (
    in_transit  gln PRIMARY KEY REFERENCES location,
    destination gln NOT NULL REFERENCES location
);
COMMENT ON TABLE transit_route IS 'Destination of each in-transit location: stock in transit there is expected supply at the destination, by ETA';

-- Master-data caches and the engine's channel check see changes at once.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['channel', 'channel_location', 'channel_safety_stock', 'safety_stock', 'transit_route'] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION master_data_changed()', t || '_changed', t);
    END LOOP;
    -- only the reservation functions write these (as their owner)
    FOREACH t IN ARRAY ARRAY['promise_key', 'reservation', 'reservation_change', 'channel_atp', 'channel_atp_change',
                             'channel_atp_state', 'location_atp'] LOOP
        EXECUTE format('REVOKE ALL ON %I FROM PUBLIC', t);
    END LOOP;
END
$$;

-- Rights: reading is for readers; channels are for admins (functions: 900_privileges.sql).
GRANT SELECT ON channel, channel_location, channel_safety_stock, safety_stock, promise_key, reservation,
                reservation_change, channel_atp, channel_atp_change, channel_atp_history, channel_atp_state, supply,
                transit_route, location_atp
   TO inventory_sync_reader;
GRANT INSERT, UPDATE, DELETE ON channel, channel_location, channel_safety_stock, safety_stock, supply, transit_route
   TO inventory_sync_admin;
SELECT pg_catalog.pg_extension_config_dump('channel', '');
SELECT pg_catalog.pg_extension_config_dump('channel_location', '');
SELECT pg_catalog.pg_extension_config_dump('channel_safety_stock', '');
SELECT pg_catalog.pg_extension_config_dump('safety_stock', '');
SELECT pg_catalog.pg_extension_config_dump('promise_key', '');
SELECT pg_catalog.pg_extension_config_dump('reservation', '');
SELECT pg_catalog.pg_extension_config_dump('reservation_change', '');
SELECT pg_catalog.pg_extension_config_dump('channel_atp', '');
SELECT pg_catalog.pg_extension_config_dump('channel_atp_change', '');
SELECT pg_catalog.pg_extension_config_dump('channel_atp_state', '');
SELECT pg_catalog.pg_extension_config_dump('location_atp', '');
SELECT pg_catalog.pg_extension_config_dump('supply', '');
SELECT pg_catalog.pg_extension_config_dump('transit_route', '');
SELECT pg_catalog.pg_extension_config_dump('reservation_reservation_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('reservation_change_change_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('supply_supply_id_seq', '');
