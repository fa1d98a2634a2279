/*
 * broker_units.c
 *		What an order line of a GTIN takes of stock, kept per backend.
 *
 * _broker_units_placed() (src/broker_hold.c) asks _order_line_components() what each line
 * takes, so that it is decided in one place; a SQL function's statement is planned again
 * for every query that calls it, and the answer changes only with the master data. So
 * each backend keeps, per (GTIN, quantity), whether the GTIN is known and gives one
 * component, and that component and its quantity. They are dropped:
 *   - on any change of item, kit or kit_component: their statement triggers
 *     (master_data_changed()) send a relcache invalidation of the table, at commit to
 *     every backend and at once to the one that made it (and again when it rolls back);
 *   - when _order_line_components() is replaced (CREATE OR REPLACE, or dropped and created
 *     again): its pg_proc row, by OID, xmin and position, is compared for every order.
 * The answers are read under a snapshot taken after the invalidations received so far, so
 * they are never older than a change whose invalidation was taken; and they are used only
 * where each statement has its own snapshot (READ COMMITTED), outside a parallel
 * operation. A replacement of the function that reads other tables than these is not
 * seen when those tables change.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "broker_units.h"
#include "ext_catalog.h"

/* a GTIN (14 digits) and a quantity of up to 15 digits with a scale: longer keys are not kept */
#define UNIT_KEY_LEN 96
/* at most this many answers; then all are dropped and kept again as orders ask */
#define UNIT_MAX_ENTRIES 20000

typedef struct UnitEntry
{
	char		key[UNIT_KEY_LEN];	/* "<gtin>|<quantity>" */
	bool		single;
	char		component[24];
	char		quantity[UNIT_KEY_LEN];
} UnitEntry;

enum
{
	UT_ITEM, UT_KIT, UT_KIT_COMPONENT, UT_COUNT
};
static const char *const unit_tables[UT_COUNT] = {"item", "kit", "kit_component"};
static Oid	unit_relids[UT_COUNT];
static HTAB *unit_hash = NULL;
static bool unit_stale = true;
static uint64 unit_resets = 0;

/* _order_line_components()'s pg_proc row when the answers were kept */
static Oid	fn_oid = InvalidOid;
static TransactionId fn_xmin = InvalidTransactionId;
static ItemPointerData fn_tid;

/* A relcache invalidation of one of the tables (or of every relation), or a type change, drops the answers. */
static void
units_reset(int kind, Oid relid)
{
	if (!ext_catalog_change_concerns(kind, relid, unit_relids, UT_COUNT))
		return;
	unit_stale = true;
	unit_resets++;
}

static void
units_drop(void)
{
	HASHCTL		ctl;

	if (unit_hash != NULL)
		hash_destroy(unit_hash);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = UNIT_KEY_LEN;
	ctl.entrysize = sizeof(UnitEntry);
	ctl.hcxt = CacheMemoryContext;
	unit_hash = hash_create("inventory_sync broker line components", 256, &ctl,
							HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	unit_resets++;
}

/* Whether _order_line_components() is the one the answers were read from (and notes it when it is new). */
static bool
function_same(bool *found)
{
	Oid			nsp = ext_catalog_schema(true);
	Oid			gtin = ext_catalog_type("gtin", true);
	Oid			args[2];
	oidvector  *argv;
	HeapTuple	tup;
	bool		same;

	*found = false;
	if (!OidIsValid(nsp) || !OidIsValid(gtin))
		return false;
	args[0] = gtin;
	args[1] = NUMERICOID;
	argv = buildoidvector(args, 2);
	tup = SearchSysCache3(PROCNAMEARGSNSP, CStringGetDatum("_order_line_components"), PointerGetDatum(argv),
						  ObjectIdGetDatum(nsp));
	pfree(argv);
	if (!HeapTupleIsValid(tup))
		return false;
	*found = true;
	same = ((Form_pg_proc) GETSTRUCT(tup))->oid == fn_oid
		&& HeapTupleHeaderGetRawXmin(tup->t_data) == fn_xmin
		&& ItemPointerEquals(&tup->t_self, &fn_tid);
	if (!same)
	{
		fn_oid = ((Form_pg_proc) GETSTRUCT(tup))->oid;
		fn_xmin = HeapTupleHeaderGetRawXmin(tup->t_data);
		fn_tid = tup->t_self;
	}
	ReleaseSysCache(tup);
	return same;
}

bool
broker_units_kept_usable(void)
{
	bool		found;
	int			t;

	/* a transaction-wide snapshot may be older than what is kept; a parallel operation takes no new snapshot */
	if (IsolationUsesXactSnapshot() || IsInParallelMode())
		return false;
	ext_catalog_on_change(units_reset, EXT_CHANGE_RELATION | EXT_CHANGE_TYPE);
	/* the invalidations sent so far first: then the caller's snapshot sees every change they stand for */
	AcceptInvalidationMessages();
	if (unit_stale || unit_hash == NULL)
	{
		units_drop();
		for (t = 0; t < UT_COUNT; t++)
			unit_relids[t] = ext_catalog_relid(unit_tables[t], true);
		unit_stale = false;
	}
	if (!function_same(&found))
	{
		if (!found)
			return false;
		units_drop();
	}
	if (hash_get_num_entries(unit_hash) >= UNIT_MAX_ENTRIES)
		units_drop();
	return true;
}

static bool
unit_key(const char *item, const char *quantity, char *key)
{
	return snprintf(key, UNIT_KEY_LEN, "%s|%s", item, quantity) < UNIT_KEY_LEN;
}

bool
broker_units_kept_get(const char *item, const char *quantity, bool *single, const char **component,
					  const char **component_quantity)
{
	char		key[UNIT_KEY_LEN];
	UnitEntry  *e;

	if (unit_hash == NULL || unit_stale || !unit_key(item, quantity, key))
		return false;
	e = hash_search(unit_hash, key, HASH_FIND, NULL);
	if (e == NULL)
		return false;
	*single = e->single;
	*component = e->component;
	*component_quantity = e->quantity;
	return true;
}

void
broker_units_kept_put(uint64 resets, const char *item, const char *quantity, bool single, const char *component,
					  const char *component_quantity)
{
	char		key[UNIT_KEY_LEN];
	UnitEntry  *e;
	bool		found;

	if (unit_hash == NULL || unit_stale || resets != unit_resets || !unit_key(item, quantity, key))
		return;
	if (single && (component == NULL || component_quantity == NULL
				   || strlen(component) >= sizeof(e->component) || strlen(component_quantity) >= UNIT_KEY_LEN))
		return;
	e = hash_search(unit_hash, key, HASH_ENTER, &found);
	e->single = single;
	strlcpy(e->component, single ? component : "", sizeof(e->component));
	strlcpy(e->quantity, single ? component_quantity : "", sizeof(e->quantity));
}

uint64
broker_units_kept_resets(void)
{
	return unit_resets;
}
