--
-- gs1_parse: a scanned GS1 element string into typed fields.
--
SET search_path = inventory_sync, public;
\pset expanded on

-- The human-readable (bracketed) form, as printed under a GS1-128 barcode.
SELECT * FROM gs1_parse('(01)09506000134352(17)261231(10)ABC123', '2026-11-23');

-- The raw form a scanner sends: FNC1 (ASCII 29) ends a variable-length field,
-- a symbology identifier may come first (]C1 GS1-128, ]d2 DataMatrix, ]Q3 QR).
SELECT gtin, expiry, lot, serial
  FROM gs1_parse(']d2010950600013435217261231' || chr(29) || '10ABC123' || chr(29) || '21SN-7', '2026-11-23');
SELECT gs1_parse(']C1010950600013435217261231' || chr(29) || '10ABC123', '2026-11-23')
     = gs1_parse('(01)09506000134352(17)261231(10)ABC123', '2026-11-23') AS raw_equals_bracketed;

-- A pallet label: SSCC, content GTIN, count; a location.
SELECT sscc, content_gtin, count, location_gln
  FROM gs1_parse('(00)106141412345678908(02)09506000134352(37)48(414)0614141000012', '2026-11-23');

-- Dates: day 00 is the last day of the month; the GS1 century rule places a
-- two-digit year within 49 years before and 50 after the reference year.
\pset expanded off
SELECT v, (gs1_parse('(17)' || v, '2026-11-23')).expiry
  FROM unnest(ARRAY['240200', '250200', '261200', '760101', '770101']) AS v;
SELECT (gs1_parse('(11)990101', '2049-06-01')).production_date AS ref_2049,
       (gs1_parse('(11)990101', '2048-06-01')).production_date AS ref_2048;

-- Errors name the AI and what is wrong.
SELECT gs1_parse('(01)09506000134353');
SELECT gs1_parse('(99)ABC');
SELECT gs1_parse('(17)261301');
SELECT gs1_parse('(17)260231');
SELECT gs1_parse('(10)123456789012345678901');
SELECT gs1_parse('(10)AB#C');
SELECT gs1_parse('(01)09506000134352(01)19506000134359');
SELECT gs1_parse('0109506000134');
SELECT gs1_parse(']X1(01)09506000134352');
SELECT gs1_parse('');
