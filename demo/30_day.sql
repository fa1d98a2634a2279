-- title: 3. The day: receipts, promises, sales, a lot release, transfers, fulfilment
SET search_path = inventory_sync, public;
SET client_min_messages = warning;
\set SHOW_CONTEXT never

\echo '--- 3.1 The web shop subscribes to the change feed ---'
\echo 'Its connector creates a logical replication slot with the output plugin inventory_sync,'
\echo 'then loads a hard-reset snapshot of the channel; from here on it applies the stream'
\echo '(section 4). Each snapshot row carries the version the stream continues from.'
SELECT slot_name FROM pg_create_logical_replication_slot('web_shop', 'inventory_sync');
CREATE TABLE demo.web_snapshot AS SELECT * FROM channel_snapshot('web', 'web_shop');
SELECT demo.item(gtin) AS item, atp, version FROM demo.web_snapshot ORDER BY gtin;

\echo
\echo '--- 3.2 The DC receives: the dock scans the pallet labels (GS1-128, SSCC) ---'
\echo 'The scanner sends raw element strings: symbology ]C1, FNC1 as ASCII 29 (shown as <GS>).'
CREATE TEMP TABLE dock_scan (raw text NOT NULL);
INSERT INTO dock_scan VALUES
  (']C100006141410000000012' || '0219506000134397' || '17' || to_char(current_date + 90, 'YYMMDD')
     || '3720' || chr(29) || '10OM-2611'),
  (']C100006141410000000029' || '0219506000134397' || '17' || to_char(current_date + 95, 'YYMMDD')
     || '3720' || chr(29) || '10OM-2612');
SELECT replace(raw, chr(29), '<GS>') AS scanned FROM dock_scan;
SELECT p.sscc, p.content_gtin, p.count AS cases, p.lot, p.expiry FROM dock_scan d, gs1_parse(d.raw) p;

\echo 'gs1_parse types every field, so the scans post the receipts directly: into "receiving",'
\echo 'counted in cases, converted to base units; the SSCC is the event id. The expiry from the'
\echo 'label goes to the lot first.'
INSERT INTO lot (item_gtin, lot, production_date, expiry)
SELECT k.item_gtin, p.lot, current_date - 30, p.expiry
  FROM dock_scan d, gs1_parse(d.raw) p JOIN item_pack k ON k.pack_gtin = p.content_gtin
    ON CONFLICT DO NOTHING;
INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, bucket, quantity, reference)
SELECT 'receipt', 'wms', 'GR-' || p.sscc::text, p.content_gtin, '0614141000012', p.lot, 'receiving', p.count, 'ASN-4711'
  FROM dock_scan d, gs1_parse(d.raw) p
RETURNING posting_id, source_event_id, gtin, item_gtin, lot, bucket, quantity, base_quantity;

\echo 'The first pallet is scanned again (the scanner timed out): the same SSCC is the same'
\echo 'event, so nothing is posted twice.'
WITH again AS (
  INSERT INTO ledger (kind, source, source_event_id, gtin, location, lot, bucket, quantity, reference)
  SELECT 'receipt', 'wms', 'GR-' || p.sscc::text, p.content_gtin, '0614141000012', p.lot, 'receiving', p.count, 'ASN-4711'
    FROM dock_scan d, gs1_parse(d.raw) p WHERE p.lot = 'OM-2611'
  RETURNING 1)
SELECT count(*) AS postings_from_rescan FROM again;

\echo 'A label typed in by hand with a wrong check digit is refused, and the hint has the right one:'
SELECT * FROM demo.refused($$SELECT * FROM inventory_sync.gs1_parse('(00)006141410000000013(02)19506000134397(37)20')$$,
                           '22P02');

