/*
 * broker_allocation.c
 *		The allocation of an order held all or nothing, written without an executor.
 *
 * _broker_hold_placed() (src/broker_hold.c) records every part of the order it held in
 * broker_allocation. The table has no trigger but its foreign key's to broker_order, no
 * rule, and only broker() and reject_allocation() write it; an INSERT's plan and executor,
 * and the foreign key's check (a statement for each row), cost about as much as one of
 * the order's reservations. So the rows go straight in through heap_append (heap tuple
 * and index entries; the unique index on reservation_id refuses a duplicate as it does
 * for an INSERT), after the order's row is found through its primary key and locked FOR
 * KEY SHARE, which is what the foreign key's check does. The identity is drawn from its
 * sequence, brokered_at is the transaction's start (the column's default, now()), the
 * status is held or unallocated (the table's CHECK allows both).
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/xact.h"
#include "commands/sequence.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "broker_allocation.h"
#include "ext_catalog.h"
#include "heap_append.h"
#include "keyed_row.h"

enum
{
	AC_ID, AC_CHANNEL, AC_ORDER, AC_LINE, AC_UNIT, AC_PART, AC_ITEM, AC_LOCATION, AC_QUANTITY, AC_RULE,
	AC_DISTANCE, AC_RESERVATION, AC_STATUS, AC_AT, AC_COUNT
};
static const char *const alloc_cols[AC_COUNT] = {
	"allocation_id", "channel", "order_ref", "line_ref", "unit_ref", "part", "item_gtin", "location", "quantity",
	"rule_no", "distance_km", "reservation_id", "status", "brokered_at"
};

/* What is looked up once per incarnation of the extension: dropped on any relcache invalidation of either table */
static bool alloc_loaded = false;
static Oid	alloc_relid;
static Oid	alloc_seq;
static int	alloc_natts;
static AttrNumber alloc_att[AC_COUNT];
static KeyedTable order_table;

static void
alloc_reset(int kind, Oid relid)
{
	Oid			relids[2] = {alloc_relid, order_table.relid};

	if (!ext_catalog_change_concerns(kind, relid, relids, 2))
		return;
	alloc_loaded = false;
}

static void
alloc_load(void)
{
	static const char *const order_key[2] = {"channel", "order_ref"};
	Relation	rel;
	int			c;

	ext_catalog_on_change(alloc_reset, EXT_CHANGE_RELATION | EXT_CHANGE_TYPE);
	if (alloc_loaded)
		return;
	alloc_relid = ext_catalog_relid("broker_allocation", false);
	alloc_seq = ext_catalog_relid("broker_allocation_allocation_id_seq", false);
	rel = table_open(alloc_relid, AccessShareLock);
	for (c = 0; c < AC_COUNT; c++)
		alloc_att[c] = ext_catalog_column(rel, alloc_cols[c]);
	alloc_natts = RelationGetDescr(rel)->natts;
	table_close(rel, AccessShareLock);
	keyed_table_load(&order_table, "broker_order", NULL, order_key, 2, order_key, 1);
	alloc_loaded = true;
}

/* The order's row found and locked FOR KEY SHARE, as the foreign key's check locks it; 23503 when there is none. */
static void
order_row_lock(Datum channel, Datum order_ref)
{
	KeyedRow	r;
	Datum		key[2];
	bool		locked;

	key[0] = channel;
	key[1] = order_ref;
	keyed_row_open(&r, &order_table, RowShareLock);
	locked = keyed_row_find(&r, key) && keyed_row_lock(&r, LockTupleKeyShare);
	keyed_row_close(&r);
	if (!locked)
		ereport(ERROR, (errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
						errmsg("insert or update on table \"broker_allocation\" violates foreign key constraint \"broker_allocation_channel_order_ref_fkey\""),
						errdetail("Key (channel, order_ref)=(%s, %s) is not present in table \"broker_order\".",
								  TextDatumGetCString(channel), TextDatumGetCString(order_ref)),
						errhint("broker() records an order in broker_order before its allocation.")));
}

/* A value of the extension's type typname (gtin, gln) from its text */
static Datum
typed_in(const char *typname, const char *text)
{
	Oid			in,
				ioparam;

	getTypeInputInfo(ext_catalog_type(typname, false), &in, &ioparam);
	return OidInputFunctionCall(in, (char *) text, ioparam, -1);
}

void
broker_allocation_append(Datum channel, Datum order_ref, const AllocationRow *rows, int n)
{
	HeapAppend	w;
	Datum	   *values;
	bool	   *nulls;
	Datum		held;
	Datum		unallocated;
	Datum		at = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	int			i;

	if (n <= 0)
		return;
	alloc_load();
	order_row_lock(channel, order_ref);
	values = palloc0(sizeof(Datum) * alloc_natts);
	nulls = palloc(sizeof(bool) * alloc_natts);
	held = CStringGetTextDatum("held");
	unallocated = CStringGetTextDatum("unallocated");
	heap_append_init(&w, alloc_relid, alloc_natts, 1);
	heap_append_open(&w);
	for (i = 0; i < n; i++)
	{
		const AllocationRow *p = &rows[i];
		bool		located = p->location != NULL;

		/* dropped columns, should the table have any, stay NULL */
		memset(nulls, true, sizeof(bool) * alloc_natts);
#define SET(col, v, isnull) \
		do { values[alloc_att[col] - 1] = (v); nulls[alloc_att[col] - 1] = (isnull); } while (0)
		SET(AC_ID, Int64GetDatum(nextval_internal(alloc_seq, false)), false);
		SET(AC_CHANNEL, channel, false);
		SET(AC_ORDER, order_ref, false);
		SET(AC_LINE, CStringGetTextDatum(p->line_ref), false);
		SET(AC_UNIT, CStringGetTextDatum(p->unit_ref), false);
		SET(AC_PART, Int32GetDatum(p->part), false);
		SET(AC_ITEM, typed_in("gtin", p->item), false);
		SET(AC_LOCATION, located ? typed_in("gln", p->location) : (Datum) 0, !located);
		SET(AC_QUANTITY, NumericGetDatum(p->quantity), false);
		/* an unallocated part keeps neither rule nor distance, as _broker_hold() records it */
		SET(AC_RULE, Int32GetDatum(p->rule_no), !located || !p->has_rule);
		SET(AC_DISTANCE, NumericGetDatum(p->distance), !located || p->distance == NULL);
		SET(AC_RESERVATION, Int64GetDatum(p->reservation_id), !located);
		SET(AC_STATUS, located ? held : unallocated, false);
		SET(AC_AT, at, false);
#undef SET
		heap_append_row(&w, values, nulls);
	}
	heap_append_finish(&w, false);
}
