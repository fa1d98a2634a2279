/*
 * decoder.h
 *		The output plugin inventory_sync: the change feed as JSON Lines (decoder.c, with
 *		decoder_options.c and decoder_json.c; decoder_internal.h says which part does what).
 *
 * The plugin lives in the extension's own library, so a slot is created with
 *     pg_create_logical_replication_slot('name', 'inventory_sync')
 * and PostgreSQL finds _PG_output_plugin_init in inventory_sync.so. It decodes the rows the
 * engine appends to its after-state tables, one JSON object per row:
 *     balance_change      -> "posting" events (one per effect of a posting on a balance key)
 *     reservation_change  -> "reservation" events
 *     channel_atp_change  -> "atp" events
 * identified by schema (inventory_sync) and table name, through a partition's root when
 * the table is partitioned. Every other change in the WAL is skipped after one hash
 * lookup. docs/reference/feed.md is the consumer's reference.
 */
#ifndef INVENTORY_SYNC_DECODER_H
#define INVENTORY_SYNC_DECODER_H

#include "postgres.h"

#include "replication/output_plugin.h"

extern PGDLLEXPORT void _PG_output_plugin_init(OutputPluginCallbacks *cb);

#endif							/* INVENTORY_SYNC_DECODER_H */
