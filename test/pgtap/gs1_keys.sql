-- pgTAP: the GS1 numeric keys gtin, gln and sscc.
-- Published GS1 examples, the check-digit engine against an independent SQL implementation,
-- round trips through text and binary COPY, index and join plans, and error SQLSTATEs.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(77);

SELECT setseed(0.42);

-- An independent check digit, in SQL: weights 3, 1, 3, ... from the right of the body.
CREATE FUNCTION pg_temp.sql_check_digit(body text) RETURNS int
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT (10 - sum(substr(reverse(body), i, 1)::int * CASE WHEN i % 2 = 1 THEN 3 ELSE 1 END)
               % 10)::int % 10
  FROM generate_series(1, length(body)) AS i
$$;

-- The plan of a query, as one text.
CREATE FUNCTION pg_temp.plan_of(query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  line text;
  result text := '';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    result := result || line || E'\n';
  END LOOP;
  RETURN result;
END
$$;

-- The SQLSTATE a cast of a text to a type raises, or 'ok'.
CREATE FUNCTION pg_temp.cast_state(input text, typ text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('SELECT %L::text::%s', input, typ);
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END
$$;

-- Published GS1 examples, each length -------------------------------------------------------

SELECT is('96385074'::gtin::text, '00000096385074', 'GTIN-8 96385074 widens to 14 digits');
SELECT is('614141000036'::gtin::text, '00614141000036', 'GTIN-12 614141000036 widens to 14 digits');
SELECT is('9506000134352'::gtin::text, '09506000134352', 'GTIN-13 9506000134352 widens to 14 digits');
SELECT is('10614141000415'::gtin::text, '10614141000415', 'GTIN-14 10614141000415 is kept');
SELECT is('00012345600012'::gtin::text, '00012345600012', 'GTIN-14 00012345600012 is kept');
SELECT is('0614141000012'::gln::text, '0614141000012', 'GLN 0614141000012');
SELECT is('5412345000013'::gln::text, '5412345000013', 'GLN 5412345000013');
SELECT is('106141412345678908'::sscc::text, '106141412345678908', 'SSCC 106141412345678908');
SELECT is('376104250021234569'::sscc::text, '376104250021234569', 'SSCC 376104250021234569');
SELECT is(' 9506000134352 '::gtin, '09506000134352'::gtin, 'surrounding blanks are ignored');
SELECT ok('9506000134352'::gtin = '09506000134352'::gtin, 'GTIN-13 equals its GTIN-14 form');

-- Check-digit completion -----------------------------------------------------------------

SELECT is(gtin_complete('9638507'), '96385074'::gtin, 'completes a GTIN-8 body');
SELECT is(gtin_complete('61414100003'), '614141000036'::gtin, 'completes a GTIN-12 body');
SELECT is(gtin_complete('950600013435'), '9506000134352'::gtin, 'completes a GTIN-13 body');
SELECT is(gtin_complete('1061414100041'), '10614141000415'::gtin, 'completes a GTIN-14 body');
SELECT is(gln_complete('061414100001'), '0614141000012'::gln, 'completes a GLN body');
SELECT is(sscc_complete('10614141234567890'), '106141412345678908'::sscc, 'completes an SSCC body');

-- The engine against the SQL check digit, on 20000 pseudo-random bodies of every length.
CREATE TEMP TABLE bodies AS
  SELECT lpad((floor(random() * 1e13))::bigint::text, 13, '0') AS b13,
         lpad((floor(random() * 1e17))::bigint::text, 17, '0') AS b17
  FROM generate_series(1, 20000);
SELECT is((SELECT count(*) FROM bodies
           WHERE gtin_complete(b13)::text <> b13 || pg_temp.sql_check_digit(b13)), 0::bigint,
          'gtin_complete agrees with the SQL check digit on 20000 GTIN-14 bodies');
SELECT is((SELECT count(*) FROM bodies
           WHERE gtin_complete(right(b13, 12))::text
                 <> '0' || right(b13, 12) || pg_temp.sql_check_digit(right(b13, 12))), 0::bigint,
          'gtin_complete agrees on 20000 GTIN-13 bodies');
SELECT is((SELECT count(*) FROM bodies
           WHERE gtin_complete(right(b13, 7))::text
                 <> '000000' || right(b13, 7) || pg_temp.sql_check_digit(right(b13, 7))), 0::bigint,
          'gtin_complete agrees on 20000 GTIN-8 bodies');
SELECT is((SELECT count(*) FROM bodies
           WHERE gln_complete(right(b13, 12))::text
                 <> right(b13, 12) || pg_temp.sql_check_digit(right(b13, 12))), 0::bigint,
          'gln_complete agrees on 20000 GLN bodies');
SELECT is((SELECT count(*) FROM bodies
           WHERE sscc_complete(b17)::text <> b17 || pg_temp.sql_check_digit(b17)), 0::bigint,
          'sscc_complete agrees on 20000 SSCC bodies');
SELECT is((SELECT count(*) FROM bodies, generate_series(0, 9) AS d
           WHERE gtin_is_valid(b13 || d) <> (d = pg_temp.sql_check_digit(b13))), 0::bigint,
          'of the ten possible last digits, exactly the check digit is valid (gtin)');
SELECT is((SELECT count(*) FROM bodies, generate_series(0, 9) AS d
           WHERE sscc_is_valid(b17 || d) <> (d = pg_temp.sql_check_digit(b17))), 0::bigint,
          'of the ten possible last digits, exactly the check digit is valid (sscc)');

-- Helpers ------------------------------------------------------------------------------

SELECT is(gtin_indicator('10614141000415'), 1, 'indicator digit of a GTIN-14');
SELECT is(gtin_indicator('9506000134352'), 0, 'indicator digit of a GTIN-13 is 0');
SELECT is(gtin_display('96385074'), '96385074', 'display: six leading zeros give GTIN-8');
SELECT is(gtin_display('614141000036'), '614141000036', 'display: two leading zeros give GTIN-12');
SELECT is(gtin_display('9506000134352'), '9506000134352', 'display: one leading zero gives GTIN-13');
SELECT is(gtin_display('10614141000415'), '10614141000415', 'display: otherwise GTIN-14');
SELECT is(sscc_extension_digit('376104250021234569'), 3, 'extension digit of an SSCC');
SELECT is(pg_column_size('9506000134352'::gtin), 8, 'a gtin takes 8 bytes');
SELECT is(pg_column_size('106141412345678908'::sscc), 8, 'an sscc takes 8 bytes');

-- Validity never raises, whatever the input
CREATE TEMP TABLE garbage AS
  SELECT (SELECT string_agg(chr(1 + floor(random() * 1000)::int), '')
          FROM generate_series(1, 1 + (g % 40))) || 'x' AS s
  FROM generate_series(1, 2000) AS g;
INSERT INTO garbage VALUES (''), ('   '), (repeat('1', 1000000)), (repeat('x', 1000000)),
  (E'\x1d0109506000134352'), ('09506000134352' || chr(12354)), ('٠٩٥٠٦٠٠٠١٣٤٣٥٢');
SELECT is((SELECT count(*) FROM garbage
           WHERE gtin_is_valid(s) OR gln_is_valid(s) OR sscc_is_valid(s)), 0::bigint,
          'no garbage string is a valid key, and checking them raises nothing');
SELECT is((SELECT count(*) FROM garbage
           WHERE pg_temp.cast_state(s, 'gtin') <> '22P02'
              OR pg_temp.cast_state(s, 'gln') <> '22P02'
              OR pg_temp.cast_state(s, 'sscc') <> '22P02'), 0::bigint,
          'every garbage string is refused with SQLSTATE 22P02');
SELECT is(gtin_is_valid(NULL), NULL, 'validity of NULL is NULL');

-- Round trips ------------------------------------------------------------------------------

CREATE TEMP TABLE keys (g gtin, l gln, s sscc);
INSERT INTO keys
  SELECT gtin_complete(b13), gln_complete(right(b13, 12)), sscc_complete(b17) FROM bodies;
SELECT is((SELECT count(*) FROM keys
           WHERE g::text::gtin <> g OR l::text::gln <> l OR s::text::sscc <> s), 0::bigint,
          'text round trip keeps every value');
SELECT is((SELECT count(*) FROM keys
           WHERE g::bigint::gtin <> g OR l::bigint::gln <> l OR s::bigint::sscc <> s), 0::bigint,
          'bigint round trip keeps every value');
SELECT is(gtin_send('9506000134352'), int8send(9506000134352),
          'binary form is the int64 value, like bigint');

SELECT lives_ok(format('COPY keys TO %L (FORMAT binary)',
                       '/tmp/inventory_sync_gs1_keys_' || pg_backend_pid() || '.bin'),
                'binary COPY out');
CREATE TEMP TABLE keys_back (g gtin, l gln, s sscc);
SELECT lives_ok(format('COPY keys_back FROM PROGRAM %L (FORMAT binary)',
                       format('cat %1$s && rm -f %1$s',
                              '/tmp/inventory_sync_gs1_keys_' || pg_backend_pid() || '.bin')),
                'binary COPY in');
SELECT bag_eq('SELECT * FROM keys', 'SELECT * FROM keys_back',
              'binary COPY round trip keeps every row');

-- Binary input is validated: bigint's binary form with a wrong check digit or out of range.
CREATE TEMP TABLE raw (v bigint);
CREATE TEMP TABLE one_gtin (g gtin);
CREATE TEMP TABLE one_sscc (s sscc);
INSERT INTO raw VALUES (9506000134353);
SELECT lives_ok(format('COPY raw TO PROGRAM %L (FORMAT binary)',
                       'cat > /tmp/inventory_sync_gs1_bad_' || pg_backend_pid() || '.bin'),
                'binary bigint with a wrong check digit written');
SELECT throws_ok(format('COPY one_gtin FROM PROGRAM %L (FORMAT binary)',
                        'cat /tmp/inventory_sync_gs1_bad_' || pg_backend_pid() || '.bin'),
                 '22P03', NULL, 'binary gtin with a wrong check digit is refused (22P03)');
TRUNCATE raw;
INSERT INTO raw VALUES (-1);
SELECT lives_ok(format('COPY raw TO PROGRAM %L (FORMAT binary)',
                       'cat > /tmp/inventory_sync_gs1_bad_' || pg_backend_pid() || '.bin'),
                'binary negative bigint written');
SELECT throws_ok(format('COPY one_sscc FROM PROGRAM %L (FORMAT binary)',
                        format('cat %1$s && rm -f %1$s',
                               '/tmp/inventory_sync_gs1_bad_' || pg_backend_pid() || '.bin')),
                 '22P03', NULL, 'binary sscc out of range is refused (22P03)');

-- Indexes and joins ------------------------------------------------------------------------

SELECT ok((SELECT oprcanmerge AND oprcanhash FROM pg_operator
           WHERE oprname = '=' AND oprleft = 'gtin'::regtype AND oprright = 'gtin'::regtype),
          'gtin = is MERGES and HASHES');
SELECT ok((SELECT oprcanmerge AND oprcanhash FROM pg_operator
           WHERE oprname = '=' AND oprleft = 'sscc'::regtype AND oprright = 'sscc'::regtype),
          'sscc = is MERGES and HASHES');
SELECT ok((SELECT count(*) = 6 FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
           WHERE c.opcdefault AND a.amname IN ('btree', 'hash')
             AND c.opcintype IN ('gtin'::regtype, 'gln'::regtype, 'sscc'::regtype)),
          'gtin, gln and sscc each have default btree and hash operator classes');

CREATE TEMP TABLE items AS SELECT DISTINCT g FROM keys;
CREATE INDEX items_g_btree ON items (g);
CREATE TEMP TABLE items_h AS SELECT g FROM items;
CREATE INDEX items_h_hash ON items_h USING hash (g);
CREATE TEMP TABLE sites AS SELECT DISTINCT l FROM keys;
CREATE INDEX sites_l_btree ON sites (l);
ANALYZE items, items_h, sites, keys;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;

SELECT matches(pg_temp.plan_of($$SELECT g FROM items WHERE g = '09506000134352'$$),
               'Index Only Scan using items_g_btree', 'equality uses the btree index');
SELECT matches(pg_temp.plan_of($$SELECT g FROM items WHERE g >= '10000000000007' AND g < '20000000000004'$$),
               'Index Only Scan using items_g_btree', 'a range uses the btree index');
SELECT matches(pg_temp.plan_of($$SELECT g FROM items ORDER BY g DESC LIMIT 5$$),
               'Index Only Scan Backward using items_g_btree', 'ORDER BY uses the btree index');
SELECT is((SELECT count(*) FROM items WHERE g >= '10000000000007' AND g < '20000000000004'),
          (SELECT count(*) FROM keys WHERE g::text >= '10000000000007' AND g::text < '20000000000004'),
          'the index range finds exactly the rows the text order finds');
SELECT is((SELECT array_agg(g::text) FROM (SELECT g FROM items ORDER BY g LIMIT 50) AS s),
          (SELECT array_agg(t) FROM (SELECT g::text AS t FROM items ORDER BY g::text COLLATE "C" LIMIT 50) AS s),
          'gtin order is the order of the 14 digits');
SELECT matches(pg_temp.plan_of($$SELECT g FROM items_h WHERE g = '09506000134352'$$),
               'Index Scan using items_h_hash', 'equality uses the hash index');
SELECT is((SELECT count(*) FROM items_h h JOIN keys k USING (g)),
          (SELECT count(*) FROM keys), 'every key is found through the hash index');
SELECT matches(pg_temp.plan_of($$SELECT l FROM sites WHERE l = '0614141000012'$$),
               'Index Only Scan using sites_l_btree', 'gln equality uses the btree index');

RESET enable_seqscan;
RESET enable_bitmapscan;
SET LOCAL enable_mergejoin = off;
SET LOCAL enable_nestloop = off;
SELECT matches(pg_temp.plan_of($$SELECT * FROM items i JOIN keys k ON k.g = i.g$$),
               'Hash Join', 'gtin joins by hash');
SELECT matches(pg_temp.plan_of($$SELECT * FROM keys a JOIN keys b ON a.s = b.s$$),
               'Hash Join', 'sscc joins by hash');
SELECT is((SELECT count(*) FROM items i JOIN keys k ON k.g = i.g), (SELECT count(*) FROM keys),
          'the hash join matches every row');
SELECT matches(pg_temp.plan_of($$SELECT g, count(*) FROM keys GROUP BY g$$),
               'HashAggregate', 'GROUP BY gtin can hash');
RESET enable_mergejoin;
SET LOCAL enable_hashjoin = off;
SELECT matches(pg_temp.plan_of($$SELECT * FROM keys a JOIN keys b ON a.l = b.l$$),
               'Merge Join', 'gln joins by merge');
RESET enable_hashjoin;
RESET enable_nestloop;

-- Errors and their SQLSTATEs ------------------------------------------------------------

SELECT throws_ok($$SELECT '09506000134353'::gtin$$, '22P02',
                 'invalid input syntax for type gtin: "09506000134353"',
                 'a wrong check digit is 22P02, naming the type and quoting the input');
SELECT throws_ok($$SELECT '95060001343'::gtin$$, '22P02', NULL, 'a wrong length is 22P02');
SELECT throws_ok($$SELECT '9506-000134352'::gtin$$, '22P02', NULL, 'a non-digit is 22P02');
SELECT throws_ok($$SELECT ''::gtin$$, '22P02', NULL, 'an empty string is 22P02');
SELECT throws_ok($$SELECT '9506000134353'::text::gtin$$, '22P02', NULL, 'the text cast validates');
SELECT throws_ok($$SELECT repeat('7', 50000000)::gtin$$, '22P02',
                 'invalid input syntax for type gtin: "7777777777777777777777777777777777777777..."',
                 'a 50 MB input is refused, quoting only its start');
SELECT throws_ok($$SELECT 100000000000000::bigint::gtin$$, '22003', NULL,
                 'a bigint over 14 digits is out of range (22003)');
SELECT throws_ok($$SELECT (-1)::bigint::gln$$, '22003', NULL,
                 'a negative bigint is out of range (22003)');
SELECT throws_ok($$SELECT 9506000134353::bigint::gtin$$, '22P02',
                 'bigint 9506000134353 is not a valid gtin', 'a bigint with a wrong check digit is 22P02');
SELECT throws_ok($$SELECT '0614141000013'::gln$$, '22P02', NULL, 'a bad GLN is 22P02');
SELECT throws_ok($$SELECT '10614141234567890'::sscc$$, '22P02', NULL, 'a short SSCC is 22P02');
SELECT throws_ok($$SELECT gtin_complete('09506000134352')$$, '22P02', NULL,
                 'completing a 14-digit body is 22P02');

-- Hash values are bigint's and bytea's exactly (hash indexes and hash partitions built
-- before 0.2.0, when these were LANGUAGE internal, stay valid after the update).
SELECT is((SELECT count(*) FROM generate_series(1, 2000) i,
                LATERAL (SELECT ('950600' || lpad(i::text, 6, '0'))::text AS b) s,
                LATERAL (SELECT gtin(b || ((10 - (SELECT sum(substr(b, 12 - k, 1)::int * CASE WHEN k % 2 = 0 THEN 3 ELSE 1 END)
                                                  FROM generate_series(0, 11) k) % 10) % 10)::text) AS g) t
            WHERE gtin_hash(g) <> hashint8(g::bigint) OR gtin_hash_extended(g, 7) <> hashint8extended(g::bigint, 7)),
          0::bigint, 'gtin hashes are bigint hashes');
SELECT is(lot_number_hash('LOT-42'), hashtext('LOT-42'), 'lot_number hashes are the varlena hash of the same bytes');
SELECT is(gtin_cmp('09506000134352', '09506000134369'), -1, 'gtin_cmp orders like bigint');
SELECT * FROM finish();
ROLLBACK;
