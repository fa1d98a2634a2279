/*
 * promise.h
 *		Promises: reserve()'s fast path (src/promise.c). Everything else of the promise
 *		layer is SQL (sql/install/2*.sql); see docs/reference/promises.md.
 *
 * The fast path takes a reservation "anywhere" in a dedicated channel (no other channel
 * sells from its locations) while the channel's published ATP was computed today: such a
 * reservation moves only that channel's ATP, by exactly its quantity, so promising is one
 * conditional UPDATE of one channel_atp row (the lock every promise of the item in the
 * channel serialises on), preceded by the insert of the reservation and followed by its
 * two after-state rows. Every other case, and every refusal that is not a plain lack of
 * ATP, goes to the SQL implementation, _reserve_general().
 */
#ifndef INVENTORY_SYNC_PROMISE_H
#define INVENTORY_SYNC_PROMISE_H

#include "postgres.h"

#include "errcodes.h"

#endif							/* INVENTORY_SYNC_PROMISE_H */
