-- inventory_sync 0.1.0 exactly as released (frozen; kept so that ALTER EXTENSION UPDATE can be tested and used)
\echo Use "CREATE EXTENSION inventory_sync" to load this file. \quit
-- inventory_sync is installed into its own schema, named by the control file
-- (schema = inventory_sync, relocatable = false); every object below lives there.
COMMENT ON SCHEMA inventory_sync IS
  'inventory_sync: the master of inventory (GS1 identifiers, stock ledger, promises, change feed)';
-- The GS1 numeric keys: gtin (items), gln (locations), sscc (logistic units).
--
-- One C engine (src/gs1_key.c) checks the digits and the GS1 mod-10 check digit; each type is
-- 8 bytes passed by value holding the number its full digit string spells, check digit
-- included (GTIN-8/12/13 widened to GTIN-14 by leading zeros).  Comparison, hashing and
-- sorting reuse bigint's built-in functions, like contrib/isn.
--
-- Order: shell types, I/O functions, full types; functions; comparison wrappers; casts;
-- operators; operator classes.

-- ---------------------------------------------------------------------------------------
-- gtin: GS1 Global Trade Item Number: GTIN-8, -12, -13 or -14 in, 14 digits out
-- ---------------------------------------------------------------------------------------

CREATE TYPE gtin;

CREATE FUNCTION gtin_in(cstring) RETURNS gtin
  AS 'MODULE_PATHNAME', 'gtin_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gtin_out(gtin) RETURNS cstring
  AS 'MODULE_PATHNAME', 'gtin_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gtin_recv(internal) RETURNS gtin
  AS 'MODULE_PATHNAME', 'gtin_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gtin_send(gtin) RETURNS bytea
  AS 'MODULE_PATHNAME', 'gtin_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- 8 bytes, passed by value, laid out exactly like bigint (contrib/isn's LIKE = int8).
CREATE TYPE gtin (
  INPUT = gtin_in,
  OUTPUT = gtin_out,
  RECEIVE = gtin_recv,
  SEND = gtin_send,
  INTERNALLENGTH = 8,
  PASSEDBYVALUE,
  ALIGNMENT = double,
  STORAGE = plain
);

COMMENT ON TYPE gtin IS 'GS1 Global Trade Item Number: GTIN-8, -12, -13 or -14 in, 14 digits out';
COMMENT ON FUNCTION gtin_in(cstring) IS 'gtin input: digits with a valid GS1 check digit, surrounding blanks ignored';
COMMENT ON FUNCTION gtin_out(gtin) IS 'gtin output: the canonical zero-padded digits';
COMMENT ON FUNCTION gtin_recv(internal) IS 'gtin binary input: the int64 value, range and check digit verified';
COMMENT ON FUNCTION gtin_send(gtin) IS 'gtin binary output: the int64 value';

-- ---------------------------------------------------------------------------------------
-- gln: GS1 Global Location Number: 13 digits
-- ---------------------------------------------------------------------------------------

CREATE TYPE gln;

CREATE FUNCTION gln_in(cstring) RETURNS gln
  AS 'MODULE_PATHNAME', 'gln_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gln_out(gln) RETURNS cstring
  AS 'MODULE_PATHNAME', 'gln_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gln_recv(internal) RETURNS gln
  AS 'MODULE_PATHNAME', 'gln_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gln_send(gln) RETURNS bytea
  AS 'MODULE_PATHNAME', 'gln_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- 8 bytes, passed by value, laid out exactly like bigint (contrib/isn's LIKE = int8).
CREATE TYPE gln (
  INPUT = gln_in,
  OUTPUT = gln_out,
  RECEIVE = gln_recv,
  SEND = gln_send,
  INTERNALLENGTH = 8,
  PASSEDBYVALUE,
  ALIGNMENT = double,
  STORAGE = plain
);

COMMENT ON TYPE gln IS 'GS1 Global Location Number: 13 digits';
COMMENT ON FUNCTION gln_in(cstring) IS 'gln input: digits with a valid GS1 check digit, surrounding blanks ignored';
COMMENT ON FUNCTION gln_out(gln) IS 'gln output: the canonical zero-padded digits';
COMMENT ON FUNCTION gln_recv(internal) IS 'gln binary input: the int64 value, range and check digit verified';
COMMENT ON FUNCTION gln_send(gln) IS 'gln binary output: the int64 value';

-- ---------------------------------------------------------------------------------------
-- sscc: GS1 Serial Shipping Container Code: 18 digits
-- ---------------------------------------------------------------------------------------

CREATE TYPE sscc;

CREATE FUNCTION sscc_in(cstring) RETURNS sscc
  AS 'MODULE_PATHNAME', 'sscc_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION sscc_out(sscc) RETURNS cstring
  AS 'MODULE_PATHNAME', 'sscc_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION sscc_recv(internal) RETURNS sscc
  AS 'MODULE_PATHNAME', 'sscc_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION sscc_send(sscc) RETURNS bytea
  AS 'MODULE_PATHNAME', 'sscc_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- 8 bytes, passed by value, laid out exactly like bigint (contrib/isn's LIKE = int8).
CREATE TYPE sscc (
  INPUT = sscc_in,
  OUTPUT = sscc_out,
  RECEIVE = sscc_recv,
  SEND = sscc_send,
  INTERNALLENGTH = 8,
  PASSEDBYVALUE,
  ALIGNMENT = double,
  STORAGE = plain
);

COMMENT ON TYPE sscc IS 'GS1 Serial Shipping Container Code: 18 digits';
COMMENT ON FUNCTION sscc_in(cstring) IS 'sscc input: digits with a valid GS1 check digit, surrounding blanks ignored';
COMMENT ON FUNCTION sscc_out(sscc) IS 'sscc output: the canonical zero-padded digits';
COMMENT ON FUNCTION sscc_recv(internal) IS 'sscc binary input: the int64 value, range and check digit verified';
COMMENT ON FUNCTION sscc_send(sscc) IS 'sscc binary output: the int64 value';

-- ---------------------------------------------------------------------------------------
-- Functions
-- ---------------------------------------------------------------------------------------

CREATE FUNCTION gtin(text) RETURNS gtin
  AS 'MODULE_PATHNAME', 'gtin_from_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION gtin(text) IS 'cast text to gtin, validated like input';

CREATE FUNCTION text(gtin) RETURNS text
  AS 'MODULE_PATHNAME', 'gtin_to_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION text(gtin) IS 'cast gtin to text: the canonical zero-padded digits';

CREATE FUNCTION gtin(bigint) RETURNS gtin
  AS 'MODULE_PATHNAME', 'gtin_from_int8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION gtin(bigint) IS 'cast bigint to gtin: the whole number, check digit included, range and check digit verified';

