-- since 0.2.0
-- ---------------------------------------------------------------------------
-- The event registry of a partitioned ledger (src/posting_registry.c).
--
-- A unique index of a partitioned table must contain its partition key, so a ledger
-- range-partitioned by recorded_at can keep (source, source_event_id) unique per
-- partition only. ledger_event, an unpartitioned table keyed by the event, holds every
-- event a partitioned ledger was given: the row trigger finds replays in it (whatever
-- partition the original landed in, and after that partition was detached or dropped),
-- the statement trigger registers each statement's new events, so a concurrent posting
-- of the same event waits on its primary key and fails with 23505. An unpartitioned
-- ledger's own unique index does that job: the registry stays empty until the ledger is
-- partitioned (docs/operations.md, "Partitioning the ledger", fills it from the rows
-- already posted).
-- ---------------------------------------------------------------------------

-- The key compares bytes (COLLATE "C"): equality is the same under every deterministic
-- collation, and a byte comparison is what makes its index cheap to probe and to extend.
CREATE TABLE ledger_event (
    source          text COLLATE "C" NOT NULL,
    source_event_id text COLLATE "C" NOT NULL,
    posting_id      bigint NOT NULL,
    recorded_at     timestamptz NOT NULL,
    payload_hash    bigint NOT NULL,
    PRIMARY KEY (source, source_event_id)
);
COMMENT ON TABLE ledger_event IS
  'Every event a partitioned ledger was given, (source, source_event_id) -> posting, kept when partitions are detached or dropped: replays are found here (written by the posting engine only)';
COMMENT ON COLUMN ledger_event.posting_id IS 'The posting that recorded the event';
COMMENT ON COLUMN ledger_event.recorded_at IS 'When the ledger recorded it: the partition it is (or was) in';
COMMENT ON COLUMN ledger_event.payload_hash IS
  'Fingerprint of the posting''s kind, gtin, location, to_location, lot, serial, bucket, to_bucket, quantity and unit (_event_fingerprint): a replay must repeat them';

CREATE FUNCTION _event_fingerprint(kind posting_kind, gtin gtin, location gln, to_location gln,
                                   lot lot_number, serial serial_number, bucket text, to_bucket text,
                                   quantity numeric, unit text)
RETURNS bigint
    AS 'MODULE_PATHNAME', 'event_payload_fingerprint' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION _event_fingerprint(posting_kind, gtin, gln, gln, lot_number, serial_number, text, text, numeric, text) IS
  'The fingerprint of a posting''s payload that ledger_event keeps: registers the events of rows posted before the ledger was partitioned';

-- Written by the posting engine; by a superuser only to register the rows of a ledger
-- being partitioned (the engine's writes fire no trigger).
CREATE TRIGGER ledger_event_engine_only BEFORE INSERT OR UPDATE OR DELETE ON ledger_event
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER ledger_event_no_truncate BEFORE TRUNCATE ON ledger_event
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');

GRANT SELECT ON ledger_event TO inventory_sync_reader;
SELECT pg_catalog.pg_extension_config_dump('ledger_event', '');
