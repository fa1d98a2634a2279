-- gln and sscc: the GS1 Global Location Number (13 digits, the key of a location) and the
-- Serial Shipping Container Code (18 digits, the key of a pallet, case or other logistic
-- unit).  Same engine as gtin: digits only, surrounding blanks ignored, the GS1 mod-10
-- check digit verified, 8 bytes, ordered and hashed like the number the digits spell.
SET search_path = inventory_sync, public;

-- gln ------------------------------------------------------------------------------------

-- GS1 example GLNs; leading zeros are kept on output (always 13 digits).
SELECT '0614141000012'::gln AS gs1_us_example,
       '5412345000013'::gln AS gs1_be_example,
       ' 4012345000009 '::gln AS blanks_ignored;

CREATE TABLE sites (site gln PRIMARY KEY, name text);
INSERT INTO sites VALUES
  ('4012345000009', 'plant'), ('0614141000012', 'dc east'), ('5412345000013', 'store 1');
-- A text column stores into gln through the assignment cast.
INSERT INTO sites SELECT '0614141000005'::text, 'dc west';
SELECT site, name FROM sites ORDER BY site;
-- The same GLN twice is a duplicate key, however it was spelt.
INSERT INTO sites VALUES (' 0614141000012', 'dc east again');
SELECT count(*) AS sites, count(DISTINCT site) AS distinct_sites FROM sites;
SELECT pg_column_size('0614141000012'::gln) AS bytes;

SELECT gln_complete('061414100001') AS completed, gln_complete(' 540000000000') AS completed_2;
SELECT v, gln_is_valid(v) AS valid
FROM (VALUES ('0614141000012'), ('0614141000013'), ('614141000012'), ('06141410000120'),
             ('061414100001x'), (''), (NULL)) AS v(v);

SELECT '0614141000012'::gln::text AS as_text, '0614141000012'::gln::bigint AS as_bigint,
       614141000012::bigint::gln AS from_bigint;

-- Errors.
SELECT '0614141000013'::gln;
SELECT '614141000012'::gln;
SELECT '0614141 000012'::gln;
SELECT 614141000013::bigint::gln;
SELECT 10000000000000::bigint::gln;
SELECT gln_complete('0614141000012');

-- sscc -----------------------------------------------------------------------------------

-- GS1 example SSCCs: the first digit is the extension digit, then the company prefix and
-- serial reference, then the check digit.
SELECT s, sscc_extension_digit(s) AS extension_digit
FROM (VALUES ('106141412345678908'::sscc), ('376104250021234569'), ('006141411234567890'))
  AS v(s)
ORDER BY s;

CREATE TABLE pallets (sscc sscc, received_at text);
INSERT INTO pallets VALUES
  ('106141412345678908', 'dock 1'), ('006141411234567890', 'dock 2'),
  (' 106141412345678908', 'dock 1, rescanned'), ('340123450000000000', 'dock 3');
SELECT sscc, count(*) AS scans FROM pallets GROUP BY sscc ORDER BY sscc;
SELECT DISTINCT sscc FROM pallets ORDER BY sscc DESC;
SELECT pg_column_size('106141412345678908'::sscc) AS bytes;

SELECT sscc_complete('00614141123456789') AS completed,
       sscc_complete('34012345000000000') AS completed_2;
SELECT v, sscc_is_valid(v) AS valid
FROM (VALUES ('106141412345678908'), ('106141412345678909'), ('06141412345678908'),
             ('1061414123456789080'), ('(00)106141412345678908'), (''), (NULL)) AS v(v);

SELECT '106141412345678908'::sscc::text AS as_text,
       '106141412345678908'::sscc::bigint AS as_bigint,
       106141412345678908::bigint::sscc AS from_bigint,
       6141411234567890::bigint::sscc AS leading_zeros_restored;

-- Errors.
SELECT '106141412345678909'::sscc;
SELECT '10614141234567890'::sscc;
SELECT '(00)106141412345678908'::sscc;
SELECT 106141412345678909::bigint::sscc;
SELECT 1000000000000000000::bigint::sscc;
SELECT (-106141412345678908)::bigint::sscc;
SELECT sscc_complete('106141412345678908');

-- The three types do not mix: a GLN is not an SSCC, even when both spell the same number.
SELECT 614141000012::bigint::gln AS gln, 614141000012::bigint::sscc AS sscc;
SELECT 614141000012::bigint::gln = 614141000012::bigint::sscc;

DROP TABLE sites, pallets;
