--
-- lot_number (GS1 AI 10) and serial_number (AI 21): 1 to 20 characters of GS1 set 82.
--
SET search_path = inventory_sync, public;

SELECT 'ABC-123/x'::lot_number AS lot, '  SN0001  '::serial_number AS serial_trimmed;

-- Case-sensitive, ordered byte by byte whatever the collation.
SELECT v FROM unnest(ARRAY['b', 'B', 'a', 'A', '10', '9']::lot_number[]) AS v ORDER BY v;
SELECT 'abc'::lot_number = 'ABC'::lot_number AS same;

-- Every punctuation mark of set 82 is accepted.
SELECT '!"%&''()*+,-./:;<=>?_'::lot_number AS punctuation;

-- Limits: 20 characters at most, at least one, and only set 82.
SELECT '12345678901234567890'::lot_number AS twenty;
SELECT '123456789012345678901'::lot_number;
SELECT ''::serial_number;
SELECT 'LOT 7'::lot_number;
SELECT 'Größe'::lot_number;
SELECT 'A#1'::serial_number;

-- The validity test never raises.
SELECT v, lot_number_is_valid(v) AS lot_ok, serial_number_is_valid(v) AS serial_ok
  FROM unnest(ARRAY['A1', '', 'x y', repeat('9', 21), E'\t7\t']) AS v;

-- As keys: DISTINCT, GROUP BY, a unique index, a hash index.
CREATE TEMP TABLE lots (lot lot_number PRIMARY KEY, n int);
INSERT INTO lots VALUES ('L1', 1), ('L2', 2), ('l1', 3);
INSERT INTO lots VALUES ('L1', 4);
CREATE INDEX lots_hash ON lots USING hash (lot);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT n FROM lots WHERE lot = 'L2';
RESET enable_seqscan;
SELECT lot, count(*) FROM (SELECT lot FROM lots UNION ALL SELECT 'L1') s GROUP BY lot ORDER BY lot;

-- Text casts.
SELECT 'L9'::text::lot_number::text AS round_trip, pg_typeof('L9'::lot_number::text);
