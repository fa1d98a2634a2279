-- verify(since_posting => ...) and verify(since => ...): what changed after a watermark,
-- through the after-state chains; a corruption inside the window (or of the after-state
-- the window starts from) is found, one before it is left to the full verify().
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(15);

INSERT INTO item (gtin, name) VALUES ('09506000134352', 'Beans'), ('09506000134369', 'Rice');
INSERT INTO location (gln, name, kind) VALUES ('0614141000012', 'DC', 'warehouse'), ('0614141000029', 'Store', 'store');
INSERT INTO source (source, name, role) VALUES ('wms', 'WMS', current_user);

-- before the watermark: key A (beans at the DC) versions 1-3, key B (rice at the DC) 1-2
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity) VALUES
  ('receipt', 'wms', 'a1', '09506000134352', '0614141000012', 10),
  ('receipt', 'wms', 'a2', '09506000134352', '0614141000012', 5),
  ('issue',   'wms', 'a3', '09506000134352', '0614141000012', 3),
  ('receipt', 'wms', 'b1', '09506000134369', '0614141000012', 7),
  ('issue',   'wms', 'b2', '09506000134369', '0614141000012', 2);
SELECT max(posting_id) AS watermark FROM ledger \gset
-- after it: key A versions 4-5, key C (beans at the store) born
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity) VALUES
  ('receipt', 'wms', 'a4', '09506000134352', '0614141000012', 4),
  ('issue',   'wms', 'a5', '09506000134352', '0614141000012', 1),
  ('receipt', 'wms', 'c1', '09506000134352', '0614141000029', 6);

SELECT is((SELECT count(*) FROM verify()), 0::bigint, 'verify() holds');
SELECT is((SELECT count(*) FROM verify(since_posting => :watermark)), 0::bigint, 'verify(since_posting =>) holds');
SELECT is((SELECT count(*) FROM verify(since => now())), 0::bigint, 'verify(since =>) holds');
SELECT is((SELECT count(*) FROM verify(since_posting => 0)), 0::bigint, 'from the start: every key, every posting');

-- after-states change only through the engine: the corruptions below bypass its triggers
CREATE FUNCTION pg_temp.corrupt(sql text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  SET LOCAL session_replication_role = replica;
  EXECUTE sql;
  SET LOCAL session_replication_role = origin;
END $$;
CREATE FUNCTION pg_temp.version_of(event text) RETURNS text LANGUAGE sql AS $$
  SELECT format('posting_id = %s', posting_id) FROM inventory_sync.ledger WHERE source_event_id = event
$$;

-- a corrupted after-state before the window's anchor: the full check finds it, the
-- incremental one does not read it
SELECT pg_temp.corrupt('UPDATE inventory_sync.balance_change SET quantity_after = quantity_after + 100 WHERE ' || pg_temp.version_of('a1'));
SELECT is((SELECT problem FROM verify()), 'quantity_after chain is broken', 'verify() finds a corrupted after-state anywhere');
SELECT is((SELECT count(*) FROM verify(since_posting => :watermark)), 0::bigint, 'verify(since_posting =>) ignores what lies before the window');
SELECT pg_temp.corrupt('UPDATE inventory_sync.balance_change SET quantity_after = quantity_after - 100 WHERE ' || pg_temp.version_of('a1'));

-- inside the window
SELECT pg_temp.corrupt('UPDATE inventory_sync.balance_change SET quantity_after = quantity_after + 1 WHERE ' || pg_temp.version_of('a4'));
SELECT results_eq($$SELECT item_gtin::text, location::text, problem FROM verify(since_posting => $$ || :watermark || $$)$$,
                  $$VALUES ('09506000134352', '0614141000012', 'quantity_after chain is broken')$$,
                  'verify(since_posting =>) finds a corrupted after-state inside the window, at its key');
SELECT is((SELECT problem FROM verify(since => now())), 'quantity_after chain is broken', 'so does verify(since =>)');
SELECT is((SELECT count(*) FROM verify(since => now() + interval '1 second')), 0::bigint,
          'a window after every posting checks nothing');
SELECT pg_temp.corrupt('UPDATE inventory_sync.balance_change SET quantity_after = quantity_after - 1 WHERE ' || pg_temp.version_of('a4'));

-- the anchor: the last after-state before the window, which the window's chain starts from
SELECT pg_temp.corrupt('UPDATE inventory_sync.balance_change SET quantity_after = quantity_after + 1 WHERE ' || pg_temp.version_of('a3'));
SELECT is((SELECT problem FROM verify(since_posting => :watermark)), 'quantity_after chain is broken',
          'the window chains from the after-state before it');
SELECT pg_temp.corrupt('UPDATE inventory_sync.balance_change SET quantity_after = quantity_after - 1 WHERE ' || pg_temp.version_of('a3'));

-- versions step by one
SELECT pg_temp.corrupt('UPDATE inventory_sync.balance_change SET version = version + 1 WHERE ' || pg_temp.version_of('a5'));
SELECT is((SELECT problem FROM verify(since_posting => :watermark)), 'quantity_after chain is broken',
          'a version that does not step by one is found');
SELECT pg_temp.corrupt('UPDATE inventory_sync.balance_change SET version = version - 1 WHERE ' || pg_temp.version_of('a5'));

-- the last after-state is the balance
SELECT pg_temp.corrupt($$UPDATE inventory_sync.balance SET quantity = quantity + 1
                          WHERE item_gtin = '09506000134352' AND location = '0614141000012'$$);
SELECT is((SELECT problem FROM verify(since_posting => :watermark)), 'balance differs from the after-states',
          'a balance that is not its last after-state is found');
SELECT pg_temp.corrupt($$UPDATE inventory_sync.balance SET quantity = quantity - 1
                          WHERE item_gtin = '09506000134352' AND location = '0614141000012'$$);

-- an after-state chain that holds but disagrees with its ledger row (delta, quantity
-- after it and the balance all moved by one)
SELECT pg_temp.corrupt('UPDATE inventory_sync.balance_change SET delta = delta + 1, quantity_after = quantity_after + 1 WHERE ' || pg_temp.version_of('c1'));
SELECT pg_temp.corrupt($$UPDATE inventory_sync.balance SET quantity = quantity + 1
                          WHERE item_gtin = '09506000134352' AND location = '0614141000029'$$);
SELECT results_eq($$SELECT location::text, problem FROM verify(since_posting => $$ || :watermark || $$)$$,
                  $$VALUES ('0614141000029', 'after-states differ from the ledger')$$,
                  'an after-state that is not its posting''s effect is found');
SELECT is((SELECT problem FROM verify() WHERE location::text = '0614141000029'), 'balance differs from the ledger',
          'as verify() finds it');

-- the anchor missing
SELECT pg_temp.corrupt('DELETE FROM inventory_sync.balance_change WHERE ' || pg_temp.version_of('a3'));
SELECT is((SELECT problem FROM verify(since_posting => :watermark) WHERE location::text = '0614141000012'),
          'the after-state before the watermark is missing', 'a missing anchor is found');

SELECT * FROM finish();
ROLLBACK;
