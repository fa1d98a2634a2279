# 32 real client connections post to four hot balance keys at once:
# receipts and issues at a strict store and at a DC that records negatives, moves
# between two buckets (two keys per posting) and two postings per transaction (item A,
# then item B: keys taken in one global order across statements too, as a client must to
# stay clear of deadlocks; within one statement the engine orders them itself).
# Functional, not timed. A posting reads its key's balance row unlocked and updates it
# only if nobody changed it meanwhile, else decides again on the locked row; under this
# load that second path is taken all the time. Afterwards the books must agree: every
# balance is the sum of its changes, versions are 1..n without gaps, every after-state
# is the previous one plus the delta, the strict store never went below zero (its
# refusals are IS004), and verify() is empty.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $clients = 32;
my $txns = 150;    # per client
my $node = PostgreSQL::Test::Cluster->new('posting_stress');
$node->init;
$node->append_conf('postgresql.conf', 'max_connections = ' . ($clients + 16));
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION inventory_sync;
SET search_path = inventory_sync;
INSERT INTO item (gtin, name) VALUES ('09506000134352', 'Hot A'), ('09506000134369', 'Hot B');
INSERT INTO location (gln, name, kind, strict) VALUES ('0614141000012', 'Strict store', 'store', true),
                                                      ('0614141000029', 'DC', 'warehouse', false);
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user);
INSERT INTO ledger (kind, source, source_event_id, gtin, location, quantity) VALUES
  ('receipt', 'wms', 'start-1', '09506000134352', '0614141000012', 20),
  ('receipt', 'wms', 'start-2', '09506000134369', '0614141000012', 20),
  ('receipt', 'wms', 'start-3', '09506000134352', '0614141000029', 20),
  ('receipt', 'wms', 'start-4', '09506000134369', '0614141000029', 20);
CREATE SEQUENCE public.evt;
-- one posting; a strict refusal (IS004) is counted, anything else fails the client
CREATE FUNCTION public.post(kind text, g text, l text, q int, to_bucket text DEFAULT NULL) RETURNS int
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO inventory_sync.ledger (kind, source, source_event_id, gtin, location, bucket, to_bucket, quantity)
  VALUES (kind::inventory_sync.posting_kind, 'wms', 'e' || nextval('public.evt'), g::inventory_sync.gtin,
          l::inventory_sync.gln, 'released', to_bucket, q);
  RETURN 0;
EXCEPTION WHEN SQLSTATE 'IS004' THEN
  RETURN 1;
END $$;
CREATE TABLE public.refusals (n int);
});

my $script = "$PostgreSQL::Test::Utils::tmp_check/posting_stress.sql";
open my $fh, '>', $script or die $!;
print $fh <<'EOF';
\set l1 random(0, 1)
\set l2 random(0, 1)
\set q random(1, 6)
\set r random(1, 10)
BEGIN;
SELECT public.post(CASE WHEN :r <= 4 THEN 'receipt' WHEN :r <= 8 THEN 'issue' ELSE 'move' END, '09506000134352',
                   CASE :l1 WHEN 0 THEN '0614141000012' ELSE '0614141000029' END,
                   :q, CASE WHEN :r > 8 THEN 'damaged' END) AS refused \gset
INSERT INTO public.refusals VALUES (:refused);
SELECT public.post(CASE WHEN :r % 2 = 0 THEN 'receipt' ELSE 'issue' END, '09506000134369',
                   CASE :l2 WHEN 0 THEN '0614141000012' ELSE '0614141000029' END, :q) AS refused \gset
INSERT INTO public.refusals VALUES (:refused);
END;
EOF
close $fh;

my ($out, $err) = ('', '');
# (a hang fails the test instead of blocking the suite)
my $ok = eval {
	IPC::Run::run(
		[ 'pgbench', '-n', '-c', $clients, '-j', 2, '-t', $txns, '-f', $script, $node->connstr('postgres') ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(300));
};
$err .= $@ if $@;
ok($ok, "pgbench: $clients clients x $txns transactions of two postings") or diag("$out\n$err");
like($out, qr/number of failed transactions: 0 /, 'no transaction failed (no deadlock, no error other than the counted refusals)')
  or diag($out);

my $n = $clients * $txns;
is($node->safe_psql('postgres', q{SELECT count(*) FROM public.refusals}), 2 * $n, 'every posting answered');
my $refused = $node->safe_psql('postgres', q{SELECT sum(n) FROM public.refusals});
my $posted = $node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.ledger WHERE source_event_id LIKE 'e%'});
is($posted + $refused, 2 * $n, "$posted postings recorded, $refused refused at the strict store: nothing lost");
ok($refused > 0, 'the strict store refused some (the load drives it to zero)');

is($node->safe_psql('postgres', q{
SELECT count(*) FROM (
  -- balance = sum of its deltas; versions exactly 1..n
  SELECT b.balance_id
    FROM inventory_sync.balance b,
         LATERAL (SELECT coalesce(sum(c.delta), 0) AS s, count(*) AS n, coalesce(max(c.version), 0) AS mx,
                         count(DISTINCT c.version) AS nd
                    FROM inventory_sync.balance_change c WHERE c.balance_id = b.balance_id) c
   WHERE b.quantity <> c.s OR b.version <> c.n OR c.mx <> c.n OR c.nd <> c.n
  UNION ALL
  -- every after-state is the previous one plus the delta
  SELECT c.balance_id
    FROM (SELECT balance_id, delta, quantity_after,
                 lag(quantity_after, 1, 0::numeric) OVER (PARTITION BY balance_id ORDER BY version) AS prev
            FROM inventory_sync.balance_change) c
   WHERE c.quantity_after <> c.prev + c.delta) v}), '0',
	'balances are the sums of their changes, versions have no gaps, after-states chain');
is($node->safe_psql('postgres', q{SET search_path = inventory_sync, public;
SELECT min(c.quantity_after) >= 0 FROM inventory_sync.balance_change c
 WHERE c.location = '0614141000012'::inventory_sync.gln}), 't',
	'the strict store never went below zero');
is($node->safe_psql('postgres', q{SET search_path = inventory_sync, public;
SELECT count(*) > 0 AND count(*) = count(*) FILTER (WHERE e.kind = 'negative_balance')
  FROM inventory_sync.exception e JOIN inventory_sync.balance_change c USING (posting_id)
 WHERE c.location = '0614141000029'::inventory_sync.gln}), 't',
	'the DC records its negatives, as negative_balance exceptions');
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify()}), '0',
	'verify(): every balance equals the ledger');

$node->stop;
done_testing();
