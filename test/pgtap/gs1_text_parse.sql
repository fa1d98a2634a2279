BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(24);

-- set 82: exactly 82 of the 128 ASCII characters are accepted
SELECT is((SELECT count(*) FROM generate_series(1, 127) c WHERE lot_number_is_valid(chr(c))),
          82::bigint, 'exactly the 82 characters of set 82 are valid');
SELECT is((SELECT string_agg(chr(c), '' ORDER BY c) FROM generate_series(33, 126) c
            WHERE lot_number_is_valid(chr(c)) AND chr(c) !~ '[A-Za-z0-9]'),
          '!"%&''()*+,-./:;<=>?_', 'the 20 punctuation marks of set 82');
SELECT throws_ok($$SELECT '#'::lot_number$$, '22P02', NULL, '# is outside set 82');
SELECT throws_ok($$SELECT repeat('A', 21)::serial_number$$, '22P02', NULL, '21 characters is too long');
SELECT ok('a'::serial_number <> 'A'::serial_number, 'serials are case-sensitive');
-- a long bad input is quoted by its start, cut before a character that would not fit whole
SELECT throws_ok($$SELECT (repeat('A', 39) || 'éB')::lot_number$$, '22P02',
                 'invalid input syntax for type lot_number: "' || repeat('A', 39) || '..."',
                 'a long bad lot is quoted up to its last whole character');
SELECT throws_ok($$SELECT gs1_parse('(99)' || repeat('A', 55) || 'éB')$$, '22P02',
                 'invalid GS1 element string: "(99)' || repeat('A', 55) || '..."',
                 'a long bad element string is quoted up to its last whole character');

-- every supported AI
SELECT is((gs1_parse('(00)106141412345678908', '2026-01-01')).sscc, '106141412345678908'::sscc, 'AI 00');
SELECT is((gs1_parse('(02)09506000134352(37)12', '2026-01-01')).count, 12::bigint, 'AI 02 + 37');
SELECT is((gs1_parse('(11)260115(13)260116(15)260117(16)260118', '2026-01-01')).sell_by,
          '2026-01-18'::date, 'AI 11 13 15 16');
SELECT is((gs1_parse('(20)07(30)5(410)0614141000012', '2026-01-01')).variable_count, 5::bigint, 'AI 20 30 410');
SELECT is((gs1_parse('(21)XYZ(414)0614141000012', '2026-01-01')).location_gln, '0614141000012'::gln, 'AI 21 414');

-- day 00 and leap years; the century rule
SELECT is((gs1_parse('(17)280200', '2026-01-01')).expiry, '2028-02-29'::date, 'day 00 in a leap February');
SELECT is((gs1_parse('(17)000200', '2026-01-01')).expiry, '2000-02-29'::date, '2000 is a leap year');
SELECT throws_ok($$SELECT gs1_parse('(17)270229', '2026-01-01')$$, '22P02', NULL, '2027-02-29 does not exist');
SELECT is((gs1_parse('(17)760101', '2026-01-01')).expiry, '2076-01-01'::date, '+50 years stays in this century');
SELECT is((gs1_parse('(17)770101', '2026-01-01')).expiry, '1977-01-01'::date, '+51 years goes to the previous one');

-- a variable-length field not last needs FNC1 in the raw form
SELECT is(row((gs1_parse('10ABC17261231', '2026-01-01')).lot, (gs1_parse('10ABC17261231', '2026-01-01')).expiry)::text,
          '(ABC17261231,)', 'without FNC1 a variable-length lot swallows what follows it');

-- binary COPY round trip (send/recv), and recv validates
CREATE TEMP TABLE ls (lot lot_number, serial serial_number);
INSERT INTO ls VALUES ('L-1', 'S/1'), ('Zz9', 'a''b');
COPY ls TO '/tmp/inventory_sync_ls.bin' (FORMAT binary);
CREATE TEMP TABLE ls2 (LIKE ls);
COPY ls2 FROM '/tmp/inventory_sync_ls.bin' (FORMAT binary);
SELECT set_eq('SELECT lot::text, serial::text FROM ls2', 'SELECT lot::text, serial::text FROM ls',
              'binary COPY round trip');
CREATE TEMP TABLE lt (t text);
INSERT INTO lt VALUES ('bad lot');
COPY lt TO '/tmp/inventory_sync_lt.bin' (FORMAT binary);
CREATE TEMP TABLE lt2 (lot lot_number);
SELECT throws_ok($$COPY lt2 FROM '/tmp/inventory_sync_lt.bin' (FORMAT binary)$$, '22P02', NULL,
                 'binary input is validated like text input');
-- (the program reads its input first: a program that exits early makes COPY fail with a broken pipe)
COPY (SELECT 1) TO PROGRAM 'cat >/dev/null; rm -f /tmp/inventory_sync_ls.bin /tmp/inventory_sync_lt.bin';

-- a LIKE on a lot or serial cast to text, the column indexed and the plan free to use the
-- index: the cast goes through a function, so the prefix search is not matched to the
-- type's own index (no collation; PostgreSQL 18 fails such a match)
CREATE TEMP TABLE like_probe (lot lot_number, serial serial_number);
INSERT INTO like_probe SELECT 'L' || i, 'S' || i FROM generate_series(1, 1000) i;
CREATE INDEX ON like_probe (lot);
CREATE INDEX ON like_probe (serial);
ANALYZE like_probe;
SET LOCAL enable_seqscan = off;
SELECT is((SELECT count(*) FROM like_probe WHERE lot::text LIKE 'L1%'), 112::bigint,
          'LIKE on lot::text, the lot indexed');
SELECT is((SELECT count(*) FROM like_probe WHERE serial::text LIKE 'S1%'), 112::bigint,
          'LIKE on serial::text, the serial indexed');
SELECT is((SELECT count(*) FROM like_probe WHERE serial::text ~ '^S1'), 112::bigint,
          'a regular expression on serial::text, the serial indexed');
SELECT is((SELECT count(*) FROM like_probe WHERE lot::text = 'L7'), 1::bigint, 'lot::text = text');
RESET enable_seqscan;

SELECT * FROM finish();
ROLLBACK;
