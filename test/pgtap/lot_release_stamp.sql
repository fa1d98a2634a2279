-- pgTAP: the lot release record (lot.released_at, released_by) cannot be forged. Writers
-- have no right to write it; the posting engine stamps it when it applies the moves
-- release_lot() posts (reason lot_release) into a sellable bucket, as the role that
-- posted them, once. The roles are real non-superusers bound to their sources. Runs in one
-- transaction that is rolled back.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(20);

-- Yoghurt, lot-tracked, made at a plant whose MES owns everything but the lab's buckets.
INSERT INTO item (gtin, name, lot_tracked) VALUES ('09506000134383', 'Yoghurt', true);
INSERT INTO location (gln, name, kind) VALUES ('0614141000043', 'Plant', 'plant'), ('0614141000050', 'DC', 'warehouse');
CREATE ROLE is_stamp_mes NOLOGIN;
CREATE ROLE is_stamp_lab NOLOGIN;
CREATE ROLE is_stamp_lab_night NOLOGIN IN ROLE is_stamp_lab;   -- a second lab login
GRANT inventory_sync_writer TO is_stamp_mes, is_stamp_lab;
INSERT INTO source (source, name, kind, role) VALUES ('mes', 'MES', 'mes', 'is_stamp_mes'),
  ('lims', 'LIMS', 'lims', 'is_stamp_lab');
INSERT INTO ownership (location, bucket, source) VALUES
  ('0614141000043', NULL, 'mes'), ('0614141000043', 'released', 'lims'), ('0614141000043', 'blocked', 'lims'),
  ('0614141000050', NULL, 'mes'), ('0614141000050', 'released', 'lims'), ('0614141000050', 'blocked', 'lims');

SET ROLE is_stamp_mes;
DO $$
BEGIN
    PERFORM inventory_sync.produce('mes', 'WO-1', '09506000134383', '0614141000043', 10, 'GOOD');
    PERFORM inventory_sync.produce('mes', 'WO-2', '09506000134383', '0614141000050', 5, 'GOOD');
    PERFORM inventory_sync.produce('mes', 'WO-3', '09506000134383', '0614141000043', 7, 'BAD');
    PERFORM inventory_sync.produce('mes', 'WO-4', '09506000134383', '0614141000043', 3, 'PLAIN');
    PERFORM inventory_sync.produce('mes', 'WO-5', '09506000134383', '0614141000043', 2, 'EMPTY');
END
$$;
RESET ROLE;
CREATE FUNCTION pg_temp.stamp(l text) RETURNS TABLE (released_at timestamptz, released_by text)
LANGUAGE sql AS $$ SELECT released_at, released_by FROM inventory_sync.lot WHERE lot = l::inventory_sync.lot_number $$;

-- No writer writes the record itself.
SET ROLE is_stamp_lab;
SELECT throws_ok($$UPDATE inventory_sync.lot SET released_at = now(), released_by = 'is_stamp_lab' WHERE lot = 'GOOD'$$,
                 '42501', NULL, 'a writer cannot stamp a lot released (42501)');
SELECT throws_ok($$UPDATE inventory_sync.lot SET released_by = 'someone' WHERE lot = 'BAD'$$,
                 '42501', NULL, 'nor write who released it');
RESET ROLE;
SET ROLE is_stamp_mes;
SELECT throws_ok($$UPDATE inventory_sync.lot SET released_at = now() WHERE lot = 'GOOD'$$,
                 '42501', NULL, 'nor can any other writer');
RESET ROLE;
CREATE ROLE is_stamp_admin NOLOGIN IN ROLE inventory_sync_admin;
SET ROLE is_stamp_admin;
SELECT throws_ok($$UPDATE inventory_sync.lot SET released_at = now(), released_by = 'qa' WHERE lot = 'GOOD'$$,
                 '42501', NULL, 'nor an admin, who maintains a lot''s dates');
SELECT lives_ok($$UPDATE inventory_sync.lot SET expiry = current_date + 30 WHERE lot = 'GOOD'$$,
                'the dates, which an admin may change');