CREATE FUNCTION gtin_is_valid(text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'gtin_is_valid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION gtin_is_valid(text) IS 'true when the text is a valid gtin (as input accepts it); never raises an error';

CREATE FUNCTION gtin_complete(text) RETURNS gtin
  AS 'MODULE_PATHNAME', 'gtin_complete' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION gtin_complete(text) IS 'the gtin made by appending the GS1 check digit to a body of 7, 11, 12 or 13 digits';

CREATE FUNCTION gtin_indicator(gtin) RETURNS integer
  AS 'MODULE_PATHNAME', 'gtin_indicator' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION gtin_indicator(gtin) IS 'the indicator (packaging level) digit: first of the 14 digits, 0 for GTIN-8/12/13';

CREATE FUNCTION gtin_display(gtin) RETURNS text
  AS 'MODULE_PATHNAME', 'gtin_display' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION gtin_display(gtin) IS 'shortest display form: last 8 digits if the 14 start with 6 zeros, else last 12 if with 2, else last 13 if with 1, else all 14';

CREATE FUNCTION gln(text) RETURNS gln
  AS 'MODULE_PATHNAME', 'gln_from_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION gln(text) IS 'cast text to gln, validated like input';

CREATE FUNCTION text(gln) RETURNS text
  AS 'MODULE_PATHNAME', 'gln_to_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION text(gln) IS 'cast gln to text: the canonical zero-padded digits';

CREATE FUNCTION gln(bigint) RETURNS gln
  AS 'MODULE_PATHNAME', 'gln_from_int8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION gln(bigint) IS 'cast bigint to gln: the whole number, check digit included, range and check digit verified';

CREATE FUNCTION gln_is_valid(text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'gln_is_valid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION gln_is_valid(text) IS 'true when the text is a valid gln (as input accepts it); never raises an error';

CREATE FUNCTION gln_complete(text) RETURNS gln
  AS 'MODULE_PATHNAME', 'gln_complete' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION gln_complete(text) IS 'the gln made by appending the GS1 check digit to a body of 12 digits';

CREATE FUNCTION sscc(text) RETURNS sscc
  AS 'MODULE_PATHNAME', 'sscc_from_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sscc(text) IS 'cast text to sscc, validated like input';

CREATE FUNCTION text(sscc) RETURNS text
  AS 'MODULE_PATHNAME', 'sscc_to_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION text(sscc) IS 'cast sscc to text: the canonical zero-padded digits';

CREATE FUNCTION sscc(bigint) RETURNS sscc
  AS 'MODULE_PATHNAME', 'sscc_from_int8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sscc(bigint) IS 'cast bigint to sscc: the whole number, check digit included, range and check digit verified';

CREATE FUNCTION sscc_is_valid(text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'sscc_is_valid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sscc_is_valid(text) IS 'true when the text is a valid sscc (as input accepts it); never raises an error';

CREATE FUNCTION sscc_complete(text) RETURNS sscc
  AS 'MODULE_PATHNAME', 'sscc_complete' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sscc_complete(text) IS 'the sscc made by appending the GS1 check digit to a body of 17 digits';

CREATE FUNCTION sscc_extension_digit(sscc) RETURNS integer
  AS 'MODULE_PATHNAME', 'sscc_extension_digit' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sscc_extension_digit(sscc) IS 'the extension digit: first of the 18 digits';

-- ---------------------------------------------------------------------------------------
-- Comparison wrappers
-- ---------------------------------------------------------------------------------------

-- Comparison and hashing are bigint's own functions: the stored value is a bigint whose
-- order is the order of the zero-padded digits.
CREATE FUNCTION gtin_eq(gtin, gtin) RETURNS boolean
  AS 'int8eq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gtin_ne(gtin, gtin) RETURNS boolean
  AS 'int8ne' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gtin_lt(gtin, gtin) RETURNS boolean
  AS 'int8lt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gtin_le(gtin, gtin) RETURNS boolean
  AS 'int8le' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gtin_gt(gtin, gtin) RETURNS boolean
  AS 'int8gt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gtin_ge(gtin, gtin) RETURNS boolean
  AS 'int8ge' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gtin_cmp(gtin, gtin) RETURNS integer
  AS 'btint8cmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gtin_hash(gtin) RETURNS integer
  AS 'hashint8' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gtin_hash_extended(gtin, bigint) RETURNS bigint
  AS 'hashint8extended' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION gtin_eq(gtin, gtin) IS 'implementation of = for gtin';
COMMENT ON FUNCTION gtin_ne(gtin, gtin) IS 'implementation of <> for gtin';
COMMENT ON FUNCTION gtin_lt(gtin, gtin) IS 'implementation of < for gtin';
COMMENT ON FUNCTION gtin_le(gtin, gtin) IS 'implementation of <= for gtin';
COMMENT ON FUNCTION gtin_gt(gtin, gtin) IS 'implementation of > for gtin';
COMMENT ON FUNCTION gtin_ge(gtin, gtin) IS 'implementation of >= for gtin';
COMMENT ON FUNCTION gtin_cmp(gtin, gtin) IS 'btree comparison for gtin: -1, 0 or 1';
COMMENT ON FUNCTION gtin_hash(gtin) IS 'hash of a gtin (equal to the hash of its bigint value)';
COMMENT ON FUNCTION gtin_hash_extended(gtin, bigint) IS 'seeded 64-bit hash of a gtin';

-- Comparison and hashing are bigint's own functions: the stored value is a bigint whose
-- order is the order of the zero-padded digits.
CREATE FUNCTION gln_eq(gln, gln) RETURNS boolean
  AS 'int8eq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gln_ne(gln, gln) RETURNS boolean
  AS 'int8ne' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gln_lt(gln, gln) RETURNS boolean
  AS 'int8lt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gln_le(gln, gln) RETURNS boolean
  AS 'int8le' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gln_gt(gln, gln) RETURNS boolean
  AS 'int8gt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gln_ge(gln, gln) RETURNS boolean
  AS 'int8ge' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gln_cmp(gln, gln) RETURNS integer
  AS 'btint8cmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gln_hash(gln) RETURNS integer
  AS 'hashint8' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gln_hash_extended(gln, bigint) RETURNS bigint
  AS 'hashint8extended' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION gln_eq(gln, gln) IS 'implementation of = for gln';
COMMENT ON FUNCTION gln_ne(gln, gln) IS 'implementation of <> for gln';
COMMENT ON FUNCTION gln_lt(gln, gln) IS 'implementation of < for gln';
COMMENT ON FUNCTION gln_le(gln, gln) IS 'implementation of <= for gln';
COMMENT ON FUNCTION gln_gt(gln, gln) IS 'implementation of > for gln';
COMMENT ON FUNCTION gln_ge(gln, gln) IS 'implementation of >= for gln';
COMMENT ON FUNCTION gln_cmp(gln, gln) IS 'btree comparison for gln: -1, 0 or 1';
COMMENT ON FUNCTION gln_hash(gln) IS 'hash of a gln (equal to the hash of its bigint value)';
COMMENT ON FUNCTION gln_hash_extended(gln, bigint) IS 'seeded 64-bit hash of a gln';

-- Comparison and hashing are bigint's own functions: the stored value is a bigint whose
-- order is the order of the zero-padded digits.
CREATE FUNCTION sscc_eq(sscc, sscc) RETURNS boolean
  AS 'int8eq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION sscc_ne(sscc, sscc) RETURNS boolean
  AS 'int8ne' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION sscc_lt(sscc, sscc) RETURNS boolean
  AS 'int8lt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION sscc_le(sscc, sscc) RETURNS boolean
  AS 'int8le' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION sscc_gt(sscc, sscc) RETURNS boolean
  AS 'int8gt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION sscc_ge(sscc, sscc) RETURNS boolean
  AS 'int8ge' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION sscc_cmp(sscc, sscc) RETURNS integer
  AS 'btint8cmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION sscc_hash(sscc) RETURNS integer
  AS 'hashint8' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION sscc_hash_extended(sscc, bigint) RETURNS bigint
  AS 'hashint8extended' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sscc_eq(sscc, sscc) IS 'implementation of = for sscc';
COMMENT ON FUNCTION sscc_ne(sscc, sscc) IS 'implementation of <> for sscc';
COMMENT ON FUNCTION sscc_lt(sscc, sscc) IS 'implementation of < for sscc';
COMMENT ON FUNCTION sscc_le(sscc, sscc) IS 'implementation of <= for sscc';
COMMENT ON FUNCTION sscc_gt(sscc, sscc) IS 'implementation of > for sscc';
COMMENT ON FUNCTION sscc_ge(sscc, sscc) IS 'implementation of >= for sscc';
COMMENT ON FUNCTION sscc_cmp(sscc, sscc) IS 'btree comparison for sscc: -1, 0 or 1';
COMMENT ON FUNCTION sscc_hash(sscc) IS 'hash of a sscc (equal to the hash of its bigint value)';
COMMENT ON FUNCTION sscc_hash_extended(sscc, bigint) IS 'seeded 64-bit hash of a sscc';

-- ---------------------------------------------------------------------------------------
-- Casts: text both ways as assignment casts; bigint both ways explicit only.
-- ---------------------------------------------------------------------------------------

CREATE CAST (text AS gtin) WITH FUNCTION gtin(text) AS ASSIGNMENT;
CREATE CAST (gtin AS text) WITH FUNCTION text(gtin) AS ASSIGNMENT;
CREATE CAST (bigint AS gtin) WITH FUNCTION gtin(bigint);
-- Same bits: a gtin is the bigint its digits spell.
CREATE CAST (gtin AS bigint) WITHOUT FUNCTION;
COMMENT ON CAST (text AS gtin) IS 'validated like gtin input (assignment cast)';
COMMENT ON CAST (gtin AS text) IS 'the canonical zero-padded digits (assignment cast)';
COMMENT ON CAST (bigint AS gtin) IS 'explicit: the whole number, check digit included; 22003 out of range, 22P02 bad check digit';
COMMENT ON CAST (gtin AS bigint) IS 'explicit: the number the digits spell, check digit included';

CREATE CAST (text AS gln) WITH FUNCTION gln(text) AS ASSIGNMENT;
CREATE CAST (gln AS text) WITH FUNCTION text(gln) AS ASSIGNMENT;
CREATE CAST (bigint AS gln) WITH FUNCTION gln(bigint);
-- Same bits: a gln is the bigint its digits spell.
CREATE CAST (gln AS bigint) WITHOUT FUNCTION;
COMMENT ON CAST (text AS gln) IS 'validated like gln input (assignment cast)';
COMMENT ON CAST (gln AS text) IS 'the canonical zero-padded digits (assignment cast)';
COMMENT ON CAST (bigint AS gln) IS 'explicit: the whole number, check digit included; 22003 out of range, 22P02 bad check digit';
COMMENT ON CAST (gln AS bigint) IS 'explicit: the number the digits spell, check digit included';

CREATE CAST (text AS sscc) WITH FUNCTION sscc(text) AS ASSIGNMENT;
CREATE CAST (sscc AS text) WITH FUNCTION text(sscc) AS ASSIGNMENT;
CREATE CAST (bigint AS sscc) WITH FUNCTION sscc(bigint);
-- Same bits: a sscc is the bigint its digits spell.
CREATE CAST (sscc AS bigint) WITHOUT FUNCTION;
COMMENT ON CAST (text AS sscc) IS 'validated like sscc input (assignment cast)';
COMMENT ON CAST (sscc AS text) IS 'the canonical zero-padded digits (assignment cast)';
COMMENT ON CAST (bigint AS sscc) IS 'explicit: the whole number, check digit included; 22003 out of range, 22P02 bad check digit';
COMMENT ON CAST (sscc AS bigint) IS 'explicit: the number the digits spell, check digit included';

-- ---------------------------------------------------------------------------------------
-- Operators
-- ---------------------------------------------------------------------------------------

CREATE OPERATOR = (
  LEFTARG = gtin, RIGHTARG = gtin, FUNCTION = gtin_eq,
  COMMUTATOR = =, NEGATOR = <>,
  RESTRICT = eqsel, JOIN = eqjoinsel, MERGES, HASHES
);
CREATE OPERATOR <> (
  LEFTARG = gtin, RIGHTARG = gtin, FUNCTION = gtin_ne,
  COMMUTATOR = <>, NEGATOR = =,
  RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR < (
  LEFTARG = gtin, RIGHTARG = gtin, FUNCTION = gtin_lt,
  COMMUTATOR = >, NEGATOR = >=,
  RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR <= (
  LEFTARG = gtin, RIGHTARG = gtin, FUNCTION = gtin_le,
  COMMUTATOR = >=, NEGATOR = >,
  RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR > (
  LEFTARG = gtin, RIGHTARG = gtin, FUNCTION = gtin_gt,
  COMMUTATOR = <, NEGATOR = <=,
  RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR >= (
  LEFTARG = gtin, RIGHTARG = gtin, FUNCTION = gtin_ge,
  COMMUTATOR = <=, NEGATOR = <,
  RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR = (gtin, gtin) IS 'equal';
COMMENT ON OPERATOR <> (gtin, gtin) IS 'not equal';
COMMENT ON OPERATOR < (gtin, gtin) IS 'less than (order of the zero-padded digits)';
COMMENT ON OPERATOR <= (gtin, gtin) IS 'less than or equal';
COMMENT ON OPERATOR > (gtin, gtin) IS 'greater than';
COMMENT ON OPERATOR >= (gtin, gtin) IS 'greater than or equal';

CREATE OPERATOR = (
  LEFTARG = gln, RIGHTARG = gln, FUNCTION = gln_eq,
  COMMUTATOR = =, NEGATOR = <>,
  RESTRICT = eqsel, JOIN = eqjoinsel, MERGES, HASHES
);
CREATE OPERATOR <> (
  LEFTARG = gln, RIGHTARG = gln, FUNCTION = gln_ne,
  COMMUTATOR = <>, NEGATOR = =,
  RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR < (
  LEFTARG = gln, RIGHTARG = gln, FUNCTION = gln_lt,
  COMMUTATOR = >, NEGATOR = >=,
  RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR <= (
  LEFTARG = gln, RIGHTARG = gln, FUNCTION = gln_le,
  COMMUTATOR = >=, NEGATOR = >,
  RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR > (
  LEFTARG = gln, RIGHTARG = gln, FUNCTION = gln_gt,
  COMMUTATOR = <, NEGATOR = <=,
  RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR >= (
  LEFTARG = gln, RIGHTARG = gln, FUNCTION = gln_ge,
  COMMUTATOR = <=, NEGATOR = <,
  RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR = (gln, gln) IS 'equal';
COMMENT ON OPERATOR <> (gln, gln) IS 'not equal';
COMMENT ON OPERATOR < (gln, gln) IS 'less than (order of the zero-padded digits)';
COMMENT ON OPERATOR <= (gln, gln) IS 'less than or equal';
COMMENT ON OPERATOR > (gln, gln) IS 'greater than';
COMMENT ON OPERATOR >= (gln, gln) IS 'greater than or equal';

CREATE OPERATOR = (
  LEFTARG = sscc, RIGHTARG = sscc, FUNCTION = sscc_eq,
  COMMUTATOR = =, NEGATOR = <>,
  RESTRICT = eqsel, JOIN = eqjoinsel, MERGES, HASHES
);
CREATE OPERATOR <> (
  LEFTARG = sscc, RIGHTARG = sscc, FUNCTION = sscc_ne,
  COMMUTATOR = <>, NEGATOR = =,
  RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR < (
  LEFTARG = sscc, RIGHTARG = sscc, FUNCTION = sscc_lt,
  COMMUTATOR = >, NEGATOR = >=,
  RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR <= (
  LEFTARG = sscc, RIGHTARG = sscc, FUNCTION = sscc_le,
  COMMUTATOR = >=, NEGATOR = >,
  RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR > (
  LEFTARG = sscc, RIGHTARG = sscc, FUNCTION = sscc_gt,
  COMMUTATOR = <, NEGATOR = <=,
  RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR >= (
  LEFTARG = sscc, RIGHTARG = sscc, FUNCTION = sscc_ge,
  COMMUTATOR = <=, NEGATOR = <,
  RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR = (sscc, sscc) IS 'equal';
COMMENT ON OPERATOR <> (sscc, sscc) IS 'not equal';
COMMENT ON OPERATOR < (sscc, sscc) IS 'less than (order of the zero-padded digits)';
COMMENT ON OPERATOR <= (sscc, sscc) IS 'less than or equal';
COMMENT ON OPERATOR > (sscc, sscc) IS 'greater than';
COMMENT ON OPERATOR >= (sscc, sscc) IS 'greater than or equal';

-- ---------------------------------------------------------------------------------------
-- Operator classes
-- ---------------------------------------------------------------------------------------

-- Sort support and equalimage come from bigint too: fast in-memory sorting, and
-- B-tree deduplication (equal gtin values are bitwise equal).
CREATE OPERATOR CLASS gtin_ops
  DEFAULT FOR TYPE gtin USING btree AS
    OPERATOR 1 <,
    OPERATOR 2 <=,
    OPERATOR 3 =,
    OPERATOR 4 >=,
    OPERATOR 5 >,
    FUNCTION 1 gtin_cmp(gtin, gtin),
    FUNCTION 2 pg_catalog.btint8sortsupport(internal),
    FUNCTION 4 pg_catalog.btequalimage(oid);
COMMENT ON OPERATOR CLASS gtin_ops USING btree IS 'default btree operator class for gtin';
COMMENT ON OPERATOR FAMILY gtin_ops USING btree IS 'btree operator family for gtin';

CREATE OPERATOR CLASS gtin_ops
  DEFAULT FOR TYPE gtin USING hash AS
    OPERATOR 1 =,
    FUNCTION 1 gtin_hash(gtin),
    FUNCTION 2 gtin_hash_extended(gtin, bigint);
COMMENT ON OPERATOR CLASS gtin_ops USING hash IS 'default hash operator class for gtin';
COMMENT ON OPERATOR FAMILY gtin_ops USING hash IS 'hash operator family for gtin';

-- Sort support and equalimage come from bigint too: fast in-memory sorting, and
-- B-tree deduplication (equal gln values are bitwise equal).
CREATE OPERATOR CLASS gln_ops
  DEFAULT FOR TYPE gln USING btree AS
    OPERATOR 1 <,
    OPERATOR 2 <=,
    OPERATOR 3 =,
    OPERATOR 4 >=,
    OPERATOR 5 >,
    FUNCTION 1 gln_cmp(gln, gln),
    FUNCTION 2 pg_catalog.btint8sortsupport(internal),
    FUNCTION 4 pg_catalog.btequalimage(oid);
COMMENT ON OPERATOR CLASS gln_ops USING btree IS 'default btree operator class for gln';
COMMENT ON OPERATOR FAMILY gln_ops USING btree IS 'btree operator family for gln';

CREATE OPERATOR CLASS gln_ops
  DEFAULT FOR TYPE gln USING hash AS
    OPERATOR 1 =,
    FUNCTION 1 gln_hash(gln),
    FUNCTION 2 gln_hash_extended(gln, bigint);
COMMENT ON OPERATOR CLASS gln_ops USING hash IS 'default hash operator class for gln';
COMMENT ON OPERATOR FAMILY gln_ops USING hash IS 'hash operator family for gln';

-- Sort support and equalimage come from bigint too: fast in-memory sorting, and
-- B-tree deduplication (equal sscc values are bitwise equal).
CREATE OPERATOR CLASS sscc_ops
  DEFAULT FOR TYPE sscc USING btree AS
    OPERATOR 1 <,
    OPERATOR 2 <=,
    OPERATOR 3 =,
    OPERATOR 4 >=,
    OPERATOR 5 >,
    FUNCTION 1 sscc_cmp(sscc, sscc),
    FUNCTION 2 pg_catalog.btint8sortsupport(internal),
    FUNCTION 4 pg_catalog.btequalimage(oid);
COMMENT ON OPERATOR CLASS sscc_ops USING btree IS 'default btree operator class for sscc';
COMMENT ON OPERATOR FAMILY sscc_ops USING btree IS 'btree operator family for sscc';

CREATE OPERATOR CLASS sscc_ops
  DEFAULT FOR TYPE sscc USING hash AS
    OPERATOR 1 =,
    FUNCTION 1 sscc_hash(sscc),
    FUNCTION 2 sscc_hash_extended(sscc, bigint);
COMMENT ON OPERATOR CLASS sscc_ops USING hash IS 'default hash operator class for sscc';
COMMENT ON OPERATOR FAMILY sscc_ops USING hash IS 'hash operator family for sscc';
-- GS1 lot and serial numbers (src/gs1_text.c).

-- lot_number: GS1 AI (10) batch/lot number
CREATE TYPE lot_number;
CREATE FUNCTION lot_number_in(cstring) RETURNS lot_number AS 'MODULE_PATHNAME', 'lot_number_in'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lot_number_in(cstring) IS 'lot_number input: 1 to 20 characters of GS1 set 82';
CREATE FUNCTION lot_number_out(lot_number) RETURNS cstring AS 'MODULE_PATHNAME', 'lot_number_out'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lot_number_out(lot_number) IS 'lot_number output';
CREATE FUNCTION lot_number_recv(internal) RETURNS lot_number AS 'MODULE_PATHNAME', 'lot_number_recv'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lot_number_recv(internal) IS 'lot_number binary input (validated)';
CREATE FUNCTION lot_number_send(lot_number) RETURNS bytea AS 'MODULE_PATHNAME', 'lot_number_send'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lot_number_send(lot_number) IS 'lot_number binary output';
CREATE TYPE lot_number (
  INPUT = lot_number_in, OUTPUT = lot_number_out, RECEIVE = lot_number_recv, SEND = lot_number_send,
  INTERNALLENGTH = VARIABLE, STORAGE = plain, CATEGORY = 'S', COLLATABLE = false
);
COMMENT ON TYPE lot_number IS 'GS1 AI (10) batch/lot number: 1 to 20 characters of GS1 character set 82, case-sensitive, ordered byte-wise';

CREATE FUNCTION lot_number_is_valid(text) RETURNS boolean AS 'MODULE_PATHNAME', 'lot_number_is_valid'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lot_number_is_valid(text) IS 'true when the text is a valid lot_number (never raises)';
CREATE FUNCTION lot_number(text) RETURNS lot_number AS 'MODULE_PATHNAME', 'lot_number_from_text'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lot_number(text) IS 'validated conversion from text';

-- byte-wise comparison and hashing: bytea's functions work on the same varlena bytes
CREATE FUNCTION lot_number_eq(lot_number, lot_number) RETURNS boolean AS 'byteaeq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION lot_number_ne(lot_number, lot_number) RETURNS boolean AS 'byteane' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION lot_number_lt(lot_number, lot_number) RETURNS boolean AS 'bytealt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION lot_number_le(lot_number, lot_number) RETURNS boolean AS 'byteale' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION lot_number_gt(lot_number, lot_number) RETURNS boolean AS 'byteagt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION lot_number_ge(lot_number, lot_number) RETURNS boolean AS 'byteage' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION lot_number_cmp(lot_number, lot_number) RETURNS integer AS 'byteacmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION lot_number_hash(lot_number) RETURNS integer AS 'hashvarlena' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lot_number_hash_extended(lot_number, bigint) RETURNS bigint AS 'hashvarlenaextended' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lot_number_eq(lot_number, lot_number) IS 'equal';
COMMENT ON FUNCTION lot_number_ne(lot_number, lot_number) IS 'not equal';
COMMENT ON FUNCTION lot_number_lt(lot_number, lot_number) IS 'less than (byte-wise)';
COMMENT ON FUNCTION lot_number_le(lot_number, lot_number) IS 'less than or equal (byte-wise)';
COMMENT ON FUNCTION lot_number_gt(lot_number, lot_number) IS 'greater than (byte-wise)';
COMMENT ON FUNCTION lot_number_ge(lot_number, lot_number) IS 'greater than or equal (byte-wise)';
COMMENT ON FUNCTION lot_number_cmp(lot_number, lot_number) IS 'btree comparison (byte-wise)';
COMMENT ON FUNCTION lot_number_hash(lot_number) IS 'hash';
COMMENT ON FUNCTION lot_number_hash_extended(lot_number, bigint) IS 'extended hash';

CREATE CAST (text AS lot_number) WITH FUNCTION lot_number(text) AS ASSIGNMENT;
COMMENT ON CAST (text AS lot_number) IS 'validated';
CREATE CAST (lot_number AS text) WITHOUT FUNCTION AS IMPLICIT;
COMMENT ON CAST (lot_number AS text) IS 'the characters as text';
CREATE CAST (varchar AS lot_number) WITH FUNCTION lot_number(text) AS ASSIGNMENT;
COMMENT ON CAST (varchar AS lot_number) IS 'validated';

CREATE OPERATOR = (LEFTARG = lot_number, RIGHTARG = lot_number, FUNCTION = lot_number_eq, COMMUTATOR = =, NEGATOR = <>,
  RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = lot_number, RIGHTARG = lot_number, FUNCTION = lot_number_ne, COMMUTATOR = <>, NEGATOR = =,
  RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = lot_number, RIGHTARG = lot_number, FUNCTION = lot_number_lt, COMMUTATOR = >, NEGATOR = >=,
  RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = lot_number, RIGHTARG = lot_number, FUNCTION = lot_number_le, COMMUTATOR = >=, NEGATOR = >,
  RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = lot_number, RIGHTARG = lot_number, FUNCTION = lot_number_gt, COMMUTATOR = <, NEGATOR = <=,
  RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = lot_number, RIGHTARG = lot_number, FUNCTION = lot_number_ge, COMMUTATOR = <=, NEGATOR = <,
  RESTRICT = scalargesel, JOIN = scalargejoinsel);
COMMENT ON OPERATOR = (lot_number, lot_number) IS 'equal';
COMMENT ON OPERATOR <> (lot_number, lot_number) IS 'not equal';
COMMENT ON OPERATOR < (lot_number, lot_number) IS 'less than';
COMMENT ON OPERATOR <= (lot_number, lot_number) IS 'less than or equal';
COMMENT ON OPERATOR > (lot_number, lot_number) IS 'greater than';
COMMENT ON OPERATOR >= (lot_number, lot_number) IS 'greater than or equal';

CREATE OPERATOR CLASS lot_number_ops DEFAULT FOR TYPE lot_number USING btree AS
  OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
  FUNCTION 1 lot_number_cmp(lot_number, lot_number);
COMMENT ON OPERATOR CLASS lot_number_ops USING btree IS 'byte-wise order';
CREATE OPERATOR CLASS lot_number_hash_ops DEFAULT FOR TYPE lot_number USING hash AS
  OPERATOR 1 =, FUNCTION 1 lot_number_hash(lot_number), FUNCTION 2 lot_number_hash_extended(lot_number, bigint);
COMMENT ON OPERATOR CLASS lot_number_hash_ops USING hash IS 'hash of the characters';

-- serial_number: GS1 AI (21) serial number
CREATE TYPE serial_number;
CREATE FUNCTION serial_number_in(cstring) RETURNS serial_number AS 'MODULE_PATHNAME', 'serial_number_in'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION serial_number_in(cstring) IS 'serial_number input: 1 to 20 characters of GS1 set 82';
CREATE FUNCTION serial_number_out(serial_number) RETURNS cstring AS 'MODULE_PATHNAME', 'serial_number_out'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION serial_number_out(serial_number) IS 'serial_number output';
CREATE FUNCTION serial_number_recv(internal) RETURNS serial_number AS 'MODULE_PATHNAME', 'serial_number_recv'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION serial_number_recv(internal) IS 'serial_number binary input (validated)';
CREATE FUNCTION serial_number_send(serial_number) RETURNS bytea AS 'MODULE_PATHNAME', 'serial_number_send'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION serial_number_send(serial_number) IS 'serial_number binary output';
CREATE TYPE serial_number (
  INPUT = serial_number_in, OUTPUT = serial_number_out, RECEIVE = serial_number_recv, SEND = serial_number_send,
  INTERNALLENGTH = VARIABLE, STORAGE = plain, CATEGORY = 'S', COLLATABLE = false
);
COMMENT ON TYPE serial_number IS 'GS1 AI (21) serial number: 1 to 20 characters of GS1 character set 82, case-sensitive, ordered byte-wise';

CREATE FUNCTION serial_number_is_valid(text) RETURNS boolean AS 'MODULE_PATHNAME', 'serial_number_is_valid'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION serial_number_is_valid(text) IS 'true when the text is a valid serial_number (never raises)';
CREATE FUNCTION serial_number(text) RETURNS serial_number AS 'MODULE_PATHNAME', 'serial_number_from_text'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION serial_number(text) IS 'validated conversion from text';

-- byte-wise comparison and hashing: bytea's functions work on the same varlena bytes
CREATE FUNCTION serial_number_eq(serial_number, serial_number) RETURNS boolean AS 'byteaeq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION serial_number_ne(serial_number, serial_number) RETURNS boolean AS 'byteane' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION serial_number_lt(serial_number, serial_number) RETURNS boolean AS 'bytealt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION serial_number_le(serial_number, serial_number) RETURNS boolean AS 'byteale' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION serial_number_gt(serial_number, serial_number) RETURNS boolean AS 'byteagt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION serial_number_ge(serial_number, serial_number) RETURNS boolean AS 'byteage' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION serial_number_cmp(serial_number, serial_number) RETURNS integer AS 'byteacmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION serial_number_hash(serial_number) RETURNS integer AS 'hashvarlena' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION serial_number_hash_extended(serial_number, bigint) RETURNS bigint AS 'hashvarlenaextended' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION serial_number_eq(serial_number, serial_number) IS 'equal';
COMMENT ON FUNCTION serial_number_ne(serial_number, serial_number) IS 'not equal';
COMMENT ON FUNCTION serial_number_lt(serial_number, serial_number) IS 'less than (byte-wise)';
COMMENT ON FUNCTION serial_number_le(serial_number, serial_number) IS 'less than or equal (byte-wise)';
COMMENT ON FUNCTION serial_number_gt(serial_number, serial_number) IS 'greater than (byte-wise)';
COMMENT ON FUNCTION serial_number_ge(serial_number, serial_number) IS 'greater than or equal (byte-wise)';
COMMENT ON FUNCTION serial_number_cmp(serial_number, serial_number) IS 'btree comparison (byte-wise)';
COMMENT ON FUNCTION serial_number_hash(serial_number) IS 'hash';
COMMENT ON FUNCTION serial_number_hash_extended(serial_number, bigint) IS 'extended hash';

CREATE CAST (text AS serial_number) WITH FUNCTION serial_number(text) AS ASSIGNMENT;
COMMENT ON CAST (text AS serial_number) IS 'validated';
CREATE CAST (serial_number AS text) WITHOUT FUNCTION AS IMPLICIT;
COMMENT ON CAST (serial_number AS text) IS 'the characters as text';
CREATE CAST (varchar AS serial_number) WITH FUNCTION serial_number(text) AS ASSIGNMENT;
COMMENT ON CAST (varchar AS serial_number) IS 'validated';

CREATE OPERATOR = (LEFTARG = serial_number, RIGHTARG = serial_number, FUNCTION = serial_number_eq, COMMUTATOR = =, NEGATOR = <>,
  RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = serial_number, RIGHTARG = serial_number, FUNCTION = serial_number_ne, COMMUTATOR = <>, NEGATOR = =,
  RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = serial_number, RIGHTARG = serial_number, FUNCTION = serial_number_lt, COMMUTATOR = >, NEGATOR = >=,
  RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = serial_number, RIGHTARG = serial_number, FUNCTION = serial_number_le, COMMUTATOR = >=, NEGATOR = >,
  RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = serial_number, RIGHTARG = serial_number, FUNCTION = serial_number_gt, COMMUTATOR = <, NEGATOR = <=,
  RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = serial_number, RIGHTARG = serial_number, FUNCTION = serial_number_ge, COMMUTATOR = <=, NEGATOR = <,
  RESTRICT = scalargesel, JOIN = scalargejoinsel);
COMMENT ON OPERATOR = (serial_number, serial_number) IS 'equal';
COMMENT ON OPERATOR <> (serial_number, serial_number) IS 'not equal';
COMMENT ON OPERATOR < (serial_number, serial_number) IS 'less than';
COMMENT ON OPERATOR <= (serial_number, serial_number) IS 'less than or equal';
COMMENT ON OPERATOR > (serial_number, serial_number) IS 'greater than';
COMMENT ON OPERATOR >= (serial_number, serial_number) IS 'greater than or equal';

CREATE OPERATOR CLASS serial_number_ops DEFAULT FOR TYPE serial_number USING btree AS
  OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
  FUNCTION 1 serial_number_cmp(serial_number, serial_number);
COMMENT ON OPERATOR CLASS serial_number_ops USING btree IS 'byte-wise order';
CREATE OPERATOR CLASS serial_number_hash_ops DEFAULT FOR TYPE serial_number USING hash AS
  OPERATOR 1 =, FUNCTION 1 serial_number_hash(serial_number), FUNCTION 2 serial_number_hash_extended(serial_number, bigint);
COMMENT ON OPERATOR CLASS serial_number_hash_ops USING hash IS 'hash of the characters';
-- GS1 element strings (src/gs1_parse.c).
CREATE TYPE gs1_element_string AS (
    sscc            sscc,           -- AI 00
    gtin            gtin,           -- AI 01
    content_gtin    gtin,           -- AI 02
    lot             lot_number,     -- AI 10
    production_date date,           -- AI 11
    packaging_date  date,           -- AI 13
    best_before     date,           -- AI 15
    sell_by         date,           -- AI 16
    expiry          date,           -- AI 17
    variant         text,           -- AI 20
    serial          serial_number,  -- AI 21
    variable_count  bigint,         -- AI 30
    count           bigint,         -- AI 37
    ship_to_gln     gln,            -- AI 410
    location_gln    gln             -- AI 414
);
COMMENT ON TYPE gs1_element_string IS 'The fields of a scanned GS1 element string, typed (NULL where the AI is absent)';

CREATE FUNCTION gs1_parse(text) RETURNS gs1_element_string
    AS 'MODULE_PATHNAME', 'gs1_parse' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION gs1_parse(text) IS
  'Parses a GS1-128/DataMatrix/QR element string, bracketed or raw (FNC1 = ASCII 29, optional ]C1 ]d2 ]Q3 ]e0); two-digit years by the GS1 century rule around the current date';

CREATE FUNCTION gs1_parse(text, date) RETURNS gs1_element_string
    AS 'MODULE_PATHNAME', 'gs1_parse_as_of' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION gs1_parse(text, date) IS
  'gs1_parse with two-digit years placed by the GS1 century rule around the given reference date';
-- ---------------------------------------------------------------------------
-- Master data: units, items, packs, locations, buckets, sources, ownership.
--
-- Items are keyed by their GTIN and locations by their GLN: both are 8-byte
-- pass-by-value types, as cheap as a bigint surrogate and meaningful to every
-- system that talks to us.
-- ---------------------------------------------------------------------------

CREATE TABLE unit (
    unit          text PRIMARY KEY CHECK (unit ~ '^[A-Za-z0-9_]{1,16}$'),
    name          text NOT NULL,
    whole_numbers boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE unit IS 'Units of measure (UN/ECE rec. 20 codes are a good choice: EA, KGM, LTR, CS); whole_numbers refuses fractional quantities';
COMMENT ON COLUMN unit.unit IS 'Unit code, e.g. EA, KGM';
COMMENT ON COLUMN unit.whole_numbers IS 'true when quantities in this unit must be integral (pieces, cases)';

INSERT INTO unit VALUES
  ('EA',  'each', true),
  ('KGM', 'kilogram', false),
  ('LTR', 'litre', false),
  ('MTR', 'metre', false);

CREATE TABLE item (
    gtin            gtin PRIMARY KEY,
    name            text NOT NULL,
    base_unit       text NOT NULL DEFAULT 'EA' REFERENCES unit,
    lot_tracked     boolean NOT NULL DEFAULT false,
    serial_tracked  boolean NOT NULL DEFAULT false,
    shelf_life_days integer CHECK (shelf_life_days > 0),
    created_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE item IS 'Items (trade items at their base unit), keyed by GTIN';
COMMENT ON COLUMN item.base_unit IS 'Unit in which balances and ledger base quantities are kept';
COMMENT ON COLUMN item.lot_tracked IS 'Postings must name a lot (GS1 AI 10)';
COMMENT ON COLUMN item.serial_tracked IS 'Postings must name a serial (GS1 AI 21) and move exactly one base unit';
COMMENT ON COLUMN item.shelf_life_days IS 'Nominal shelf life; a lot without an explicit expiry gets production date + shelf life';

CREATE TABLE item_pack (
    pack_gtin  gtin PRIMARY KEY,
    item_gtin  gtin NOT NULL REFERENCES item,
    quantity   numeric NOT NULL CHECK (quantity > 0),
    name       text
);
COMMENT ON TABLE item_pack IS 'Pack GTINs (cases, pallets, GTIN-14 with an indicator digit) and how many base units each holds';
COMMENT ON COLUMN item_pack.quantity IS 'Base units of item_gtin in one pack';

CREATE TABLE item_unit (
    item_gtin gtin NOT NULL REFERENCES item,
    unit      text NOT NULL REFERENCES unit,
    factor    numeric NOT NULL CHECK (factor > 0),
    PRIMARY KEY (item_gtin, unit)
);
COMMENT ON TABLE item_unit IS 'Unit conversions per item: one <unit> is <factor> base units';

CREATE TYPE location_kind AS ENUM ('warehouse', 'store', 'plant', 'supplier', 'in_transit', 'customer');
COMMENT ON TYPE location_kind IS 'What a location is; in_transit locations hold stock moving between two others';

CREATE TABLE location (
    gln               gln PRIMARY KEY,
    name              text NOT NULL,
    kind              location_kind NOT NULL,
    latitude          double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude         double precision CHECK (longitude BETWEEN -180 AND 180),
    strict            boolean NOT NULL DEFAULT false,
    enforce_ownership boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE location IS 'Locations (warehouses, stores, plants, suppliers, in-transit), keyed by GLN';
COMMENT ON COLUMN location.strict IS 'Refuse postings that would drive a balance negative (default: record them and raise an exception)';
COMMENT ON COLUMN location.enforce_ownership IS 'Refuse postings from a source that is not the declared system of record for the location and bucket';

CREATE TABLE bucket (
    bucket      text PRIMARY KEY CHECK (bucket ~ '^[a-z][a-z0-9_]{0,31}$'),
    sellable    boolean NOT NULL DEFAULT false,
    description text NOT NULL
);
COMMENT ON TABLE bucket IS 'Stock status buckets; only sellable buckets count toward available-to-promise';
COMMENT ON COLUMN bucket.sellable IS 'Stock in this bucket may be promised';

INSERT INTO bucket VALUES
  ('receiving',  false, 'Received, not yet inspected or put away'),
  ('qa_hold',    false, 'Held for quality inspection or laboratory release'),
  ('quarantine', false, 'Isolated pending investigation'),
  ('released',   true,  'Released: available for sale and fulfilment'),
  ('damaged',    false, 'Damaged, awaiting disposition'),
  ('blocked',    false, 'Blocked by a recall, legal hold or other reason');

CREATE TABLE reason_code (
    reason      text PRIMARY KEY,
    description text NOT NULL
);
COMMENT ON TABLE reason_code IS 'Reason codes for adjustments and corrections';
INSERT INTO reason_code VALUES
  ('shrink',     'Unexplained loss (theft, miscount)'),
  ('damage',     'Damaged in handling'),
  ('expired',    'Expired and written off'),
  ('found',      'Found stock'),
  ('correction', 'Counter-posting correcting an earlier posting'),
  ('sample',     'Taken as a sample (quality, marketing)'),
  ('count',      'Physical count or snapshot reset');

CREATE TABLE source (
    source      text PRIMARY KEY CHECK (source ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    name        text NOT NULL,
    kind        text NOT NULL DEFAULT 'other'
                CHECK (kind IN ('erp', 'wms', 'pos', 'oms', 'mes', 'lims', 'store', 'ecommerce', 'marketplace', 'other')),
    role        name NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE source IS 'Source systems that post facts; each is bound to the database role allowed to post as it';
COMMENT ON COLUMN source.role IS 'Database role (or a role it is a member of) that may post as this source';

CREATE TABLE ownership (
    location gln NOT NULL REFERENCES location,
    bucket   text REFERENCES bucket,
    source   text NOT NULL REFERENCES source,
    UNIQUE NULLS NOT DISTINCT (location, bucket)
);
COMMENT ON TABLE ownership IS 'System of record per location and bucket (bucket NULL: every bucket without its own row)';

CREATE TABLE lot (
    item_gtin       gtin NOT NULL REFERENCES item,
    lot             lot_number NOT NULL,
    production_date date,
    expiry          date,
    released_at     timestamptz,
    released_by     name,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (item_gtin, lot)
);
COMMENT ON TABLE lot IS 'Lots (batches) of lot-tracked items: expiry and quality release';
COMMENT ON COLUMN lot.expiry IS 'Expiry date (GS1 AI 17); stock of a lot past its expiry leaves ATP';
COMMENT ON COLUMN lot.released_at IS 'When the lot was released (release_lot()), everywhere at once';
-- ---------------------------------------------------------------------------
-- The ledger, balances and their after-states.
--
-- ledger          one row per fact, as the source stated it (append-only).
-- balance         (item, location, lot, bucket) -> quantity, version.
-- balance_change  one row per effect of a posting on a balance key, with the
--                 key's version and quantity after it (append-only). A posting
--                 has one effect, or two when it moves stock between buckets or
--                 locations. This is what the change feed publishes.
--
-- Why after-states live in balance_change and not in the ledger row: a batch
-- must lock its balance keys in one global order (so two batches never
-- deadlock), which is only possible once every row of the statement is known,
-- i.e. after the ledger rows are stored. The posting trigger therefore runs in
-- two steps (src/posting.c): a row trigger validates and resolves each fact, a
-- statement trigger applies them key by key in sorted order.
-- ---------------------------------------------------------------------------

CREATE TYPE posting_kind AS ENUM (
    'receipt',       -- + at location/bucket
    'issue',         -- - at location/bucket (sale, shipment to a customer)
    'transfer_out',  -- location/bucket -> to_location (an in-transit location), with eta
    'transfer_in',   -- location (in transit) -> to_location/to_bucket
    'adjustment',    -- +/- with a reason code
    'move',          -- bucket -> to_bucket at one location (QA release, quarantine, damage)
    'consumption',   -- - (manufacturing input)
    'production',    -- + (manufacturing output)
    'return',        -- + (customer return)
    'count'          -- absolute quantity as of event_time; the delta is computed
);
COMMENT ON TYPE posting_kind IS 'What a ledger posting records; decides the sign and the keys it affects';

CREATE TABLE ledger (
    posting_id        bigint GENERATED ALWAYS AS IDENTITY,
    kind              posting_kind NOT NULL,
    source            text NOT NULL,
    source_event_id   text NOT NULL CHECK (length(source_event_id) BETWEEN 1 AND 200),
    source_sequence   bigint,
    event_time        timestamptz NOT NULL DEFAULT now(),
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    gtin              gtin NOT NULL,
    item_gtin         gtin,
    location          gln NOT NULL,
    to_location       gln,
    lot               lot_number,
    serial            serial_number,
    bucket            text NOT NULL DEFAULT 'released',
    to_bucket         text,
    quantity          numeric NOT NULL,
    unit              text,
    base_quantity     numeric,
    expected_quantity numeric,
    reason            text,
    reference         text,
    eta               timestamptz,
    corrects          bigint,
    actor             name NOT NULL DEFAULT current_user,
    PRIMARY KEY (posting_id),
    UNIQUE (source, source_event_id)
);

COMMENT ON TABLE ledger IS 'Append-only stock ledger: one row per posted fact. INSERT or COPY is the write path; UPDATE, DELETE and TRUNCATE are refused';
COMMENT ON COLUMN ledger.posting_id IS 'Posting number, assigned by the ledger';
COMMENT ON COLUMN ledger.kind IS 'What the posting records (posting_kind)';
COMMENT ON COLUMN ledger.source IS 'Source system that stated the fact; the posting role must be bound to it';
COMMENT ON COLUMN ledger.source_event_id IS 'The source''s id for the event: (source, source_event_id) is unique, a replay changes nothing';
COMMENT ON COLUMN ledger.source_sequence IS 'Optional per-source sequence number; gaps and out-of-order arrivals are listed by sequence_anomaly';
COMMENT ON COLUMN ledger.event_time IS 'When it happened at the source (for counts: the watermark the count is as of)';
COMMENT ON COLUMN ledger.recorded_at IS 'When the ledger recorded it (transaction time, set by the ledger)';
COMMENT ON COLUMN ledger.gtin IS 'GTIN as posted: the item''s own GTIN or a pack GTIN';
COMMENT ON COLUMN ledger.item_gtin IS 'The base item, resolved by the ledger from gtin';
COMMENT ON COLUMN ledger.location IS 'Location the posting is at (for transfers: where the stock leaves)';
COMMENT ON COLUMN ledger.to_location IS 'transfer_out/transfer_in: where the stock goes';
COMMENT ON COLUMN ledger.bucket IS 'Status bucket (for moves and transfers: the one the stock leaves)';
COMMENT ON COLUMN ledger.to_bucket IS 'move/transfer_in: the bucket the stock enters (defaults to bucket for transfers)';
COMMENT ON COLUMN ledger.quantity IS 'Quantity as posted, in unit: positive for directional kinds, signed for adjustments, absolute for counts';
COMMENT ON COLUMN ledger.unit IS 'Unit of quantity; NULL means the base unit of the posted GTIN (a pack GTIN counts packs)';
COMMENT ON COLUMN ledger.base_quantity IS 'Signed quantity in base units at (location, bucket), computed by the ledger; for counts the absolute count in base units';
COMMENT ON COLUMN ledger.expected_quantity IS 'Compare-and-set: refuse the posting unless the balance (base units) is exactly this before it';
COMMENT ON COLUMN ledger.reason IS 'Reason code (required for adjustments)';
COMMENT ON COLUMN ledger.reference IS 'Reference document (order, ASN, work order, count sheet)';
COMMENT ON COLUMN ledger.eta IS 'transfer_out: expected arrival';
COMMENT ON COLUMN ledger.corrects IS 'posting_id of the posting this one corrects (a counter-posting)';
COMMENT ON COLUMN ledger.actor IS 'Database role that posted (set by the ledger)';


CREATE TABLE balance (
    balance_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_gtin       gtin NOT NULL,
    location        gln NOT NULL,
    lot             lot_number,
    bucket          text NOT NULL,
    quantity        numeric NOT NULL DEFAULT 0,
    version         bigint NOT NULL DEFAULT 0,
    last_posting_id bigint,
    last_count_at   timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (item_gtin, location, lot, bucket)
);
COMMENT ON TABLE balance IS 'Current quantity per (item, location, lot, bucket); maintained by the ledger only';
COMMENT ON COLUMN balance.quantity IS 'Quantity in the item''s base unit; may be negative at a non-strict location (see exception)';
COMMENT ON COLUMN balance.version IS 'Per-key version: increases by one with every change';
COMMENT ON COLUMN balance.last_count_at IS 'Watermark of the latest count; later-arriving events older than it are flagged';

CREATE TABLE balance_change (
    posting_id      bigint NOT NULL,
    balance_id      bigint NOT NULL,
    item_gtin       gtin NOT NULL,
    location        gln NOT NULL,
    lot             lot_number,
    bucket          text NOT NULL,
    delta           numeric NOT NULL,
    quantity_after  numeric NOT NULL,
    version         bigint NOT NULL,
    kind            posting_kind NOT NULL,
    source          text NOT NULL,
    source_event_id text NOT NULL,
    event_time      timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL
);
COMMENT ON TABLE balance_change IS 'After-state of every posting per balance key: delta, quantity after and version (append-only; what the feed publishes)';
COMMENT ON COLUMN balance_change.version IS 'Version of the balance key after this change';
COMMENT ON COLUMN balance_change.quantity_after IS 'Balance quantity after this change';
CREATE INDEX balance_change_balance ON balance_change (balance_id, event_time);
COMMENT ON INDEX balance_change_balance IS 'History of one balance key by event time (counts compute the balance as of a watermark from it)';
CREATE INDEX balance_change_posting ON balance_change USING brin (posting_id);
COMMENT ON INDEX balance_change_posting IS 'Find the effects of a posting (posting ids grow with insertion order)';

CREATE TYPE exception_kind AS ENUM (
    'negative_balance',  -- a fact drove a balance below zero
    'late_event',        -- an event older than the latest count of its key arrived after it
    'serial_conflict'    -- a serial fact contradicts where the serial is known to be
);
COMMENT ON TYPE exception_kind IS 'Why a recorded fact needs investigation';

CREATE TABLE exception (
    exception_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         exception_kind NOT NULL,
    posting_id   bigint NOT NULL,
    item_gtin    gtin NOT NULL,
    location     gln NOT NULL,
    lot          lot_number,
    serial       serial_number,
    bucket       text,
    detail       text NOT NULL,
    raised_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz,
    resolution   text
);
COMMENT ON TABLE exception IS 'Facts that were recorded but need investigation (negative stock, late events, serial conflicts)';
CREATE INDEX exception_open ON exception (raised_at) WHERE resolved_at IS NULL;
COMMENT ON INDEX exception_open IS 'Open exceptions';

CREATE TABLE serial_unit (
    item_gtin  gtin NOT NULL,
    serial     serial_number NOT NULL,
    location   gln,
    lot        lot_number,
    bucket     text,
    posting_id bigint NOT NULL,
    PRIMARY KEY (item_gtin, serial)
);
COMMENT ON TABLE serial_unit IS 'Where each serialised unit is (location NULL: not on hand anywhere); maintained by the ledger';
-- ---------------------------------------------------------------------------
-- The posting engine's triggers (src/posting.c, src/master_cache.c).
-- ---------------------------------------------------------------------------

CREATE FUNCTION ledger_before_insert() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ledger_before_insert' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ledger_before_insert() IS
  'Ledger row trigger: validates a posting against master data, converts it to base units, checks the source binding and ownership, skips exact replays';

-- The apply step writes balance, balance_change, exception, serial_unit and lot, which
-- posting roles cannot write themselves: it runs with the extension owner's rights.
-- It has no SET search_path (that would cost a GUC save and restore per statement): every
-- name, operator and function in its SQL is schema-qualified, so the caller's
-- search_path cannot reach into it.
CREATE FUNCTION ledger_apply() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ledger_apply' LANGUAGE C VOLATILE PARALLEL UNSAFE
    SECURITY DEFINER;
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
-- ---------------------------------------------------------------------------
-- verify(): recompute every balance from the ledger; zero rows when all agree.
-- ---------------------------------------------------------------------------
CREATE FUNCTION verify()
RETURNS TABLE (item_gtin gtin, location gln, lot lot_number, bucket text, problem text,
               balance_quantity numeric, recomputed_quantity numeric,
               balance_version bigint, recomputed_version bigint)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    -- (a) each posting's effects, derived from the ledger row alone: the key at
    --     (location, bucket) gets base_quantity, the entering key of a two-key kind its
    --     negation; a count's delta depends on history, so it is taken as recorded.
    WITH ledger_effect AS (
        SELECT l.item_gtin, l.location, l.lot, l.bucket, l.base_quantity AS delta
          FROM inventory_sync.ledger l WHERE l.kind <> 'count'
        UNION ALL
        SELECT l.item_gtin, coalesce(l.to_location, l.location), l.lot,
               coalesce(l.to_bucket, l.bucket), -l.base_quantity
          FROM inventory_sync.ledger l WHERE l.kind IN ('move', 'transfer_out', 'transfer_in')
        UNION ALL
        SELECT c.item_gtin, c.location, c.lot, c.bucket, c.delta
          FROM inventory_sync.balance_change c WHERE c.kind = 'count'
    ),
    from_ledger AS (
        SELECT e.item_gtin, e.location, e.lot, e.bucket, sum(e.delta) AS quantity
          FROM ledger_effect e GROUP BY 1, 2, 3, 4
    ),
    -- (b) the after-state chain of each key: versions 1..n, quantity_after a running sum
    chain AS (
        SELECT c.balance_id, count(*) AS n, max(c.version) AS max_version,
               count(*) FILTER (WHERE c.quantity_after <> c.running) AS broken
          FROM (SELECT c.*, sum(c.delta) OVER (PARTITION BY c.balance_id ORDER BY c.version) AS running
                  FROM inventory_sync.balance_change c) c
         GROUP BY c.balance_id
    )
    SELECT coalesce(b.item_gtin, f.item_gtin), coalesce(b.location, f.location),
           coalesce(b.lot, f.lot), coalesce(b.bucket, f.bucket),
           CASE WHEN b.balance_id IS NULL THEN 'ledger has postings for a key with no balance'
                WHEN b.quantity <> coalesce(f.quantity, 0) THEN 'balance differs from the ledger'
                WHEN b.version <> coalesce(ch.n, 0) OR b.version <> coalesce(ch.max_version, 0)
                     THEN 'version differs from the number of changes'
                ELSE 'quantity_after chain is broken' END,
           b.quantity, f.quantity, b.version, ch.n
      FROM inventory_sync.balance b
      FULL JOIN from_ledger f
        ON f.item_gtin OPERATOR(inventory_sync.=) b.item_gtin
       AND f.location OPERATOR(inventory_sync.=) b.location
       AND f.bucket = b.bucket
       AND (f.lot OPERATOR(inventory_sync.=) b.lot OR (f.lot IS NULL AND b.lot IS NULL))
      LEFT JOIN chain ch ON ch.balance_id = b.balance_id
     WHERE b.balance_id IS NULL
        OR b.quantity <> coalesce(f.quantity, 0)
        OR b.version <> coalesce(ch.n, 0) OR b.version <> coalesce(ch.max_version, 0)
        OR coalesce(ch.broken, 0) > 0
$$;
COMMENT ON FUNCTION verify() IS
  'Recomputes every balance from the ledger (and the after-state chain of every key); returns the keys that differ: none when healthy';
-- ---------------------------------------------------------------------------
-- Posting functions for stored-procedure callers. Each is an INSERT into the ledger
-- (so every rule of the posting triggers applies) that returns the ledger row — for a
-- replay, the original one. They run as the caller: the caller's role must be bound to
-- the source, exactly as for a plain INSERT.
-- ---------------------------------------------------------------------------

CREATE FUNCTION post(kind posting_kind, source text, source_event_id text, gtin gtin, location gln,
                     quantity numeric, bucket text DEFAULT 'released', lot lot_number DEFAULT NULL,
                     serial serial_number DEFAULT NULL, to_location gln DEFAULT NULL,
                     to_bucket text DEFAULT NULL, unit text DEFAULT NULL,
                     event_time timestamptz DEFAULT now(), reason text DEFAULT NULL,
                     reference text DEFAULT NULL, eta timestamptz DEFAULT NULL,
                     expected_quantity numeric DEFAULT NULL, source_sequence bigint DEFAULT NULL,
                     corrects bigint DEFAULT NULL)
RETURNS ledger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
#variable_conflict use_variable
DECLARE
    r inventory_sync.ledger;
BEGIN
    INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity, bucket,
                                       lot, serial, to_location, to_bucket, unit, event_time, reason,
                                       reference, eta, expected_quantity, source_sequence, corrects)
    VALUES (kind, source, source_event_id, gtin, location, quantity, bucket, lot, serial, to_location,
            to_bucket, unit, event_time, reason, reference, eta, expected_quantity, source_sequence,
            corrects)
    RETURNING * INTO r;
    IF r.posting_id IS NULL THEN
        -- an exact replay: the ledger skipped it; return the original
        SELECT * INTO r FROM inventory_sync.ledger l
         WHERE l.source = source AND l.source_event_id = source_event_id;
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION post(posting_kind, text, text, gtin, gln, numeric, text, lot_number, serial_number, gln, text, text, timestamptz, text, text, timestamptz, numeric, bigint, bigint) IS
  'Posts one fact of any kind (an INSERT into the ledger); returns the ledger row, or the original one for a replay';

CREATE FUNCTION receive(source text, source_event_id text, gtin gtin, location gln, quantity numeric,
                        bucket text DEFAULT 'receiving', lot lot_number DEFAULT NULL,
                        serial serial_number DEFAULT NULL, unit text DEFAULT NULL,
                        event_time timestamptz DEFAULT now(), reference text DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('receipt', source, source_event_id, gtin, location, quantity, bucket, lot,
                           serial, unit => unit, event_time => event_time, reference => reference);
COMMENT ON FUNCTION receive(text, text, gtin, gln, numeric, text, lot_number, serial_number, text, timestamptz, text) IS
  'Goods receipt, by default into the non-sellable receiving bucket';

CREATE FUNCTION ship(source text, source_event_id text, gtin gtin, location gln, quantity numeric,
                     bucket text DEFAULT 'released', lot lot_number DEFAULT NULL,
                     serial serial_number DEFAULT NULL, unit text DEFAULT NULL,
                     event_time timestamptz DEFAULT now(), reference text DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('issue', source, source_event_id, gtin, location, quantity, bucket, lot,
                           serial, unit => unit, event_time => event_time, reference => reference);
COMMENT ON FUNCTION ship(text, text, gtin, gln, numeric, text, lot_number, serial_number, text, timestamptz, text) IS
  'Issue: a sale, a shipment to a customer (never refused for lack of stock unless the location is strict)';

CREATE FUNCTION transfer_out(source text, source_event_id text, gtin gtin, location gln,
                             in_transit gln, quantity numeric, eta timestamptz,
                             bucket text DEFAULT 'released', lot lot_number DEFAULT NULL,
                             serial serial_number DEFAULT NULL, event_time timestamptz DEFAULT now(),
                             reference text DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('transfer_out', source, source_event_id, gtin, location, quantity, bucket,
                           lot, serial, to_location => in_transit, event_time => event_time,
                           reference => reference, eta => eta);
COMMENT ON FUNCTION transfer_out(text, text, gtin, gln, gln, numeric, timestamptz, text, lot_number, serial_number, timestamptz, text) IS
  'Ships stock from a location into an in-transit location, with its expected arrival';

CREATE FUNCTION transfer_in(source text, source_event_id text, gtin gtin, in_transit gln,
                            location gln, quantity numeric, bucket text DEFAULT 'released',
                            to_bucket text DEFAULT NULL, lot lot_number DEFAULT NULL,
                            serial serial_number DEFAULT NULL, event_time timestamptz DEFAULT now(),
                            reference text DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('transfer_in', source, source_event_id, gtin, in_transit, quantity, bucket,
                           lot, serial, to_location => location, to_bucket => to_bucket,
                           event_time => event_time, reference => reference);
COMMENT ON FUNCTION transfer_in(text, text, gtin, gln, gln, numeric, text, text, lot_number, serial_number, timestamptz, text) IS
  'Receives stock from an in-transit location at its destination (to_bucket: e.g. receiving)';

CREATE FUNCTION adjust(source text, source_event_id text, gtin gtin, location gln, quantity numeric,
                       reason text, bucket text DEFAULT 'released', lot lot_number DEFAULT NULL,
                       serial serial_number DEFAULT NULL, event_time timestamptz DEFAULT now(),
                       reference text DEFAULT NULL, expected_quantity numeric DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('adjustment', source, source_event_id, gtin, location, quantity, bucket,
                           lot, serial, event_time => event_time, reason => reason,
                           reference => reference, expected_quantity => expected_quantity);
COMMENT ON FUNCTION adjust(text, text, gtin, gln, numeric, text, text, lot_number, serial_number, timestamptz, text, numeric) IS
  'Signed adjustment with a reason code; optionally compare-and-set on the balance it expects';

CREATE FUNCTION move_stock(source text, source_event_id text, gtin gtin, location gln,
                           quantity numeric, from_bucket text, to_bucket text,
                           lot lot_number DEFAULT NULL, serial serial_number DEFAULT NULL,
                           event_time timestamptz DEFAULT now(), reason text DEFAULT NULL,
                           reference text DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('move', source, source_event_id, gtin, location, quantity, from_bucket,
                           lot, serial, to_bucket => to_bucket, event_time => event_time,
                           reason => reason, reference => reference);
COMMENT ON FUNCTION move_stock(text, text, gtin, gln, numeric, text, text, lot_number, serial_number, timestamptz, text, text) IS
  'Moves stock between buckets at one location (put-away, QA hold, release, quarantine, damage)';

CREATE FUNCTION count_stock(source text, source_event_id text, gtin gtin, location gln,
                            quantity numeric, as_of timestamptz DEFAULT now(),
                            bucket text DEFAULT 'released', lot lot_number DEFAULT NULL,
                            serial serial_number DEFAULT NULL, reference text DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('count', source, source_event_id, gtin, location, quantity, bucket, lot,
                           serial, event_time => as_of, reason => 'count', reference => reference);
COMMENT ON FUNCTION count_stock(text, text, gtin, gln, numeric, timestamptz, text, lot_number, serial_number, text) IS
  'Counted quantity as of a time: the difference to the balance as of then is posted; later postings keep their effect';

CREATE FUNCTION consume(source text, source_event_id text, gtin gtin, location gln, quantity numeric,
                        lot lot_number DEFAULT NULL, bucket text DEFAULT 'released',
                        unit text DEFAULT NULL, event_time timestamptz DEFAULT now(),
                        reference text DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('consumption', source, source_event_id, gtin, location, quantity, bucket,
                           lot, unit => unit, event_time => event_time, reference => reference);
COMMENT ON FUNCTION consume(text, text, gtin, gln, numeric, lot_number, text, text, timestamptz, text) IS
  'Manufacturing consumption of a material';

CREATE FUNCTION produce(source text, source_event_id text, gtin gtin, location gln, quantity numeric,
                        lot lot_number DEFAULT NULL, bucket text DEFAULT 'qa_hold',
                        unit text DEFAULT NULL, event_time timestamptz DEFAULT now(),
                        reference text DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('production', source, source_event_id, gtin, location, quantity, bucket,
                           lot, unit => unit, event_time => event_time, reference => reference);
COMMENT ON FUNCTION produce(text, text, gtin, gln, numeric, lot_number, text, text, timestamptz, text) IS
  'Manufacturing output, by default on QA hold until the lot is released';

CREATE FUNCTION return_stock(source text, source_event_id text, gtin gtin, location gln,
                             quantity numeric, bucket text DEFAULT 'quarantine',
                             lot lot_number DEFAULT NULL, serial serial_number DEFAULT NULL,
                             event_time timestamptz DEFAULT now(), reference text DEFAULT NULL)
RETURNS ledger LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN inventory_sync.post('return', source, source_event_id, gtin, location, quantity, bucket, lot,
                           serial, event_time => event_time, reference => reference);
COMMENT ON FUNCTION return_stock(text, text, gtin, gln, numeric, text, lot_number, serial_number, timestamptz, text) IS
  'Customer return, by default into quarantine for inspection';

CREATE FUNCTION release_lot(source text, source_event_id_prefix text, gtin gtin, lot lot_number,
                            from_bucket text DEFAULT 'qa_hold', to_bucket text DEFAULT 'released')
RETURNS SETOF ledger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
#variable_conflict use_variable
BEGIN
    -- one statement: every location's stock of the lot moves at once, keys locked in order
    RETURN QUERY
    INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, lot, bucket,
                                       to_bucket, quantity, reason)
    SELECT 'move', source, source_event_id_prefix || ':' || b.location::text, b.item_gtin, b.location,
           b.lot, b.bucket, to_bucket, b.quantity, NULL
      FROM inventory_sync.balance b
     WHERE b.item_gtin OPERATOR(inventory_sync.=) gtin
       AND b.lot OPERATOR(inventory_sync.=) lot
       AND b.bucket = from_bucket AND b.quantity > 0
     ORDER BY b.location
    RETURNING *;
    UPDATE inventory_sync.lot l SET released_at = now(), released_by = current_user
     WHERE l.item_gtin OPERATOR(inventory_sync.=) gtin AND l.lot OPERATOR(inventory_sync.=) lot
       AND l.released_at IS NULL;
END
$$;
COMMENT ON FUNCTION release_lot(text, text, gtin, lot_number, text, text) IS
  'Quality release of a tested lot everywhere at once: moves every positive balance of the lot from from_bucket to to_bucket (event ids <prefix>:<gln>) and stamps the lot released';

CREATE FUNCTION correct(source text, source_event_id text, posting_id bigint,
                        reason text DEFAULT 'correction')
RETURNS ledger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
#variable_conflict use_variable
DECLARE
    o inventory_sync.ledger;
    q numeric;
BEGIN
    SELECT * INTO o FROM inventory_sync.ledger l WHERE l.posting_id = posting_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'posting % does not exist', posting_id
              USING ERRCODE = 'IS023', HINT = 'Name the posting_id of the ledger row to correct.';
    END IF;
    q := abs(o.base_quantity);
    CASE o.kind
        WHEN 'count' THEN
            RAISE EXCEPTION 'posting % is a count: a count is corrected by another count', posting_id
                  USING ERRCODE = 'IS023', HINT = 'Post count_stock() with the right quantity.';
        WHEN 'move' THEN
            RETURN inventory_sync.post('move', source, source_event_id, o.item_gtin, o.location, q,
                                       o.to_bucket, o.lot, o.serial, to_bucket => o.bucket,
                                       reason => reason, corrects => o.posting_id);
        WHEN 'transfer_out' THEN
            RETURN inventory_sync.post('transfer_in', source, source_event_id, o.item_gtin, o.to_location,
                                       q, coalesce(o.to_bucket, o.bucket), o.lot, o.serial,
                                       to_location => o.location, to_bucket => o.bucket,
                                       reason => reason, corrects => o.posting_id);
        WHEN 'transfer_in' THEN
            RETURN inventory_sync.post('transfer_out', source, source_event_id, o.item_gtin, o.to_location,
                                       q, coalesce(o.to_bucket, o.bucket), o.lot, o.serial,
                                       to_location => o.location, to_bucket => o.bucket,
                                       reason => reason, corrects => o.posting_id);
        ELSE
            RETURN inventory_sync.post('adjustment', source, source_event_id, o.item_gtin, o.location,
                                       -o.base_quantity, o.bucket, o.lot, o.serial,
                                       reason => reason, corrects => o.posting_id);
    END CASE;
END
$$;
COMMENT ON FUNCTION correct(text, text, bigint, text) IS
  'Counter-posting that reverses a posting and names it in corrects (counts are corrected by another count)';
-- ---------------------------------------------------------------------------
-- Views for the people who watch the ledger.
-- ---------------------------------------------------------------------------

CREATE VIEW stock AS
SELECT b.item_gtin, i.name AS item_name, b.location, l.name AS location_name, l.kind AS location_kind,
       b.lot, lt.expiry, b.bucket, bk.sellable, b.quantity, i.base_unit AS unit, b.version, b.updated_at
  FROM inventory_sync.balance b
  JOIN inventory_sync.item i ON i.gtin OPERATOR(inventory_sync.=) b.item_gtin
  JOIN inventory_sync.location l ON l.gln OPERATOR(inventory_sync.=) b.location
  JOIN inventory_sync.bucket bk ON bk.bucket = b.bucket
  LEFT JOIN inventory_sync.lot lt ON lt.item_gtin OPERATOR(inventory_sync.=) b.item_gtin
                                 AND lt.lot OPERATOR(inventory_sync.=) b.lot;
COMMENT ON VIEW stock IS 'Balances with item, location, bucket and lot details';

CREATE VIEW open_exceptions AS
SELECT e.exception_id, e.kind, e.raised_at, e.posting_id, l.source, l.source_event_id,
       e.item_gtin, e.location, e.lot, e.serial, e.bucket, e.detail
  FROM inventory_sync.exception e
  LEFT JOIN inventory_sync.ledger l ON l.posting_id = e.posting_id
 WHERE e.resolved_at IS NULL;
COMMENT ON VIEW open_exceptions IS 'Recorded facts awaiting investigation, with the source event that raised them';

CREATE VIEW sequence_anomaly AS
WITH s AS (
    SELECT l.source, l.source_sequence, l.posting_id,
           max(l.source_sequence) OVER (PARTITION BY l.source ORDER BY l.posting_id
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS highest_before,
           lead(l.source_sequence) OVER (PARTITION BY l.source ORDER BY l.source_sequence) AS next_sequence
      FROM inventory_sync.ledger l
     WHERE l.source_sequence IS NOT NULL
)
SELECT source, 'out_of_order'::text AS anomaly, source_sequence, posting_id,
       format('sequence %s arrived after %s', source_sequence, highest_before) AS detail
  FROM s WHERE source_sequence < highest_before
UNION ALL
SELECT source, 'gap', source_sequence, posting_id,
       CASE WHEN next_sequence = source_sequence + 2 THEN format('sequence %s is missing', source_sequence + 1)
            ELSE format('sequences %s to %s are missing', source_sequence + 1, next_sequence - 1) END
  FROM s WHERE next_sequence > source_sequence + 1;
COMMENT ON VIEW sequence_anomaly IS 'Per-source sequence numbers that arrived out of order, and gaps between them';
-- ---------------------------------------------------------------------------
-- Roles. Roles are cluster-wide: they are created if missing and are left in place by
-- DROP EXTENSION. Grant them to login roles:
--   inventory_sync_reader  reads everything
--   inventory_sync_writer  + posts (INSERT on the ledger, the posting functions)
--   inventory_sync_admin   + maintains master data, resolves exceptions
-- A writer still posts only as the sources its role is bound to (source.role).
-- ---------------------------------------------------------------------------
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['inventory_sync_reader', 'inventory_sync_writer', 'inventory_sync_admin'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;

-- Identifier types and their functions are for everyone (the default); the functions that
-- write are for writers only.
GRANT USAGE ON SCHEMA inventory_sync TO PUBLIC;
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOREACH f IN ARRAY ARRAY[
        'post(posting_kind, text, text, gtin, gln, numeric, text, lot_number, serial_number, gln, text, text, timestamptz, text, text, timestamptz, numeric, bigint, bigint)',
        'receive(text, text, gtin, gln, numeric, text, lot_number, serial_number, text, timestamptz, text)',
        'ship(text, text, gtin, gln, numeric, text, lot_number, serial_number, text, timestamptz, text)',
        'transfer_out(text, text, gtin, gln, gln, numeric, timestamptz, text, lot_number, serial_number, timestamptz, text)',
        'transfer_in(text, text, gtin, gln, gln, numeric, text, text, lot_number, serial_number, timestamptz, text)',
        'adjust(text, text, gtin, gln, numeric, text, text, lot_number, serial_number, timestamptz, text, numeric)',
        'move_stock(text, text, gtin, gln, numeric, text, text, lot_number, serial_number, timestamptz, text, text)',
        'count_stock(text, text, gtin, gln, numeric, timestamptz, text, lot_number, serial_number, text)',
        'consume(text, text, gtin, gln, numeric, lot_number, text, text, timestamptz, text)',
        'produce(text, text, gtin, gln, numeric, lot_number, text, text, timestamptz, text)',
        'return_stock(text, text, gtin, gln, numeric, text, lot_number, serial_number, timestamptz, text)',
        'release_lot(text, text, gtin, lot_number, text, text)',
        'correct(text, text, bigint, text)',
        'ledger_before_insert()', 'ledger_apply()']::regprocedure[]
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO inventory_sync_writer', f);
    END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION refuse_change(), master_data_changed(), verify() FROM PUBLIC;

GRANT SELECT ON ALL TABLES IN SCHEMA inventory_sync TO inventory_sync_reader;
GRANT EXECUTE ON FUNCTION verify() TO inventory_sync_reader;

GRANT inventory_sync_reader TO inventory_sync_writer;
GRANT INSERT ON ledger TO inventory_sync_writer;
GRANT UPDATE (released_at, released_by) ON lot TO inventory_sync_writer;

GRANT inventory_sync_writer TO inventory_sync_admin;
GRANT INSERT, UPDATE, DELETE ON unit, item, item_pack, item_unit, location, bucket, reason_code,
      source, ownership, lot TO inventory_sync_admin;
GRANT UPDATE (resolved_at, resolution) ON exception TO inventory_sync_admin;
GRANT EXECUTE ON FUNCTION master_data_changed() TO inventory_sync_admin;
-- pg_dump leaves out the data of an extension's tables unless they are marked: every
-- table here holds the user's data. Seeded rows are filtered out, since CREATE EXTENSION
-- inserts them again on restore.
SELECT pg_catalog.pg_extension_config_dump('unit', $$WHERE unit NOT IN ('EA', 'KGM', 'LTR', 'MTR')$$);
SELECT pg_catalog.pg_extension_config_dump('bucket',
  $$WHERE bucket NOT IN ('receiving', 'qa_hold', 'quarantine', 'released', 'damaged', 'blocked')$$);
SELECT pg_catalog.pg_extension_config_dump('reason_code',
  $$WHERE reason NOT IN ('shrink', 'damage', 'expired', 'found', 'correction', 'sample', 'count')$$);
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
