-- What the hostile-client suite (test/hostile/) found, each pinned down on its own.
BEGIN;
SET search_path = inventory_sync, public;
SELECT plan(4);

INSERT INTO item (gtin, name) VALUES ('09506000134352', 'Espresso beans 1 kg');
INSERT INTO location (gln, name, kind) VALUES ('0614141000012', 'DC', 'warehouse');
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user);
INSERT INTO ownership VALUES ('0614141000012', NULL, 'wms');

-- A source may state an event time of -infinity or infinity: the ledger records it, and
-- the latency KPIs leave it out instead of failing for every reader.
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity, event_time) VALUES
  ('receipt', 'wms', 'INF-1', '09506000134352', '0614141000012', 1, 'infinity'),
  ('receipt', 'wms', 'INF-2', '09506000134352', '0614141000012', 1, '-infinity'),
  ('receipt', 'wms', 'INF-3', '09506000134352', '0614141000012', 1, now() - interval '5 minutes');
SELECT lives_ok($$SELECT * FROM kpi_source$$, 'kpi_source: reads with event times of -infinity and infinity in its window');
SELECT is((SELECT postings FROM kpi_source WHERE source = 'wms'), 3::bigint,
          'kpi_source: the non-finite postings count as postings');
SELECT is((SELECT latency_max FROM kpi_source WHERE source = 'wms'), interval '5 minutes',
          'kpi_source: latency from the finite event times only');
SELECT is((SELECT ahead_of_clock FROM kpi_source('1 hour') WHERE source = 'wms'), 1::bigint,
          'kpi_source: an event time of infinity is ahead of the clock');

SELECT * FROM finish();
ROLLBACK;
