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

-- Function rights are granted in one place, sql/install/900_privileges.sql.
GRANT USAGE ON SCHEMA inventory_sync TO PUBLIC;

GRANT SELECT ON ALL TABLES IN SCHEMA inventory_sync TO inventory_sync_reader;

GRANT inventory_sync_reader TO inventory_sync_writer;
GRANT INSERT ON ledger TO inventory_sync_writer;

GRANT inventory_sync_writer TO inventory_sync_admin;
GRANT INSERT, UPDATE, DELETE ON unit, item, item_pack, item_unit, location, bucket, reason_code,
      source, ownership TO inventory_sync_admin;
-- A lot's dates are master data; its release record is written only by the posting engine.
GRANT INSERT (item_gtin, lot, production_date, expiry), UPDATE (production_date, expiry), DELETE
   ON lot TO inventory_sync_admin;
GRANT UPDATE (resolved_at, resolution) ON exception TO inventory_sync_admin;
