-- pgTAP: hostile input on the posting path, sent by a real non-superuser writer bound to
-- its source. NULL and omitted values in every ledger column (single-row INSERT,
-- multi-row INSERT, COPY), NULL in every argument of every posting function, NaN,
-- infinities, huge, negative and zero quantities, empty, over-long and control-character
-- text. Every refusal comes with its SQLSTATE, the backend survives every case, nothing is
-- written, and verify() stays empty. Runs in one transaction that is rolled back.
BEGIN;
SET search_path = inventory_sync, public;

-- Master data ------------------------------------------------------------------
-- A 09506000134352 each | L 09506000134369 lot-tracked | pack 19506000134359 = 12 x A
-- W1 0614141000012 warehouse | T 0614141000036 in transit
INSERT INTO item (gtin, name) VALUES ('09506000134352', 'A');
INSERT INTO item (gtin, name, lot_tracked) VALUES ('09506000134369', 'L', true);
INSERT INTO item_pack (pack_gtin, item_gtin, quantity) VALUES ('19506000134359', '09506000134352', 12);
INSERT INTO location (gln, name, kind) VALUES ('0614141000012', 'W1', 'warehouse'),
  ('0614141000036', 'T', 'in_transit');
CREATE ROLE is_hostile_writer NOLOGIN;
GRANT inventory_sync_writer TO is_hostile_writer;
GRANT pg_read_server_files TO is_hostile_writer;   -- COPY ... FROM a file the test writes
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', 'is_hostile_writer');

-- Stock the cases work on: 10 A released at W1, 5 of lot L1 on QA hold.
DO $$
BEGIN
    PERFORM inventory_sync.receive('wms', 'S-1', '09506000134352', '0614141000012', 10, 'released');
    PERFORM inventory_sync.produce('wms', 'S-2', '09506000134369', '0614141000012', 5, 'L1');
END
$$;

-- The state no case may change.
CREATE TEMP TABLE hostile_before AS
SELECT pg_backend_pid() AS pid, (SELECT count(*) FROM ledger) AS postings,
       (SELECT max(posting_id) FROM ledger) AS last_posting, (SELECT count(*) FROM balance_change) AS changes,
       (SELECT sum(quantity) FROM balance) AS on_hand, (SELECT count(*) FROM exception) AS exceptions;

-- Cases ------------------------------------------------------------------------
-- expect: a SQLSTATE (throws_ok), or 'ok' (accepted; the case is rolled back all the same).
CREATE TEMP TABLE hostile_case (n serial, q text, expect text, what text);
GRANT SELECT ON hostile_case TO PUBLIC;

-- A valid receipt, as the columns and values of an INSERT. how: NULL (unchanged), 'omit'
-- the column, or an SQL expression for it ('NULL', 'DEFAULT', a literal).
CREATE FUNCTION pg_temp.fact(event_id text, col text DEFAULT NULL, how text DEFAULT NULL,
                             rows int DEFAULT 1) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    cols text[] := ARRAY['kind', 'source', 'source_event_id', 'gtin', 'location', 'quantity', 'bucket', 'event_time'];
    vals text[] := ARRAY['''receipt''', '''wms''', quote_literal(event_id), '''09506000134352''',
                         '''0614141000012''', '1', '''released''', 'now()'];
    good text[];
    i int := array_position(cols, col);
BEGIN
    IF how = 'omit' THEN
        cols := cols[:i - 1] || cols[i + 1:];
        vals := vals[:i - 1] || vals[i + 1:];
    ELSIF how IS NOT NULL AND i IS NULL THEN
        cols := cols || col;
        vals := vals || how;
    ELSIF how IS NOT NULL THEN
        vals[i] := how;
    END IF;
    IF rows = 1 THEN
        RETURN format('INSERT INTO inventory_sync.ledger (%s) VALUES (%s)',
                      array_to_string(cols, ', '), array_to_string(vals, ', '));
    END IF;
    -- a valid row first: a bad row later in the statement must take it down with it
    good := ARRAY['''receipt''', '''wms''', quote_literal(event_id || '-first'), '''09506000134352''',
                  '''0614141000012''', '1', '''released''', 'now()'];
    RETURN format('INSERT INTO inventory_sync.ledger (%s) VALUES (%s), (%s)', array_to_string(cols, ', '),
                  array_to_string(good, ', '), array_to_string(vals, ', '));