RESET ROLE;
SET ROLE is_stamp_mes;
-- The MES is not the system of record of released: its release is refused, nothing stamped.
SELECT throws_ok($$SELECT inventory_sync.release_lot('mes', 'QR-MES', '09506000134383', 'GOOD')$$,
                 'IS001', NULL, 'a release by a source that does not own the released bucket is refused');
SELECT throws_ok($$INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, lot, bucket, to_bucket, quantity, reason)
                   VALUES ('move', 'mes', 'MV-1', '09506000134383', '0614141000043', 'GOOD', 'qa_hold', 'released', 10, 'lot_release')$$,
                 'IS001', NULL, 'and so is its move marked as a release');
RESET ROLE;
SELECT results_eq($$SELECT * FROM pg_temp.stamp('GOOD')$$, $$VALUES (NULL::timestamptz, NULL::text)$$,
                  'the lot is not released');

SET ROLE is_stamp_lab;
-- Rejected: into blocked, which is not sellable.
SELECT is((SELECT count(*) FROM release_lot('lims', 'QR-BAD', '09506000134383', 'BAD', 'qa_hold', 'blocked')), 1::bigint,
          'a rejected lot moves to blocked');
SELECT results_eq($$SELECT * FROM pg_temp.stamp('BAD')$$, $$VALUES (NULL::timestamptz, NULL::text)$$,
                  'a lot moved into a bucket that is not sellable is not released');
-- Released: both locations at once, stamped by the posting role.
SELECT is((SELECT count(*) FROM release_lot('lims', 'QR-GOOD', '09506000134383', 'GOOD')), 2::bigint,
          'the good lot moves to released at both locations');
SELECT results_eq($$SELECT reason FROM ledger WHERE source_event_id LIKE 'QR-GOOD:%'$$,
                  $$VALUES ('lot_release'), ('lot_release')$$, 'its moves carry the reason lot_release');
SELECT results_eq($$SELECT released_at = now(), released_by FROM pg_temp.stamp('GOOD')$$,
                  $$VALUES (true, 'is_stamp_lab'::text)$$, 'the lot is stamped released, by the role that posted the release');
-- A plain move into released is stock changing bucket, not a quality release.
SELECT lives_ok($$SELECT move_stock('lims', 'MV-2', '09506000134383', '0614141000043', 3, 'qa_hold', 'released', 'PLAIN')$$,
                'the lab moves a lot into released without releasing it');
SELECT results_eq($$SELECT * FROM pg_temp.stamp('PLAIN')$$, $$VALUES (NULL::timestamptz, NULL::text)$$,
                  'a move without the release marker does not stamp the lot');
-- Nothing on hold: nothing moves, nothing is stamped.
SELECT lives_ok($$SELECT move_stock('lims', 'MV-3', '09506000134383', '0614141000043', 2, 'qa_hold', 'blocked', 'EMPTY')$$,
                'the lab blocks a lot');
SELECT is((SELECT count(*) FROM release_lot('lims', 'QR-EMPTY', '09506000134383', 'EMPTY')), 0::bigint,
          'releasing a lot with nothing on hold moves nothing');
RESET ROLE;
SELECT results_eq($$SELECT * FROM pg_temp.stamp('EMPTY')$$, $$VALUES (NULL::timestamptz, NULL::text)$$,
                  'and stamps nothing');

-- Released once: a later release of new stock of the lot leaves the record as it is.
SET ROLE is_stamp_mes;
DO $$ BEGIN PERFORM inventory_sync.produce('mes', 'WO-6', '09506000134383', '0614141000043', 4, 'GOOD'); END $$;
RESET ROLE;
SET ROLE is_stamp_lab_night;
DO $$ BEGIN PERFORM inventory_sync.release_lot('lims', 'QR-GOOD-2', '09506000134383', 'GOOD'); END $$;
RESET ROLE;
SELECT results_eq($$SELECT released_by FROM pg_temp.stamp('GOOD')$$, $$VALUES ('is_stamp_lab'::text)$$,
                  'a second release of the lot keeps the first stamp');

SELECT is_empty($$SELECT * FROM verify()$$, 'verify(): every balance equals the ledger');
SELECT * FROM finish();
ROLLBACK;
