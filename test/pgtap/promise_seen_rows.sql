-- pgTAP: reserving anywhere in a channel that shares a location reads each location's
-- stored ATP from where the backend read it last (its chain of versions from there, else
-- the index). Whatever became of those rows in between (rewritten in place, deleted and
-- inserted again elsewhere in the table, deleted), the location chosen is the one the
-- SQL's order names: most ATP, ties by priority, then by location.
-- Runs in one transaction that is rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(11);

-- Stores S1, S2 and a DC that web shares with mkt; item E.
INSERT INTO item (gtin, name) VALUES ('09506000134352', 'E');
INSERT INTO location (gln, name, kind) VALUES ('0614141000012', 'S1', 'store'), ('0614141000029', 'S2', 'store'),
  ('0614141000036', 'D', 'warehouse');
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user), ('oms', 'OMS', 'oms', current_user);
INSERT INTO channel (channel, name, fulfilment_source) VALUES ('web', 'Web', 'oms'), ('mkt', 'Marketplace', 'oms');
INSERT INTO channel_location VALUES ('web', '0614141000012', 1), ('web', '0614141000029', 2), ('web', '0614141000036', 3),
  ('mkt', '0614141000036', 1);
INSERT INTO ledger (kind, source, source_event_id, gtin, location, bucket, quantity) VALUES
  ('receipt', 'wms', 'r1', '09506000134352', '0614141000012', 'released', 5),
  ('receipt', 'wms', 'r2', '09506000134352', '0614141000029', 'released', 7),
  ('receipt', 'wms', 'r3', '09506000134352', '0614141000036', 'released', 6);

-- Where reserve() holds one more unit of E anywhere in web; a location's stored ATP.
CREATE FUNCTION pg_temp.stored(l text) RETURNS numeric LANGUAGE sql AS $$
  SELECT atp FROM inventory_sync.location_atp WHERE item_gtin = '09506000134352' AND location = l::inventory_sync.gln $$;
CREATE FUNCTION pg_temp.placed(ref text) RETURNS gln LANGUAGE sql AS $$
  SELECT location FROM inventory_sync.reserve('web', ref, '1', '09506000134352', 1) $$;

SELECT is(pg_temp.placed('o1'), '0614141000029'::gln, 'the most ATP: S2 (7)');
SELECT is(pg_temp.placed('o2'), '0614141000029'::gln, 'a tie of 6 goes to the higher priority: S2 before D');
SELECT is(pg_temp.placed('o3'), '0614141000036'::gln, 'D (6) once S2 has 5');
SELECT is(pg_temp.placed('o4'), '0614141000012'::gln, 'three at 5: S1, the highest priority');

-- Rewritten in place (a new version on the chain from the one read last).
UPDATE location_atp SET atp = atp + 10 WHERE location = '0614141000036';
SELECT is(pg_temp.placed('o5'), '0614141000036'::gln, 'D once its stored ATP is raised to 15');
SELECT is(pg_temp.stored('0614141000036'), 14::numeric, 'the hold moved D''s row from 15');

-- Deleted and inserted again: the version read last is dead, the row is elsewhere.
CREATE TEMP TABLE moved AS SELECT * FROM location_atp WHERE location = '0614141000029';
DELETE FROM location_atp WHERE location = '0614141000029';
INSERT INTO location_atp SELECT item_gtin, location, min_shelf_life_days, atp + 20, computed_on FROM moved;
SELECT is(pg_temp.placed('o6'), '0614141000029'::gln, 'S2 once its row, moved, has 25 (found through the index)');
SELECT is(pg_temp.placed('o7'), '0614141000029'::gln, 'and again, from the row found there');
SELECT is(pg_temp.stored('0614141000029'), 23::numeric, 'the holds moved the row where it is now');

-- Lowered in place below the others.
UPDATE location_atp SET atp = 0 WHERE location IN ('0614141000029', '0614141000036');
SELECT is(pg_temp.placed('o8'), '0614141000012'::gln, 'S1 once the others have none');
SELECT is((SELECT count(*) FROM reservation WHERE channel = 'web'), 8::bigint, 'one reservation per call');

SELECT * FROM finish();
ROLLBACK;
