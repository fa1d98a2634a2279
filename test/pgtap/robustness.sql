-- Tens of thousands of random and mutated strings through every input function and
-- gs1_parse: the backend survives, and every refusal is a class 22 error.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(14);

SELECT setseed(0.4242);

CREATE TEMP TABLE fuzz_input (s text);

-- random bytes (printable and control characters, no NUL), random lengths up to 60
INSERT INTO fuzz_input
SELECT string_agg(chr(1 + floor(random() * 126)::int), '')
  FROM generate_series(1, 12000) g, LATERAL generate_series(1, 1 + (g % 60)) c
 GROUP BY g;
-- digit strings of every length around the GS1 key widths
INSERT INTO fuzz_input
SELECT string_agg(floor(random() * 10)::int::text, '')
  FROM generate_series(1, 8000) g, LATERAL generate_series(1, 1 + (g % 22)) c
 GROUP BY g;
-- mutations of valid element strings and keys: deletions, insertions, swaps, truncation
WITH seed(v) AS (VALUES
    ('(01)09506000134352(17)261231(10)ABC123'),
    (']d2010950600013435217261231' || chr(29) || '10ABC123' || chr(29) || '21SN-7'),
    ('(00)106141412345678908(02)09506000134352(37)48(414)0614141000012'),
    ('09506000134352'), ('0614141000012'), ('106141412345678908'), ('LOT-42/A'))
INSERT INTO fuzz_input
SELECT CASE g % 4
         WHEN 0 THEN overlay(v placing '' from p for 1)
         WHEN 1 THEN overlay(v placing chr(1 + floor(random() * 126)::int) from p for 0)
         WHEN 2 THEN overlay(v placing substr(v, p + 1, 1) || substr(v, p, 1) from p for 2)
         ELSE left(v, p) END
  FROM seed, generate_series(1, 2000) g,
       LATERAL (SELECT 1 + floor(random() * length(v))::int AS p) pos;
-- very long strings
INSERT INTO fuzz_input SELECT repeat('9', n) FROM unnest(ARRAY[1000, 100000, 1000000]) n;
INSERT INTO fuzz_input SELECT '(10)' || repeat('A', 5000);

SELECT cmp_ok((SELECT count(*) FROM fuzz_input), '>=', 30000::bigint, 'at least 30,000 inputs');

CREATE TEMP TABLE fuzz_result (fn text, ok int, refused int, other_errors text[]);

CREATE FUNCTION pg_temp.fuzz(fn text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r record;
    ok int := 0;
    refused int := 0;
    other text[] := '{}';
BEGIN
    FOR r IN SELECT s FROM fuzz_input LOOP
        BEGIN
            EXECUTE format('SELECT %s', fn) USING r.s;
            ok := ok + 1;
        EXCEPTION WHEN OTHERS THEN
            IF left(SQLSTATE, 2) = '22' THEN
                refused := refused + 1;
            ELSE
                other := other || (SQLSTATE || ': ' || SQLERRM);
            END IF;
        END;
    END LOOP;
    INSERT INTO fuzz_result VALUES (fn, ok, refused, other);
END $$;

SELECT pg_temp.fuzz(f) FROM unnest(ARRAY[
    '$1::inventory_sync.gtin', '$1::inventory_sync.gln', '$1::inventory_sync.sscc',
    '$1::inventory_sync.lot_number', '$1::inventory_sync.serial_number',
    'inventory_sync.gs1_parse($1, ''2026-11-23'')']) f;

SELECT is(other_errors, '{}'::text[], fn || ': every refusal is a class 22 error')
  FROM fuzz_result ORDER BY fn;
SELECT ok(ok > 0 AND refused > 0, fn || ': some inputs accepted, some refused')
  FROM fuzz_result ORDER BY fn;
SELECT is((SELECT count(*) FROM fuzz_result), 6::bigint, 'the backend survived every input');

SELECT * FROM finish();
ROLLBACK;
