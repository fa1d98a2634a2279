# A native subscriber: a second cluster subscribing to the publication inventory_sync
# keeps a read copy of balances and channel ATP (and the master data that explains them)
# that converges to the publisher's, through the initial copy and the stream after it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use InventorySyncTest;
use FeedTest;

my $pub = new_node('publisher');
my $sub = new_node('subscriber');
setup_shop($pub);

is($pub->safe_psql('postgres', 'SELECT inventory_sync.create_publication()'), 'inventory_sync',
	'create_publication() creates the publication inventory_sync');
my $tables = q{SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables WHERE pubname = 'inventory_sync'};
is($pub->safe_psql('postgres', $tables),
	'balance,bucket,channel,channel_atp,channel_location,item,item_pack,location,logistic_unit,logistic_unit_content,logistic_unit_event,lot,unit',
	'it publishes balances, channel ATP and their master data');
$pub->safe_psql('postgres', q{ALTER PUBLICATION inventory_sync DROP TABLE inventory_sync.lot});
$pub->safe_psql('postgres', 'SELECT inventory_sync.create_publication()');
is($pub->safe_psql('postgres', $tables),
	'balance,bucket,channel,channel_atp,channel_location,item,item_pack,location,logistic_unit,logistic_unit_content,logistic_unit_event,lot,unit',
	'calling it again restores the table list');

# Before the subscription: a custom bucket, stock in it, postings and a reservation.
$pub->safe_psql('postgres', q{
INSERT INTO inventory_sync.bucket (bucket, sellable, description) VALUES ('returns_hold', false, 'Customer returns awaiting inspection');
SELECT count(*) FROM inventory_sync.return_stock('pos', 'RT-1', '09506000134352', '0614141000029', 2, 'returns_hold');
});
$pub->safe_psql('postgres', posting_sql('pre', $_)) for 1 .. 10;
$pub->safe_psql('postgres', q{SELECT inventory_sync.pack_unit('wms', 'PK-pre', '106141410000000019', '0614141000012',
                                                          '[["09506000134352", 10]]')});

# The subscriber: the extension (empty tables, seeded units and buckets), then the subscription.
$sub->safe_psql('postgres', 'CREATE EXTENSION inventory_sync');
my $connstr = $pub->connstr('postgres');
$connstr =~ s/'/''/g;
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION inventory_copy CONNECTION '$connstr' PUBLICATION inventory_sync");
$sub->wait_for_subscription_sync($pub, 'inventory_copy');

my $balances = q{SELECT string_agg(format('%s %s %s %s %s v%s', item_gtin, location, lot, bucket, quantity, version), E'\n'
                                   ORDER BY item_gtin, location, lot, bucket) FROM inventory_sync.balance};
my $atp = q{SELECT string_agg(format('%s %s %s v%s', channel, item_gtin, atp, version), E'\n' ORDER BY channel, item_gtin)
              FROM inventory_sync.channel_atp};
my $buckets = q{SELECT string_agg(bucket || ':' || sellable, ',' ORDER BY bucket) FROM inventory_sync.bucket};
is($sub->safe_psql('postgres', $balances), $pub->safe_psql('postgres', $balances), 'initial copy: balances equal');
is($sub->safe_psql('postgres', $atp), $pub->safe_psql('postgres', $atp), 'initial copy: channel ATP equal');
is($sub->safe_psql('postgres', $buckets), $pub->safe_psql('postgres', $buckets),
	'the custom bucket arrived, the seeded ones did not collide');

# After it: more postings, reservations, new master data; the stream keeps the copy equal.
$pub->safe_psql('postgres', q{
INSERT INTO inventory_sync.location (gln, name, kind) VALUES ('0614141000036', 'Store South', 'store');
INSERT INTO inventory_sync.channel_location (channel, location) VALUES ('web', '0614141000036');
SELECT count(*) FROM inventory_sync.receive('pos', 'GR-south', '09506000134352', '0614141000036', 9, 'released');
});
$pub->safe_psql('postgres', posting_sql('post', $_)) for 1 .. 30;
$pub->safe_psql('postgres', q{
SELECT count(*) FROM inventory_sync.cancel_reservation(
  (SELECT min(reservation_id) FROM inventory_sync.reservation WHERE status = 'open'));
SELECT count(*) FROM inventory_sync.count_stock('wms', 'CNT-1', '09506000134352', '0614141000012', 400);
});
$pub->safe_psql('postgres', q{
SELECT inventory_sync.pack_unit('wms', 'PK-post', '106141410000000026', '0614141000012', '[["09506000134352", 5]]',
                                parent => '106141410000000019');
SELECT count(*) FROM inventory_sync.move_unit('wms', 'MV-post', '106141410000000019', 'qa_hold');
SELECT inventory_sync.unpack_unit('wms', 'UP-post', '106141410000000019');
});
$pub->wait_for_catchup('inventory_copy');

my $pub_balances = $pub->safe_psql('postgres', $balances);
is($sub->safe_psql('postgres', $balances), $pub_balances, 'streamed: balances equal');
is($sub->safe_psql('postgres', $atp), $pub->safe_psql('postgres', $atp), 'streamed: channel ATP equal');
is($sub->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.channel_location}), '3',
	'streamed: channel membership');
like($pub_balances, qr/0614141000036 +released 9 v1/, 'the copy covers the new location');
my $units = q{SELECT concat_ws(E'\n',
    (SELECT string_agg(format('%s %s %s %s', sscc, parent, location, status), ',' ORDER BY sscc) FROM inventory_sync.logistic_unit),
    (SELECT string_agg(format('%s/%s %s %s %s', sscc, line_no, item_gtin, bucket, quantity), ',' ORDER BY sscc, line_no)
       FROM inventory_sync.logistic_unit_content),
    (SELECT string_agg(format('%s %s %s %s %s', unit_event_id, sscc, kind, source_event_id, posting_ids), ',' ORDER BY unit_event_id)
       FROM inventory_sync.logistic_unit_event))};
my $pub_units = $pub->safe_psql('postgres', $units);
is($sub->safe_psql('postgres', $units), $pub_units, 'copied and streamed: logistic units, their contents and history equal');
like($pub_units, qr/106141410000000019 +0614141000012 unpacked/, 'with the unit unpacked after the subscription');
ok($pub->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.balance}) > 10, 'with many keys');
is($pub->safe_psql('postgres', q{SELECT count(*) FROM inventory_sync.verify()}), '0', 'verify() on the publisher');

$sub->safe_psql('postgres', 'DROP SUBSCRIPTION inventory_copy');
$sub->stop;
$pub->stop;
done_testing();
