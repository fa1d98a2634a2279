-- since 0.2.0
-- ---------------------------------------------------------------------------
-- The change feed (docs/reference/feed.md).
--
-- The output plugin inventory_sync (src/decoder.c, in this extension's library) turns
-- the rows the engine appends to balance_change, reservation_change and
-- channel_atp_change into JSON Lines events. This part adds what the plugin and its
-- consumers need around it: channel membership readable while decoding, the
-- publication for native subscribers, and hard-reset snapshots with per-key versions.
-- ---------------------------------------------------------------------------

-- Filtering events by channel needs the channel's locations as of the change being
-- decoded. An output plugin may read a table with that (historic) snapshot only when
-- the table is a user catalog table: its writes then carry what decoding needs to
-- see it as of any point in the WAL. channel_location is small and rarely written.
ALTER TABLE channel_location SET (user_catalog_table = true);

-- ---------------------------------------------------------------------------
-- Publication for native subscribers (CREATE SUBSCRIPTION ... PUBLICATION inventory_sync):
-- a read copy of balances and channel ATP, the master data that interprets them, and the
-- logistic units with their contents and history.
--
-- A publication cannot be a member of an extension, so CREATE EXTENSION does not create
-- one: pg_dump would dump it as a free-standing object and a restore would then collide
-- with the one the extension script made. create_publication() creates it (or brings an
-- existing one back to this table list) in one call; pg_dump keeps it like any other.
-- ---------------------------------------------------------------------------
CREATE FUNCTION create_publication(publication text DEFAULT 'inventory_sync')
RETURNS text
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    -- The seeded units and buckets are left out: CREATE EXTENSION on the subscriber seeds
    -- them too, and copying them would collide with its rows.
    tables constant text := $t$
        inventory_sync.balance, inventory_sync.channel_atp, inventory_sync.item,
        inventory_sync.item_pack, inventory_sync.location, inventory_sync.lot,
        inventory_sync.channel, inventory_sync.channel_location,
        inventory_sync.logistic_unit, inventory_sync.logistic_unit_content, inventory_sync.logistic_unit_event,
        inventory_sync.unit WHERE (unit NOT IN ('EA', 'KGM', 'LTR', 'MTR')),
        inventory_sync.bucket WHERE (bucket NOT IN ('receiving', 'qa_hold', 'quarantine', 'released', 'damaged', 'blocked'))
    $t$;
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_publication p WHERE p.pubname = publication) THEN
        EXECUTE format('ALTER PUBLICATION %I SET TABLE %s', publication, tables);
        EXECUTE format('ALTER PUBLICATION %I SET (publish = %L)', publication, 'insert, update, delete, truncate');
    ELSE
        EXECUTE format('CREATE PUBLICATION %I FOR TABLE %s', publication, tables);
    END IF;
    EXECUTE format('COMMENT ON PUBLICATION %I IS %L', publication,
                   'inventory_sync: read copies of balances and channel ATP with the master data to interpret them (docs/reference/feed.md)');
    RETURN publication;
END
$$;
COMMENT ON FUNCTION create_publication(text) IS
  'Creates the publication for native subscribers (balances, channel ATP and their master data), or brings an existing one back to that table list; returns its name. Needs the rights of the tables'' owner';

