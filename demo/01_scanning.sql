-- title: 1. Scanning GS1 barcodes
SET search_path = inventory_sync, public;
\echo 'Items are keyed by GTIN: GTIN-8, -12, -13 and -14 are one 8-byte type, check digit verified.'
SELECT v AS scanned, v::gtin AS stored, gtin_display(v::gtin) AS shortest, gtin_indicator(v::gtin) AS indicator
  FROM unnest(ARRAY['96385074', '614141000036', '9506000134352', '19506000134359']) v;

\echo 'A mistyped GTIN is refused, and the hint says which digit it should end with:'
DO $$
BEGIN
  PERFORM '9506000134353'::inventory_sync.gtin;
EXCEPTION WHEN invalid_text_representation THEN
  DECLARE h text; BEGIN GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT; RAISE NOTICE '% (%)', SQLERRM, h; END;
END $$;

\echo 'Locations by GLN, logistic units by SSCC, lots and serials in GS1 character set 82:'
SELECT '0614141000012'::gln AS gln, '106141412345678908'::sscc AS sscc,
       'ABC-123'::lot_number AS lot, 'SN/0001'::serial_number AS serial;

\echo 'A warehouse scanner reads element strings; gs1_parse types every field.'
\echo 'Case label (bracketed form):'
SELECT gtin, lot, expiry, count FROM gs1_parse('(01)19506000134359(10)L2611(17)270331(37)10');
\echo 'The same label as the scanner sends it (]C1 GS1-128, FNC1 = ASCII 29), and a pallet SSCC:'
SELECT gtin, lot, expiry FROM gs1_parse(']C10119506000134359' || '10L2611' || chr(29) || '17270331');
SELECT sscc, content_gtin, count FROM gs1_parse('(00)106141412345678908(02)09506000134352(37)48');