END $$;

-- What each ledger column does when it is NULL and when it is left out.
CREATE TEMP TABLE column_rule (col name PRIMARY KEY, if_null text, if_omitted text);
INSERT INTO column_rule VALUES
  ('posting_id', '428C9', 'ok'),          -- GENERATED ALWAYS
  ('kind', '23502', '23502'), ('source', '23502', '23502'), ('source_event_id', '23502', '23502'),
  ('gtin', '23502', '23502'), ('location', '23502', '23502'), ('quantity', '23502', '23502'),
  ('bucket', '23502', 'ok'),              -- default released
  ('event_time', '23502', 'ok'),          -- default now()
  ('recorded_at', 'ok', 'ok'), ('item_gtin', 'ok', 'ok'), ('base_quantity', 'ok', 'ok'),
  ('actor', 'ok', 'ok'),                  -- set by the ledger
  ('source_sequence', 'ok', 'ok'), ('to_location', 'ok', 'ok'), ('lot', 'ok', 'ok'), ('serial', 'ok', 'ok'),
  ('to_bucket', 'ok', 'ok'), ('unit', 'ok', 'ok'), ('expected_quantity', 'ok', 'ok'), ('reason', 'ok', 'ok'),
  ('reference', 'ok', 'ok'), ('eta', 'ok', 'ok'), ('corrects', 'ok', 'ok');

INSERT INTO hostile_case (q, expect, what)
SELECT pg_temp.fact('N-' || col, col, 'NULL'), if_null, format('INSERT: %s NULL', col)
  FROM column_rule ORDER BY col;
INSERT INTO hostile_case (q, expect, what)
SELECT pg_temp.fact('O-' || col, col, 'omit'), if_omitted, format('INSERT: %s left out', col)
  FROM column_rule WHERE col IN ('kind', 'source', 'source_event_id', 'gtin', 'location', 'quantity', 'bucket', 'event_time')
 ORDER BY col;
INSERT INTO hostile_case (q, expect, what)
SELECT pg_temp.fact('M-' || col || how, col, how, 2), CASE WHEN how = 'DEFAULT' THEN if_omitted ELSE if_null END,
       format('multi-row INSERT: %s %s in the second row', col, how)
  FROM column_rule, unnest(ARRAY['NULL', 'DEFAULT']) how
 WHERE col IN ('kind', 'source', 'source_event_id', 'gtin', 'location', 'quantity', 'bucket', 'event_time')
 ORDER BY col, how;

-- COPY: the test writes each file as superuser (a valid row, then the bad one) into the
-- cluster's data directory (the test clusters are thrown away); the writer, a member of
-- pg_read_server_files, loads it. 'null': the column is there and empty; 'omit': not in
-- the file.
DO $$
DECLARE
    cols text[] := ARRAY['kind', 'source', 'source_event_id', 'gtin', 'location', 'quantity', 'bucket', 'event_time'];
    c text;
    how text;
    sel text;
    path text;