\echo
\echo '--- 3.3 Receiving -> QA hold -> released: the stock is sellable only after inspection ---'
CREATE TEMP TABLE milk_steps (n serial, step text, receiving numeric, qa_hold numeric, released numeric, web_atp numeric);
CREATE FUNCTION pg_temp.milk_step(step text) RETURNS void LANGUAGE sql AS $$
  INSERT INTO milk_steps (step, receiving, qa_hold, released, web_atp)
  SELECT step, coalesce(sum(quantity) FILTER (WHERE bucket = 'receiving'), 0),
         coalesce(sum(quantity) FILTER (WHERE bucket = 'qa_hold'), 0),
         coalesce(sum(quantity) FILTER (WHERE bucket = 'released'), 0),
         inventory_sync.atp('09506000134390', channel => 'web')
    FROM inventory_sync.balance WHERE item_gtin = '09506000134390' AND location = '0614141000012'
$$;
SELECT pg_temp.milk_step('received (scanned above)') \g /dev/null
SELECT count(*) FROM move_stock('wms', 'QA-4711-1', '09506000134390', '0614141000012', 120, 'receiving', 'qa_hold', 'OM-2611')
UNION ALL
SELECT count(*) FROM move_stock('wms', 'QA-4711-2', '09506000134390', '0614141000012', 120, 'receiving', 'qa_hold', 'OM-2612') \g /dev/null
SELECT pg_temp.milk_step('put on QA hold for inspection') \g /dev/null
SELECT count(*) FROM move_stock('wms', 'REL-4711-1', '09506000134390', '0614141000012', 120, 'qa_hold', 'released', 'OM-2611')
UNION ALL
SELECT count(*) FROM move_stock('wms', 'REL-4711-2', '09506000134390', '0614141000012', 120, 'qa_hold', 'released', 'OM-2612') \g /dev/null
SELECT pg_temp.milk_step('inspected and released') \g /dev/null
SELECT step AS "oat milk at DC Rotterdam", receiving, qa_hold, released, web_atp FROM milk_steps ORDER BY n;

\echo
\echo '--- 3.4 Web orders reserve; an over-promise is refused ---'
\echo 'Green tea is only at Main Street: 10 on hand, 2 kept back as safety stock.'
SELECT reservation_id, order_ref, demo.item(item_gtin) AS item, quantity, demo.loc(location) AS held_at, status
  FROM reserve('web', 'W-1001', '1', '09506000134369', 5);
\echo 'W-1002 wants 4 more: only 3 can be promised.'
SELECT * FROM demo.refused($$SELECT inventory_sync.reserve('web', 'W-1002', '1', '09506000134369', 4)$$, 'IS040');
\echo 'Espresso and oat milk: placed where the channel has the most to promise. W-1004 is a'
\echo 'cart whose customer walks away: its hold lapses after one second.'
SELECT r.reservation_id, r.order_ref, demo.item(r.item_gtin) AS item, r.quantity, demo.loc(r.location) AS held_at,
       demo.dur(r.expires_at - now()) AS expires_in
  FROM (SELECT * FROM reserve('web', 'W-1003', '1', '09506000134352', 2)
        UNION ALL SELECT * FROM reserve('web', 'W-1004', '1', '09506000134390', 3,
                                        expires_at => clock_timestamp() + interval '1 second')
        UNION ALL SELECT * FROM reserve('web', 'W-1005', '1', '09506000134390', 10)) r;

\echo
\echo '--- 3.5 A POS sale the records cannot cover: recorded anyway, flagged as an exception ---'
\echo 'Station Road''s record has 1 espresso; a customer buys 3 (an unrecorded delivery was on'
\echo 'the shelf). The till was offline and sends the sale 40 seconds late. A sale that'
\echo 'happened is a fact: it is never refused, it shows up for investigation.'
SELECT posting_id, source, source_event_id, demo.loc(location) AS location, quantity,
       demo.dur(recorded_at - event_time) AS sent_late_by
  FROM ship('pos_station', 'TILL2-0815-0042', '09506000134352', '0614141000036', 3,
            event_time => now() - interval '40 seconds');
SELECT kind, source, demo.item(item_gtin) AS item, demo.loc(location) AS location, bucket, detail
  FROM open_exceptions;
