-- since 0.2.0
-- ---------------------------------------------------------------------------
-- Lot genealogy, read from the ledger.
--
-- A production order (work order, batch record) is the first word of the `reference` of
-- its consumption and production postings ("WO-5501", also for "WO-5501 SSCC 1061..."):
-- every lot it consumed is an input of every lot it produced. Nothing is stored twice:
-- the links are the postings, found through two partial indexes that only manufacturing
-- postings enter, so receipts, issues and transfers pay nothing for them.
--
-- trace_back() and trace_forward() walk the links to any depth with a recursive query.
-- A lot reached twice (a lot consumed by two orders whose outputs meet again) is walked
-- once from each path, and a cycle (an order that consumes a lot it also produced, or a
-- rework loop) stops where a path would visit a lot a second time. Each lot is reported
-- once, at the depth of its shortest path.
-- ---------------------------------------------------------------------------

CREATE INDEX ledger_manufacturing_lot ON ledger (item_gtin, lot, (pg_catalog.split_part(reference, ' ', 1)))
 WHERE kind IN ('consumption', 'production') AND lot IS NOT NULL AND reference IS NOT NULL;
COMMENT ON INDEX ledger_manufacturing_lot IS 'Production orders a lot was consumed in or produced by (lot genealogy)';
CREATE INDEX ledger_manufacturing_order ON ledger ((pg_catalog.split_part(reference, ' ', 1)), kind)
 WHERE kind IN ('consumption', 'production') AND lot IS NOT NULL AND reference IS NOT NULL;
COMMENT ON INDEX ledger_manufacturing_order IS 'Consumption and production postings of a production order (lot genealogy)';
CREATE INDEX ledger_lot ON ledger (item_gtin, lot) WHERE lot IS NOT NULL AND kind IN ('issue', 'transfer_out');
COMMENT ON INDEX ledger_lot IS 'Where a lot left a location: its issues and transfers out (trace, recall)';
CREATE INDEX balance_lot ON balance (item_gtin, lot) WHERE lot IS NOT NULL;
COMMENT ON INDEX balance_lot IS 'Where a lot is now (trace, recall)';

