-- What the hostile-client suite (test/hostile/) found, each pinned down on its own.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(7);

INSERT INTO item (gtin, name) VALUES ('09506000134352', 'Espresso beans 1 kg');
INSERT INTO location (gln, name, kind) VALUES ('0614141000012', 'DC', 'warehouse');
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user);
INSERT INTO ownership VALUES ('0614141000012', NULL, 'wms');

-- Version 0.1.0 recorded event times of -infinity and infinity (the row trigger refuses
-- them now), so a ledger upgraded from it may hold some: the latency KPIs leave them out
-- instead of failing for every reader. Such rows are written here as 0.1.0 left them,
-- without the posting triggers.
SET LOCAL session_replication_role = replica;
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, event_time) VALUES
  ('receipt', 'wms', 'INF-1', '09506000134352', '0614141000012', 1, 'infinity'),
  ('receipt', 'wms', 'INF-2', '09506000134352', '0614141000012', 1, '-infinity');
SET LOCAL session_replication_role = origin;
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, event_time) VALUES
  ('receipt', 'wms', 'INF-3', '09506000134352', '0614141000012', 1, now() - interval '5 minutes');
SELECT lives_ok($$SELECT * FROM kpi_source$$, 'kpi_source: reads with event times of -infinity and infinity in its window');
SELECT is((SELECT postings FROM kpi_source WHERE source = 'wms'), 3::bigint,
          'kpi_source: the non-finite postings count as postings');
SELECT is((SELECT latency_max FROM kpi_source WHERE source = 'wms'), interval '5 minutes',
          'kpi_source: latency from the finite event times only');
SELECT is((SELECT ahead_of_clock FROM kpi_source('1 hour') WHERE source = 'wms'), 1::bigint,
          'kpi_source: an event time of infinity is ahead of the clock');

-- Per-source sequence numbers at the ends of bigint: sequence_anomaly still reads, and
-- names the gap between them.
INSERT INTO source (source, name, kind, role) VALUES ('pos', 'POS', 'pos', current_user);
INSERT INTO location (gln, name, kind) VALUES ('0614141000029', 'Store', 'store');
INSERT INTO ownership VALUES ('0614141000029', NULL, 'pos');
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, source_sequence) VALUES
  ('receipt', 'pos', 'SEQ-1', '09506000134352', '0614141000029', 1, 9223372036854775807),
  ('receipt', 'pos', 'SEQ-2', '09506000134352', '0614141000029', 1, -9223372036854775808),
  ('receipt', 'wms', 'SEQ-3', '09506000134352', '0614141000012', 1, 1),
  ('receipt', 'wms', 'SEQ-4', '09506000134352', '0614141000012', 1, 3);
SELECT lives_ok($$SELECT * FROM sequence_anomaly$$, 'sequence_anomaly: reads with sequence numbers at the ends of bigint');
SELECT results_eq($$SELECT source, anomaly, detail FROM sequence_anomaly ORDER BY source, anomaly$$,
                  $$VALUES ('pos', 'gap', 'sequences -9223372036854775807 to 9223372036854775806 are missing'),
                           ('pos', 'out_of_order', 'sequence -9223372036854775808 arrived after 9223372036854775807'),
                           ('wms', 'gap', 'sequence 2 is missing')$$,
                  'sequence_anomaly: the gap between the ends of bigint, an arrival out of order, an ordinary gap');
SELECT is((SELECT count(*) FROM sequence_anomaly WHERE source_sequence = 9223372036854775807), 0::bigint,
          'sequence_anomaly: the highest possible sequence number is no gap');

SELECT * FROM finish();
ROLLBACK;
