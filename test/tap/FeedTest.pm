# Helpers for the change-feed TAP tests (test/tap/02x_feed_*.pl): a shop to post into,
# reading the feed, and the consumer's rule (per key, the highest version wins).
package FeedTest;

use strict;
use warnings;
use JSON::PP;
use Test::More;
use Exporter 'import';

our @EXPORT = qw(setup_shop posting_sql decode_events apply_events truth_balances truth_atp
  copy_as_text feed_lines);

# Two items, a DC and a store selling through the channel 'web', a WMS and a POS bound
# to the connecting role, and some stock.
sub setup_shop
{
	my ($node, $db) = @_;
	$db //= 'postgres';
	$node->safe_psql($db, q{
CREATE EXTENSION IF NOT EXISTS inventory_sync;
SET search_path = inventory_sync, public;
INSERT INTO item (gtin, name) VALUES ('09506000134352', 'Espresso beans'), ('09506000134369', 'Filter papers');
INSERT INTO item (gtin, name, lot_tracked) VALUES ('09506000134383', 'Yoghurt', true);
INSERT INTO location (gln, name, kind) VALUES ('0614141000012', 'DC', 'warehouse'), ('0614141000029', 'Store', 'store');
INSERT INTO source (source, name, kind, role) VALUES ('wms', 'WMS', 'wms', current_user), ('pos', 'POS', 'pos', current_user);
INSERT INTO channel (channel, name, kind, fulfilment_source) VALUES ('web', 'Web shop', 'web', 'wms');
INSERT INTO channel_location (channel, location) VALUES ('web', '0614141000012'), ('web', '0614141000029');
SELECT count(*) FROM receive('wms', 'seed-1', '09506000134352', '0614141000012', 500, 'released');
SELECT count(*) FROM receive('wms', 'seed-2', '09506000134369', '0614141000012', 500, 'released');
SELECT count(*) FROM receive('pos', 'seed-3', '09506000134352', '0614141000029', 50, 'released');
});
	return;
}

# SQL for one transaction of postings (and, every few, a reservation), event ids from $tag:
# receipts, sales, a QA release, a lot receipt; deterministic from ($tag, $i).
sub posting_sql
{
	my ($tag, $i) = @_;
	my $item = $i % 2 ? '09506000134352' : '09506000134369';
	my $loc = $i % 3 ? '0614141000012' : '0614141000029';
	my $src = $loc eq '0614141000012' ? 'wms' : 'pos';
	my $q = 1 + $i % 4;
	my $lot = 'L' . ($i % 3);
	my $sql = qq{BEGIN;
SELECT count(*) FROM inventory_sync.receive('$src', '$tag-r$i', '$item', '$loc', $q, 'receiving');
SELECT count(*) FROM inventory_sync.move_stock('$src', '$tag-m$i', '$item', '$loc', $q, 'receiving', 'released');
SELECT count(*) FROM inventory_sync.ship('$src', '$tag-s$i', '$item', '$loc', 1);
SELECT count(*) FROM inventory_sync.receive('$src', '$tag-l$i', '09506000134383', '$loc', 2, 'qa_hold', lot => '$lot');
};
	if ($i % 5 == 0)
	{
		$sql .= qq{SELECT count(*) FROM inventory_sync.reserve('web', '$tag-o$i', '1', '$item', 1);
};
	}
	if ($i % 10 == 0)
	{
		# shipped from the writer's own location: a transaction that posts at one location
		# and fulfils from another takes the second location's locks after the first's, and
		# two such writers can deadlock (docs/reference/promises.md, "Lock order")
		$sql .= qq{SELECT count(*) FROM inventory_sync.fulfil(
  (SELECT reservation_id FROM inventory_sync.reservation WHERE order_ref = '$tag-o$i'), 1, source => '$src',
  location => '$loc');
};
	}
	$sql .= "COMMIT;\n";
	return $sql;
}

# The JSON objects of a text with one per line.
sub feed_lines
{
	my ($text) = @_;
	return [ map { decode_json($_) } grep { /\S/ } split /\n/, $text ];
}

# Everything the slot has, decoded (consumed) through the SQL interface.
sub decode_events
{
	my ($node, $db, $slot, @options) = @_;
	my $opts = join('', map { ", '$_'" } @options);
	my $out = $node->safe_psql($db,
		"SELECT data FROM pg_logical_slot_get_changes('$slot', NULL, NULL$opts)");
	return feed_lines($out);
}

# The consumer's rule: per key, keep the state with the highest version.
# Keys: posting "gtin|gln|lot|bucket" -> quantity_after; atp "channel|gtin" -> atp.
sub apply_events
{
	my ($copy, $events) = @_;
	for my $e (@$events)
	{
		my ($key, $value);
		if ($e->{type} eq 'posting')
		{
			$key = join('|', $e->{gtin}, $e->{gln}, $e->{lot} // '', $e->{bucket});
			$value = $e->{quantity_after};
		}
		elsif ($e->{type} eq 'atp')
		{
			$key = "$e->{channel}|$e->{gtin}";
			$value = $e->{atp};
		}
		else
		{
			next;
		}
		if (!exists $copy->{$key} || $e->{version} > $copy->{$key}[1])
		{
			$copy->{$key} = [ $value, $e->{version} ];
		}
	}
	return $copy;
}

# The truth, as the same key => [value, version] hash.
sub truth_balances
{
	my ($node, $db, $where) = @_;
	$where //= 'true';
	my %h;
	for my $row (split /\n/, $node->safe_psql($db, qq{
SELECT item_gtin || '|' || location || '|' || coalesce(lot::text, '') || '|' || bucket, quantity, version
  FROM inventory_sync.balance WHERE $where}))
	{
		my @f = split /\|/, $row, -1;
		my $v = pop @f;
		my $q = pop @f;
		$h{ join('|', @f) } = [ $q, $v ];
	}
	return \%h;
}

sub truth_atp
{
	my ($node, $db) = @_;
	my %h;
	for my $row (split /\n/, $node->safe_psql($db,
		q{SELECT channel || '|' || item_gtin, atp, version FROM inventory_sync.channel_atp}))
	{
		my @f = split /\|/, $row, -1;
		my $v = pop @f;
		my $q = pop @f;
		$h{ join('|', @f) } = [ $q, $v ];
	}
	return \%h;
}

# A hash of key => [value, version] as sorted text lines, numbers normalised, for is().
sub copy_as_text
{
	my ($h) = @_;
	return join("\n", map { "$_ = " . ($h->{$_}[0] + 0) . " v$h->{$_}[1]" } sort keys %$h);
}

1;
