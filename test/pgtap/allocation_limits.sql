-- pgTAP: supply protection and allocation caps per channel: channel ATP with them equals
-- its computation from scratch (published rows, their versions, atp(), atp_detail()),
-- for a location in one channel and in two; reservations refused at the limit (IS040
-- saying what limits them); verify_promises(); hostile input.
-- Runs in one transaction that is rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(40);

-- Item E. D: a DC 'web' and 'mkt' share; S: a store of 'web' alone; A: a store of 'app'
-- (dedicated, pooled reservations).
INSERT INTO item (gtin, name) VALUES ('09506000134352', 'E');
INSERT INTO location (gln, name, kind) VALUES ('0614141000036', 'D', 'warehouse'), ('0614141000012', 'S', 'store'),
  ('0614141000029', 'A', 'store');
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user);
INSERT INTO channel (channel, name) VALUES ('web', 'Web'), ('mkt', 'Marketplace'), ('app', 'App');
INSERT INTO channel_location VALUES ('web', '0614141000036', 1), ('web', '0614141000012', 2),
  ('mkt', '0614141000036', 1), ('app', '0614141000029', 1);
CREATE FUNCTION pg_temp.rcv(eid text, l text, q numeric) RETURNS void LANGUAGE sql AS $$
  INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', eid, '09506000134352', l::inventory_sync.gln, q) $$;
CREATE FUNCTION pg_temp.pub(c text) RETURNS numeric LANGUAGE sql AS $$
  SELECT atp FROM inventory_sync.channel_atp WHERE channel = c AND item_gtin = '09506000134352' $$;
CREATE FUNCTION pg_temp.fresh(c text) RETURNS numeric LANGUAGE sql AS $$
  SELECT inventory_sync._channel_atp(c, '09506000134352') $$;
CREATE FUNCTION pg_temp.ver(c text) RETURNS bigint LANGUAGE sql AS $$
  SELECT version FROM inventory_sync.channel_atp WHERE channel = c AND item_gtin = '09506000134352' $$;

SELECT pg_temp.rcv('r1', '0614141000036', 10);
SELECT pg_temp.rcv('r2', '0614141000012', 5);
SELECT pg_temp.rcv('r3', '0614141000029', 6);
SELECT is(pg_temp.pub('web'), 15::numeric, 'web: 10 at the DC and 5 at its store');
SELECT is(pg_temp.pub('mkt'), 10::numeric, 'mkt: the DC''s 10');

-- Protection at the DC (two channels) --------------------------------------------------
SELECT pg_temp.ver('web') AS web_v \gset
INSERT INTO channel_protection (channel, item_gtin, location, quantity) VALUES ('mkt', '09506000134352', '0614141000036', 4);
SELECT is(pg_temp.pub('web'), 11::numeric, 'web sees the DC less mkt''s protection of 4');
SELECT is(pg_temp.ver('web'), (:web_v + 1)::bigint, 'republished with a new version');
SELECT is(pg_temp.pub('mkt'), 10::numeric, 'the protecting channel sees all of it');
SELECT is(atp('09506000134352', '0614141000036', 'web'), 6::numeric, 'atp() at the DC as web sees it');
SELECT is(atp('09506000134352', '0614141000036', 'mkt'), 10::numeric, 'atp() at the DC as mkt sees it');
SELECT results_eq($$SELECT location::text, atp, protected FROM atp_detail('09506000134352', 'web')$$,
                  $$VALUES ('0614141000036', 6::numeric, 4::numeric), ('0614141000012', 5::numeric, 0::numeric)$$,
                  'atp_detail(): the DC''s ATP as web sees it, and what is protected');
SELECT throws_like($$SELECT reserve('web', 'W1', '1', '09506000134352', 7, '0614141000036')$$,
                   '%protections keep 4 back at 0614141000036%', 'web cannot take the protected units (IS040 says why)');
SELECT throws_ok($$SELECT reserve('web', 'W1', '1', '09506000134352', 7, '0614141000036')$$, 'IS040', NULL,
                 'IS040');
SELECT is((SELECT quantity FROM reserve('web', 'W2', '1', '09506000134352', 6, '0614141000036')), 6::numeric,
          'web takes what is not protected');
