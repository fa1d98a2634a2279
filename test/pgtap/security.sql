-- pgTAP: what a posting role can and cannot do to others (docs/security.md).
--   * objects it creates in pg_temp, named like ours, never run with the owner's rights
--     (posting, promising, fulfilling, sweeping, reading ATP);
--   * internal steps are executable by no API role;
--   * fulfil() posts as its caller: the caller's source binding is checked and the
--     caller is the ledger's actor, although the rest of fulfil runs with the owner's rights;
-- Runs in one transaction that is rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(28);

-- A web shop over two stores, a marketplace sharing the DC with it.
INSERT INTO item (gtin, name) VALUES ('09506000134352', 'E');
INSERT INTO item (gtin, name, lot_tracked) VALUES ('09506000134369', 'M', true);
INSERT INTO location (gln, name, kind) VALUES ('0614141000012', 'S1', 'store'), ('0614141000029', 'S2', 'store'),
  ('0614141000036', 'D', 'warehouse');
CREATE ROLE is_tap_sec_writer NOLOGIN IN ROLE inventory_sync_writer;
CREATE ROLE is_tap_sec_other NOLOGIN IN ROLE inventory_sync_writer;
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', 'is_tap_sec_writer'),
  ('oms', 'OMS', 'oms', 'is_tap_sec_writer'), ('erp', 'ERP', 'erp', 'is_tap_sec_other');
INSERT INTO channel (channel, name, fulfilment_source) VALUES ('web', 'Web', 'oms');
INSERT INTO channel (channel, name, allow_backorder, fulfilment_source) VALUES ('mkt', 'Marketplace', true, 'oms');
INSERT INTO channel_location VALUES ('web', '0614141000012', 1), ('web', '0614141000029', 2),
  ('web', '0614141000036', 3), ('mkt', '0614141000036', 1);

-- What the writer's traps saw: a row per call, with the role it ran as.
CREATE TABLE public.is_tap_sec_trap (ran_as name, superuser boolean);
GRANT INSERT, SELECT ON public.is_tap_sec_trap TO PUBLIC;

SET ROLE is_tap_sec_writer;
CREATE FUNCTION pg_temp.trap() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.is_tap_sec_trap
    SELECT current_user, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user;
    BEGIN
        EXECUTE 'ALTER ROLE is_tap_sec_writer SUPERUSER';
    EXCEPTION WHEN insufficient_privilege THEN
        NULL;
    END;
    RETURN true;
END
$$;
-- A temporary relation named like each of the tables the API reads and writes, each row
-- calling the trap: without pg_temp last in the search_path of the code that runs with
-- the owner's rights, these are found first.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['channel_location', 'channel', 'balance', 'bucket', 'item', 'location', 'lot',
                             'reservation', 'promise_key', 'channel_atp', 'channel_atp_state', 'source',
                             'safety_stock', 'channel_safety_stock', 'supply', 'ownership', 'ledger'] LOOP
        EXECUTE format('CREATE TEMP VIEW %I AS SELECT * FROM inventory_sync.%I WHERE pg_temp.trap()', t, t);
    END LOOP;
END
$$;

SELECT lives_ok($$SELECT inventory_sync.receive('wms', 'r1', '09506000134352', '0614141000036', 40, 'released')$$,
  'a receipt at the shared DC posts');
SELECT lives_ok($$SELECT inventory_sync.receive('wms', 'r2', '09506000134352', '0614141000012', 10, 'released')$$,
  'a receipt at a store posts');
SELECT lives_ok($$INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
  VALUES ('receipt', 'wms', 'r3', '09506000134352', '0614141000029', 5),
         ('issue', 'wms', 'r4', '09506000134352', '0614141000029', 1)$$, 'a two-row INSERT posts');
SELECT lives_ok($$SELECT inventory_sync.reserve('web', 'o1', '1', '09506000134352', 3)$$, 'a pooled reservation');
SELECT lives_ok($$SELECT inventory_sync.reserve('mkt', 'o2', '1', '09506000134352', 2, '0614141000036')$$,
  'a reservation at the shared DC');
SELECT lives_ok($$SELECT inventory_sync.reserve('web', 'o3', '1', '09506000134352', 1, NULL, now() + interval '1 second')$$,
  'a reservation about to expire');
SELECT lives_ok($$SELECT inventory_sync.fulfil((SELECT reservation_id FROM inventory_sync.reservation WHERE order_ref = 'o1'))$$,
  'a fulfilment');
SELECT lives_ok($$SELECT inventory_sync.cancel_reservation((SELECT reservation_id FROM inventory_sync.reservation WHERE order_ref = 'o2'))$$,
  'a cancellation');
