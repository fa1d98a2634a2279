-- Promises: a web shop and a marketplace sell from a DC and a store. Facts are never
-- refused; promises are, when the stock is not there.
SET search_path = inventory_sync, public;
SET client_min_messages = warning;
\set SHOW_CONTEXT never

INSERT INTO item (gtin, name) VALUES ('09506000200019', 'Espresso beans 1 kg');
INSERT INTO item (gtin, name, lot_tracked, shelf_life_days) VALUES ('09506000200026', 'Fresh milk 1 l', true, 10);
INSERT INTO location (gln, name, kind) VALUES
  ('0614141200016', 'Distribution centre', 'warehouse'),
  ('0614141200023', 'Store Main Street', 'store'),
  ('0614141200030', 'Store Station Road', 'store');
INSERT INTO source (source, name, kind, role) VALUES
  ('p_wms', 'WMS', 'wms', current_user), ('p_pos', 'POS', 'pos', current_user), ('p_oms', 'OMS', 'oms', current_user);
INSERT INTO channel (channel, name, kind, safety_stock, min_shelf_life_days, fulfilment_source) VALUES
  ('web', 'Web shop', 'web', 2, 3, 'p_oms');
INSERT INTO channel (channel, name, kind, allow_backorder, fulfilment_source) VALUES
  ('marketplace', 'Marketplace', 'marketplace', true, 'p_oms');
INSERT INTO channel_location (channel, location, priority) VALUES
  ('web', '0614141200016', 1), ('web', '0614141200023', 2),
  ('marketplace', '0614141200016', 1);
INSERT INTO safety_stock VALUES ('09506000200019', '0614141200023', 1);

-- Stock: 10 at the DC (released), 4 at the store, 5 still in receiving (not sellable).
SELECT count(*) FROM receive('p_wms', 'GR-1', '09506000200019', '0614141200016', 10, 'released');
SELECT count(*) FROM receive('p_pos', 'GR-2', '09506000200019', '0614141200023', 4, 'released');
SELECT count(*) FROM receive('p_wms', 'GR-3', '09506000200019', '0614141200016', 5, 'receiving');

-- ATP = sellable on-hand - open reservations - safety stock.
SELECT atp('09506000200019', '0614141200016') AS dc,            -- 10
       atp('09506000200019', '0614141200023') AS store,         -- 4 - 1 safety
       atp('09506000200019', channel => 'web') AS web,          -- 10 + 3 - 2 channel safety
       atp('09506000200019', channel => 'marketplace') AS mkt,  -- the DC only
       atp('09506000200019') AS network;                         -- 10 + 3 (+ 0 at the empty store)
SELECT location, on_hand, eligible, reserved, safety_stock, atp FROM atp_detail('09506000200019', 'web');

-- The published channel ATP followed every posting, with a version per key.
SELECT channel, atp, version FROM channel_atp ORDER BY channel;

-- Reserve anywhere in the channel: placed where ATP is highest (the DC).
SELECT reservation_id, location, anywhere, quantity, open_quantity, status
  FROM reserve('web', 'W-1001', '1', '09506000200019', 6);
-- Reserving again with the same key returns the same reservation, changes nothing.
SELECT reservation_id, quantity, status FROM reserve('web', 'W-1001', '1', '09506000200019', 6);
SELECT atp('09506000200019', channel => 'web') AS web, atp('09506000200019', channel => 'marketplace') AS mkt;
-- The same key with other terms is an error.
SELECT reserve('web', 'W-1001', '1', '09506000200019', 7);
-- An over-promise is refused, naming what was asked and what is there: web shares the DC,
-- so a line is held at one location, and the best one has 4 of the channel's 5.
SELECT reserve('web', 'W-1002', '1', '09506000200019', 6);
-- At the store: 3 available there.
SELECT reservation_id, location, anywhere FROM reserve('web', 'W-1002', '1', '09506000200019', 3, '0614141200023');
SELECT reserve('web', 'W-1003', '1', '09506000200019', 1, '0614141200023');

