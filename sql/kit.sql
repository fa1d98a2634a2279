-- Kits and bundles: a gift box sold by its own GTIN, made of three items that are stocked.
-- The box is never stocked: what it can be promised is what its components allow, and
-- reserving it reserves the components, all or nothing.
SET search_path = inventory_sync, public;
SET client_min_messages = warning;
\set SHOW_CONTEXT never

INSERT INTO item (gtin, name) VALUES
  ('09506000910017', 'Teapot'), ('09506000910024', 'Tea tin 100 g'), ('09506000910031', 'Tea cup');
INSERT INTO location (gln, name, kind) VALUES
  ('0614141910014', 'Gift DC', 'warehouse'), ('0614141910021', 'Gift store', 'store');
INSERT INTO source (source, name, kind, role) VALUES
  ('kit_wms', 'WMS', 'wms', current_user), ('kit_pos', 'POS', 'pos', current_user), ('kit_oms', 'OMS', 'oms', current_user);
INSERT INTO channel (channel, name, fulfilment_source) VALUES ('giftweb', 'Gift web shop', 'kit_oms');
INSERT INTO channel_location (channel, location, priority) VALUES
  ('giftweb', '0614141910014', 1), ('giftweb', '0614141910021', 2);

-- The gift box: one teapot, two tins, one cup, shipped together (one parcel from one
-- location). The sampler, a tin and a cup, may ship from several locations.
INSERT INTO kit (gtin, name) VALUES ('09506000910048', 'Tea gift box');
INSERT INTO kit_component (kit, component, quantity) VALUES
  ('09506000910048', '09506000910017', 1), ('09506000910048', '09506000910024', 2),
  ('09506000910048', '09506000910031', 1);
INSERT INTO kit (gtin, name, ships_separately) VALUES ('09506000910055', 'Tea sampler', true);
INSERT INTO kit_component (kit, component, quantity) VALUES
  ('09506000910055', '09506000910024', 1), ('09506000910055', '09506000910031', 1);
-- An order line names the box; what it takes of stock (the interface order brokering uses):
SELECT * FROM _order_line_components('09506000910048', 2);
SELECT * FROM _order_line_components('09506000910017', 2);   -- an item is itself

-- A kit is not an item: its GTIN names nothing stocked, so it cannot be one, and kits
-- do not nest.
INSERT INTO item (gtin, name) VALUES ('09506000910048', 'Tea gift box');
INSERT INTO kit_component (kit, component, quantity) VALUES ('09506000910055', '09506000910048', 1);
INSERT INTO kit_component (kit, component, quantity) VALUES ('09506000910055', '09506000910062', 1);
INSERT INTO kit_component (kit, component, quantity) VALUES ('09506000910048', '09506000910017', 0);
-- Receiving a gift box is refused like any GTIN the master data does not know.
SELECT count(*) FROM receive('kit_wms', 'GR-K0', '09506000910048', '0614141910014', 1, 'released');

-- Stock: at the DC 5 teapots, 6 tins, 10 cups; at the store 2 teapots, 10 tins, 1 cup.
SELECT count(*) FROM receive('kit_wms', 'GR-K1', '09506000910017', '0614141910014', 5, 'released');
SELECT count(*) FROM receive('kit_wms', 'GR-K2', '09506000910024', '0614141910014', 6, 'released');
SELECT count(*) FROM receive('kit_wms', 'GR-K3', '09506000910031', '0614141910014', 10, 'released');
SELECT count(*) FROM receive('kit_pos', 'GR-K4', '09506000910017', '0614141910021', 2, 'released');
SELECT count(*) FROM receive('kit_pos', 'GR-K5', '09506000910024', '0614141910021', 10, 'released');
SELECT count(*) FROM receive('kit_pos', 'GR-K6', '09506000910031', '0614141910021', 1, 'released');

-- Kit ATP: the gift box ships from one location, so it is the best location's: 3 at the
-- DC (the tins limit it: 6 / 2), 1 at the store (one cup). The sampler's components may
-- ship separately: the channel's tins (16) and cups (11) allow 11.
SELECT kit_atp('09506000910048', 'giftweb') AS gift_box,
       kit_atp('09506000910048', 'giftweb', '0614141910021') AS gift_box_at_store,
       kit_atp('09506000910055', 'giftweb') AS sampler;
-- Which component limits it, where.
SELECT * FROM kit_atp_detail('09506000910048', 'giftweb');
SELECT * FROM kit_atp_detail('09506000910055', 'giftweb');

-- Reserve 2 gift boxes: each component is reserved with reserve() at the DC, the one
-- location where all fit; the component reservations are returned.
SELECT line_ref, item_gtin, location, quantity, status
  FROM reserve_kit('giftweb', 'G-1', '1', '09506000910048', 2);
-- The same key again returns the same reservations and holds nothing more.
SELECT line_ref, quantity FROM reserve_kit('giftweb', 'G-1', '1', '09506000910048', 2);
-- The same key with other terms is an error.
SELECT reserve_kit('giftweb', 'G-1', '1', '09506000910048', 3);
-- The kit line and what a consumer of the feed sees: one reservation change per component.
SELECT line_ref, kit, kit_quantity, component, component_quantity FROM kit_reservation ORDER BY reservation_id;
SELECT action, item_gtin, location, line_ref, delta, open_after FROM reservation_change
 WHERE channel = 'giftweb' ORDER BY change_id;
SELECT kit_atp('09506000910048', 'giftweb') AS gift_box;   -- the DC's tins allow 1 more, the store 1

-- A component sells on its own: the store's till sells its only cup, and the DC ships 2
-- tins to a business customer. The gift box can no longer be promised anywhere.
SELECT count(*) FROM ship('kit_pos', 'T-K1', '09506000910031', '0614141910021', 1);
SELECT count(*) FROM ship('kit_wms', 'DN-K1', '09506000910024', '0614141910014', 2);
SELECT kit_atp('09506000910048', 'giftweb') AS gift_box;
SELECT location, component, component_atp, kits, limiting FROM kit_atp_detail('09506000910048', 'giftweb')
 WHERE limiting;

-- A kit line one component is short for is refused, naming the component, and nothing
-- of it is held.
SELECT reserve_kit('giftweb', 'G-2', '1', '09506000910048', 1);
-- The sampler ships separately: each component is reserved anywhere in the channel. The
-- tins (10 left) take a line of 9, the cups (8 left: the DC's 10 less the 2 reserved)
-- refuse it, and the tins reserved are undone.
SELECT reserve_kit('giftweb', 'G-2', '2', '09506000910055', 9);
SELECT count(*) AS held_for_g2 FROM reservation WHERE order_ref = 'G-2';

-- Fulfilling: each component reservation is fulfilled with its own shipment (fulfil()
-- posts as the caller's source); cancelling cancels every open one of the line.
SELECT f.item_gtin, f.status, f.fulfilled_quantity
  FROM reservation r, fulfil(r.reservation_id) f
 WHERE r.order_ref = 'G-1' AND r.item_gtin = '09506000910017';
SELECT item_gtin, status, open_quantity FROM cancel_kit_reservation('giftweb', 'G-1', '1');
SELECT cancel_kit_reservation('giftweb', 'G-1', '1');
SELECT kit_atp('09506000910048', 'giftweb') AS gift_box;

SELECT * FROM verify();
SELECT * FROM verify_promises();
