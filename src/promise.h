/*
 * promise.h
 *		Promises: reserve()'s fast path. Everything else of the promise layer is SQL
 *		(sql/install/2*.sql); see docs/reference/promises.md.
 *
 * The C side, by responsibility: promise.c the entry point and the fast path's steps;
 * atp_take.c taking ATP from a channel's published row (the one place C moves it);
 * reservation_write.c storing a reservation row as INSERT ... ON CONFLICT would;
 * promise_catalog.c the tables' layout and the SQL the layer runs. What they share is in
 * promise_internal.h.
 *
 * The fast path takes a reservation "anywhere" in a dedicated channel (no other channel
 * sells from its locations) while the channel's published ATP was computed today: such a
 * reservation moves only that channel's ATP, by exactly its quantity, so promising is one
 * conditional UPDATE of one channel_atp row (the lock every promise of the item in the
 * channel serialises on), preceded by the insert of the reservation and followed by its
 * after-state row. Every other case, and every refusal that is not a plain lack of
 * ATP, goes to the SQL implementation, _reserve_general().
 */
#ifndef INVENTORY_SYNC_PROMISE_H
#define INVENTORY_SYNC_PROMISE_H

#include "postgres.h"

#include "errcodes.h"

#endif							/* INVENTORY_SYNC_PROMISE_H */
