-- pgTAP: release_lot() stamps lot.released_at/released_by only when the lot goes into a
-- sellable bucket: moving it from qa_hold to blocked (a rejected lot) is not a release.
-- Runs in one transaction that is rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(9);

INSERT INTO item (gtin, name, lot_tracked) VALUES ('09506000134383', 'Yoghurt', true);
INSERT INTO location (gln, name, kind) VALUES ('0614141000043', 'Plant', 'plant'), ('0614141000050', 'DC', 'warehouse');
INSERT INTO source (source, name, kind, role) VALUES ('mes', 'MES', 'mes', current_user), ('lims', 'LIMS', 'lims', current_user);

SELECT lives_ok($$SELECT produce('mes', 'WO-1', '09506000134383', '0614141000043', 10, 'BAD1')$$, 'lot BAD1 produced on QA hold');
SELECT lives_ok($$SELECT produce('mes', 'WO-2', '09506000134383', '0614141000050', 5, 'BAD1')$$, 'and at a second location');
SELECT lives_ok($$SELECT produce('mes', 'WO-3', '09506000134383', '0614141000043', 7, 'GOOD1')$$, 'lot GOOD1 produced on QA hold');

-- rejected: qa_hold -> blocked (not sellable)
SELECT is((SELECT count(*) FROM release_lot('lims', 'QR-BAD1', '09506000134383', 'BAD1', 'qa_hold', 'blocked')),
          2::bigint, 'the rejected lot moves to blocked at both locations');
SELECT is((SELECT sum(quantity) FROM balance WHERE lot = 'BAD1' AND bucket = 'blocked'), 15::numeric, 'all 15 are blocked');
SELECT results_eq($$SELECT released_at, released_by FROM lot WHERE item_gtin = '09506000134383' AND lot = 'BAD1'$$,
                  $$VALUES (NULL::timestamptz, NULL::text)$$,
                  'a lot moved into a bucket that is not sellable is not recorded as released');

-- released: qa_hold -> released (sellable)
SELECT is((SELECT count(*) FROM release_lot('lims', 'QR-GOOD1', '09506000134383', 'GOOD1')), 1::bigint,
          'the good lot is released');
SELECT results_eq($$SELECT released_at IS NOT NULL, released_by FROM lot WHERE item_gtin = '09506000134383' AND lot = 'GOOD1'$$,
                  $$VALUES (true, current_user::text COLLATE "default")$$,
                  'a lot moved into a sellable bucket is stamped released, by whom');

SELECT is_empty($$SELECT * FROM verify()$$, 'verify(): every balance equals the ledger');
SELECT * FROM finish();
ROLLBACK;
