-- title: 1. Master data: who is the system of record where, what we sell, through which channels
SET search_path = inventory_sync, public;
SET client_min_messages = warning;
\set SHOW_CONTEXT never

\echo 'A food retailer: a distribution centre run by a WMS, two stores with their own POS, and a'
\echo 'dairy plant whose stock is kept in the ERP while its quality lab (LIMS) releases lots.'
\echo 'Every system writes facts into this one database; each is the system of record somewhere.'
\echo

INSERT INTO location (gln, name, kind, latitude, longitude) VALUES
  ('0614141000012', 'DC Rotterdam',       'warehouse', 51.885, 4.286),
  ('0614141000029', 'Store Main Street',  'store',     51.922, 4.479),
  ('0614141000036', 'Store Station Road', 'store',     51.925, 4.469),
  ('0614141000043', 'Dairy plant Gouda',  'plant',     52.017, 4.708),
  ('0614141999989', 'Truck plant -> DC',  'in_transit', NULL, NULL),
  ('0614141999972', 'Van DC -> Main St',  'in_transit', NULL, NULL);
-- Stock in a truck is expected supply at its destination (time-phased ATP, by ETA).
INSERT INTO transit_route (in_transit, destination) VALUES
  ('0614141999989', '0614141000012'), ('0614141999972', '0614141000029');

-- Each source is bound to a database role (here all the same one; in production each
-- system logs in as its own role and may post only as its own source).
INSERT INTO source (source, name, kind, role) VALUES
  ('erp',         'ERP (plant inventory)',       'erp',  current_user),
  ('wms',         'WMS of DC Rotterdam',         'wms',  current_user),
  ('pos_main',    'POS Main Street',             'pos',  current_user),
  ('pos_station', 'POS Station Road',            'pos',  current_user),
  ('lims',        'Quality lab (LIMS)',          'lims', current_user);
INSERT INTO ownership (location, bucket, source) VALUES
  ('0614141000012', NULL, 'wms'),
  ('0614141000029', NULL, 'pos_main'),
  ('0614141000036', NULL, 'pos_station'),
  ('0614141000043', NULL, 'erp'),
  ('0614141000043', 'released', 'lims');   -- only the lab makes plant stock sellable

\echo 'Locations by GLN, and the system of record for each (bucket "*" = every other bucket):'
SELECT l.gln, l.name, l.kind,
       coalesce(string_agg(coalesce(o.bucket, '*') || ' -> ' || o.source, ', ' ORDER BY o.bucket NULLS FIRST),
                '(any bound source: stock on the road)') AS system_of_record
  FROM location l LEFT JOIN ownership o ON o.location = l.gln
 GROUP BY l.gln, l.name, l.kind ORDER BY l.kind, l.gln;

INSERT INTO item (gtin, name, lot_tracked, shelf_life_days) VALUES
  ('09506000134352', 'Espresso beans 1 kg', false, NULL),
  ('09506000134369', 'Green tea 100 bags',  false, NULL),
  ('09506000134390', 'Oat milk 1 l',        true,  120),
  ('09506000134383', 'Greek yoghurt 500 g', true,  28);
INSERT INTO item_pack (pack_gtin, item_gtin, quantity, name) VALUES
  ('19506000134359', '09506000134352', 12, 'Case of 12'),
  ('19506000134397', '09506000134390', 6,  'Case of 6'),
  ('19506000134380', '09506000134383', 8,  'Tray of 8');
-- Lots already known (their expiry came with the goods); lots first posted later are
-- registered by the engine, and the dock below takes their expiry from the barcode.
INSERT INTO lot (item_gtin, lot, production_date, expiry) VALUES
  ('09506000134390', 'OM-2601', current_date - 116, current_date + 4),
  ('09506000134390', 'OM-2602', current_date - 80,  current_date + 40),
  ('09506000134383', 'Y-0309',  current_date - 2,   current_date + 26),
  ('09506000134383', 'Y-0310',  current_date - 1,   current_date + 27);

\echo 'Items by GTIN (any of GTIN-8/12/13/14, check digit verified), with their pack GTINs:'
SELECT i.gtin, i.name, i.base_unit AS unit, i.lot_tracked AS lots, i.shelf_life_days AS shelf_life,
       coalesce(p.pack_gtin::text || ' = ' || p.quantity || ' (' || p.name || ')', '') AS pack
  FROM item i LEFT JOIN item_pack p ON p.item_gtin = i.gtin ORDER BY i.gtin;

