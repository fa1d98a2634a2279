-- Helpers for the demo's own presentation (schema demo; not part of the extension).
SET client_min_messages = warning;
SET search_path = inventory_sync, public;
CREATE SCHEMA demo;
COMMENT ON SCHEMA demo IS 'make demo: presentation helpers and the scenario clock';

-- Moments of the scenario the later sections refer to (each section is its own session).
CREATE TABLE demo.clock (moment text PRIMARY KEY, at timestamptz NOT NULL);

-- Runs a statement that must be refused and shows the refusal: SQLSTATE, message,
-- detail, hint. Nothing it tried is written (the failed statement's subtransaction is
-- rolled back). If it is not refused, or refused with another SQLSTATE, the demo fails.
CREATE FUNCTION demo.refused(statement text, expected_sqlstate text)
RETURNS TABLE (refused text)
LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; det text; hnt text;
BEGIN
    BEGIN
        EXECUTE statement;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                                det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
        IF st <> expected_sqlstate THEN
            RAISE EXCEPTION 'demo: expected SQLSTATE %, got %: %', expected_sqlstate, st, msg;
        END IF;
        refused := format('ERROR %s:  %s', st, msg); RETURN NEXT;
        IF det <> '' THEN refused := 'DETAIL:  ' || det; RETURN NEXT; END IF;
        IF hnt <> '' THEN refused := 'HINT:  ' || hnt; RETURN NEXT; END IF;
        RETURN;
    END;
    RAISE EXCEPTION 'demo: expected this statement to be refused with %, it was not: %', expected_sqlstate, statement;
END
$$;

-- Short readable names for the tables.
CREATE FUNCTION demo.item(g inventory_sync.gtin) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT i.name FROM inventory_sync.item i WHERE i.gtin = g);
CREATE FUNCTION demo.loc(g inventory_sync.gln) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT l.name FROM inventory_sync.location l WHERE l.gln = g);

-- An interval as people say it: 12 ms, 4.2 s, 3 min 5 s, 2 h 10 min.
CREATE FUNCTION demo.dur(i interval) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    s numeric := abs(extract(epoch FROM i));
    sign text := CASE WHEN extract(epoch FROM i) < 0 THEN '-' ELSE '' END;
BEGIN
    RETURN sign || CASE
        WHEN s < 1 THEN round(s * 1000) || ' ms'
        WHEN s < 60 THEN round(s, 1) || ' s'
        WHEN s < 3600 THEN floor(s / 60) || ' min ' || floor(s)::bigint % 60 || ' s'
        ELSE floor(s / 3600) || ' h ' || floor(s / 60)::bigint % 60 || ' min' END;
END
$$;

-- Stops the demo if the ledger and the balances, or the promises, disagree.
CREATE FUNCTION demo.assert_no_drift() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    n bigint; m bigint;
BEGIN
    SELECT count(*) INTO n FROM inventory_sync.verify();
    SELECT count(*) INTO m FROM inventory_sync.verify_promises();
    IF n + m > 0 THEN
        RAISE EXCEPTION 'demo: verify() found % drifting keys, verify_promises() % problems', n, m;
    END IF;
    RETURN 'zero drift';
END
$$;