BEGIN
    FOREACH c IN ARRAY cols LOOP
        FOREACH how IN ARRAY ARRAY['null', 'omit'] LOOP
            path := format('%s/posting_hostile_%s_%s.csv', current_setting('data_directory'), how, c);
            SELECT string_agg(CASE WHEN x <> c THEN quote_ident(x)
                                   WHEN how = 'null' THEN format('CASE WHEN n = 1 THEN %I END', x) END, ', ' ORDER BY o)
              INTO sel FROM unnest(cols) WITH ORDINALITY u(x, o) WHERE how = 'null' OR x <> c;
            EXECUTE format($q$COPY (SELECT %s FROM (VALUES
                (1, 'receipt', 'wms', 'C-%s-%s-1', '09506000134352', '0614141000012', '1', 'released', now()::text),
                (2, 'receipt', 'wms', 'C-%s-%s-2', '09506000134352', '0614141000012', '1', 'released', now()::text))
                v(n, kind, source, source_event_id, gtin, location, quantity, bucket, event_time) ORDER BY n)
                TO %L (FORMAT csv)$q$, sel, how, c, how, c, path);
            INSERT INTO hostile_case (q, expect, what)
            SELECT format('COPY inventory_sync.ledger (%s) FROM %L (FORMAT csv)',
                          array_to_string(CASE WHEN how = 'omit' THEN array_remove(cols, c) ELSE cols END, ', '), path),
                   CASE WHEN how = 'null' THEN r.if_null ELSE r.if_omitted END,
                   format('COPY: %s %s in the second row', c, CASE WHEN how = 'null' THEN 'NULL' ELSE 'left out' END)
              FROM column_rule r WHERE r.col = c;
        END LOOP;
    END LOOP;
END
$$;