\echo 'Only the system of record may post at a location: the WMS cannot fix the store''s stock.'
SELECT * FROM demo.refused($$SELECT inventory_sync.receive('wms', 'FIX-1', '09506000134352', '0614141000036', 2, 'released')$$,
                           'IS001');

\echo
\echo '--- 3.6 The plant ships yoghurt on QA hold; the lab releases the lot everywhere at once ---'
\echo 'The ERP ships 60 trays of lot Y-0310 to the DC before the lab result is in; the truck'
\echo 'is due in 3 hours.'
SELECT posting_id, kind, demo.loc(location) AS "from", demo.loc(to_location) AS "to", lot, bucket,
       quantity AS trays, -base_quantity AS cups, to_char(eta, 'YYYY-MM-DD HH24:MI') AS eta
  FROM transfer_out('erp', 'STO-88', '19506000134380', '0614141000043', '0614141999989', 60,
                    eta => now() + interval '3 hours', bucket => 'qa_hold', lot => 'Y-0310');
\echo 'On the road (inventory in transit, by shipment):'
SELECT demo.item(item_gtin) AS item, demo.loc(in_transit) AS "on the road", lot, bucket, open_quantity,
       to_char(eta, 'YYYY-MM-DD HH24:MI') AS eta, demo.dur(eta - now()) AS due_in, overdue
  FROM kpi_in_transit_shipment ORDER BY eta;
\echo 'The lab passes Y-0310: one call releases it at the plant and on the truck (Y-0309 stays on hold).'
SELECT posting_id, source, source_event_id, demo.loc(location) AS location, lot, bucket, to_bucket, quantity
  FROM release_lot('lims', 'QR-Y0310', '09506000134383', 'Y-0310');
SELECT demo.loc(location) AS location, lot, bucket, quantity, l.released_at IS NOT NULL AS lot_released
  FROM balance b JOIN lot l USING (item_gtin, lot)
 WHERE item_gtin = '09506000134383' AND quantity <> 0 ORDER BY location, lot, bucket;

\echo
\echo '--- 3.7 Transfers through in-transit: the truck arrives; a van leaves for tomorrow ---'
\echo 'The truck arrives at the DC; the WMS books it in, released: web and marketplace can sell it.'
SELECT posting_id, kind, source, demo.loc(location) AS "from", demo.loc(to_location) AS "to", lot, bucket, quantity
  FROM transfer_in('wms', 'GR-STO-88', '09506000134383', '0614141999989', '0614141000012', 480, 'released', lot => 'Y-0310');
\echo 'The DC sends 2 cases of espresso to Main Street by the evening van, due tomorrow 07:00.'
SELECT posting_id, kind, demo.loc(location) AS "from", demo.loc(to_location) AS "to", quantity AS cases,
       -base_quantity AS bags, to_char(eta, 'YYYY-MM-DD HH24:MI') AS eta
  FROM transfer_out('wms', 'TO-5001', '19506000134359', '0614141000012', '0614141999972', 2,
                    eta => (current_date + 1) + time '07:00');
SELECT demo.loc(location) AS location, demo.item(item_gtin) AS item, coalesce(lot::text, '') AS lot, bucket,
       quantity, version
  FROM balance
 WHERE location IN ('0614141999989', '0614141999972', '0614141000012') AND item_gtin IN ('09506000134383', '09506000134352')
 ORDER BY location, item_gtin;
\echo 'Stock on its way to a location is supply there, dated by the ETA:'
SELECT demo.loc(r.destination) AS destination, demo.item(i.gtin) AS item, s.due_date, s.quantity, s.kind, s.reference
  FROM transit_route r, item i, expected_supply(i.gtin, r.destination) s ORDER BY 1, 2;

\echo
\echo '--- 3.8 A future-dated promise from time-phased ATP ---'
\echo 'The plant''s next yoghurt run, 960 cups, is due at the DC in 3 days (a production order).'
INSERT INTO supply (kind, item_gtin, location, quantity, due_date, reference)
     VALUES ('production_order', '09506000134383', '0614141000012', 960, current_date + 3, 'PRD-0312');
