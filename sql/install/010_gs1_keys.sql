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

-- Comparison and hashing are bigint's own functions (called through C wrappers, see
-- src/fmgr_wrappers.c): the stored value is a bigint whose
-- order is the order of the zero-padded digits.
CREATE FUNCTION gtin_eq(gtin, gtin) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gtin_ne(gtin, gtin) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gtin_lt(gtin, gtin) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gtin_le(gtin, gtin) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gtin_gt(gtin, gtin) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gtin_ge(gtin, gtin) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gtin_cmp(gtin, gtin) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_btint8cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gtin_hash(gtin) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_hashint8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gtin_hash_extended(gtin, bigint) RETURNS bigint
  AS 'MODULE_PATHNAME', 'is_hashint8extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION gtin_eq(gtin, gtin) IS 'implementation of = for gtin';
COMMENT ON FUNCTION gtin_ne(gtin, gtin) IS 'implementation of <> for gtin';
COMMENT ON FUNCTION gtin_lt(gtin, gtin) IS 'implementation of < for gtin';
COMMENT ON FUNCTION gtin_le(gtin, gtin) IS 'implementation of <= for gtin';
COMMENT ON FUNCTION gtin_gt(gtin, gtin) IS 'implementation of > for gtin';
COMMENT ON FUNCTION gtin_ge(gtin, gtin) IS 'implementation of >= for gtin';
COMMENT ON FUNCTION gtin_cmp(gtin, gtin) IS 'btree comparison for gtin: -1, 0 or 1';
COMMENT ON FUNCTION gtin_hash(gtin) IS 'hash of a gtin (equal to the hash of its bigint value)';
COMMENT ON FUNCTION gtin_hash_extended(gtin, bigint) IS 'seeded 64-bit hash of a gtin';

-- Comparison and hashing are bigint's own functions (called through C wrappers, see
-- src/fmgr_wrappers.c): the stored value is a bigint whose
-- order is the order of the zero-padded digits.
CREATE FUNCTION gln_eq(gln, gln) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gln_ne(gln, gln) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gln_lt(gln, gln) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gln_le(gln, gln) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gln_gt(gln, gln) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gln_ge(gln, gln) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gln_cmp(gln, gln) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_btint8cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION gln_hash(gln) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_hashint8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION gln_hash_extended(gln, bigint) RETURNS bigint
  AS 'MODULE_PATHNAME', 'is_hashint8extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION gln_eq(gln, gln) IS 'implementation of = for gln';
COMMENT ON FUNCTION gln_ne(gln, gln) IS 'implementation of <> for gln';
COMMENT ON FUNCTION gln_lt(gln, gln) IS 'implementation of < for gln';
COMMENT ON FUNCTION gln_le(gln, gln) IS 'implementation of <= for gln';
COMMENT ON FUNCTION gln_gt(gln, gln) IS 'implementation of > for gln';
COMMENT ON FUNCTION gln_ge(gln, gln) IS 'implementation of >= for gln';
COMMENT ON FUNCTION gln_cmp(gln, gln) IS 'btree comparison for gln: -1, 0 or 1';
COMMENT ON FUNCTION gln_hash(gln) IS 'hash of a gln (equal to the hash of its bigint value)';
COMMENT ON FUNCTION gln_hash_extended(gln, bigint) IS 'seeded 64-bit hash of a gln';

-- Comparison and hashing are bigint's own functions (called through C wrappers, see
-- src/fmgr_wrappers.c): the stored value is a bigint whose
-- order is the order of the zero-padded digits.
CREATE FUNCTION sscc_eq(sscc, sscc) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION sscc_ne(sscc, sscc) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION sscc_lt(sscc, sscc) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION sscc_le(sscc, sscc) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION sscc_gt(sscc, sscc) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION sscc_ge(sscc, sscc) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_int8ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION sscc_cmp(sscc, sscc) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_btint8cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION sscc_hash(sscc) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_hashint8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION sscc_hash_extended(sscc, bigint) RETURNS bigint
  AS 'MODULE_PATHNAME', 'is_hashint8extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
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