-- Every argument of every posting function NULL in turn, the others valid.
-- %ID% is the case's event id; if_null what a NULL there gives.
CREATE TEMP TABLE function_arg (fn text, pos int, arg text, val text, if_null text);
INSERT INTO function_arg VALUES
  ('post', 1, 'kind', '''receipt''', '23502'), ('post', 2, 'source', '''wms''', '23502'),
  ('post', 3, 'source_event_id', '%ID%', '23502'), ('post', 4, 'gtin', '''09506000134352''', '23502'),
  ('post', 5, 'location', '''0614141000012''', '23502'), ('post', 6, 'quantity', '1', '23502'),
  ('post', 7, 'bucket', '''released''', '23502'), ('post', 8, 'lot', 'NULL', 'ok'),
  ('post', 9, 'serial', 'NULL', 'ok'), ('post', 10, 'to_location', 'NULL', 'ok'),
  ('post', 11, 'to_bucket', 'NULL', 'ok'), ('post', 12, 'unit', '''EA''', 'ok'),
  ('post', 13, 'event_time', 'now()', '23502'), ('post', 14, 'reason', '''found''', 'ok'),
  ('post', 15, 'reference', '''GR-1''', 'ok'), ('post', 16, 'eta', 'NULL', 'ok'),
  ('post', 17, 'expected_quantity', '10', 'ok'), ('post', 18, 'source_sequence', '7', 'ok'),
  ('post', 19, 'corrects', 'NULL', 'ok'),
  ('receive', 1, 'source', '''wms''', '23502'), ('receive', 2, 'source_event_id', '%ID%', '23502'),
  ('receive', 3, 'gtin', '''09506000134352''', '23502'), ('receive', 4, 'location', '''0614141000012''', '23502'),
  ('receive', 5, 'quantity', '1', '23502'), ('receive', 6, 'bucket', '''receiving''', '23502'),
  ('receive', 7, 'lot', 'NULL', 'ok'), ('receive', 8, 'serial', 'NULL', 'ok'), ('receive', 9, 'unit', '''EA''', 'ok'),
  ('receive', 10, 'event_time', 'now()', '23502'), ('receive', 11, 'reference', '''GR-1''', 'ok'),
  ('ship', 1, 'source', '''wms''', '23502'), ('ship', 2, 'source_event_id', '%ID%', '23502'),
  ('ship', 3, 'gtin', '''09506000134352''', '23502'), ('ship', 4, 'location', '''0614141000012''', '23502'),
  ('ship', 5, 'quantity', '1', '23502'), ('ship', 6, 'bucket', '''released''', '23502'),
  ('ship', 7, 'lot', 'NULL', 'ok'), ('ship', 8, 'serial', 'NULL', 'ok'), ('ship', 9, 'unit', '''EA''', 'ok'),
  ('ship', 10, 'event_time', 'now()', '23502'), ('ship', 11, 'reference', '''SO-1''', 'ok'),
  ('transfer_out', 1, 'source', '''wms''', '23502'), ('transfer_out', 2, 'source_event_id', '%ID%', '23502'),
  ('transfer_out', 3, 'gtin', '''09506000134352''', '23502'), ('transfer_out', 4, 'location', '''0614141000012''', '23502'),
  ('transfer_out', 5, 'in_transit', '''0614141000036''', 'IS023'), ('transfer_out', 6, 'quantity', '1', '23502'),
  ('transfer_out', 7, 'eta', 'now() + interval ''1 day''', 'ok'), ('transfer_out', 8, 'bucket', '''released''', '23502'),
  ('transfer_out', 9, 'lot', 'NULL', 'ok'), ('transfer_out', 10, 'serial', 'NULL', 'ok'),
  ('transfer_out', 11, 'event_time', 'now()', '23502'), ('transfer_out', 12, 'reference', '''TO-1''', 'ok'),
  ('transfer_in', 1, 'source', '''wms''', '23502'), ('transfer_in', 2, 'source_event_id', '%ID%', '23502'),
  ('transfer_in', 3, 'gtin', '''09506000134352''', '23502'), ('transfer_in', 4, 'in_transit', '''0614141000036''', '23502'),
  ('transfer_in', 5, 'location', '''0614141000012''', 'IS023'), ('transfer_in', 6, 'quantity', '1', '23502'),
  ('transfer_in', 7, 'bucket', '''released''', '23502'), ('transfer_in', 8, 'to_bucket', '''receiving''', 'ok'),
  ('transfer_in', 9, 'lot', 'NULL', 'ok'), ('transfer_in', 10, 'serial', 'NULL', 'ok'),
  ('transfer_in', 11, 'event_time', 'now()', '23502'), ('transfer_in', 12, 'reference', '''TO-1''', 'ok'),
  ('adjust', 1, 'source', '''wms''', '23502'), ('adjust', 2, 'source_event_id', '%ID%', '23502'),
  ('adjust', 3, 'gtin', '''09506000134352''', '23502'), ('adjust', 4, 'location', '''0614141000012''', '23502'),
  ('adjust', 5, 'quantity', '-1', '23502'), ('adjust', 6, 'reason', '''shrink''', 'IS023'),
  ('adjust', 7, 'bucket', '''released''', '23502'), ('adjust', 8, 'lot', 'NULL', 'ok'),
  ('adjust', 9, 'serial', 'NULL', 'ok'), ('adjust', 10, 'event_time', 'now()', '23502'),
  ('adjust', 11, 'reference', '''CNT-1''', 'ok'), ('adjust', 12, 'expected_quantity', '10', 'ok'),
  ('move_stock', 1, 'source', '''wms''', '23502'), ('move_stock', 2, 'source_event_id', '%ID%', '23502'),
  ('move_stock', 3, 'gtin', '''09506000134352''', '23502'), ('move_stock', 4, 'location', '''0614141000012''', '23502'),
  ('move_stock', 5, 'quantity', '1', '23502'), ('move_stock', 6, 'from_bucket', '''released''', '23502'),
  ('move_stock', 7, 'to_bucket', '''damaged''', 'IS023'), ('move_stock', 8, 'lot', 'NULL', 'ok'),
  ('move_stock', 9, 'serial', 'NULL', 'ok'), ('move_stock', 10, 'event_time', 'now()', '23502'),
  ('move_stock', 11, 'reason', '''damage''', 'ok'), ('move_stock', 12, 'reference', '''MV-1''', 'ok'),
  ('count_stock', 1, 'source', '''wms''', '23502'), ('count_stock', 2, 'source_event_id', '%ID%', '23502'),
  ('count_stock', 3, 'gtin', '''09506000134352''', '23502'), ('count_stock', 4, 'location', '''0614141000012''', '23502'),
  ('count_stock', 5, 'quantity', '9', '23502'), ('count_stock', 6, 'as_of', 'now()', '23502'),
  ('count_stock', 7, 'bucket', '''released''', '23502'), ('count_stock', 8, 'lot', 'NULL', 'ok'),
  ('count_stock', 9, 'serial', 'NULL', 'ok'), ('count_stock', 10, 'reference', '''CNT-1''', 'ok'),
  ('consume', 1, 'source', '''wms''', '23502'), ('consume', 2, 'source_event_id', '%ID%', '23502'),
  ('consume', 3, 'gtin', '''09506000134352''', '23502'), ('consume', 4, 'location', '''0614141000012''', '23502'),
  ('consume', 5, 'quantity', '1', '23502'), ('consume', 6, 'lot', 'NULL', 'ok'),
  ('consume', 7, 'bucket', '''released''', '23502'), ('consume', 8, 'unit', '''EA''', 'ok'),
  ('consume', 9, 'event_time', 'now()', '23502'), ('consume', 10, 'reference', '''WO-1''', 'ok'),
  ('produce', 1, 'source', '''wms''', '23502'), ('produce', 2, 'source_event_id', '%ID%', '23502'),
  ('produce', 3, 'gtin', '''09506000134369''', '23502'), ('produce', 4, 'location', '''0614141000012''', '23502'),
  ('produce', 5, 'quantity', '1', '23502'), ('produce', 6, 'lot', '''L2''', 'IS021'),
  ('produce', 7, 'bucket', '''qa_hold''', '23502'), ('produce', 8, 'unit', '''EA''', 'ok'),
  ('produce', 9, 'event_time', 'now()', '23502'), ('produce', 10, 'reference', '''WO-1''', 'ok'),
  ('return_stock', 1, 'source', '''wms''', '23502'), ('return_stock', 2, 'source_event_id', '%ID%', '23502'),
  ('return_stock', 3, 'gtin', '''09506000134352''', '23502'), ('return_stock', 4, 'location', '''0614141000012''', '23502'),
  ('return_stock', 5, 'quantity', '1', '23502'), ('return_stock', 6, 'bucket', '''quarantine''', '23502'),
  ('return_stock', 7, 'lot', 'NULL', 'ok'), ('return_stock', 8, 'serial', 'NULL', 'ok'),
  ('return_stock', 9, 'event_time', 'now()', '23502'), ('return_stock', 10, 'reference', '''RMA-1''', 'ok'),
  ('release_lot', 1, 'source', '''wms''', '22004'), ('release_lot', 2, 'source_event_id_prefix', '%ID%', '22004'),
  ('release_lot', 3, 'gtin', '''09506000134369''', '22004'), ('release_lot', 4, 'lot', '''L1''', '22004'),
  ('release_lot', 5, 'from_bucket', '''qa_hold''', '22004'), ('release_lot', 6, 'to_bucket', '''released''', '22004'),
  ('correct', 1, 'source', '''wms''', '23502'), ('correct', 2, 'source_event_id', '%ID%', '23502'),
  ('correct', 3, 'posting_id', '(SELECT min(posting_id) FROM inventory_sync.ledger)', '22004'),
  ('correct', 4, 'reason', '''correction''', '22004');

