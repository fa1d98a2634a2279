/*
 * posting.h
 *		The posting engine: the ledger's triggers, as the rest of the extension sees them.
 *
 * A posting goes through two steps:
 *   1. ledger_before_insert (row trigger, runs as the posting role; posting_validate.c):
 *      validates the fact against master data, resolves pack GTINs and units to base
 *      units, checks the source binding and ownership, and detects replays of
 *      (source, source_event_id).
 *   2. ledger_apply (statement trigger with the statement's new rows; posting_apply.c):
 *      applies every effect to its balance key, keys updated one at a time in one global
 *      sort order so that concurrent batches never deadlock (each row read unlocked and
 *      updated as UPDATE does; read again locked when it changed meanwhile or the effect
 *      is not plain), and records each effect's after-state in balance_change.
 * refuse_change (posting_guard.c) keeps everyone else from changing what the engine
 * maintains. posting_int.h lists the engine's files and what they share.
 */
#ifndef INVENTORY_SYNC_POSTING_H
#define INVENTORY_SYNC_POSTING_H

#include "postgres.h"

#include "errcodes.h"

/* True while the engine itself writes balance, balance_change and friends. */
extern bool is_engine_writing;

#endif							/* INVENTORY_SYNC_POSTING_H */
