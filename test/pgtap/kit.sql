-- pgTAP: kits and bundles. Hostile input into the kit tables (NULL and omitted columns in
-- INSERT and COPY, kits in kits, a kit in itself, zero and fractional quantities, unknown
-- GTINs) and into the kit functions, sent by non-superuser roles with the product's roles:
-- every refusal has its SQLSTATE, none is internal, nothing is half-written. Kit ATP
-- equals the same rule computed from the balances, reservations and safety stock; lines of
-- one order sharing a component are checked against their summed demand; a kit line is
-- all or nothing. Runs in one transaction that is rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(135);

-- Items P (teapot), T (tin), C (cup), W (tea by weight, KGM); pack CT = 12 x T.
-- Kits G (P + 2 T + C, ships together), S (T + C, ships separately), E (no components).
-- Locations D (DC) and R (store); channel kweb sells from both, kmkt from D too (so no
-- reservation is pooled). Safety stock: 1 cup at R; kweb keeps 1 tin back.
INSERT INTO item (gtin, name) VALUES ('09506000910017', 'P'), ('09506000910024', 'T'), ('09506000910031', 'C');
INSERT INTO item (gtin, name, base_unit) VALUES ('09506000910079', 'W', 'KGM');
INSERT INTO item_pack (pack_gtin, item_gtin, quantity) VALUES ('19506000910021', '09506000910024', 12);
INSERT INTO location (gln, name, kind) VALUES ('0614141910014', 'D', 'warehouse'), ('0614141910021', 'R', 'store');
INSERT INTO source (source, name, kind, role) VALUES ('kwms', 'WMS', 'wms', current_user);
INSERT INTO channel (channel, name) VALUES ('kweb', 'Web'), ('kmkt', 'Marketplace'), ('kempty', 'No location yet');
INSERT INTO channel_location (channel, location, priority) VALUES
  ('kweb', '0614141910014', 1), ('kweb', '0614141910021', 2), ('kmkt', '0614141910014', 1);
INSERT INTO safety_stock VALUES ('09506000910031', '0614141910021', 1);
INSERT INTO channel_safety_stock VALUES ('kweb', '09506000910024', 1);
INSERT INTO kit (gtin, name) VALUES ('09506000910048', 'G');
INSERT INTO kit_component VALUES ('09506000910048', '09506000910017', 1), ('09506000910048', '09506000910024', 2),
  ('09506000910048', '09506000910031', 1);
INSERT INTO kit (gtin, name, ships_separately) VALUES ('09506000910055', 'S', true), ('09506000910062', 'E', true);
INSERT INTO kit_component VALUES ('09506000910055', '09506000910024', 1), ('09506000910055', '09506000910031', 1);

CREATE ROLE is_kit_admin NOLOGIN;
GRANT inventory_sync_admin TO is_kit_admin;
GRANT pg_read_server_files TO is_kit_admin;   -- COPY ... FROM the files written below
CREATE ROLE is_kit_writer NOLOGIN;
GRANT inventory_sync_writer TO is_kit_writer;
CREATE ROLE is_kit_reader NOLOGIN;
GRANT inventory_sync_reader TO is_kit_reader;

CREATE FUNCTION pg_temp.rcv(eid text, g text, l text, q numeric) RETURNS void LANGUAGE sql AS $$
  SELECT count(*) FROM inventory_sync.receive('kwms', eid, g::inventory_sync.gtin, l::inventory_sync.gln, q, 'released') $$;