INSERT INTO hostile_case (q, expect, what)
SELECT format('SELECT inventory_sync.%s(%s)', a.fn,
              string_agg(format('%s => %s', b.arg,
                                CASE WHEN b.pos = a.pos THEN 'NULL'
                                     ELSE replace(b.val, '%ID%', quote_literal(format('F-%s-%s', a.fn, a.arg))) END),
                         ', ' ORDER BY b.pos)),
       a.if_null, format('%s(): %s NULL', a.fn, a.arg)
  FROM function_arg a JOIN function_arg b USING (fn)
 GROUP BY a.fn, a.pos, a.arg, a.if_null
 ORDER BY a.fn, a.pos;

-- Hostile values: NaN, infinities, huge, negative, zero; empty, over-long, control characters.
INSERT INTO hostile_case (q, expect, what) VALUES
  (pg_temp.fact('V-1', 'quantity', '''NaN'''), 'IS020', 'quantity NaN'),
  (pg_temp.fact('V-2', 'quantity', '''Infinity'''), 'IS020', 'quantity Infinity'),
  (pg_temp.fact('V-3', 'quantity', '''-Infinity'''), 'IS020', 'quantity -Infinity'),
  (pg_temp.fact('V-4', 'quantity', '0'), 'IS020', 'quantity zero'),
  (pg_temp.fact('V-5', 'quantity', '-1'), 'IS020', 'negative quantity of a receipt'),
  (pg_temp.fact('V-6', 'quantity', '1.5'), 'IS020', 'a fraction of an each'),
  (pg_temp.fact('V-7', 'quantity', '''1e131071''::numeric'), 'ok', 'a huge quantity that numeric holds'),
  (replace(pg_temp.fact('V-8', 'quantity', '''9e131071''::numeric'), '''09506000134352''', '''19506000134359'''),
   '22003', 'huge quantity of cases: base units overflow numeric'),
  (pg_temp.fact('V-9', 'quantity', '''9e131071''::numeric', 2) || ', (''receipt'', ''wms'', ''V-9b'', ''09506000134352'', ''0614141000012'', ''9e131071'', ''released'', now())',
   '22003', 'two huge receipts of one key: the balance overflows numeric'),
  (pg_temp.fact('V-10', 'expected_quantity', '''NaN'''), 'IS020', 'expected_quantity NaN'),
  (pg_temp.fact('V-11', 'expected_quantity', '''-Infinity'''), 'IS020', 'expected_quantity -Infinity'),
  (pg_temp.fact('V-12', 'event_time', '''infinity'''), 'IS023', 'event_time infinity'),
  (pg_temp.fact('V-13', 'event_time', '''-infinity'''), 'IS023', 'event_time -infinity'),
  (replace(pg_temp.fact('V-14', 'quantity', '-1'), '''receipt''', '''count'''), 'IS020', 'a negative count'),
  ($$INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity, reason)
     VALUES ('adjustment', 'wms', 'V-15', '09506000134352', '0614141000012', 'NaN', 'shrink')$$, 'IS020', 'adjustment by NaN'),
  (pg_temp.fact('V-16', 'source', ''''''), '23503', 'source empty'),
  (pg_temp.fact('', NULL, NULL), '23514', 'source_event_id empty'),
  (pg_temp.fact('V-18', 'bucket', ''''''), '23503', 'bucket empty'),
  (pg_temp.fact('V-19', 'unit', ''''''), '23503', 'unit empty'),
  (replace(pg_temp.fact('V-20', 'reason', ''''''), '''receipt''', '''adjustment'''), '23503', 'reason empty'),
  (replace(pg_temp.fact('V-21', 'to_bucket', ''''''), '''receipt''', '''move'''), '23503', 'to_bucket empty'),
  (pg_temp.fact('V-22', 'source', 'repeat(''s'', 100000)'), '23503', 'source 100,000 characters'),
  (pg_temp.fact(repeat('e', 201), NULL, NULL), '23514', 'source_event_id 201 characters'),
  (pg_temp.fact('V-24', 'source_event_id', 'repeat(''e'', 1000000)'), '23514', 'source_event_id a million characters'),
  (pg_temp.fact('V-25', 'bucket', 'repeat(''b'', 100000)'), '23503', 'bucket 100,000 characters'),
  (pg_temp.fact('V-26', 'unit', 'repeat(''u'', 100000)'), '23503', 'unit 100,000 characters'),
  (replace(pg_temp.fact('V-27', 'reason', 'repeat(''r'', 100000)'), '''receipt''', '''adjustment'''), '23503', 'reason 100,000 characters'),
  (pg_temp.fact('V-28', 'reference', 'repeat(''x'', 1000000)'), 'ok', 'a reference of a million characters is only text'),
  (pg_temp.fact('V-29', 'source', 'E''wms\n'''), '23503', 'source with a control character'),
  (pg_temp.fact('V-30', 'bucket', 'E''released\x01'''), '23503', 'bucket with a control character'),
  (pg_temp.fact(E'V-31\x01\t\x1f', NULL, NULL), 'ok', 'control characters in an event id are only text'),
  (pg_temp.fact('V-32', 'kind', '''bogus'''), '22P02', 'kind not a posting kind'),
  (pg_temp.fact('V-33', 'gtin', '''09506000134353'''), '22P02', 'gtin with a wrong check digit'),
  -- the same through the functions
  ($$SELECT inventory_sync.receive('wms', 'V-34', '09506000134352', '0614141000012', 'NaN')$$, 'IS020', 'receive(): quantity NaN'),
  ($$SELECT inventory_sync.adjust('wms', 'V-35', '09506000134352', '0614141000012', '-Infinity', 'shrink')$$, 'IS020', 'adjust(): quantity -Infinity'),
  ($$SELECT inventory_sync.count_stock('wms', 'V-36', '09506000134352', '0614141000012', 1, as_of => 'infinity')$$, 'IS023', 'count_stock(): as of infinity'),
  ($$SELECT inventory_sync.ship('wms', 'V-37', '09506000134352', '0614141000012', 0)$$, 'IS020', 'ship(): zero'),
  ($$SELECT inventory_sync.release_lot('wms', repeat('p', 300), '09506000134369', 'L1')$$, '23514', 'release_lot(): an event id prefix of 300 characters'),
  ($$SELECT inventory_sync.release_lot('wms', 'V-39', '09506000134369', 'L1', 'qa_hold', '')$$, '23503', 'release_lot(): to_bucket empty'),
  ($$SELECT inventory_sync.release_lot('wms', 'V-40', '09506000134369', 'L1', 'qa_hold', 'qa_hold')$$, 'IS023', 'release_lot(): into the bucket it leaves'),
  ($$SELECT inventory_sync.correct('wms', 'V-41', -1)$$, 'IS023', 'correct(): a posting that does not exist'),
  ($$SELECT inventory_sync.correct('wms', 'V-42', (SELECT min(posting_id) FROM inventory_sync.ledger), '')$$, '23503', 'correct(): reason empty');

