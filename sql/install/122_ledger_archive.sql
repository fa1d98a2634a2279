-- since 0.2.0
-- ---------------------------------------------------------------------------
-- What a partitioned ledger's archived partitions leave behind (165_ledger_partitioning.sql).
--
-- Detaching or dropping an old partition of the ledger takes its rows out of what
-- verify() sums, while the balances and the after-states (balance_change, kept whole)
-- still include them. So detach_ledger_partition() first adds, per balance key, the
-- effects of the partition's postings to ledger_archived_effect, the same effects
-- verify() derives from a ledger row, and records the partition in ledger_archive:
-- verify() adds the archived effects to those of the ledger still attached, and
-- verify(since => ...) leaves the postings recorded before the archive horizon (the
-- latest upper bound archived) to them.
-- ---------------------------------------------------------------------------

CREATE TABLE ledger_archive (
    partition_name  text PRIMARY KEY,
    range_from      timestamptz,
    range_to        timestamptz NOT NULL,
    postings        bigint NOT NULL,
    first_posting   bigint,
    last_posting    bigint,
    archived_at     timestamptz NOT NULL DEFAULT now(),
    archived_by     name NOT NULL DEFAULT current_user,
    dropped         boolean NOT NULL
);
COMMENT ON TABLE ledger_archive IS
  'Ledger partitions detached (and perhaps dropped) by detach_ledger_partition(): their recorded_at range and postings; the latest range_to is the archive horizon (written by detach_ledger_partition() only)';
COMMENT ON COLUMN ledger_archive.partition_name IS 'The partition''s table name in the extension''s schema (kept there, detached, unless dropped)';
COMMENT ON COLUMN ledger_archive.range_from IS 'Lower bound of recorded_at it held (NULL: from the first posting on)';
COMMENT ON COLUMN ledger_archive.range_to IS 'Upper bound of recorded_at it held (exclusive)';
COMMENT ON COLUMN ledger_archive.postings IS 'Rows it held when detached';
COMMENT ON COLUMN ledger_archive.first_posting IS 'Lowest posting_id it held';
COMMENT ON COLUMN ledger_archive.last_posting IS 'Highest posting_id it held';
COMMENT ON COLUMN ledger_archive.dropped IS 'The partition was dropped, not kept as a detached table';

CREATE TABLE ledger_archived_effect (
    item_gtin gtin NOT NULL,
    location  gln NOT NULL,
    lot       lot_number,
    bucket    text NOT NULL,
    quantity  numeric NOT NULL,
    postings  bigint NOT NULL,
    UNIQUE NULLS NOT DISTINCT (item_gtin, location, lot, bucket)
);
COMMENT ON TABLE ledger_archived_effect IS
  'Per balance key, the summed effects (base units) of the postings of archived ledger partitions, counts excepted (verify() takes a count''s delta from its after-state); verify() adds them to the attached ledger (written by detach_ledger_partition() only)';
COMMENT ON COLUMN ledger_archived_effect.quantity IS 'Sum of the effects on the key of the archived postings, in base units';
COMMENT ON COLUMN ledger_archived_effect.postings IS 'Number of archived effects summed';

-- Written by detach_ledger_partition() (which runs as the extension owner) only.
CREATE TRIGGER ledger_archive_owner_only BEFORE INSERT OR UPDATE OR DELETE ON ledger_archive
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER ledger_archive_no_truncate BEFORE TRUNCATE ON ledger_archive
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER ledger_archived_effect_owner_only BEFORE INSERT OR UPDATE OR DELETE ON ledger_archived_effect
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER ledger_archived_effect_no_truncate BEFORE TRUNCATE ON ledger_archived_effect
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');

SELECT pg_catalog.pg_extension_config_dump('ledger_archive', '');
SELECT pg_catalog.pg_extension_config_dump('ledger_archived_effect', '');