CREATE FUNCTION production_order_of(reference text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT nullif(pg_catalog.split_part($1, ' ', 1), '') $$;
COMMENT ON FUNCTION production_order_of(text) IS
  'The production order a posting''s reference names: its first word ("WO-5501 SSCC 1061..." -> "WO-5501")';

CREATE VIEW lot_link AS
WITH flow AS (
    SELECT pg_catalog.split_part(l.reference, ' ', 1) AS production_order, l.kind, l.item_gtin, l.lot,
           pg_catalog.abs(pg_catalog.sum(l.base_quantity)) AS quantity, pg_catalog.min(l.event_time) AS first_at,
           pg_catalog.max(l.event_time) AS last_at
      FROM inventory_sync.ledger l
     WHERE l.kind IN ('consumption', 'production') AND l.lot IS NOT NULL AND l.reference IS NOT NULL
     GROUP BY 1, 2, 3, 4
    HAVING pg_catalog.sum(l.base_quantity) <> 0
)
SELECT i.production_order, i.item_gtin AS input_gtin, i.lot AS input_lot, i.quantity AS consumed,
       o.item_gtin AS output_gtin, o.lot AS output_lot, o.quantity AS produced,
       LEAST(i.first_at, o.first_at) AS first_at, GREATEST(i.last_at, o.last_at) AS last_at
  FROM flow i
  JOIN flow o ON o.production_order = i.production_order AND o.kind = 'production'
 WHERE i.kind = 'consumption' AND i.production_order <> '';
COMMENT ON VIEW lot_link IS 'Lot genealogy: per production order (first word of the reference), every input lot consumed linked to every output lot produced, with the net quantities';

-- One step of the walk: the lots linked to (gtin, lot) through a production order, in
-- the given direction ("back": what it was made from; "forward": what it went into).
CREATE FUNCTION _lot_links(from_gtin gtin, from_lot lot_number, forward boolean)
RETURNS TABLE (production_order text, item_gtin gtin, lot lot_number, quantity numeric, via_quantity numeric)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT o.production_order, x.item_gtin, x.lot, pg_catalog.abs(pg_catalog.sum(x.base_quantity)), o.quantity
      FROM (SELECT pg_catalog.split_part(l.reference, ' ', 1) AS production_order,
                   pg_catalog.abs(pg_catalog.sum(l.base_quantity)) AS quantity
              FROM inventory_sync.ledger l
             WHERE l.kind IN ('consumption', 'production')
               AND l.kind = CASE WHEN $3 THEN 'consumption' ELSE 'production' END::inventory_sync.posting_kind
               AND l.item_gtin OPERATOR(inventory_sync.=) $1 AND l.lot OPERATOR(inventory_sync.=) $2
               AND l.reference IS NOT NULL
             GROUP BY 1) o
      JOIN inventory_sync.ledger x
        ON pg_catalog.split_part(x.reference, ' ', 1) = o.production_order
       AND x.kind IN ('consumption', 'production')
       AND x.kind = CASE WHEN $3 THEN 'production' ELSE 'consumption' END::inventory_sync.posting_kind
       AND x.lot IS NOT NULL AND x.reference IS NOT NULL
     WHERE o.production_order <> ''
     GROUP BY o.production_order, x.item_gtin, x.lot, o.quantity
    HAVING pg_catalog.sum(x.base_quantity) <> 0
$$;
COMMENT ON FUNCTION _lot_links(gtin, lot_number, boolean) IS
  'One step of a trace: the lots linked to a lot through its production orders (forward: its outputs; back: its inputs)';

CREATE FUNCTION _trace(start_gtin gtin, start_lot lot_number, forward boolean, max_depth integer)
RETURNS TABLE (depth integer, item_gtin gtin, lot_number lot_number, production_order text, quantity numeric,
               parent_gtin gtin, parent_lot lot_number)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    PERFORM inventory_sync._lot_check(start_gtin, start_lot);
    IF max_depth IS NULL OR max_depth < 0 THEN
        RAISE EXCEPTION 'max_depth must be 0 or more, not %', coalesce(max_depth::text, 'NULL')
              USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    WITH RECURSIVE walk (depth, item_gtin, lot, production_order, quantity, parent_gtin, parent_lot, path) AS (
        SELECT 0, $1, $2, NULL::text, NULL::numeric, NULL::inventory_sync.gtin, NULL::inventory_sync.lot_number,
               ARRAY[$1::text || '/' || $2::text]
      UNION ALL
        SELECT w.depth + 1, s.item_gtin, s.lot, s.production_order, s.quantity, w.item_gtin, w.lot,
               w.path || (s.item_gtin::text || '/' || s.lot::text)
          FROM walk w
          CROSS JOIN LATERAL inventory_sync._lot_links(w.item_gtin, w.lot, $3) s
         WHERE w.depth < $4
           AND (s.item_gtin::text || '/' || s.lot::text) <> ALL (w.path)
    )
    SELECT DISTINCT ON (w.item_gtin, w.lot) w.depth, w.item_gtin, w.lot, w.production_order, w.quantity,
           w.parent_gtin, w.parent_lot
      FROM walk w
     ORDER BY w.item_gtin, w.lot, w.depth, w.production_order;
END
$$;
COMMENT ON FUNCTION _trace(gtin, lot_number, boolean, integer) IS
  'The walk behind trace_back() and trace_forward(): every lot linked to a lot at any depth (up to max_depth), once, at its shortest depth; cycles stop';

-- Refuses a lot the ledger has never seen, naming it.
CREATE FUNCTION _lot_check(gtin gtin, lot lot_number)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    IF gtin IS NULL OR lot IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', CASE WHEN gtin IS NULL THEN 'item' ELSE 'lot' END
              USING ERRCODE = 'null_value_not_allowed', HINT = 'Name the item (GTIN) and the lot.';
    END IF;
    IF NOT EXISTS (SELECT FROM inventory_sync.lot l
                    WHERE l.item_gtin OPERATOR(inventory_sync.=) gtin AND l.lot OPERATOR(inventory_sync.=) lot)
       AND NOT EXISTS (SELECT FROM inventory_sync.balance b
                        WHERE b.item_gtin OPERATOR(inventory_sync.=) gtin AND b.lot OPERATOR(inventory_sync.=) lot) THEN
        RAISE EXCEPTION 'unknown lot % of item %', lot, gtin
              USING ERRCODE = 'IS050',
                    DETAIL = 'No posting has named this lot of this item.',
                    HINT = 'Check the item (GTIN) and the lot number as printed on the label.';
    END IF;
END
$$;
COMMENT ON FUNCTION _lot_check(gtin, lot_number) IS 'Refuses a NULL or unknown lot (IS050), naming it';

CREATE VIEW lot_shipment AS
SELECT l.posting_id, l.item_gtin, l.lot, l.location, l.to_location,
       -l.base_quantity AS quantity, l.reference, l.source, l.source_event_id, l.event_time
  FROM inventory_sync.ledger l
 WHERE l.kind = 'issue' AND l.lot IS NOT NULL
UNION ALL
SELECT l.posting_id, l.item_gtin, l.lot, l.location, l.to_location,
       -l.base_quantity, l.reference, l.source, l.source_event_id, l.event_time
  FROM inventory_sync.ledger l
  JOIN inventory_sync.location d ON d.gln OPERATOR(inventory_sync.=) l.to_location
 WHERE l.kind = 'transfer_out' AND l.lot IS NOT NULL AND d.kind = 'customer';
COMMENT ON VIEW lot_shipment IS 'Lots leaving the network: issues (sales, shipments to customers) and transfers to customer locations, with their reference documents and dates';

-- Where a lot is now and where it left the network, for the trace's lots.
CREATE FUNCTION _lot_on_hand(gtin gtin, lot lot_number)
RETURNS jsonb
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'location', b.location::text, 'bucket', b.bucket, 'quantity', b.quantity::text)
             ORDER BY b.location, b.bucket), '[]')
      FROM inventory_sync.balance b
     WHERE b.item_gtin OPERATOR(inventory_sync.=) $1 AND b.lot OPERATOR(inventory_sync.=) $2 AND b.quantity <> 0
