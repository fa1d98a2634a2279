-- pg_dump leaves out the data of an extension's tables unless they are marked: every
-- table here holds the user's data. Seeded rows are filtered out, since CREATE EXTENSION
-- inserts them again on restore.
SELECT pg_catalog.pg_extension_config_dump('unit', $$WHERE unit NOT IN ('EA', 'KGM', 'LTR', 'MTR')$$);
SELECT pg_catalog.pg_extension_config_dump('bucket',
  $$WHERE bucket NOT IN ('receiving', 'qa_hold', 'quarantine', 'released', 'damaged', 'blocked')$$);
SELECT pg_catalog.pg_extension_config_dump('reason_code',
  $$WHERE reason NOT IN ('shrink', 'damage', 'expired', 'found', 'correction', 'sample', 'count', 'lot_release')$$);
-- one call per statement: each updates the extension's catalog row
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['item', 'item_pack', 'item_unit', 'location', 'source', 'ownership', 'lot',
                             'ledger', 'balance', 'balance_change', 'exception', 'serial_unit'] LOOP
        PERFORM pg_catalog.pg_extension_config_dump(t::regclass, '');
    END LOOP;
    PERFORM pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('ledger', 'posting_id')::regclass, '');
    PERFORM pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('balance', 'balance_id')::regclass, '');
    PERFORM pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('exception', 'exception_id')::regclass, '');
END
$$;
