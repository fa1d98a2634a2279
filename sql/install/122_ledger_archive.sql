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
--
-- With the after-state tables partitioned too, the same call archives their partitions
-- of the same range, and keeps of them what the retained history needs to start where
-- they end, the anchors: per balance key its last archived version and quantity_after
-- (and the latest event_time archived, which a count as of an earlier time cannot do
-- without), per reservation the sum of its archived changes, per channel and item its
-- last archived ATP version. The counts' deltas, which verify() takes from the
-- after-states, join the archived effects. verify(), verify(since => ...),
-- verify_promises() and counts then start a chain at its anchor.
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
  'Per balance key, the summed effects (base units) of the postings of archived ledger partitions, counts excepted (verify() takes a count''s delta from its after-state), and the deltas of the counts whose after-states were archived; verify() adds them to the attached ledger (written by detach_ledger_partition() only)';
COMMENT ON COLUMN ledger_archived_effect.quantity IS 'Sum of the effects on the key of the archived postings, in base units';
COMMENT ON COLUMN ledger_archived_effect.postings IS 'Number of archived effects summed';

CREATE TABLE after_state_archive (
    partition_name  text PRIMARY KEY,
    table_name      text NOT NULL CHECK (table_name IN ('balance_change', 'reservation_change', 'channel_atp_change')),
    range_from      timestamptz,
    range_to        timestamptz NOT NULL,
    changes         bigint NOT NULL,
    archived_at     timestamptz NOT NULL DEFAULT now(),
    archived_by     name NOT NULL DEFAULT current_user,
    dropped         boolean NOT NULL
);
COMMENT ON TABLE after_state_archive IS
  'After-state partitions (balance_change, reservation_change, channel_atp_change) detached (and perhaps dropped) by detach_ledger_partition() with the ledger''s of the same range; what they held lives on in the anchors (written by detach_ledger_partition() only)';
COMMENT ON COLUMN after_state_archive.partition_name IS 'The partition''s table name in the extension''s schema (kept there, detached, unless dropped)';
COMMENT ON COLUMN after_state_archive.table_name IS 'The after-state table it was a partition of';
COMMENT ON COLUMN after_state_archive.range_from IS 'Lower bound of the time it held (NULL: from the first change on)';
COMMENT ON COLUMN after_state_archive.range_to IS 'Upper bound of the time it held (exclusive)';
COMMENT ON COLUMN after_state_archive.changes IS 'Rows it held when detached';
COMMENT ON COLUMN after_state_archive.dropped IS 'The partition was dropped, not kept as a detached table';

CREATE TABLE balance_change_anchor (
    balance_id      bigint PRIMARY KEY,
    version         bigint NOT NULL,
    quantity_after  numeric NOT NULL,
    last_event_time timestamptz NOT NULL
);
COMMENT ON TABLE balance_change_anchor IS
  'Per balance key whose early after-states are archived, the last archived one: the retained chain continues from its version and quantity_after (written by detach_ledger_partition() only)';
COMMENT ON COLUMN balance_change_anchor.balance_id IS 'The balance key (balance.balance_id)';
COMMENT ON COLUMN balance_change_anchor.version IS 'Version of the key''s last archived after-state: the first retained one is the next';
COMMENT ON COLUMN balance_change_anchor.quantity_after IS 'Quantity (base units) after the last archived change';
COMMENT ON COLUMN balance_change_anchor.last_event_time IS 'Latest event_time among the key''s archived changes: a count as of an earlier time is refused (IS092)';

CREATE TABLE reservation_change_anchor (
    reservation_id  bigint PRIMARY KEY,
    delta           numeric NOT NULL,
    changes         bigint NOT NULL
);
COMMENT ON TABLE reservation_change_anchor IS
  'Per reservation whose early changes are archived, their summed deltas: verify_promises() adds them to the retained changes (written by detach_ledger_partition() only)';
COMMENT ON COLUMN reservation_change_anchor.reservation_id IS 'The reservation (reservation.reservation_id)';
COMMENT ON COLUMN reservation_change_anchor.delta IS 'Sum of the deltas of its archived changes';
COMMENT ON COLUMN reservation_change_anchor.changes IS 'Number of its archived changes';

CREATE TABLE channel_atp_anchor (
    channel    text NOT NULL,
    item_gtin  gtin NOT NULL,
    version    bigint NOT NULL,
    atp_after  numeric NOT NULL,
    PRIMARY KEY (channel, item_gtin)
);
COMMENT ON TABLE channel_atp_anchor IS
  'Per channel and item whose early ATP history (channel_atp_history) is archived, its last archived change: the retained history continues from its version and atp_after (written by detach_ledger_partition() only)';
COMMENT ON COLUMN channel_atp_anchor.channel IS 'The channel';
COMMENT ON COLUMN channel_atp_anchor.item_gtin IS 'The item';
COMMENT ON COLUMN channel_atp_anchor.version IS 'Version of the last archived change: the first retained one is the next';
COMMENT ON COLUMN channel_atp_anchor.atp_after IS 'The channel''s ATP after the last archived change';

-- Written by detach_ledger_partition() (which runs as the extension owner) only.
CREATE TRIGGER ledger_archive_owner_only BEFORE INSERT OR UPDATE OR DELETE ON ledger_archive
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER ledger_archive_no_truncate BEFORE TRUNCATE ON ledger_archive
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER ledger_archived_effect_owner_only BEFORE INSERT OR UPDATE OR DELETE ON ledger_archived_effect
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER ledger_archived_effect_no_truncate BEFORE TRUNCATE ON ledger_archived_effect
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER after_state_archive_owner_only BEFORE INSERT OR UPDATE OR DELETE ON after_state_archive
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER after_state_archive_no_truncate BEFORE TRUNCATE ON after_state_archive
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER balance_change_anchor_owner_only BEFORE INSERT OR UPDATE OR DELETE ON balance_change_anchor
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER balance_change_anchor_no_truncate BEFORE TRUNCATE ON balance_change_anchor
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER reservation_change_anchor_owner_only BEFORE INSERT OR UPDATE OR DELETE ON reservation_change_anchor
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER reservation_change_anchor_no_truncate BEFORE TRUNCATE ON reservation_change_anchor
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER channel_atp_anchor_owner_only BEFORE INSERT OR UPDATE OR DELETE ON channel_atp_anchor
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER channel_atp_anchor_no_truncate BEFORE TRUNCATE ON channel_atp_anchor
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');

SELECT pg_catalog.pg_extension_config_dump('ledger_archive', '');
SELECT pg_catalog.pg_extension_config_dump('ledger_archived_effect', '');
SELECT pg_catalog.pg_extension_config_dump('after_state_archive', '');
SELECT pg_catalog.pg_extension_config_dump('balance_change_anchor', '');
SELECT pg_catalog.pg_extension_config_dump('reservation_change_anchor', '');
SELECT pg_catalog.pg_extension_config_dump('channel_atp_anchor', '');