-- The SQLSTATE a statement ends with ('ok' when it succeeds).
CREATE FUNCTION pg_temp.outcome(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.outcome(text) TO PUBLIC;
-- The SQLSTATE and DETAIL a statement fails with.
CREATE FUNCTION pg_temp.detail(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ' ' || d;
END $$;
-- Files for COPY: a valid row, then the hostile one (written as superuser).
CREATE FUNCTION pg_temp.copy_file(name text, body text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    path text := format('%s/kit_pgtap_%s.csv', current_setting('data_directory'), name);
BEGIN
    EXECUTE format('COPY (SELECT unnest(string_to_array(%L, E''\n''))) TO %L', body, path);
    RETURN path;
END $$;
CREATE TEMP TABLE copy_case (what text, stmt text, expect text);
INSERT INTO copy_case VALUES
  ('kit: NULL name', format('COPY inventory_sync.kit (gtin, name) FROM %L (FORMAT csv)',
     pg_temp.copy_file('k1', E'09506000910086,ok\n09506000910093,')), '23502'),
  ('kit: name left out', format('COPY inventory_sync.kit (gtin) FROM %L (FORMAT csv)',
     pg_temp.copy_file('k2', '09506000910086')), '23502'),
  ('kit: NULL gtin', format('COPY inventory_sync.kit (gtin, name) FROM %L (FORMAT csv)',
     pg_temp.copy_file('k3', E'09506000910086,ok\n,x')), '23502'),
  ('kit: an item''s GTIN', format('COPY inventory_sync.kit (gtin, name) FROM %L (FORMAT csv)',
     pg_temp.copy_file('k4', E'09506000910086,ok\n09506000910017,x')), 'IS060'),
  ('kit_component: quantity left out', format('COPY inventory_sync.kit_component (kit, component) FROM %L (FORMAT csv)',
     pg_temp.copy_file('c1', '09506000910062,09506000910017')), '23502'),
  ('kit_component: NULL component', format('COPY inventory_sync.kit_component FROM %L (FORMAT csv)',
     pg_temp.copy_file('c2', E'09506000910062,09506000910017,1\n09506000910062,,1')), '23502'),
  ('kit_component: a zero quantity', format('COPY inventory_sync.kit_component FROM %L (FORMAT csv)',
     pg_temp.copy_file('c3', E'09506000910062,09506000910017,1\n09506000910062,09506000910031,0')), 'IS020'),
  ('kit_component: a kit in a kit', format('COPY inventory_sync.kit_component FROM %L (FORMAT csv)',
     pg_temp.copy_file('c4', E'09506000910062,09506000910017,1\n09506000910062,09506000910048,1')), 'IS061'),
  ('kit_component: an unknown GTIN', format('COPY inventory_sync.kit_component FROM %L (FORMAT csv)',
     pg_temp.copy_file('c5', E'09506000910062,09506000910017,1\n09506000910062,09506000910093,1')), '23503');
CREATE TEMP TABLE kit_before AS SELECT (SELECT count(*) FROM kit) AS kits, (SELECT count(*) FROM kit_component) AS components;
GRANT SELECT ON copy_case, kit_before TO PUBLIC;

-- Master data, as an admin ---------------------------------------------------------------
SET ROLE is_kit_admin;
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user), 'the admin is not a superuser');
SELECT throws_ok($$INSERT INTO kit (gtin, name) VALUES (NULL, 'x')$$, '23502', NULL, 'kit: a NULL gtin');
SELECT throws_ok($$INSERT INTO kit (gtin) VALUES ('09506000910086')$$, '23502', NULL, 'kit: name left out');
SELECT throws_ok($$INSERT INTO kit (gtin, name, ships_separately) VALUES ('09506000910086', 'x', NULL)$$, '23502', NULL,
  'kit: ships_separately NULL');
SELECT throws_ok($$INSERT INTO kit (gtin, name) VALUES ('09506000910017', 'x')$$, 'IS060',
  'gtin 09506000910017 is an item or a pack: a kit''s GTIN names nothing stocked', 'kit: an item''s GTIN, named');
SELECT throws_ok($$INSERT INTO kit (gtin, name) VALUES ('19506000910021', 'x')$$, 'IS060', NULL, 'kit: a pack''s GTIN');
SELECT throws_ok($$INSERT INTO kit (gtin, name) VALUES ('09506000910086', 'x'), ('09506000910031', 'y')$$, 'IS060', NULL,
  'kit: several rows, one an item''s GTIN');
SELECT throws_ok($$UPDATE kit SET gtin = '09506000910031' WHERE gtin = '09506000910062'$$, 'IS060', NULL,
  'kit: renamed to an item''s GTIN');
SELECT throws_ok($$INSERT INTO item (gtin, name) VALUES ('09506000910048', 'x')$$, 'IS060',
  'gtin 09506000910048 is a kit: it cannot be an item too', 'item: a kit''s GTIN, named');
SELECT throws_ok($$UPDATE item SET gtin = '09506000910055' WHERE gtin = '09506000910079'$$, 'IS060', NULL,
  'item: renamed to a kit''s GTIN');
SELECT throws_ok($$INSERT INTO item_pack (pack_gtin, item_gtin, quantity) VALUES ('09506000910048', '09506000910024', 6)$$,
  'IS060', NULL, 'pack: a kit''s GTIN');
SELECT throws_ok($$INSERT INTO kit_component (kit, component, quantity) VALUES (NULL, '09506000910017', 1)$$, '23502', NULL,
  'component: a NULL kit');
SELECT throws_ok($$INSERT INTO kit_component (kit, component, quantity) VALUES ('09506000910062', NULL, 1)$$, '23502', NULL,
  'component: a NULL component');
SELECT throws_ok($$INSERT INTO kit_component (kit, component) VALUES ('09506000910062', '09506000910017')$$, '23502', NULL,
  'component: quantity left out');
SELECT throws_ok($$INSERT INTO kit_component (kit, component, quantity) VALUES ('09506000910062', '09506000910017', NULL)$$,
  '23502', NULL, 'component: a NULL quantity');
SELECT throws_ok($$INSERT INTO kit_component VALUES ('09506000910093', '09506000910017', 1)$$, '23503',
  'unknown kit: gtin 09506000910093', 'component: an unknown kit, named');
SELECT throws_ok($$INSERT INTO kit_component VALUES ('09506000910062', '09506000910093', 1)$$, '23503',
  'unknown item: gtin 09506000910093 (component of kit 09506000910062)', 'component: an unknown item, named');
SELECT throws_ok($$INSERT INTO kit_component VALUES ('09506000910062', '19506000910021', 1)$$, '23503', NULL,
  'component: a pack GTIN');
SELECT throws_ok($$INSERT INTO kit_component VALUES ('09506000910062', '09506000910062', 1)$$, 'IS061',
  'kit 09506000910062 cannot contain itself', 'component: the kit itself');
SELECT throws_ok($$INSERT INTO kit_component VALUES ('09506000910062', '09506000910048', 1)$$, 'IS061',
  'component 09506000910048 of kit 09506000910062 is a kit: kits do not nest', 'component: another kit');
SELECT throws_ok($$UPDATE kit_component SET component = '09506000910055' WHERE kit = '09506000910048'
                    AND component = '09506000910031'$$, 'IS061', NULL, 'component: changed into a kit');
SELECT throws_ok($$INSERT INTO kit_component VALUES ('09506000910062', '09506000910017', 0)$$, 'IS020',
  'kit component quantity 0 must be a whole number above zero', 'component: zero, named');
SELECT throws_ok($$INSERT INTO kit_component VALUES ('09506000910062', '09506000910017', -1)$$, 'IS020', NULL,
  'component: negative');
SELECT throws_ok($$INSERT INTO kit_component VALUES ('09506000910062', '09506000910017', 'NaN')$$, 'IS020', NULL,
  'component: NaN');
SELECT throws_ok($$INSERT INTO kit_component VALUES ('09506000910062', '09506000910017', 'Infinity')$$, 'IS020', NULL,
  'component: infinite');
SELECT throws_ok($$INSERT INTO kit_component VALUES ('09506000910062', '09506000910017', 1.5)$$, 'IS020', NULL,
  'component: a fraction of a piece');
SELECT throws_ok($$INSERT INTO kit_component VALUES ('09506000910048', '09506000910017', 1)$$, '23505', NULL,
  'component: listed twice');
SELECT throws_ok($$UPDATE kit_component SET quantity = 0 WHERE kit = '09506000910048'$$, 'IS020', NULL,
  'component: updated to zero');
SELECT is(pg_temp.outcome(c.stmt), c.expect, 'COPY ' || c.what || ': ' || c.expect) FROM copy_case c;
SELECT results_eq($$SELECT (SELECT count(*) FROM kit), (SELECT count(*) FROM kit_component)$$,
                  $$SELECT kits, components FROM kit_before$$, 'no refused statement wrote a row');
SELECT lives_ok($$INSERT INTO kit (gtin, name, ships_separately) VALUES ('09506000910086', 'Tea set by weight', true);
                  INSERT INTO kit_component VALUES ('09506000910086', '09506000910079', 0.25)$$,
  'a fraction of a kilogram is a quantity');
SELECT throws_ok($$DELETE FROM item WHERE gtin = '09506000910079'$$, '23503', NULL, 'an item in a kit stays');
SELECT lives_ok($$DELETE FROM kit WHERE gtin = '09506000910086'$$, 'a kit is deleted with its components');
SELECT is((SELECT count(*) FROM kit_component WHERE kit = '09506000910086'), 0::bigint, 'its components went with it');
SELECT throws_ok($$INSERT INTO kit_reservation VALUES (1, 'kweb', 'o', 'l', '09506000910048', 1, '09506000910017', 1)$$,
  '42501', NULL, 'kit lines are written by reserve_kit() only');
RESET ROLE;
SELECT is((SELECT count(*) FROM audit_log WHERE table_name IN ('kit', 'kit_component')
            AND acting_role = 'is_kit_admin'), 4::bigint, 'kit changes are in the audit trail');

-- Kit ATP equals the rule computed from scratch ---------------------------------------
-- A location's ATP: sellable on-hand beyond safety stock (never below zero) less what is
-- reserved there; a channel's: the sum of its locations' (none below zero) less its safety
-- stock, never below zero; at a location as the channel sees it, the lesser of the two.
CREATE FUNCTION pg_temp.loc_atp(g gtin, l gln) RETURNS numeric LANGUAGE sql AS $$
  SELECT greatest(coalesce((SELECT sum(b.quantity) FROM balance b JOIN bucket k USING (bucket)
                             WHERE k.sellable AND b.item_gtin = g AND b.location = l), 0)
                  - coalesce((SELECT s.quantity FROM safety_stock s WHERE s.item_gtin = g AND s.location = l), 0), 0)
         - coalesce((SELECT sum(r.open_quantity) FROM reservation r
                      WHERE r.status = 'open' AND r.item_gtin = g AND r.location = l), 0) $$;
CREATE FUNCTION pg_temp.chan_atp(ch text, g gtin) RETURNS numeric LANGUAGE sql AS $$
  SELECT greatest(sum(greatest(pg_temp.loc_atp(g, cl.location), 0))
                  - coalesce((SELECT s.quantity FROM channel_safety_stock s WHERE s.channel = ch AND s.item_gtin = g),
                             (SELECT c.safety_stock FROM channel c WHERE c.channel = ch)), 0)
    FROM channel_location cl WHERE cl.channel = ch $$;
CREATE FUNCTION pg_temp.kits_at(k gtin, ch text, l gln) RETURNS numeric LANGUAGE sql AS $$
  SELECT min(floor(greatest(least(pg_temp.loc_atp(c.component, l), pg_temp.chan_atp(ch, c.component)), 0) / c.quantity))
    FROM kit_component c WHERE c.kit = k $$;
CREATE FUNCTION pg_temp.scratch(k gtin, ch text, l gln) RETURNS numeric LANGUAGE sql AS $$
  SELECT CASE WHEN l IS NOT NULL THEN pg_temp.kits_at(k, ch, l)
              WHEN (SELECT ships_separately FROM kit WHERE gtin = k)
              THEN (SELECT min(floor(greatest(pg_temp.chan_atp(ch, c.component), 0) / c.quantity))
                      FROM kit_component c WHERE c.kit = k)
              ELSE (SELECT max(pg_temp.kits_at(k, ch, cl.location)) FROM channel_location cl WHERE cl.channel = ch) END $$;
CREATE FUNCTION pg_temp.agrees(step text) RETURNS SETOF text LANGUAGE sql AS $$
  SELECT is(kit_atp(k.gtin, 'kweb', l.location), pg_temp.scratch(k.gtin, 'kweb', l.location),
            format('%s: kit %s %s', step, k.name, coalesce('at ' || l.location::text, 'in the channel')))
    FROM kit k CROSS JOIN (VALUES (NULL::gln), ('0614141910014'), ('0614141910021')) l(location)
   WHERE k.gtin IN ('09506000910048', '09506000910055')
  UNION ALL
  SELECT is_empty('SELECT * FROM inventory_sync.verify_promises()', step || ': verify_promises() is empty') $$;

SELECT pg_temp.rcv('K1', '09506000910017', '0614141910014', 5), pg_temp.rcv('K2', '09506000910024', '0614141910014', 7),
       pg_temp.rcv('K3', '09506000910031', '0614141910014', 3), pg_temp.rcv('K4', '09506000910017', '0614141910021', 4),
       pg_temp.rcv('K5', '09506000910024', '0614141910021', 9), pg_temp.rcv('K6', '09506000910031', '0614141910021', 6);
SELECT pg_temp.agrees('stock');
SELECT throws_ok($$INSERT INTO ledger (kind, source, source_event_id, gtin, location, bucket, quantity)
                  VALUES ('receipt', 'kwms', 'K0', '09506000910048', '0614141910014', 'released', 1)$$, '23503',
  'unknown item: gtin 09506000910048', 'a kit is never stocked: a receipt of its GTIN is refused');
SELECT is(kit_atp('09506000910048', 'kweb'), 4::numeric, 'the gift box: the store''s 4 beat the DC''s 3');

-- Kit reservations, as a writer -------------------------------------------------------------
SET ROLE is_kit_writer;
SELECT results_eq($$SELECT line_ref, location::text, quantity FROM reserve_kit('kweb', 'O-1', '1', '09506000910048', 2)$$,
  $$VALUES ('1/09506000910017', '0614141910021', 2::numeric), ('1/09506000910024', '0614141910021', 4::numeric),
           ('1/09506000910031', '0614141910021', 2::numeric)$$,
  'two gift boxes: every component held at the store, where all fit');
RESET ROLE;
SELECT pg_temp.agrees('two boxes reserved');
SELECT count(*) FROM ship('kwms', 'K7', '09506000910024', '0614141910014', 1);
SELECT count(*) FROM ship('kwms', 'K8', '09506000910031', '0614141910021', 3);
SELECT pg_temp.agrees('a tin and three cups sold');
SET ROLE is_kit_writer;

-- Lines of one order sharing a component are checked against their summed demand: after
-- line 1 (4 tins at the store) and a sale, the DC has 6 tins and the store 5. Line 2, two
-- gift boxes at the DC, takes 4 of the DC's; line 3, tins alone, finds 5 at the store (a
-- line is held at one location), and takes 4; line 4, two samplers, gets its 2 tins
-- (the DC's last) but finds 1 cup left in the channel: refused, and its tins undone.
SELECT is((SELECT count(*) FROM reserve_kit('kweb', 'O-1', '2', '09506000910048', 2, '0614141910014')), 3::bigint,
  'line 2: two more boxes at the DC');
SELECT is(atp('09506000910024', channel => 'kweb'), 6::numeric, 'tins left in the channel: 15 - 8 reserved - 1 safety');
SELECT throws_ok($$SELECT reserve('kweb', 'O-1', '3', '09506000910024', 6)$$, 'IS040', NULL,
  'line 3: six tins are more than one location has left');
SELECT is((reserve('kweb', 'O-1', '3', '09506000910024', 4)).location::text, '0614141910021', 'line 3: four tins at the store');
SELECT throws_ok($$SELECT reserve_kit('kweb', 'O-1', '4', '09506000910055', 2)$$, 'IS040', NULL,
  'line 4: two samplers need two cups, one is left');
SELECT is((SELECT count(*) FROM reservation WHERE order_ref = 'O-1' AND line_ref LIKE '4%'), 0::bigint,
  'line 4 holds nothing, not even its tins');
RESET ROLE;
SELECT pg_temp.agrees('four lines');
SET ROLE is_kit_writer;

-- Replays and other terms.
SELECT is((SELECT array_agg(reservation_id ORDER BY reservation_id) FROM reserve_kit('kweb', 'O-1', '1', '09506000910048', 2)),
          (SELECT array_agg(reservation_id ORDER BY reservation_id) FROM reservation WHERE order_ref = 'O-1' AND line_ref LIKE '1/%'),
          'the same kit line again returns its reservations');
SELECT throws_ok($$SELECT reserve_kit('kweb', 'O-1', '1', '09506000910048', 1)$$, 'IS044', NULL, 'same key, fewer kits');
SELECT throws_ok($$SELECT reserve_kit('kweb', 'O-1', '1', '09506000910055', 2)$$, 'IS044', NULL, 'same key, another kit');
SELECT throws_ok($$SELECT reserve_kit('kweb', 'O-1', '1', '09506000910048', 2, '0614141910014')$$, 'IS044', NULL,
  'same key, another location');

-- Hostile arguments: each refused with its SQLSTATE, nothing held.
SELECT throws_ok($$SELECT reserve_kit('kweb', 'O-2', '1', '09506000910048', NULL)$$, 'IS020', NULL, 'NULL kits');
SELECT throws_ok($$SELECT reserve_kit('kweb', 'O-2', '1', '09506000910048', 0)$$, 'IS020', NULL, 'zero kits');
SELECT throws_ok($$SELECT reserve_kit('kweb', 'O-2', '1', '09506000910048', -1)$$, 'IS020', NULL, 'negative kits');
SELECT throws_ok($$SELECT reserve_kit('kweb', 'O-2', '1', '09506000910048', 1.5)$$, 'IS020',
  'kit quantity 1.5 must be a whole number above zero', 'half a kit, named');
SELECT throws_ok($$SELECT reserve_kit('kweb', 'O-2', '1', '09506000910048', 'NaN')$$, 'IS020', NULL, 'NaN kits');
SELECT throws_ok($$SELECT reserve_kit('kweb', 'O-2', '1', '09506000910048', 'Infinity')$$, 'IS020', NULL, 'infinite kits');
SELECT throws_ok($$SELECT reserve_kit('kweb', NULL, '1', '09506000910048', 1)$$, '22004', NULL, 'a NULL order_ref');
SELECT throws_ok($$SELECT reserve_kit('kweb', 'O-2', NULL, '09506000910048', 1)$$, '22004', NULL, 'a NULL line_ref');
SELECT throws_ok($$SELECT reserve_kit('kweb', 'O-2', repeat('x', 186), '09506000910048', 1)$$, '22023', NULL,
  'a line_ref with no room for the component');
SELECT throws_ok($$SELECT reserve_kit('kweb', 'O-2', '1', NULL, 1)$$, '22004', NULL, 'a NULL kit');
SELECT throws_ok($$SELECT reserve_kit('kweb', 'O-2', '1', '09506000910093', 1)$$, '23503', 'unknown kit: gtin 09506000910093',
  'an unknown kit, named');
SELECT throws_ok($$SELECT reserve_kit('kweb', 'O-2', '1', '09506000910017', 1)$$, '23503', NULL, 'an item is not a kit');
SELECT throws_ok($$SELECT reserve_kit('kweb', 'O-2', '1', '09506000910062', 1)$$, 'IS061', 'kit 09506000910062 has no components',
  'a kit without components');
SELECT throws_ok($$SELECT reserve_kit(NULL, 'O-2', '1', '09506000910048', 1)$$, '22004', NULL, 'a NULL channel');
SELECT throws_ok($$SELECT reserve_kit('nope', 'O-2', '1', '09506000910048', 1)$$, '23503', NULL, 'an unknown channel');
SELECT throws_ok($$SELECT reserve_kit('kmkt', 'O-2', '1', '09506000910048', 1, '0614141910021')$$, 'IS043', NULL,
  'a location the channel does not sell from');
SELECT throws_ok($$SELECT reserve_kit('kweb', 'O-2', '1', '09506000910048', 1, '0614141910038')$$, '23503', NULL,
  'an unknown location');
SELECT throws_ok($$SELECT reserve_kit('kweb', 'O-2', '1', '09506000910055', 1, NULL, now() - interval '1 minute')$$,
  'IS045', NULL, 'an expiry in the past');
SELECT is(pg_temp.detail($$SELECT reserve_kit('kweb', 'O-2', '1', '09506000910048', 3)$$),
  'IS040 Kit line channel "kweb", order "O-2", line "1". Limited by component 09506000910024 at 0614141910014; nothing is held.',
  'more boxes than any location has: the limiting component and where, in the detail');
SELECT is(pg_temp.detail($$SELECT reserve_kit('kempty', 'O-2', '1', '09506000910048', 1)$$),
  'IS040 Kit line channel "kempty", order "O-2", line "1". The channel has no location; nothing is held.',
  'a channel without locations: refused, saying so');
SELECT is((SELECT count(*) FROM reservation WHERE order_ref = 'O-2'), 0::bigint, 'no refusal held anything');
SELECT throws_ok($$SELECT kit_atp(NULL, 'kweb')$$, '22004', NULL, 'kit_atp: a NULL kit');
SELECT throws_ok($$SELECT kit_atp('09506000910048', NULL)$$, '22004', NULL, 'kit_atp: a NULL channel');
SELECT throws_ok($$SELECT kit_atp('09506000910093', 'kweb')$$, '23503', NULL, 'kit_atp: an unknown kit');
SELECT throws_ok($$SELECT kit_atp('09506000910048', 'kmkt', '0614141910021')$$, 'IS043', NULL,
  'kit_atp: a location the channel does not sell from');
SELECT throws_ok($$SELECT * FROM kit_atp_detail('09506000910062', 'kweb')$$, 'IS061', NULL,
  'kit_atp_detail: a kit without components');
SELECT throws_ok($$INSERT INTO kit (gtin, name) VALUES ('09506000910093', 'x')$$, '42501', NULL, 'a writer defines no kit');
SELECT throws_ok($$SELECT cancel_kit_reservation('kweb', 'O-9', '1')$$, '23503', NULL, 'cancel: an unknown kit line');
SELECT throws_ok($$SELECT cancel_kit_reservation(NULL, NULL, NULL)$$, '23503', NULL, 'cancel: NULLs');

-- Cancel a kit line: every open component reservation, once.
SELECT is((SELECT array_agg(status::text) FROM cancel_kit_reservation('kweb', 'O-1', '2')), ARRAY['cancelled', 'cancelled', 'cancelled'],
  'cancelling line 2 cancels its three reservations');
SELECT throws_ok($$SELECT cancel_kit_reservation('kweb', 'O-1', '2')$$, 'IS041', NULL, 'a cancelled kit line is resolved');
RESET ROLE;
SELECT pg_temp.agrees('line 2 cancelled');

-- Reading is for readers.
SET ROLE is_kit_reader;
SELECT is(kit_atp('09506000910055', 'kweb'), pg_temp.scratch('09506000910055', 'kweb', NULL), 'a reader reads kit ATP');
SELECT throws_ok($$SELECT reserve_kit('kweb', 'O-3', '1', '09506000910055', 1)$$, '42501', NULL, 'a reader reserves nothing');
RESET ROLE;

-- A channel that takes backorders: the gift boxes go to the DC, the one location with the
-- most, each component from stock or, beyond it, against the purchase orders.
INSERT INTO channel (channel, name, allow_backorder) VALUES ('kback', 'Backorders', true);
INSERT INTO channel_location (channel, location) VALUES ('kback', '0614141910014');
INSERT INTO supply (kind, item_gtin, location, quantity, due_date) VALUES
  ('purchase_order', '09506000910024', '0614141910014', 10, current_date + 5),
  ('purchase_order', '09506000910031', '0614141910014', 5, current_date + 7);
SELECT is(kit_atp('09506000910048', 'kback'), 3::numeric, 'the DC has 3 boxes now');
SELECT results_eq($$SELECT item_gtin::text, location::text, quantity, promised_date - current_date
                     FROM reserve_kit('kback', 'O-5', '1', '09506000910048', 4)$$,
  $$VALUES ('09506000910017', '0614141910014', 4::numeric, NULL::integer), ('09506000910024', '0614141910014', 8, 5),
           ('09506000910031', '0614141910014', 4, 7)$$,
  'four boxes: the teapots from stock, the tins and cups as backorders at the DC');
SELECT throws_ok($$SELECT reserve_kit('kback', 'O-5', '2', '09506000910048', 8)$$, 'IS040', NULL,
  'eight more: no supply covers them, nothing held');
SELECT is((SELECT count(*) FROM reservation WHERE order_ref = 'O-5'), 3::bigint, 'only the first line is held');

-- The broker's interface.
SELECT results_eq($$SELECT component::text, quantity, ships_together FROM _order_line_components('09506000910055', 3)$$,
  $$VALUES ('09506000910024', 3::numeric, false), ('09506000910031', 3::numeric, false)$$,
  'a kit line: its components times the quantity; they may ship separately');
SELECT results_eq($$SELECT component::text, quantity, ships_together FROM _order_line_components('09506000910017', 3)$$,
  $$VALUES ('09506000910017', 3::numeric, true)$$, 'an item line: the item');
SELECT is_empty($$SELECT * FROM _order_line_components(NULL, 3)$$, 'a NULL item: nothing');
SELECT ok(NOT has_function_privilege('inventory_sync_admin', 'inventory_sync._order_line_components(inventory_sync.gtin, numeric)',
          'EXECUTE'), 'the broker''s interface is internal');

SELECT is_empty($$SELECT * FROM verify_promises()$$, 'verify_promises(): every promise adds up');
SELECT is_empty($$SELECT * FROM verify()$$, 'verify(): every balance equals the ledger');

SELECT * FROM finish();
ROLLBACK;
