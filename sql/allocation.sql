-- Backorders filled from stock: a marketplace takes orders beyond stock against a
-- purchase order; when the goods arrive, allocate_backorders() turns the waiting
-- backorders into reservations held from stock, earliest promised date first.
SET search_path = inventory_sync, public;
SET client_min_messages = warning;
\set SHOW_CONTEXT never

INSERT INTO item (gtin, name) VALUES ('09506000860015', 'Grinder');
INSERT INTO location (gln, name, kind) VALUES ('0614141860012', 'Allocation DC', 'warehouse');
INSERT INTO source (source, name, kind, role) VALUES ('a_wms', 'WMS', 'wms', current_user);
INSERT INTO channel (channel, name) VALUES ('a_web', 'Web shop');
INSERT INTO channel (channel, name, allow_backorder) VALUES ('a_market', 'Marketplace', true);
INSERT INTO channel_location (channel, location) VALUES ('a_web', '0614141860012'), ('a_market', '0614141860012');

-- 2 on hand, 20 on order for day 10.
SELECT count(*) FROM receive('a_wms', 'A-GR-1', '09506000860015', '0614141860012', 2, 'released');
INSERT INTO supply (kind, item_gtin, location, quantity, due_date, reference)
     VALUES ('purchase_order', '09506000860015', '0614141860012', 20, current_date + 10, 'PO-7');

-- Three orders the marketplace cannot serve from stock: backorders, by promised date.
SELECT order_ref, quantity, promised_date - current_date AS promised_in_days
  FROM reserve('a_market', 'A-1', '1', '09506000860015', 6);
SELECT order_ref, quantity, promised_date - current_date AS promised_in_days
  FROM reserve('a_market', 'A-2', '1', '09506000860015', 5, due_date => current_date + 14);
SELECT order_ref, quantity, promised_date - current_date AS promised_in_days
  FROM reserve('a_market', 'A-3', '1', '09506000860015', 4);
SELECT atp('09506000860015', channel => 'a_web') AS web;                    -- 2: the PO covers them
SELECT allocate_backorders() AS filled;                                    -- 0: 2 units fill none

-- 10 of the 20 arrive early; the purchase order is reduced by them.
SELECT count(*) FROM receive('a_wms', 'A-GR-2', '09506000860015', '0614141860012', 10, 'released');
UPDATE supply SET quantity = 10 WHERE reference = 'PO-7';
SELECT atp('09506000860015', channel => 'a_web') AS web;                    -- 7: A-2 is 5 short of the order
-- A-1 and A-3 (day 10) are filled in the order they came; A-2 (day 14) would need 5
-- more of the 2 left, and keeps waiting for the rest of the order.
-- The feed shows each fill as a reservation event (action allocate, delta 0) with the
-- after-state: the reservation's open quantity and its channel's ATP and version.
SELECT 'ready' FROM pg_create_logical_replication_slot('allocation_story', 'inventory_sync');
SELECT allocate_backorders('09506000860015') AS filled;                    -- 2
SELECT e->>'type' AS type, e->>'action' AS action, e->>'order_ref' AS order_ref, e->>'delta' AS delta,
       e->>'quantity_after' AS open_after, e->>'atp' AS atp, e->>'channel' AS channel
  FROM (SELECT data::jsonb AS e
          FROM pg_logical_slot_get_changes('allocation_story', NULL, NULL, 'deterministic', 'true',
                                           'events', 'reservation', 'envelopes', 'false')) x;
SELECT 'dropped' FROM pg_drop_replication_slot('allocation_story');
SELECT order_ref, promised_date - current_date AS still_promised_in_days, open_quantity
  FROM reservation WHERE channel = 'a_market' ORDER BY reservation_id;
SELECT r.order_ref, f.promised_date - current_date AS had_been_promised_in_days, f.quantity
  FROM backorder_fill f JOIN reservation r USING (reservation_id) ORDER BY f.reservation_id;
SELECT r.order_ref, c.action, c.delta, c.open_after, c.atp_after
  FROM reservation_change c JOIN reservation r USING (reservation_id)
 WHERE r.channel = 'a_market' ORDER BY c.change_id;       -- each fill: allocate, delta 0
SELECT atp('09506000860015', channel => 'a_web') AS web,                   -- 2
       atp('09506000860015', channel => 'a_market') AS market;
SELECT * FROM verify_promises();