-- Bad input: nothing is written.
SELECT reserve('web', 'W-2000', '1', '09506000200019', 0);
SELECT reserve('nosuch', 'W-2000', '1', '09506000200019', 1);
SELECT reserve('web', 'W-2000', '1', '09506000200033', 1);
SELECT reserve('web', 'W-2000', '1', '09506000200019', 1, '0614141200030');
SELECT reserve('web', 'W-2000', '1', '09506000200019', 1, NULL, '2020-01-01 00:00+00');
SELECT count(*) AS reservations FROM reservation;

-- Fulfil partly: the issue is posted through the engine, the remainder returns to ATP.
SELECT reservation_id, status, quantity, fulfilled_quantity, open_quantity FROM fulfil(1, 4);
SELECT kind, source, source_event_id, location, bucket, quantity FROM ledger WHERE reference LIKE 'reservation 1 %';
SELECT atp('09506000200019', '0614141200016') AS dc, atp('09506000200019', channel => 'web') AS web;
-- A reservation resolves once.
SELECT fulfil(1, 1);
SELECT cancel_reservation(1);
SELECT fulfil(2, 4);

-- Cancel returns the quantity; an expired reservation is swept.
SELECT status FROM cancel_reservation(2);
SELECT reservation_id, status FROM reserve('web', 'W-1004', '1', '09506000200019', 2, NULL, now() + interval '1 second');
SELECT sweep_expired_reservations(now() + interval '1 hour') AS expired;
SELECT reservation_id, status FROM reservation ORDER BY reservation_id;

-- The feed's view of it: every reservation change with its after-state.
SELECT reservation_id, action, location, delta, open_after, atp_after, version, posting_id IS NOT NULL AS posted
  FROM reservation_change ORDER BY change_id;
SELECT channel, atp_before, atp_after, version, cause FROM channel_atp_change WHERE channel = 'web' ORDER BY version;

-- FEFO: a lot-tracked item picks the earliest-expiring lot the channel may sell
-- (web wants 3 days of shelf life left: lot A, expiring tomorrow, is not promised).
INSERT INTO lot (item_gtin, lot, expiry) VALUES
  ('09506000200026', 'A', current_date + 1), ('09506000200026', 'B', current_date + 5),
  ('09506000200026', 'C', current_date + 8);
SELECT count(*) FROM receive('p_wms', 'GR-10', '09506000200026', '0614141200016', 5, 'released', 'A');
SELECT count(*) FROM receive('p_wms', 'GR-11', '09506000200026', '0614141200016', 2, 'released', 'B');
SELECT count(*) FROM receive('p_wms', 'GR-12', '09506000200026', '0614141200016', 6, 'released', 'C');
SELECT atp('09506000200026', channel => 'web') AS web, atp('09506000200026', '0614141200016') AS dc;
SELECT reservation_id FROM reserve('web', 'W-3000', '1', '09506000200026', 4);
SELECT status, fulfilled_quantity FROM fulfil((SELECT reservation_id FROM reservation WHERE order_ref = 'W-3000'));
SELECT lot, quantity FROM ledger
 WHERE reference LIKE 'reservation ' || (SELECT reservation_id FROM reservation WHERE order_ref = 'W-3000') || ' %'
 ORDER BY posting_id;

-- Time-phased ATP, the APICS way, on given numbers: on hand 20; scheduled receipts and
-- customer orders per period. Period 3 orders 15 with no receipt: it borrows from 2 and 1.
SELECT * FROM atp_phased(20, ARRAY[0, 10, 0, 10], ARRAY[5, 3, 15, 4]);

-- A backorder channel promises against future supply: 30 more arrive at the DC in 2 weeks.
INSERT INTO supply (kind, item_gtin, location, quantity, due_date, reference)
     VALUES ('purchase_order', '09506000200019', '0614141200016', 30, current_date + 14, 'PO-77');
SELECT period_start - current_date AS starts_in_days, supply, demand, discrete_atp, cumulative_atp
  FROM atp_schedule('09506000200019', 'marketplace', current_date, 4);
