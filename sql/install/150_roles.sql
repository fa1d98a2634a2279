-- ---------------------------------------------------------------------------
-- Roles. Roles are cluster-wide: they are created if missing and are left in place by
-- DROP EXTENSION. Grant them to login roles:
--   inventory_sync_reader  reads everything
--   inventory_sync_writer  + posts (INSERT on the ledger, the posting functions)
--   inventory_sync_admin   + maintains master data, resolves exceptions
-- A writer still posts only as the sources its role is bound to (source.role).
-- ---------------------------------------------------------------------------
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['inventory_sync_reader', 'inventory_sync_writer', 'inventory_sync_admin'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;

-- Identifier types and their functions are for everyone (the default); the functions that
-- write are for writers only.
GRANT USAGE ON SCHEMA inventory_sync TO PUBLIC;
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOREACH f IN ARRAY ARRAY[
        'post(posting_kind, text, text, gtin, gln, numeric, text, lot_number, serial_number, gln, text, text, timestamptz, text, text, timestamptz, numeric, bigint, bigint)',
        'receive(text, text, gtin, gln, numeric, text, lot_number, serial_number, text, timestamptz, text)',
        'ship(text, text, gtin, gln, numeric, text, lot_number, serial_number, text, timestamptz, text)',
        'transfer_out(text, text, gtin, gln, gln, numeric, timestamptz, text, lot_number, serial_number, timestamptz, text)',
        'transfer_in(text, text, gtin, gln, gln, numeric, text, text, lot_number, serial_number, timestamptz, text)',
        'adjust(text, text, gtin, gln, numeric, text, text, lot_number, serial_number, timestamptz, text, numeric)',
        'move_stock(text, text, gtin, gln, numeric, text, text, lot_number, serial_number, timestamptz, text, text)',
        'count_stock(text, text, gtin, gln, numeric, timestamptz, text, lot_number, serial_number, text)',
        'consume(text, text, gtin, gln, numeric, lot_number, text, text, timestamptz, text)',
        'produce(text, text, gtin, gln, numeric, lot_number, text, text, timestamptz, text)',
        'return_stock(text, text, gtin, gln, numeric, text, lot_number, serial_number, timestamptz, text)',
        'release_lot(text, text, gtin, lot_number, text, text)',
        'correct(text, text, bigint, text)',
        'ledger_before_insert()', 'ledger_apply()']::regprocedure[]
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO inventory_sync_writer', f);
    END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION refuse_change(), master_data_changed(), verify() FROM PUBLIC;

GRANT SELECT ON ALL TABLES IN SCHEMA inventory_sync TO inventory_sync_reader;
GRANT EXECUTE ON FUNCTION verify() TO inventory_sync_reader;

GRANT inventory_sync_reader TO inventory_sync_writer;
GRANT INSERT ON ledger TO inventory_sync_writer;

GRANT inventory_sync_writer TO inventory_sync_admin;
GRANT INSERT, UPDATE, DELETE ON unit, item, item_pack, item_unit, location, bucket, reason_code,
      source, ownership, lot TO inventory_sync_admin;
GRANT UPDATE (resolved_at, resolution) ON exception TO inventory_sync_admin;
GRANT EXECUTE ON FUNCTION master_data_changed() TO inventory_sync_admin;
