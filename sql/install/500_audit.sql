-- since 0.2.0
-- ---------------------------------------------------------------------------
-- Audit trail of master data: every INSERT, UPDATE, DELETE and TRUNCATE of the tables
-- that decide what postings mean and where stock may be promised (items, packs, units,
-- locations, buckets, reason codes, sources, ownership, channels and their locations,
-- safety stock, supply, transit routes, recall authorities, kits, supply protections and
-- caps, brokering rules and location groups) is recorded in audit_log:
-- who, when, what, the row's key, and the row before and after, as jsonb.
--
-- Statement triggers with transition tables: a bulk load of master data writes its audit
-- rows in one INSERT ... SELECT per statement, not one trigger call per row. An UPDATE's
-- old and new rows are paired by the table's key (given to the trigger as arguments); an
-- UPDATE that changes a key records the old key's row and the new key's row apart.
--
-- audit_log is append-only the way the ledger is (refuse_change('superuser')): no API
-- role may write it, the trigger writes it with the owner's rights, and only a superuser
-- can rewrite or truncate it.
-- ---------------------------------------------------------------------------

CREATE TABLE audit_log (
    audit_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    changed_at   timestamptz NOT NULL DEFAULT now(),
    txid         bigint NOT NULL DEFAULT pg_catalog.txid_current(),
    session_role text NOT NULL,
    acting_role  text NOT NULL,
    operation    text NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
    table_name   text NOT NULL,
    row_key      jsonb,
    before       jsonb,
    after        jsonb
);
COMMENT ON TABLE audit_log IS 'Append-only audit trail of master data: who changed which row of which table, when, and the row before and after (UPDATE, DELETE and TRUNCATE refused except by a superuser)';
COMMENT ON COLUMN audit_log.changed_at IS 'Transaction time of the change';
COMMENT ON COLUMN audit_log.txid IS 'Transaction that made the change (the rows of one transaction share it)';
COMMENT ON COLUMN audit_log.session_role IS 'The login role of the session (session_user)';
COMMENT ON COLUMN audit_log.acting_role IS 'The role the statement ran as (current_user of the statement: the role set by SET ROLE, else the login role)';
COMMENT ON COLUMN audit_log.operation IS 'INSERT, UPDATE, DELETE or TRUNCATE';
COMMENT ON COLUMN audit_log.table_name IS 'The master-data table changed';
COMMENT ON COLUMN audit_log.row_key IS 'The row''s key columns and values (NULL for TRUNCATE)';
COMMENT ON COLUMN audit_log.before IS 'The row before the change (NULL for INSERT)';
COMMENT ON COLUMN audit_log.after IS 'The row after the change (NULL for DELETE)';
CREATE INDEX audit_log_table_key ON audit_log (table_name, row_key);
COMMENT ON INDEX audit_log_table_key IS 'History of one row of master data';
CREATE INDEX audit_log_changed_at ON audit_log USING brin (changed_at);
COMMENT ON INDEX audit_log_changed_at IS 'Changes over a period (rows arrive in time order)';

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('superuser');

-- The trigger runs with the owner's rights (no API role may write audit_log), so the
-- statement's own role is read from the session: the role SET ROLE chose, else the login.
CREATE FUNCTION _audit_master_data() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
DECLARE
    acting text := coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user);
    keys text[] := TG_ARGV;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO inventory_sync.audit_log (session_role, acting_role, operation, table_name)
        VALUES (session_user, acting, 'TRUNCATE', TG_TABLE_NAME);
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO inventory_sync.audit_log (session_role, acting_role, operation, table_name, row_key, after)
        SELECT session_user, acting, 'INSERT', TG_TABLE_NAME, inventory_sync._audit_key(j, keys), j
          FROM (SELECT pg_catalog.to_jsonb(n) AS j FROM new_rows n) r;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO inventory_sync.audit_log (session_role, acting_role, operation, table_name, row_key, before)
        SELECT session_user, acting, 'DELETE', TG_TABLE_NAME, inventory_sync._audit_key(j, keys), j
          FROM (SELECT pg_catalog.to_jsonb(o) AS j FROM old_rows o) r;
    ELSE
        INSERT INTO inventory_sync.audit_log (session_role, acting_role, operation, table_name, row_key, before, after)
        SELECT session_user, acting, 'UPDATE', TG_TABLE_NAME, coalesce(o.k, n.k), o.j, n.j
          FROM (SELECT pg_catalog.to_jsonb(x) AS j, inventory_sync._audit_key(pg_catalog.to_jsonb(x), keys) AS k
                  FROM old_rows x) o
          FULL JOIN (SELECT pg_catalog.to_jsonb(x) AS j, inventory_sync._audit_key(pg_catalog.to_jsonb(x), keys) AS k
                       FROM new_rows x) n ON o.k OPERATOR(pg_catalog.=) n.k
         WHERE o.j IS DISTINCT FROM n.j;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION _audit_master_data() IS
  'Master-data statement trigger (arguments: the key columns): records the statement''s rows before and after in audit_log';

CREATE FUNCTION _audit_key(row_value jsonb, key_columns text[])
RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.jsonb_object_agg(k, $1 OPERATOR(pg_catalog.->) k) FROM pg_catalog.unnest($2) k
$$;
COMMENT ON FUNCTION _audit_key(jsonb, text[]) IS 'The key columns of a row, as a jsonb object';

-- Sets up the audit triggers of one table (called for each audited table at install).
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('unit', ARRAY['unit']), ('item', ARRAY['gtin']), ('item_pack', ARRAY['pack_gtin']),
        ('item_unit', ARRAY['item_gtin', 'unit']), ('location', ARRAY['gln']), ('bucket', ARRAY['bucket']),
        ('reason_code', ARRAY['reason']), ('source', ARRAY['source']),
        ('ownership', ARRAY['location', 'bucket']), ('channel', ARRAY['channel']),
        ('channel_location', ARRAY['channel', 'location']),
        ('channel_safety_stock', ARRAY['channel', 'item_gtin']), ('safety_stock', ARRAY['item_gtin', 'location']),
        ('supply', ARRAY['supply_id']), ('transit_route', ARRAY['in_transit']),
        ('kit', ARRAY['gtin']), ('kit_component', ARRAY['kit', 'component']),
        ('channel_protection', ARRAY['channel', 'item_gtin', 'location']),
        ('channel_cap', ARRAY['channel', 'item_gtin']),
        ('location_group', ARRAY['location_group']), ('location_group_member', ARRAY['location_group', 'location']),
        ('broker_location', ARRAY['location']), ('broker_rule', ARRAY['channel', 'rule_no'])) AS v(tab, keys)
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION _audit_master_data(%s)',
                       t.tab || '_audit_insert', t.tab, array_to_string(t.keys, ', '));
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION _audit_master_data(%s)',
                       t.tab || '_audit_update', t.tab, array_to_string(t.keys, ', '));
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION _audit_master_data(%s)',
                       t.tab || '_audit_delete', t.tab, array_to_string(t.keys, ', '));
        EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION _audit_master_data(%s)',
                       t.tab || '_audit_truncate', t.tab, array_to_string(t.keys, ', '));
    END LOOP;
END
$$;

-- Readers read it; nobody but the trigger writes it.
REVOKE ALL ON audit_log FROM PUBLIC;
GRANT SELECT ON audit_log TO inventory_sync_reader;
SELECT pg_catalog.pg_extension_config_dump('audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('audit_log_audit_id_seq', '');