SELECT promise_date('09506000200019', 'marketplace', 20) - current_date AS days;
SELECT reservation_id, quantity, promised_date - current_date AS promised_in_days
  FROM reserve('marketplace', 'M-1', '1', '09506000200019', 20);
-- Can the marketplace promise 20 more, and when? The purchase order is spoken for up to
-- 20; 10 more of it plus the 6 on hand make 16 by its due date.
SELECT promisable, promise_date - current_date AS days, location, available_now
  FROM promise('09506000200019', 'marketplace', 16, current_date + 20);
SELECT promisable, promise_date - current_date AS days FROM promise('09506000200019', 'marketplace', 17, current_date + 20);
-- A backorder larger than the order borrows on-hand (APICS backward consumption): 14 for
-- the PO's date takes its last 10 and 4 of today's stock, so ATP now falls by 4.
SELECT atp('09506000200019', channel => 'marketplace') AS mkt_before;
SELECT quantity, promised_date - current_date AS promised_in_days
  FROM reserve('marketplace', 'M-3', '1', '09506000200019', 14);
SELECT atp('09506000200019', channel => 'marketplace') AS mkt_after,
       atp('09506000200019', channel => 'web') AS web_after;
SELECT location, reserved, backorder_shortfall, atp FROM atp_detail('09506000200019', 'web');
-- Beyond any supply in the horizon even a backorder channel refuses.
SELECT reserve('marketplace', 'M-2', '1', '09506000200019', 500);

-- Stock in transit is expected supply at its destination, dated by the transfer's ETA.
INSERT INTO location (gln, name, kind) VALUES ('0614141299997', 'Truck to Main Street', 'in_transit');
INSERT INTO transit_route VALUES ('0614141299997', '0614141200023');
SELECT count(*) FROM transfer_out('p_wms', 'TO-1', '09506000200019', '0614141200016', '0614141299997', 2,
                                  (current_date + 3)::timestamptz);
SELECT due_date - current_date AS in_days, quantity, kind, reference FROM expected_supply('09506000200019', '0614141200023');

-- A channel whose locations no other channel sells from holds an anywhere reservation
-- as a whole ("pooled", location NULL): it is promised by one conditional update of the
-- channel's ATP row. The store on Station Road sells its own stock online.
INSERT INTO channel (channel, name, kind, fulfilment_source) VALUES ('station-online', 'Station Road online', 'store', 'p_pos');
INSERT INTO channel_location (channel, location) VALUES ('station-online', '0614141200030');
SELECT count(*) FROM receive('p_pos', 'GR-30', '09506000200019', '0614141200030', 5, 'released');
SELECT channel_is_dedicated('station-online') AS dedicated, channel_is_dedicated('web') AS web_dedicated;
SELECT reservation_id, location, anywhere, quantity, status FROM reserve('station-online', 'S-1', '1', '09506000200019', 3);
SELECT reserve('station-online', 'S-2', '1', '09506000200019', 3);
SELECT reservation_id, location, quantity FROM reserve('station-online', 'S-2', '1', '09506000200019', 2);
SELECT atp('09506000200019', channel => 'station-online') AS online, atp('09506000200019', '0614141200030') AS store;
-- Fulfilled from the store, partly: the rest returns to ATP.
SELECT status, fulfilled_quantity FROM fulfil((SELECT reservation_id FROM reservation WHERE order_ref = 'S-1'), 1);
SELECT atp('09506000200019', channel => 'station-online') AS online;
SELECT action, location, delta, open_after, atp_after, version FROM reservation_change
 WHERE channel = 'station-online' ORDER BY change_id;
-- When the marketplace starts selling from the store too, the channel is no longer
-- dedicated: its open pooled reservation is placed at the store.
INSERT INTO channel_location (channel, location) VALUES ('marketplace', '0614141200030');
SELECT order_ref, location, open_quantity FROM reservation WHERE channel = 'station-online' AND status = 'open';
SELECT atp('09506000200019', channel => 'station-online') AS online,
       atp('09506000200019', channel => 'marketplace') AS mkt;

SELECT * FROM verify();
SELECT * FROM verify_promises();
