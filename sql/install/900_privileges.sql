-- since 0.2.0
-- ---------------------------------------------------------------------------
-- Who may execute what: the one place function rights are decided. docs/security.md
-- shows the same table, and the security suite of `make test` fails when the catalog,
-- this table and that page disagree.
--
--   * A type's support functions (input/output, operators, operator classes, casts)
--     stay executable by PUBLIC: the identifier types are for everyone.
--   * Every other function first loses EXECUTE for PUBLIC and the product's roles, then
--     is granted to the one role that needs it (roles nest: admin > writer > reader).
--   * Internal functions (named "_...", and trigger functions) are granted to no one:
--     they run only under the API functions that call them, with the owner's rights.
--     The exceptions are the snapshot readers' helpers, which run with the caller's
--     rights (the feed table a caller names must be read as that caller) and so must be
--     executable by the callers of ingest_snapshot(), check_snapshot() and
--     snapshot_variance(); they can do nothing the caller could not do without them.
--   * Read functions whose work needs internal functions run with the owner's rights
--     (SECURITY DEFINER, search_path fixed with pg_temp last) and only read.
-- ---------------------------------------------------------------------------

ALTER FUNCTION atp(gtin, gln, text) SECURITY DEFINER;
ALTER FUNCTION atp_detail(gtin, text) SECURITY DEFINER;
ALTER FUNCTION eligible_on_hand(gtin, gln, integer) SECURITY DEFINER;
ALTER FUNCTION atp_schedule(gtin, text, date, integer, interval) SECURITY DEFINER;
ALTER FUNCTION promise(gtin, text, numeric, date, integer) SECURITY DEFINER;
ALTER FUNCTION verify_promises() SECURITY DEFINER;
ALTER FUNCTION location_snapshot(gln, text) SECURITY DEFINER;
ALTER FUNCTION channel_snapshot(text, text) SECURITY DEFINER;
ALTER FUNCTION trace_back(gtin, lot_number, integer) SECURITY DEFINER;
ALTER FUNCTION trace_forward(gtin, lot_number, integer) SECURITY DEFINER;