\echo 'Two sales channels. The web shop follows the change feed (delta sync) and keeps 2 of'
\echo 'every item back as safety stock; it promises only milk with at least 7 days of shelf life.'
\echo 'The marketplace has API limits: it takes a hard reset every hour, and it may promise'
\echo 'against supply still on the road (backorders with a promised date).'
INSERT INTO channel (channel, name, kind, safety_stock, min_shelf_life_days, allow_backorder, fulfilment_source) VALUES
  ('web',         'Web shop',    'web',         2, 7, false, 'wms'),
  ('marketplace', 'Marketplace', 'marketplace', 0, 0, true,  'wms');
INSERT INTO channel_location (channel, location, priority) VALUES
  ('web', '0614141000012', 1), ('web', '0614141000029', 2), ('web', '0614141000036', 3),
  ('marketplace', '0614141000012', 1);
SELECT c.channel, c.safety_stock, c.min_shelf_life_days AS min_shelf_life, c.allow_backorder AS backorders,
       CASE c.channel WHEN 'web' THEN 'delta (feed)' ELSE 'hard reset' END AS sync,
       string_agg(replace(demo.loc(cl.location), 'Store ', ''), ', ' ORDER BY cl.priority) AS sells_from
  FROM channel c JOIN channel_location cl USING (channel)
 GROUP BY c.channel ORDER BY c.channel DESC;

\echo
\echo 'Go-live: each system of record posts the stock it holds today. (Plain INSERTs into the'
\echo 'ledger work too; these are the stored-procedure wrappers.)'
SELECT count(*) AS postings FROM (
  SELECT receive('wms', 'OPEN-1', '19506000134359', '0614141000012', 30, 'released')           -- 30 cases
  UNION ALL SELECT receive('wms', 'OPEN-2', '09506000134390', '0614141000012', 24, 'released', lot => 'OM-2601')
  UNION ALL SELECT receive('wms', 'OPEN-3', '09506000134390', '0614141000012', 60, 'released', lot => 'OM-2602')
  UNION ALL SELECT receive('pos_main', 'OPEN-1', '09506000134352', '0614141000029', 20, 'released')
  UNION ALL SELECT receive('pos_main', 'OPEN-2', '09506000134369', '0614141000029', 10, 'released')
  UNION ALL SELECT receive('pos_main', 'OPEN-3', '09506000134390', '0614141000029', 12, 'released', lot => 'OM-2602')
  UNION ALL SELECT receive('pos_station', 'OPEN-1', '09506000134352', '0614141000036', 1, 'released')
  UNION ALL SELECT produce('erp', 'PO-0309', '19506000134380', '0614141000043', 60, 'Y-0309')  -- into qa_hold
  UNION ALL SELECT produce('erp', 'PO-0310', '19506000134380', '0614141000043', 120, 'Y-0310')
) p;
SELECT demo.loc(location) AS location, demo.item(item_gtin) AS item, coalesce(lot::text, '') AS lot, bucket,
       quantity, version
  FROM balance ORDER BY location, item_gtin, lot, bucket;

\echo 'What each channel can promise now (ATP = sellable on-hand - reservations - safety stock;'
\echo 'the OM-2601 milk expires in 4 days, so the web shop does not count it):'
SELECT demo.item(i.gtin) AS item,
       atp(i.gtin, channel => 'web') AS web, atp(i.gtin, channel => 'marketplace') AS marketplace,
       atp(i.gtin) AS network
  FROM item i ORDER BY i.gtin;

-- The ERP's nightly extract of the plant and the store system's availability extract are
-- taken now; the morning section ingests them as of these moments.
INSERT INTO demo.clock VALUES ('erp_extract', clock_timestamp());
\echo 'A web customer reserves 2 espresso to collect at Main Street (click & collect); the store'
\echo 'sets them aside on its side too.'
SELECT reservation_id, channel, order_ref, demo.item(item_gtin) AS item, quantity, demo.loc(location) AS held_at,
       demo.dur(expires_at - now()) AS held_for
  FROM reserve('web', 'W-0999', '1', '09506000134352', 2, '0614141000029', expires_at => now() + interval '10 hours');
INSERT INTO demo.clock VALUES ('store_extract', clock_timestamp());
