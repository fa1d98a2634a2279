/*
 * broker_units.h
 *		What an order line of a GTIN takes of stock, kept per backend (src/broker_units.c).
 */
#ifndef INVENTORY_SYNC_BROKER_UNITS_H
#define INVENTORY_SYNC_BROKER_UNITS_H

#include "postgres.h"

/*
 * Whether the answers kept may be used for this order: false under a transaction-wide
 * snapshot (it may be older than what is kept), or when _order_line_components() cannot
 * be found. Drops what is kept when the function was replaced or a table it reads (or
 * item) changed. Call before the lookups of an order.
 */
extern bool broker_units_kept_usable(void);

/*
 * The answer kept for a line of quantity (numeric text) of item (GTIN text): single is
 * whether the item is known and the function gives one component, then component and
 * its quantity (text, in the cache's memory: copy before the next call). False: none kept.
 */
extern bool broker_units_kept_get(const char *item, const char *quantity, bool *single,
								  const char **component, const char **component_quantity);

/*
 * Keeps an answer read under a snapshot taken after broker_units_kept_usable() (resets
 * is what broker_units_kept_resets() returned before the read: an answer read while the
 * kept ones were dropped is not kept).
 */
extern void broker_units_kept_put(uint64 resets, const char *item, const char *quantity, bool single,
								  const char *component, const char *component_quantity);

/* How often the kept answers were dropped so far. */
extern uint64 broker_units_kept_resets(void);

#endif							/* INVENTORY_SYNC_BROKER_UNITS_H */