DO $$
DECLARE
    f regprocedure;
    g record;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace OPERATOR(pg_catalog.=) 'inventory_sync'::regnamespace
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_type t
                            WHERE p.oid OPERATOR(pg_catalog.=) ANY (ARRAY[t.typinput, t.typoutput, t.typreceive, t.typsend]::oid[]))
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_operator o WHERE o.oprcode OPERATOR(pg_catalog.=) p.oid)
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_amproc a WHERE a.amproc OPERATOR(pg_catalog.=) p.oid)
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_cast c WHERE c.castfunc OPERATOR(pg_catalog.=) p.oid)
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, inventory_sync_reader, inventory_sync_writer, inventory_sync_admin', f);
    END LOOP;

    FOR g IN
        SELECT fn::regprocedure AS fn, grantee
          FROM (VALUES
            -- identifier helpers: everyone
            ('gtin_is_valid(text)', 'PUBLIC'), ('gtin_complete(text)', 'PUBLIC'),
            ('gtin_indicator(gtin)', 'PUBLIC'), ('gtin_display(gtin)', 'PUBLIC'),
            ('gln_is_valid(text)', 'PUBLIC'), ('gln_complete(text)', 'PUBLIC'),
            ('sscc_is_valid(text)', 'PUBLIC'), ('sscc_complete(text)', 'PUBLIC'),
            ('sscc_extension_digit(sscc)', 'PUBLIC'),
            ('lot_number_is_valid(text)', 'PUBLIC'), ('serial_number_is_valid(text)', 'PUBLIC'),
            ('gs1_parse(text)', 'PUBLIC'), ('gs1_parse(text, date)', 'PUBLIC'),
            ('atp_phased(numeric, numeric[], numeric[])', 'PUBLIC'),
            -- reading
            ('verify()', 'inventory_sync_reader'), ('verify_promises()', 'inventory_sync_reader'),
            ('verify(bigint)', 'inventory_sync_reader'), ('verify(timestamptz)', 'inventory_sync_reader'),
            ('atp(gtin, gln, text)', 'inventory_sync_reader'), ('atp_detail(gtin, text)', 'inventory_sync_reader'),
            ('atp_schedule(gtin, text, date, integer, interval)', 'inventory_sync_reader'),
            ('promise(gtin, text, numeric, date, integer)', 'inventory_sync_reader'),
            ('promise_date(gtin, text, numeric, date, integer)', 'inventory_sync_reader'),
            ('eligible_on_hand(gtin, gln, integer)', 'inventory_sync_reader'),
            ('expected_supply(gtin, gln)', 'inventory_sync_reader'),
            ('channel_is_dedicated(text)', 'inventory_sync_reader'),
            ('location_snapshot(gln, text)', 'inventory_sync_reader'),
            ('channel_snapshot(text, text)', 'inventory_sync_reader'),
            ('snapshot_variance(bigint, numeric, numeric)', 'inventory_sync_reader'),
            ('kpi_source(interval)', 'inventory_sync_reader'),
            ('kpi_count_accuracy(interval, numeric)', 'inventory_sync_reader'),
            ('may_post_as(text)', 'inventory_sync_reader'),
            ('production_order_of(text)', 'inventory_sync_reader'),
            ('trace_back(gtin, lot_number, integer)', 'inventory_sync_reader'),
            ('trace_forward(gtin, lot_number, integer)', 'inventory_sync_reader'),
            ('kpi_daily_stock(date, date)', 'inventory_sync_reader'),
            ('kpi_stockout_rate(date, date)', 'inventory_sync_reader'),
            ('kpi_channel_stockout_rate(date, date)', 'inventory_sync_reader'),
            ('kpi_inventory_turnover(date, date)', 'inventory_sync_reader'),
            ('kpi_fulfilment(date, date)', 'inventory_sync_reader'),
            ('_snapshot_counted_sql(text, text, bigint, bigint)', 'inventory_sync_reader'),
            -- posting
            ('post(posting_kind, text, text, gtin, gln, numeric, text, lot_number, serial_number, gln, text, text, timestamptz, text, text, timestamptz, numeric, bigint, bigint)', 'inventory_sync_writer'),
            ('receive(text, text, gtin, gln, numeric, text, lot_number, serial_number, text, timestamptz, text)', 'inventory_sync_writer'),
            ('ship(text, text, gtin, gln, numeric, text, lot_number, serial_number, text, timestamptz, text)', 'inventory_sync_writer'),
            ('transfer_out(text, text, gtin, gln, gln, numeric, timestamptz, text, lot_number, serial_number, timestamptz, text)', 'inventory_sync_writer'),
            ('transfer_in(text, text, gtin, gln, gln, numeric, text, text, lot_number, serial_number, timestamptz, text)', 'inventory_sync_writer'),
            ('adjust(text, text, gtin, gln, numeric, text, text, lot_number, serial_number, timestamptz, text, numeric)', 'inventory_sync_writer'),
            ('move_stock(text, text, gtin, gln, numeric, text, text, lot_number, serial_number, timestamptz, text, text)', 'inventory_sync_writer'),
            ('count_stock(text, text, gtin, gln, numeric, timestamptz, text, lot_number, serial_number, text)', 'inventory_sync_writer'),
            ('consume(text, text, gtin, gln, numeric, lot_number, text, text, timestamptz, text)', 'inventory_sync_writer'),
            ('produce(text, text, gtin, gln, numeric, lot_number, text, text, timestamptz, text)', 'inventory_sync_writer'),
            ('return_stock(text, text, gtin, gln, numeric, text, lot_number, serial_number, timestamptz, text)', 'inventory_sync_writer'),
            ('release_lot(text, text, gtin, lot_number, text, text)', 'inventory_sync_writer'),
            ('correct(text, text, bigint, text)', 'inventory_sync_writer'),
            ('recall(gtin, lot_number, text, text, text, text)', 'inventory_sync_writer'),
            ('ingest_snapshot(text, regclass, text, timestamptz, text, text, text, text, numeric, numeric, integer)', 'inventory_sync_writer'),
            ('check_snapshot(text, regclass, text, timestamptz)', 'inventory_sync_writer'),
            ('_snapshot_check_args(text, text, timestamptz, timestamptz)', 'inventory_sync_writer'),
            ('_snapshot_load(text, regclass, text, timestamptz, timestamptz)', 'inventory_sync_writer'),
            ('_snapshot_time(text)', 'inventory_sync_writer'),
            ('_snapshot_work_table(text)', 'inventory_sync_writer'),
            ('_snapshot_read_raw(regclass)', 'inventory_sync_writer'),
            ('_snapshot_validate(text, text, timestamptz, timestamptz)', 'inventory_sync_writer'),
            ('_snapshot_name_duplicates()', 'inventory_sync_writer'),
            ('_snapshot_check_ingest_args(text, text, text, text, text, numeric, numeric, integer)', 'inventory_sync_writer'),
            ('_snapshot_run_start(text, regclass, text, timestamptz, text, text, text, text, numeric, numeric, timestamptz)', 'inventory_sync_writer'),
            ('_snapshot_reject_bad_rows(bigint, text, text, text, bigint, timestamptz)', 'inventory_sync_writer'),
            ('_snapshot_absent_keys(text, text, text, timestamptz, text)', 'inventory_sync_writer'),
            ('_snapshot_counts(timestamptz, text)', 'inventory_sync_writer'),
            ('_snapshot_add_back_reserved()', 'inventory_sync_writer'),
            ('_snapshot_key_notes(bigint, text)', 'inventory_sync_writer'),
            ('_snapshot_post_counts(text, text, integer, bigint, timestamptz)', 'inventory_sync_writer'),
            ('_snapshot_run_finish(bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, timestamptz)', 'inventory_sync_writer'),
            -- promising
            ('reserve(text, text, text, gtin, numeric, gln, timestamptz, date)', 'inventory_sync_writer'),
            ('fulfil(bigint, numeric, text, text, gln)', 'inventory_sync_writer'),
            ('cancel_reservation(bigint)', 'inventory_sync_writer'),
            ('expire_reservation(bigint)', 'inventory_sync_writer'),
            ('sweep_expired_reservations(timestamptz)', 'inventory_sync_writer'),
            ('allocate_backorders(gtin, gln)', 'inventory_sync_writer'),
            ('refresh_channel_atp(text, gtin)', 'inventory_sync_writer'),
            -- kits
            ('kit_atp(gtin, text, gln)', 'inventory_sync_reader'),
            ('kit_atp_detail(gtin, text, gln)', 'inventory_sync_reader'),
            ('reserve_kit(text, text, text, gtin, numeric, gln, timestamptz, date)', 'inventory_sync_writer'),
            ('cancel_kit_reservation(text, text, text)', 'inventory_sync_writer'),
            -- the partitioned ledger: reading its partitions, changing its shape
            ('ledger_partitions()', 'inventory_sync_reader'),
            ('partition_ledger(interval, integer, timestamptz, boolean, text)', 'inventory_sync_admin'),
            ('table_partitions(text)', 'inventory_sync_reader'),
            ('maintain_partitions(integer)', 'inventory_sync_admin'),
            ('prepare_partitioned_restore(boolean)', 'inventory_sync_admin'),
            ('detach_ledger_partition(timestamptz, boolean)', 'inventory_sync_admin'),
            -- brokering (240_broker.sql)
            ('great_circle_km(double precision, double precision, double precision, double precision)', 'PUBLIC'),
            ('broker(text, text, jsonb, double precision, double precision, gln, boolean, boolean, timestamptz, date)', 'inventory_sync_writer'),
            ('reject_allocation(bigint, text)', 'inventory_sync_writer')
          ) AS t(fn, grantee)
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %s', g.fn, g.grantee);
    END LOOP;
END
$$;

-- Serial lifecycle (550_serial.sql): reading, with the caller's rights (the walk reads
-- only what a reader may read; it needs no internal helper).
GRANT EXECUTE ON FUNCTION serial_history(gtin, serial_number) TO inventory_sync_reader;
GRANT EXECUTE ON FUNCTION serial_exceptions(gtin) TO inventory_sync_reader;
-- Logistic units (SSCC): the unit operations are writers'; their implementations
-- (_pack_unit ...) and helpers stay with no API role (revoked above).
GRANT EXECUTE ON FUNCTION pack_unit(text, text, sscc, gln, jsonb, sscc, text),
                          unpack_unit(text, text, sscc, text),
                          move_unit(text, text, sscc, text, text, text),
                          transfer_unit(text, text, sscc, gln, timestamptz, text),
                          receive_unit(text, text, text, gln, text, text),
                          receive_unit(text, text, jsonb, gln, text, text),
                          ship_unit(text, text, sscc, text),
                          count_unit(text, text, sscc, jsonb, text)
   TO inventory_sync_writer;
