/*
 * broker_allocation.h
 *		An order's allocation rows written without an executor (src/broker_allocation.c).
 */
#ifndef INVENTORY_SYNC_BROKER_ALLOCATION_H
#define INVENTORY_SYNC_BROKER_ALLOCATION_H

#include "postgres.h"

#include "utils/numeric.h"

/* One part of the allocation; a part without location is unallocated (no rule, distance, reservation). */
typedef struct AllocationRow
{
	const char *line_ref;
	const char *unit_ref;
	int32		part;
	const char *item;			/* GTIN text */
	const char *location;		/* GLN text; NULL: unallocated */
	Numeric		quantity;
	bool		has_rule;
	int32		rule_no;
	Numeric		distance;		/* NULL: unknown */
	int64		reservation_id;
} AllocationRow;

/*
 * Appends the rows to broker_allocation in the order given (statuses held and
 * unallocated), after the order's broker_order row is found and locked FOR KEY SHARE as
 * the foreign key's check does (23503 when there is none).
 */
extern void broker_allocation_append(Datum channel, Datum order_ref, const AllocationRow *rows, int n);

#endif							/* INVENTORY_SYNC_BROKER_ALLOCATION_H */