\echo 'A marketplace buyer wants 600. Time-phased ATP per day at the marketplace''s DC (APICS:'
\echo 'discrete and cumulative, on-hand in the first period):'
SELECT period_start, supply, demand, discrete_atp, cumulative_atp
  FROM atp_schedule('09506000134383', 'marketplace', current_date, 4, interval '1 day');
SELECT promisable AS promisable_today, promise_date, promise_date - current_date AS in_days,
       demo.loc(location) AS from_location, available_now
  FROM promise('09506000134383', 'marketplace', 600);
\echo 'The marketplace takes backorders: the reservation is accepted with that promised date.'
SELECT reservation_id, order_ref, quantity, demo.loc(location) AS held_at, promised_date,
       promised_date - current_date AS in_days
  FROM reserve('marketplace', 'MP-7001', '1', '09506000134383', 600);
\echo 'The schedule now: the backorder is demand on its promised date, covered by the production'
\echo 'order, so today''s 480 stay promisable. Beyond 840 nothing is in the horizon:'
SELECT period_start, supply, demand, discrete_atp, cumulative_atp
  FROM atp_schedule('09506000134383', 'marketplace', current_date, 4, interval '1 day');
SELECT q AS asked, p.promisable AS today, p.promise_date - current_date AS earliest_in_days
  FROM (VALUES (480), (481), (840), (841)) v(q), promise('09506000134383', 'marketplace', q) p;

\echo '--- 3.9 A reservation expires ---'
\echo 'The scheduler (pg_cron in production) sweeps expired holds; W-1004''s 3 oat milk return.'
SELECT pg_sleep(greatest(0, extract(epoch FROM expires_at - clock_timestamp())) + 0.05) AS waited
  FROM reservation WHERE order_ref = 'W-1004' \g /dev/null
SELECT atp('09506000134390', channel => 'web') AS web_atp_before;
SELECT sweep_expired_reservations() AS expired;
SELECT order_ref, status, open_quantity, atp('09506000134390', channel => 'web') AS web_atp_after
  FROM reservation WHERE order_ref = 'W-1004';

\echo
\echo '--- 3.10 An order fulfilled partly, FEFO picking the lot ---'
\echo 'W-1005 (10 oat milk) ships from the DC. FEFO takes the earliest-expiring lot the web'
\echo 'shop may sell: OM-2601 expires in 4 days (under its 7-day minimum), so OM-2602.'
SELECT lot, expiry, expiry - current_date AS days_left, quantity,
       expiry >= current_date + 7 AS web_may_sell
  FROM balance b JOIN lot l USING (item_gtin, lot)
 WHERE b.item_gtin = '09506000134390' AND b.location = '0614141000012' AND b.bucket = 'released'
 ORDER BY expiry;
\echo 'The picker finds 6: the WMS confirms 6 of 10, the other 4 return to ATP.'
SELECT reservation_id, order_ref, status, quantity, fulfilled_quantity, open_quantity
  FROM fulfil((SELECT reservation_id FROM reservation WHERE order_ref = 'W-1005'), 6);
SELECT posting_id, kind, source, source_event_id, lot, quantity, reference
  FROM ledger WHERE reference LIKE 'reservation % (W-1005/1)' ORDER BY posting_id;

\echo
\echo 'End of the day''s business: what each channel can promise now.'
SELECT demo.item(i.gtin) AS item,
       atp(i.gtin, channel => 'web') AS web, atp(i.gtin, channel => 'marketplace') AS marketplace,
       atp(i.gtin) AS network
  FROM item i ORDER BY i.gtin;
SELECT order_ref, channel, demo.item(item_gtin) AS item, quantity, fulfilled_quantity AS fulfilled,
       open_quantity AS open, status, coalesce(demo.loc(location), '') AS held_at,
       coalesce(promised_date::text, '') AS promised_for
  FROM reservation ORDER BY reservation_id;