-- ---------------------------------------------------------------------------
-- Hard-reset snapshots. Each row is a key with its state and the key's version; a
-- consumer keeps, per key, the state with the highest version it has seen (from a
-- snapshot or from the stream), so loading a snapshot and applying the stream, in any
-- overlap, ends exactly at the truth. docs/reference/feed.md gives the exact procedure
-- (a slot created with EXPORT_SNAPSHOT, the snapshot read under it, the stream started
-- at the slot's consistent point).
--
-- Both functions read everything in one query (one snapshot). snapshot_lsn is the WAL
-- insert position read during that query: every transaction the snapshot shows
-- committed before it. stream_from is the position the named slot resumes from.
-- ---------------------------------------------------------------------------
CREATE FUNCTION _feed_slot_position(slot_name text)
RETURNS pg_lsn
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    s record;
BEGIN
    IF slot_name IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT r.plugin, r.database, r.confirmed_flush_lsn INTO s
      FROM pg_catalog.pg_replication_slots r WHERE r.slot_name = $1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'replication slot "%" does not exist', slot_name
              USING ERRCODE = '42704',
                    HINT = format('Create it with pg_create_logical_replication_slot(%L, ''inventory_sync''), or with CREATE_REPLICATION_SLOT ... LOGICAL inventory_sync on a replication connection.', slot_name);
    END IF;
    IF s.plugin IS DISTINCT FROM 'inventory_sync' OR s.database IS DISTINCT FROM current_database() THEN
        RAISE EXCEPTION 'replication slot "%" is not an inventory_sync slot of this database', slot_name
              USING ERRCODE = '22023',
                    DETAIL = format('The slot decodes database %s with plugin %s.',
                                    coalesce(s.database::text, '(none)'), coalesce(s.plugin::text, '(none)'));
    END IF;
    RETURN s.confirmed_flush_lsn;
END
$$;
COMMENT ON FUNCTION _feed_slot_position(text) IS
  'Internal: the position an inventory_sync slot of this database resumes from (NULL for no slot); raises 42704 or 22023 for a missing or foreign slot';

CREATE FUNCTION location_snapshot(location gln, slot_name text DEFAULT NULL)
RETURNS TABLE (gtin gtin, gln gln, lot lot_number, bucket text, sellable boolean,
               quantity numeric, version bigint, snapshot_lsn pg_lsn, stream_from pg_lsn)
LANGUAGE plpgsql VOLATILE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    resume pg_lsn := inventory_sync._feed_slot_position(slot_name);
BEGIN
    IF NOT EXISTS (SELECT FROM inventory_sync.location l WHERE l.gln OPERATOR(inventory_sync.=) $1) THEN
        RAISE EXCEPTION 'unknown location: gln %', $1
              USING ERRCODE = '23503', HINT = 'Locations are in inventory_sync.location.';
    END IF;
    RETURN QUERY
        WITH pos AS MATERIALIZED (SELECT pg_catalog.pg_current_wal_insert_lsn() AS lsn)
        SELECT b.item_gtin, b.location, b.lot, b.bucket, coalesce(bk.sellable, false),
               b.quantity, b.version, pos.lsn, resume
          FROM inventory_sync.balance b
          LEFT JOIN inventory_sync.bucket bk ON bk.bucket = b.bucket
         CROSS JOIN pos
         WHERE b.location OPERATOR(inventory_sync.=) $1
         ORDER BY b.item_gtin, b.lot NULLS FIRST, b.bucket;
END
$$;
COMMENT ON FUNCTION location_snapshot(gln, text) IS
  'Hard-reset snapshot of a location: every balance key (item, lot, bucket) with its quantity and version, the WAL position of the snapshot and, for a named slot, where its stream resumes';

CREATE FUNCTION channel_snapshot(channel text, slot_name text DEFAULT NULL)
RETURNS TABLE (gtin gtin, atp numeric, version bigint, snapshot_lsn pg_lsn, stream_from pg_lsn)
LANGUAGE plpgsql VOLATILE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    resume pg_lsn := inventory_sync._feed_slot_position(slot_name);
BEGIN
    IF NOT EXISTS (SELECT FROM inventory_sync.channel c WHERE c.channel = $1) THEN
        RAISE EXCEPTION 'unknown channel "%"', $1
              USING ERRCODE = '23503', HINT = 'Channels are in inventory_sync.channel.';
    END IF;
    RETURN QUERY
        WITH pos AS MATERIALIZED (SELECT pg_catalog.pg_current_wal_insert_lsn() AS lsn)
        SELECT a.item_gtin, a.atp, a.version, pos.lsn, resume
          FROM inventory_sync.channel_atp a
         CROSS JOIN pos
         WHERE a.channel = $1
         ORDER BY a.item_gtin;
END
$$;
COMMENT ON FUNCTION channel_snapshot(text, text) IS
  'Hard-reset snapshot of a channel: its published ATP per item with the version, the WAL position of the snapshot and, for a named slot, where its stream resumes';