-- Accepted cases run and are rolled back: only their outcome counts.
CREATE FUNCTION pg_temp.outcome(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        EXECUTE q;
        RAISE SQLSTATE 'ZZ001';
    EXCEPTION
        WHEN SQLSTATE 'ZZ001' THEN RETURN 'ok';
        WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
    END;
END $$;

SELECT plan((SELECT count(*)::int FROM hostile_case) + 14);

SELECT set_eq($$SELECT attname::text FROM pg_attribute
                WHERE attrelid = 'inventory_sync.ledger'::regclass AND attnum > 0 AND NOT attisdropped$$,
              $$SELECT col::text FROM column_rule$$, 'every ledger column is tried NULL');
SELECT set_eq($$SELECT p.proname::text, a.n::int, a.arg::text
                 FROM pg_proc p, unnest(p.proargnames) WITH ORDINALITY a(arg, n)
                WHERE p.pronamespace = 'inventory_sync'::regnamespace
                  AND p.proname IN ('post', 'receive', 'ship', 'transfer_out', 'transfer_in', 'adjust', 'move_stock',
                                    'count_stock', 'consume', 'produce', 'return_stock', 'release_lot', 'correct')$$,
              $$SELECT fn, pos, arg FROM function_arg$$, 'every argument of every posting function is tried NULL');

-- As the writer ---------------------------------------------------------------------
SET ROLE is_hostile_writer;
SELECT is(current_user::text, 'is_hostile_writer', 'the cases run as the writer');
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user), 'who is not a superuser');

