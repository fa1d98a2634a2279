# The psycopg2 example (examples/feed_consumer.py) follows the feed while writers post and
# reserve: it starts from an exported snapshot, is stopped in the middle, resumes from its
# state file and confirmed position, and ends with the channel's true ATP (and, in its
# location mode, the location's true balances).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JSON::PP;
use InventorySyncTest;
use FeedTest;

my $python = -x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3';
my $example = "$ENV{TESTDIR}/examples/feed_consumer.py";
plan skip_all => "no $example" unless -f $example;
my ($rc_py) = IPC::Run::run([ $python, '-c', 'import psycopg2' ], '>', \my $po, '2>', \my $pe);
BAIL_OUT("python3-psycopg2 is missing ($pe)") unless $rc_py;

my $node = new_node('example');
setup_shop($node);
my $connstr = $node->connstr('postgres');
my $dc = '0614141000012';
my $dir = $node->basedir;

sub consumer
{
	my ($what, @args) = @_;
	my ($out, $err);
	my $ok = IPC::Run::run([ $python, $example, '--dsn', $connstr, @args ], '>', \$out, '2>', \$err);
	ok($ok, "$what: the example exits cleanly") or diag($err);
	note($err);
	return decode_json($out);
}

my @writers = map {
	my $w = $_;
	my $f = "$dir/writer$w.sql";
	append_to_file($f, join('', map { posting_sql("x$w", $_) . "SELECT pg_sleep(0.03);\n" } 1 .. 200));
	IPC::Run::start([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $connstr, '-f', $f ], '>', \my $o, '2>', \my $e)
} 1 .. 2;
$node->poll_query_until('postgres', q{SELECT count(*) >= 20 FROM inventory_sync.ledger WHERE source_event_id ~ '^x\d-r'})
  or die 'the writers did not start';

# First runs, in the middle of the writing: slot, exported snapshot, stream; stopped.
my $web1 = consumer('channel, first run', '--slot', 'ex_web', '--channel', 'web', '--state', "$dir/web.json",
	'--max-seconds', '1');
my $dc1 = consumer('location, first run', '--slot', 'ex_dc', '--location', $dc, '--state', "$dir/dc.json",
	'--max-seconds', '1');
ok(scalar(keys %{ $web1->{rows} }) > 0, 'the first run holds the channel\'s ATP for ' . scalar(keys %{ $web1->{rows} }) . ' items');

$_->finish or die 'a writer failed' for @writers;
my $end = $node->lsn('insert');

# Resumed runs: from the state file and the slot's confirmed position, up to the end.
my $web2 = consumer('channel, resumed', '--slot', 'ex_web', '--channel', 'web', '--state', "$dir/web.json",
	'--until-lsn', $end);
my $dc2 = consumer('location, resumed', '--slot', 'ex_dc', '--location', $dc, '--state', "$dir/dc.json",
	'--until-lsn', $end);
ok($web2->{applied} > 0, "the resumed run applied $web2->{applied} ATP changes");
# Over the replication protocol a message carries several lines by default (batch-events
# 64): each transaction's begin, events and commit arrive together.
ok($dc2->{messages} > 0 && $dc2->{lines} > $dc2->{messages},
	"by default a message carries a transaction's lines ($dc2->{lines} lines in $dc2->{messages} messages)");

my $atp = truth_atp($node, 'postgres');
my %want_atp = map { my $k = $_; $k =~ s/^web\|//; ($k => $atp->{$_}) } grep { /^web\|/ } keys %$atp;
my %got_atp = map { $_ => [ $web2->{rows}{$_}{value}, $web2->{rows}{$_}{version} ] } keys %{ $web2->{rows} };
is(copy_as_text(\%got_atp), copy_as_text(\%want_atp), 'the example ends with the channel\'s true ATP (and versions)');

my $bal = truth_balances($node, 'postgres', "location::text = '$dc'");
my %want_bal = map { my $k = $_; my ($g, $l, $lot, $b) = split /\|/, $k, -1; ("$g|$lot|$b" => $bal->{$k}) } keys %$bal;
my %got_bal = map { $_ => [ $dc2->{rows}{$_}{value}, $dc2->{rows}{$_}{version} ] } keys %{ $dc2->{rows} };
is(copy_as_text(\%got_bal), copy_as_text(\%want_bal), 'in location mode, the location\'s true balances');

my $state = decode_json(slurp_file("$dir/web.json"));
is_deeply($state->{rows}, $web2->{rows}, 'the state file holds what it printed');
for my $slot ('ex_web', 'ex_dc')
{
	ok($node->safe_psql('postgres', "SELECT confirmed_flush_lsn >= '$end' FROM pg_replication_slots WHERE slot_name = '$slot'"),
		"$slot confirmed everything");
}
is($node->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify()}), '0', 'verify()');

$node->stop;
done_testing();
