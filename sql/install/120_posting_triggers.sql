-- ---------------------------------------------------------------------------
-- The posting engine's triggers (src/posting_validate.c, src/posting_apply.c, src/master_cache.c).
-- ---------------------------------------------------------------------------

CREATE FUNCTION ledger_before_insert() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ledger_before_insert' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ledger_before_insert() IS
  'Ledger row trigger: validates a posting against master data, converts it to base units, checks the source binding and ownership, skips exact replays';

-- The apply step writes balance, balance_change, exception, serial_unit and lot, which
-- posting roles cannot write themselves: it runs with the extension owner's rights.
-- Every name, operator and function in its own SQL is schema-qualified; the fixed
-- search_path (pg_temp last) also covers what it calls and what fires under it (triggers,
-- the channel-ATP refresh), so nothing the caller creates runs with these rights. The
-- path is set once per statement, not per row.
CREATE FUNCTION ledger_apply() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ledger_apply' LANGUAGE C VOLATILE PARALLEL UNSAFE
    SECURITY DEFINER SET search_path = pg_catalog, inventory_sync, pg_temp;
COMMENT ON FUNCTION ledger_apply() IS
  'Ledger statement trigger: applies the statement''s postings to balances, keys locked in one global order, and records after-states in balance_change';

CREATE FUNCTION refuse_change() RETURNS trigger
    AS 'MODULE_PATHNAME', 'refuse_change' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION refuse_change() IS
  'Refuses UPDATE, DELETE and TRUNCATE: of the ledger (argument ''superuser'': except by a superuser) and of tables only the engine writes';

CREATE FUNCTION master_data_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'master_data_changed' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION master_data_changed() IS
  'Master-data statement trigger: invalidates every backend''s cache of master data when the change commits';

CREATE TRIGGER ledger_10_validate BEFORE INSERT ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_before_insert();
CREATE TRIGGER ledger_20_apply AFTER INSERT ON ledger
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_apply();
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['balance', 'balance_change', 'serial_unit'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OR DELETE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()', t || '_engine_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()', t || '_no_truncate', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['unit', 'item', 'item_pack', 'item_unit', 'location', 'bucket',
                             'reason_code', 'source', 'ownership'] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION master_data_changed()', t || '_changed', t);
    END LOOP;
END
$$;