SELECT CASE WHEN expect = 'ok' THEN is(pg_temp.outcome(q), 'ok', what || ': accepted')
            ELSE throws_ok(q, expect, NULL, what || ': ' || expect) END
  FROM (SELECT * FROM hostile_case ORDER BY n OFFSET 0) c;

-- The messages, as PostgreSQL's own, with the event they are about.
SELECT throws_ok($$INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, quantity)
                  VALUES ('receipt', 'wms', 'E3', '09506000134352', '0614141000012', NULL)$$,
                 '23502', 'null value in column "quantity" of relation "ledger" violates not-null constraint',
                 'a NULL quantity is a not-null violation of column quantity');
CREATE FUNCTION pg_temp.error_fields(q text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    code text;
    col text;
    tab text;
    sch text;
    detail text;
BEGIN
    EXECUTE q;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, col = COLUMN_NAME, tab = TABLE_NAME,
                            sch = SCHEMA_NAME, detail = PG_EXCEPTION_DETAIL;
    RETURN ARRAY[code, col, tab, sch, detail];
END $$;
SELECT is(pg_temp.error_fields($$INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, quantity)
                                  VALUES ('receipt', 'wms', 'E4', '09506000134352', 1)$$),
          ARRAY['23502', 'location', 'ledger', 'inventory_sync', 'Event "E4" of source "wms".'],
          'an omitted location: SQLSTATE, column, table, schema, and the event in the detail');
