# Shared set-up for the TAP suites: a PostgreSQL::Test::Cluster node configured the way
# inventory_sync needs (logical decoding, our output plugin allowed), plus sample data.
package InventorySyncTest;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use Exporter 'import';

our @EXPORT = qw(new_node load_sample);

sub new_node
{
	my ($name) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => 'logical');
	$node->append_conf('postgresql.conf', qq{
output_plugin_libraries = 'pgoutput, test_decoding, inventory_sync'
max_replication_slots = 10
max_wal_senders = 10
});
	$node->start;
	return $node;
}

# An item, a case GTIN, a DC with its WMS, bound to the connecting role.
sub load_sample
{
	my ($node, $db) = @_;
	$node->safe_psql($db, q{
CREATE EXTENSION IF NOT EXISTS inventory_sync;
INSERT INTO inventory_sync.item (gtin, name) VALUES ('09506000134352', 'Espresso beans 1 kg');
INSERT INTO inventory_sync.item_pack (pack_gtin, item_gtin, quantity) VALUES ('19506000134359', '09506000134352', 12);
INSERT INTO inventory_sync.location (gln, name, kind) VALUES ('0614141000012', 'DC', 'warehouse');
INSERT INTO inventory_sync.source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user);
});
}

1;
