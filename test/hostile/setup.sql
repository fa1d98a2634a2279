-- The hostile suite's database, as the superuser: the extension, master data over the
-- realistic topology (a web shop over a DC and three stores, a marketplace selling from
-- the same DC, a dedicated outlet store), lots, serials, stock, and a feed table.
-- Login roles are created by hostile.py (with their passwords); this file binds them.
-- psql variables: none. Identifiers are fixed; hostile.py reads them back from here.
SET client_min_messages = warning;
CREATE EXTENSION inventory_sync;
SET search_path = inventory_sync, public;

INSERT INTO item (gtin, name, lot_tracked, serial_tracked, shelf_life_days) VALUES
  ('09506000134352', 'Espresso beans 1 kg', false, false, NULL),
  ('09506000134369', 'Yoghurt (lots)',      true,  false, 30),
  ('09506000134376', 'Drill (serials)',     false, true,  NULL);
INSERT INTO item_pack VALUES ('19506000134359', '09506000134352', 12, 'Case of 12');
INSERT INTO item_unit VALUES ('09506000134352', 'KGM', 1);
-- a kit of two of them (its GTIN is the kit functions' sane argument)
INSERT INTO kit (gtin, name) VALUES ('09506000134383', 'Gift box');
INSERT INTO kit_component VALUES ('09506000134383', '09506000134352', 2), ('09506000134383', '09506000134369', 1);
-- and a pair of bean packs, which the web shop has in stock (the API calls' sane kit)
INSERT INTO kit (gtin, name) VALUES ('09506000134390', 'Twin pack');
INSERT INTO kit_component VALUES ('09506000134390', '09506000134352', 2);

INSERT INTO location (gln, name, kind, strict) VALUES
  ('0614141000012', 'DC',          'warehouse',  false),
  ('0614141000029', 'Store 1',     'store',      false),
  ('0614141000036', 'Store 2',     'store',      false),
  ('0614141000043', 'Store 3',     'store',      true),
  ('0614141000050', 'Truck',       'in_transit', false),
  ('0614141000067', 'Plant',       'plant',      false),
  ('0614141000074', 'Outlet',      'store',      false);

INSERT INTO source (source, name, kind, role) VALUES
  ('wms', 'WMS', 'wms', 'hostile_writer'),
  ('pos', 'POS', 'pos', 'hostile_writer'),
  ('mes', 'MES', 'mes', 'hostile_writer'),
  ('erp', 'ERP', 'erp', 'hostile_admin');
INSERT INTO ownership VALUES
  ('0614141000012', NULL, 'wms'), ('0614141000050', NULL, 'wms'),
  ('0614141000029', NULL, 'pos'), ('0614141000036', NULL, 'pos'),
  ('0614141000043', NULL, 'pos'), ('0614141000074', NULL, 'pos'),
  ('0614141000067', NULL, 'mes');

INSERT INTO lot (item_gtin, lot, production_date, expiry) VALUES
  ('09506000134369', 'LOT-A', current_date - 10, current_date + 300),
  ('09506000134369', 'LOT-B', current_date - 60, current_date - 1),
  ('09506000134369', 'LOT-C', current_date - 1, current_date + 20);

INSERT INTO channel (channel, name, kind, fulfilment_source) VALUES
  ('web',    'Web shop',    'web',         'wms'),
  ('market', 'Marketplace', 'marketplace', 'wms'),
  ('outlet', 'Outlet',      'store',       'pos');
INSERT INTO channel_location (channel, location, priority) VALUES
  ('web', '0614141000012', 10), ('web', '0614141000029', 20),
  ('web', '0614141000036', 20), ('web', '0614141000043', 30),
  ('market', '0614141000012', 10),
  ('outlet', '0614141000074', 10);
INSERT INTO channel_safety_stock VALUES ('web', '09506000134352', 2);
-- the web shop brokers orders by distance (the DC and its stores on a line of latitude)
UPDATE location SET latitude = 52.0, longitude = 4.0 + 0.2 * (right(gln::text, 2)::int / 10)
 WHERE gln IN ('0614141000012', '0614141000029', '0614141000036', '0614141000043');
INSERT INTO broker_rule (channel, rule_no, location_kind, max_distance_km, allow_split, max_shipments)
VALUES ('web', 1, 'store', 30, true, 2), ('web', 2, NULL, NULL, true, 3);
INSERT INTO safety_stock VALUES ('09506000134352', '0614141000029', 1);

-- a feed for snapshot ingest, readable by everyone; and one with the wrong columns
CREATE TABLE public.hostile_feed (gtin text, gln text, lot text, bucket text, quantity text, as_of text);
INSERT INTO public.hostile_feed VALUES
  ('09506000134352', '0614141000012', NULL, 'released', '990', NULL),
  ('9506000134352', '614141000012', '', '', ' 5 ', NULL),
  ('09506000134369', '0614141000012', 'LOT-A', 'released', '40', NULL),
  ('bogus', 'x', 'LOT-\x', 'no such bucket', 'NaN', 'yesterday'),
  (NULL, NULL, NULL, NULL, NULL, NULL),
  ('09506000134352', '0614141000012', NULL, 'released', '1e400', '4713-01-01 BC');
CREATE TABLE public.hostile_feed_bad (x integer);
CREATE VIEW public.hostile_feed_view AS SELECT * FROM public.hostile_feed;
GRANT SELECT ON public.hostile_feed, public.hostile_feed_bad, public.hostile_feed_view TO PUBLIC;

-- a schema the writer owns (its shadowing attempts put it first in search_path)
CREATE SCHEMA evil AUTHORIZATION hostile_writer;
RESET search_path;