SELECT is(pg_temp.error_fields($$INSERT INTO inventory_sync.ledger (source, source_event_id, gtin, location, quantity)
                                  VALUES (NULL, 'E5', '09506000134352', '0614141000012', 1)$$),
          ARRAY['23502', 'source', 'ledger', 'inventory_sync', 'Event "E5".'],
          'a NULL source: the event id alone in the detail');

-- The engine runs with its owner's rights: attached to a table of the writer's own, it
-- would write balances and lot releases for rows no rule has seen.
SELECT throws_ok($q$DO $x$
BEGIN
    CREATE TEMP TABLE my_ledger (LIKE inventory_sync.ledger);
    CREATE TRIGGER my_apply AFTER INSERT ON my_ledger REFERENCING NEW TABLE AS n
        FOR EACH STATEMENT EXECUTE FUNCTION inventory_sync.ledger_apply();
    INSERT INTO my_ledger (posting_id, kind, source, source_event_id, event_time, recorded_at, gtin, item_gtin,
                           location, lot, bucket, to_bucket, quantity, base_quantity, reason, actor)
    VALUES (999999, 'move', 'nobody', 'X-1', now(), now(), '09506000134369', '09506000134369',
            '0614141000012', 'L1', 'qa_hold', 'released', 1000000, -1000000, 'lot_release', 'someone');
END
$x$$q$, '42501', NULL, 'the posting engine refuses to apply rows of any table but the ledger');

RESET ROLE;
SELECT results_eq($$SELECT released_at, released_by FROM lot WHERE lot = 'L1'$$,
                  $$VALUES (NULL::timestamptz, NULL::text)$$, 'no case stamped a lot released');

-- A row that bypassed the row trigger (disabled by the table's owner) is refused by the
-- apply step, not read.
ALTER TABLE ledger DISABLE TRIGGER ledger_10_validate;
SELECT throws_ok(pg_temp.fact('D-1'), '55000', NULL, 'a ledger row the row trigger did not validate: 55000');
ALTER TABLE ledger ENABLE TRIGGER ledger_10_validate;

SELECT is(pg_backend_pid(), (SELECT pid FROM hostile_before), 'the backend survived every case');
SELECT results_eq($$SELECT count(*), max(posting_id) FROM ledger$$,
                  $$SELECT postings, last_posting FROM hostile_before$$, 'no case wrote a posting');
SELECT results_eq($$SELECT (SELECT count(*) FROM balance_change), (SELECT sum(quantity) FROM balance), (SELECT count(*) FROM exception)$$,
                  $$SELECT changes, on_hand, exceptions FROM hostile_before$$, 'no case changed a balance or raised an exception');
SELECT is_empty($$SELECT * FROM verify()$$, 'verify(): every balance equals the ledger');

SELECT * FROM finish();
ROLLBACK;