SELECT is(pg_temp.pub('mkt'), 4::numeric, 'mkt keeps its 4');
SELECT is((SELECT quantity FROM reserve('mkt', 'M1', '1', '09506000134352', 3)), 3::numeric, 'mkt uses 3 of them');
SELECT is(atp('09506000134352', '0614141000036', 'web'), 0::numeric, 'the one left is still protected from web');
SELECT is(pg_temp.pub('mkt'), 1::numeric, 'mkt: 1 left');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises() under a protection');

-- Postings move the channels a protection limits (the SQL path) -------------------------
SELECT pg_temp.rcv('r4', '0614141000036', 2);
SELECT is(pg_temp.pub('web'), 7::numeric, 'a receipt at the DC: web sees 2 more there (3 less the 1 protected)');
SELECT is(pg_temp.pub('web'), pg_temp.fresh('web'), 'web published = computed from scratch');
SELECT is(pg_temp.pub('mkt'), pg_temp.fresh('mkt'), 'mkt published = computed from scratch');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises() after the receipt');

-- Protection at a location of one channel: its own, changing nothing ---------------------
SELECT pg_temp.ver('web') AS web_v \gset
INSERT INTO channel_protection VALUES ('web', '09506000134352', '0614141000012', 3);
SELECT is(pg_temp.pub('web'), 7::numeric, 'a channel''s own protection does not limit it');
SELECT is(pg_temp.ver('web'), :web_v::bigint, 'nothing republished');

-- Cap ------------------------------------------------------------------------------------
INSERT INTO channel_cap (channel, item_gtin, quantity) VALUES ('web', '09506000134352', 8);
SELECT is(pg_temp.pub('web'), 2::numeric, 'web holds 6 of its cap of 8: ATP 2');
SELECT throws_like($$SELECT reserve('web', 'W3', '1', '09506000134352', 3, '0614141000012')$$,
                   '%a cap of 8 on channel "web" leaves 2%', 'beyond the cap: refused, saying so');
SELECT is((SELECT quantity FROM reserve('web', 'W4', '1', '09506000134352', 2, '0614141000012')), 2::numeric,
          'up to the cap');
SELECT is(pg_temp.pub('web'), 0::numeric, 'web at its cap');
SELECT is((SELECT status::text FROM cancel_reservation((SELECT reservation_id FROM reservation WHERE order_ref = 'W2'))),
          'cancelled', 'web cancels 6 at the DC');
SELECT is(pg_temp.pub('web'), pg_temp.fresh('web'), 'web published = computed from scratch after the cancel');
SELECT is(pg_temp.pub('web'), 6::numeric, 'cap 8 less 2 held');
SELECT is(pg_temp.pub('mkt'), pg_temp.fresh('mkt'), 'mkt too');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises() under a cap');

-- A dedicated channel's pooled reservations under a cap (reserve()'s fast path) ----------
INSERT INTO channel_cap VALUES ('app', '09506000134352', 4);
SELECT is(pg_temp.pub('app'), 4::numeric, 'app: 6 in stock, capped at 4');
SELECT ok((SELECT location IS NULL FROM reserve('app', 'P1', '1', '09506000134352', 3)), 'pooled within the cap');
SELECT throws_like($$SELECT reserve('app', 'P2', '1', '09506000134352', 2)$$,
                   '%a cap of 4 on channel "app" leaves 1%', 'the fast path refuses beyond the cap, saying so');
UPDATE channel_cap SET quantity = 10 WHERE channel = 'app';
SELECT is(pg_temp.pub('app'), 3::numeric, 'cap raised: the stock limits again (6 less 3 pooled)');

-- Limits removed -------------------------------------------------------------------------
DELETE FROM channel_protection;
DELETE FROM channel_cap;
SELECT is(pg_temp.pub('web'), pg_temp.fresh('web'), 'web without limits = from scratch');
SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises() with the limits gone');

-- Hostile input --------------------------------------------------------------------------
SELECT throws_ok($$INSERT INTO channel_protection VALUES ('app', '09506000134352', '0614141000036', 1)$$, '23503', NULL,
                 'a protection where the channel does not sell');
SELECT throws_ok($$INSERT INTO channel_cap VALUES ('web', '09506000134352', -1)$$, '23514', NULL, 'a negative cap');
CREATE ROLE is_tap_limits_writer NOLOGIN IN ROLE inventory_sync_writer;
SET ROLE is_tap_limits_writer;
SELECT throws_ok($$INSERT INTO inventory_sync.channel_cap VALUES ('web', '09506000134352', 100)$$, '42501', NULL,
                 'a writer may not set caps (admins do)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