SELECT lives_ok($$SELECT inventory_sync.sweep_expired_reservations(now() + interval '1 hour')$$, 'a sweep');
SELECT lives_ok($$SELECT inventory_sync.atp('09506000134352', channel => 'web'),
                         inventory_sync.promise('09506000134352', 'web', 1),
                         inventory_sync.verify_promises()$$, 'reading ATP and promises');
RESET ROLE;

SELECT is((SELECT count(*) FROM public.is_tap_sec_trap WHERE ran_as <> 'is_tap_sec_writer' OR superuser), 0::bigint,
  'no temporary object of the caller ran with any rights but the caller''s');
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'is_tap_sec_writer'), 'the writer is not a superuser');
SELECT is(inventory_sync.atp('09506000134352', channel => 'web'), 51::numeric, 'the real tables were used: 55 - 1 sold - 3 shipped');
SELECT is_empty($$SELECT * FROM inventory_sync.verify()$$, 'verify() is empty');
SELECT is_empty($$SELECT * FROM inventory_sync.verify_promises()$$, 'verify_promises() is empty');
DO $$
DECLARE
    v regclass;
BEGIN
    FOR v IN SELECT c.oid FROM pg_class c WHERE c.relnamespace = pg_my_temp_schema() AND c.relkind = 'v' LOOP
        EXECUTE format('DROP VIEW %s', v);
    END LOOP;
END
$$;

-- fulfil() posts as its caller ------------------------------------------------------------
SELECT is((SELECT actor::text FROM ledger WHERE reference LIKE 'reservation %(o1/1)'), 'is_tap_sec_writer',
  'fulfil''s shipment is recorded with the caller as actor, not the owner it runs as');
SELECT reserve('web', 'o4', '1', '09506000134352', 2);
SET ROLE is_tap_sec_other;
SELECT throws_ok($$SELECT inventory_sync.fulfil((SELECT reservation_id FROM inventory_sync.reservation WHERE order_ref = 'o4'))$$,
  '42501', 'role "is_tap_sec_other" may not post as source "oms"',
  'a writer not bound to the fulfilment source may not fulfil through it');
SELECT lives_ok($$SELECT inventory_sync.fulfil((SELECT reservation_id FROM inventory_sync.reservation WHERE order_ref = 'o4'),
  1, 'erp', 'ship-o4', '0614141000036')$$, 'it may through its own source');
SELECT is((SELECT actor::text FROM inventory_sync.ledger WHERE source_event_id = 'ship-o4'), 'is_tap_sec_other',
  'and is the actor of that shipment');
RESET ROLE;

-- Internal steps are for no API role -----------------------------------------------------
SET ROLE is_tap_sec_writer;
SELECT throws_ok($$SELECT inventory_sync._reservation_begin_fulfil(1, NULL, NULL)$$, '42501', NULL,
  'the first step of a fulfilment cannot be called on its own');
SELECT throws_ok($$SELECT inventory_sync._fulfil(1, NULL, NULL, NULL, NULL)$$, '42501', NULL,
  'nor the fulfilment behind fulfil()');
SELECT throws_ok($$SELECT inventory_sync._channel_atp_add('web', '09506000134352', 100, NULL)$$, '42501', NULL,
  'nor a channel ATP move');
SELECT throws_ok($$SELECT inventory_sync._location_atp('09506000134352', '0614141000036', 0)$$, '42501', NULL,
  'nor a read helper');
SELECT lives_ok($$SELECT inventory_sync.eligible_on_hand('09506000134352', '0614141000036', 0)$$,
  'but a read function made of read helpers is callable (eligible_on_hand())');
CREATE TEMP TABLE my_channel_location (LIKE inventory_sync.channel_location);
SELECT throws_ok($$CREATE TRIGGER t AFTER INSERT ON my_channel_location
                   FOR EACH STATEMENT EXECUTE FUNCTION inventory_sync._channel_location_changed()$$, '42501', NULL,
  'an owner-rights trigger function cannot be attached to a table of the caller''s');
SELECT throws_ok($$CREATE TRIGGER t AFTER INSERT ON my_channel_location
                   REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION inventory_sync.ledger_apply()$$,
  '42501', NULL, 'nor the posting engine''s apply step');
RESET ROLE;
SELECT is((SELECT count(*) FROM reservation WHERE fulfilling), 0::bigint, 'no reservation was left mid-fulfilment');

SELECT is_empty($$SELECT * FROM inventory_sync.verify_promises()$$, 'verify_promises() is still empty');

SELECT * FROM finish();
ROLLBACK;
