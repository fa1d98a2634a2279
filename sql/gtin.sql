-- gtin: the GS1 Global Trade Item Number, the key of an item.
--
-- A GTIN is written with 8, 12, 13 or 14 digits, the last being the GS1 mod-10 check
-- digit.  The type accepts all four, verifies the check digit, and stores every GTIN in
-- its 14-digit form (GS1's rule for databases: shorter GTINs are widened with leading
-- zeros), so one item has exactly one value however it was scanned.
SET search_path = inventory_sync, public;

-- Each length, from GS1's own examples, prints as 14 digits.
SELECT '96385074'::gtin       AS gtin_8,
       '614141000036'::gtin   AS gtin_12,
       '9506000134352'::gtin  AS gtin_13,
       '10614141000415'::gtin AS gtin_14;

-- Surrounding blanks (spaces, tabs, newlines) are ignored; the value is the same.
SELECT ' 9506000134352'::gtin = E'\t09506000134352\n'::gtin AS same_item;

-- One item, four spellings: GTIN-13 and its 14-digit form are the same value.
CREATE TABLE scans (scanned text, g gtin);
INSERT INTO scans (scanned) VALUES
  ('9506000134352'), ('09506000134352'), ('  9506000134352  '),
  ('96385074'), ('00000096385074'),
  ('614141000036'), ('0614141000036'),
  ('10614141000415');
-- text to gtin is an assignment cast: a text value can be stored in a gtin column.
UPDATE scans SET g = scanned;
SELECT scanned, g FROM scans ORDER BY g, scanned;

-- DISTINCT and GROUP BY see items, not spellings.
SELECT count(DISTINCT scanned) AS spellings, count(DISTINCT g) AS items FROM scans;
SELECT g, count(*) AS scans FROM scans GROUP BY g ORDER BY g;

-- Order is the order of the 14 digits: GTIN-8s (six leading zeros) come first.
SELECT g FROM scans GROUP BY g ORDER BY g DESC;
SELECT '96385074'::gtin < '614141000036'::gtin    AS lt,
       '9506000134352'::gtin <= '09506000134352'::gtin AS le,
       '10614141000415'::gtin > '9506000134352'::gtin AS gt,
       '96385074'::gtin >= '10614141000415'::gtin AS ge,
       '96385074'::gtin <> '614141000036'::gtin   AS ne;

-- Stored in 8 bytes.
SELECT pg_column_size('9506000134352'::gtin) AS bytes;

-- The indicator digit (packaging level) is the first of the 14; 0 for GTIN-8/12/13.
SELECT g, gtin_indicator(g) AS indicator
FROM (VALUES ('10614141000415'::gtin), ('9506000134352'), ('90614141000411')) AS v(g);

-- The shortest display form: the last 8 digits when the 14 start with 6 zeros, else the
-- last 12 when they start with 2 zeros, else the last 13 when they start with 1, else all 14.
SELECT g, gtin_display(g) AS display
FROM (VALUES ('96385074'::gtin), ('614141000036'), ('012345678905'), ('9506000134352'),
             ('10614141000415')) AS v(g)
ORDER BY g;

-- Check-digit completion: a body without its check digit (7, 11, 12 or 13 digits).
SELECT gtin_complete('9638507')        AS from_7,
       gtin_complete('61414100003')    AS from_11,
       gtin_complete('950600013435')   AS from_12,
       gtin_complete('1061414100041')  AS from_13;

-- The validity test never raises: true, false or NULL.
SELECT left(v, 20) AS v, length(v) AS length, gtin_is_valid(v) AS valid
FROM (VALUES ('9506000134352'), (' 96385074 '), ('9506000134353'), ('950600013435'),
             ('95060001343522'), ('9506-000134352'), (''), ('   '), ('abc'),
             (repeat('9', 10000)), ('９５０６０００１３４３５２'), (NULL)) AS v(v);

-- Casts.  To text: the 14 digits.  To bigint (explicit): the number they spell.
SELECT '9506000134352'::gtin::text AS as_text,
       '9506000134352'::gtin::bigint AS as_bigint;
-- From bigint (explicit): the whole number, check digit included, verified.
SELECT 9506000134352::bigint::gtin AS from_bigint, 96385074::bigint::gtin AS from_small;
SELECT gtin(9506000134352) = '9506000134352'::gtin AS function_form;

-- Errors: SQLSTATE 22P02 with the input quoted, what is wrong, and what to do.
-- A wrong check digit: the hint gives the right one.
SELECT '09506000134353'::gtin;
SELECT '9506000134353'::gtin;
SELECT '96385075'::gtin;
-- A GTIN-13 missing its check digit has 12 digits: it reads as a GTIN-12 whose check digit
-- is wrong.  gtin_complete is the function for bodies.
SELECT '950600013435'::gtin;
-- A wrong length.
SELECT '95060001343'::gtin;
SELECT '123456789'::gtin;
SELECT repeat('9', 100)::gtin;
-- Not a digit (position counts characters of the input as written).
SELECT '9506-000134352'::gtin;
SELECT ' 950600013435x'::gtin;
SELECT '95060001343５2'::gtin;
SELECT E'9506000134352\x1d'::gtin;
SELECT ('95' || repeat('x', 1000))::gtin;
-- Nothing there.
SELECT ''::gtin;
SELECT '   '::gtin;
-- The text cast validates like input.
SELECT '9506000134353'::text::gtin;
-- From bigint: out of range (22003) or a wrong check digit (22P02).
SELECT (-1)::bigint::gtin;
SELECT 100000000000000::bigint::gtin;
SELECT 9506000134353::bigint::gtin;
-- Completion takes the digits it is given as a body: 13 digits complete to a GTIN-14, even
-- when they happen to be a whole GTIN-13.
SELECT gtin_complete('9506000134352') AS thirteen_digits_make_a_gtin_14;
-- Completion of something that is not a body.
SELECT gtin_complete('09506000134352');
SELECT gtin_complete('95060001343a');

DROP TABLE scans;