$$;
COMMENT ON FUNCTION _lot_on_hand(gtin, lot_number) IS 'Where a lot is now: its non-zero balances by location and bucket, as jsonb';

CREATE FUNCTION _lot_shipments(gtin gtin, lot lot_number)
RETURNS jsonb
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'posting_id', s.posting_id, 'location', s.location::text, 'quantity', s.quantity::text,
               'reference', s.reference, 'event_time', s.event_time)
             ORDER BY s.event_time, s.posting_id), '[]')
      FROM inventory_sync.lot_shipment s
     WHERE s.item_gtin OPERATOR(inventory_sync.=) $1 AND s.lot OPERATOR(inventory_sync.=) $2
$$;
COMMENT ON FUNCTION _lot_shipments(gtin, lot_number) IS 'Where a lot left the network: its shipments to customers, as jsonb';

CREATE FUNCTION trace_back(item gtin, lot lot_number, max_depth integer DEFAULT 1000)
RETURNS TABLE (depth integer, item_gtin gtin, lot_number lot_number, production_order text, quantity numeric,
               parent_gtin gtin, parent_lot lot_number, on_hand jsonb, shipped jsonb)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT t.depth, t.item_gtin, t.lot_number, t.production_order, t.quantity, t.parent_gtin, t.parent_lot,
           inventory_sync._lot_on_hand(t.item_gtin, t.lot_number), inventory_sync._lot_shipments(t.item_gtin, t.lot_number)
      FROM inventory_sync._trace($1, $2, false, $3) t
     ORDER BY t.depth, t.item_gtin, t.lot_number
$$;
COMMENT ON FUNCTION trace_back(gtin, lot_number, integer) IS
  'Lot genealogy backwards: the lot (depth 0) and every lot it was made from, at any depth, with the production order and quantity consumed, where each is now and where it left the network';

CREATE FUNCTION trace_forward(item gtin, lot lot_number, max_depth integer DEFAULT 1000)
RETURNS TABLE (depth integer, item_gtin gtin, lot_number lot_number, production_order text, quantity numeric,
               parent_gtin gtin, parent_lot lot_number, on_hand jsonb, shipped jsonb)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, inventory_sync, pg_temp
AS $$
    SELECT t.depth, t.item_gtin, t.lot_number, t.production_order, t.quantity, t.parent_gtin, t.parent_lot,
           inventory_sync._lot_on_hand(t.item_gtin, t.lot_number), inventory_sync._lot_shipments(t.item_gtin, t.lot_number)
      FROM inventory_sync._trace($1, $2, true, $3) t
     ORDER BY t.depth, t.item_gtin, t.lot_number
$$;
COMMENT ON FUNCTION trace_forward(gtin, lot_number, integer) IS
  'Lot genealogy forwards: the lot (depth 0) and every lot made from it, at any depth, with the production order and quantity produced, where each is now and where it left the network';

-- Rights: reading is for readers (functions: 900_privileges.sql).
GRANT SELECT ON lot_link, lot_shipment TO inventory_sync_reader;
