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
