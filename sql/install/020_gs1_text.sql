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
CREATE FUNCTION lot_number_eq(lot_number, lot_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteaeq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION lot_number_ne(lot_number, lot_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteane' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION lot_number_lt(lot_number, lot_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_bytealt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION lot_number_le(lot_number, lot_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteale' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION lot_number_gt(lot_number, lot_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteagt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION lot_number_ge(lot_number, lot_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteage' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION lot_number_cmp(lot_number, lot_number) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_byteacmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION lot_number_hash(lot_number) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_hashvarlena' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lot_number_hash_extended(lot_number, bigint) RETURNS bigint
  AS 'MODULE_PATHNAME', 'is_hashvarlenaextended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
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
CREATE FUNCTION lot_number_text(lot_number) RETURNS text
  AS 'MODULE_PATHNAME', 'is_gs1_text_as_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION lot_number_text(lot_number) IS 'the characters as text (the cast to text)';
-- through a function, not binary-coercible: a LIKE on lot_number::text must not be matched to
-- the type's own index (no collation), which PostgreSQL 18 refuses
CREATE CAST (lot_number AS text) WITH FUNCTION lot_number_text(lot_number) AS IMPLICIT;
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
CREATE FUNCTION serial_number_eq(serial_number, serial_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteaeq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION serial_number_ne(serial_number, serial_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteane' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION serial_number_lt(serial_number, serial_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_bytealt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION serial_number_le(serial_number, serial_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteale' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION serial_number_gt(serial_number, serial_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteagt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION serial_number_ge(serial_number, serial_number) RETURNS boolean
  AS 'MODULE_PATHNAME', 'is_byteage' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION serial_number_cmp(serial_number, serial_number) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_byteacmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION serial_number_hash(serial_number) RETURNS integer
  AS 'MODULE_PATHNAME', 'is_hashvarlena' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION serial_number_hash_extended(serial_number, bigint) RETURNS bigint
  AS 'MODULE_PATHNAME', 'is_hashvarlenaextended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
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
CREATE FUNCTION serial_number_text(serial_number) RETURNS text
  AS 'MODULE_PATHNAME', 'is_gs1_text_as_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION serial_number_text(serial_number) IS 'the characters as text (the cast to text)';
-- through a function, not binary-coercible: a LIKE on serial_number::text must not be matched to
-- the type's own index (no collation), which PostgreSQL 18 refuses
CREATE CAST (serial_number AS text) WITH FUNCTION serial_number_text(serial_number) AS IMPLICIT;
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
