/*
 * master_cache.c
 *		Backend-local cache of master data for the posting trigger (see master_cache.h).
 */
#include "postgres.h"
#include "pg_compat.h"

#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ext_catalog.h"
#include "master_cache.h"
#include "spi_plan.h"

/*
 * One hash table for every kind of lookup; the key is a short tag plus the looked-up
 * value ("I:<gtin>", "L:<gln>", ...), the entry holds whichever fields that kind uses.
 */
typedef struct CacheEntry
{
	char		key[2 * MC_NAME_LEN];
	bool		found;
	bool		b1,
				b2,
				b3;
	int64		i64;
	Oid			oid;
	Numeric		num;
	char		str[MC_NAME_LEN];
} CacheEntry;

static HTAB *cache = NULL;
static MemoryContext cache_cxt = NULL;
static bool cache_stale = false;

typedef enum CachePlan
{
	PLAN_ITEM,
	PLAN_LOCATION,
	PLAN_UNIT,
	PLAN_SOURCE,
	PLAN_BUCKET,
	PLAN_REASON,
	PLAN_OWNER,
	NUM_PLANS
} CachePlan;

static SPIPlanPtr plans[NUM_PLANS];

/*
 * Every operator and function is schema-qualified: the plans are kept for the life of the
 * backend and also run inside the apply step with the extension owner's rights, so
 * nothing in them may depend on the caller's search_path.
 */
static const char *const plan_sql[NUM_PLANS] = {
	/* PLAN_ITEM: the item itself, or the item a pack GTIN holds */
	"SELECT i.gtin, 1::numeric, i.base_unit, i.lot_tracked, i.serial_tracked, u.whole_numbers"
	"  FROM inventory_sync.item i JOIN inventory_sync.unit u ON u.unit OPERATOR(pg_catalog.=) i.base_unit"
	" WHERE i.gtin OPERATOR(inventory_sync.=) $1::inventory_sync.gtin"
	" UNION ALL "
	"SELECT i.gtin, p.quantity, i.base_unit, i.lot_tracked, i.serial_tracked, u.whole_numbers"
	"  FROM inventory_sync.item_pack p JOIN inventory_sync.item i ON i.gtin OPERATOR(inventory_sync.=) p.item_gtin"
	"  JOIN inventory_sync.unit u ON u.unit OPERATOR(pg_catalog.=) i.base_unit"
	" WHERE p.pack_gtin OPERATOR(inventory_sync.=) $1::inventory_sync.gtin",
	/* PLAN_LOCATION */
	"SELECT kind OPERATOR(pg_catalog.=) 'in_transit'::inventory_sync.location_kind, strict, enforce_ownership FROM inventory_sync.location WHERE gln OPERATOR(inventory_sync.=) $1::inventory_sync.gln",
	/* PLAN_UNIT: the base unit converts with factor 1, others through item_unit */
	"SELECT u.whole_numbers,"
	"       CASE WHEN u.unit OPERATOR(pg_catalog.=) i.base_unit THEN 1::numeric ELSE iu.factor END"
	"  FROM inventory_sync.unit u"
	"  JOIN inventory_sync.item i ON i.gtin OPERATOR(inventory_sync.=) $1::inventory_sync.gtin"
	"  LEFT JOIN inventory_sync.item_unit iu ON iu.item_gtin OPERATOR(inventory_sync.=) i.gtin AND iu.unit OPERATOR(pg_catalog.=) u.unit"
	" WHERE u.unit OPERATOR(pg_catalog.=) $2",
	/* PLAN_SOURCE */
	"SELECT r.oid, s.role::text FROM inventory_sync.source s"
	"  LEFT JOIN pg_catalog.pg_roles r ON r.rolname OPERATOR(pg_catalog.=) s.role WHERE s.source OPERATOR(pg_catalog.=) $1",
	/* PLAN_BUCKET */
	"SELECT 1 FROM inventory_sync.bucket WHERE bucket OPERATOR(pg_catalog.=) $1",
	/* PLAN_REASON */
	"SELECT 1 FROM inventory_sync.reason_code WHERE reason OPERATOR(pg_catalog.=) $1",
	/* PLAN_OWNER: the bucket's own row wins over the location-wide one */
	"SELECT source FROM inventory_sync.ownership WHERE location OPERATOR(inventory_sync.=) $1::inventory_sync.gln"
	"   AND (bucket OPERATOR(pg_catalog.=) $2 OR bucket IS NULL) ORDER BY bucket NULLS LAST LIMIT 1",
};

static const int plan_nargs[NUM_PLANS] = {1, 1, 2, 1, 1, 1, 2};

/* The master-data tables, resolved when the cache is (re)built. */
static const char *const master_tables[] = {
	"unit", "item", "item_pack", "item_unit", "location", "bucket", "reason_code",
	"source", "ownership"
};
static Oid	master_oids[lengthof(master_tables)];

/* A relcache invalidation of a master-data table (or of everything): drop the cache. */
static void
mc_relation_changed(int kind, Oid relid)
{
	if (ext_catalog_change_concerns(kind, relid, master_oids, lengthof(master_oids)))
		cache_stale = true;
}

static void
mc_ensure_cache(void)
{
	HASHCTL		ctl;

	ext_catalog_on_change(mc_relation_changed, EXT_CHANGE_RELATION);
	if (cache != NULL && !cache_stale)
		return;
	if (cache_cxt == NULL)
		cache_cxt = AllocSetContextCreate(CacheMemoryContext, "inventory_sync master cache",
										  ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(cache_cxt);
	cache_stale = false;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = 2 * MC_NAME_LEN;
	ctl.entrysize = sizeof(CacheEntry);
	ctl.hcxt = cache_cxt;
	cache = hash_create("inventory_sync master cache", 256, &ctl,
						HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	{
		int			i;

		(void) ext_catalog_schema(false);
		for (i = 0; i < lengthof(master_tables); i++)
			master_oids[i] = ext_catalog_relid(master_tables[i], true);
	}
}

/* Run one of the lookup plans (prepared once per backend) inside our own SPI connection. */
static int
mc_run(CachePlan which, Datum *values, Oid *argtypes)
{
	int			rc;

	if (plans[which] == NULL)
	{
		plans[which] = is_prepare_kept(plan_sql[which], plan_nargs[which], argtypes, 0);
	}
	rc = SPI_execute_plan(plans[which], values, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "inventory_sync: master-data lookup failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

static inline bool
col_bool(int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);

	return !isnull && DatumGetBool(d);
}

/* Copy a numeric result column into the cache context. */
static Numeric
col_numeric(int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);
	MemoryContext old;
	Numeric		n;

	if (isnull)
		return NULL;
	old = MemoryContextSwitchTo(cache_cxt);
	n = DatumGetNumericCopy(d);
	MemoryContextSwitchTo(old);
	return n;
}

/*
 * Look the key up in the cache; on a miss run the plan and let fill() store the first
 * row (or nothing) into the new entry.
 */
static CacheEntry *
mc_lookup(const char *key, CachePlan which, Datum *values, Oid *argtypes,
		  void (*fill) (CacheEntry *entry))
{
	CacheEntry *entry;
	bool		found;
	char		keybuf[2 * MC_NAME_LEN];

	mc_ensure_cache();
	strlcpy(keybuf, key, sizeof(keybuf));
	entry = hash_search(cache, keybuf, HASH_FIND, NULL);
	if (entry != NULL)
		return entry;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_sync: SPI_connect failed");
	PG_TRY();
	{
		int			n = mc_run(which, values, argtypes);
		CacheEntry	tmp;

		memset(&tmp, 0, sizeof(tmp));
		tmp.found = n > 0;
		if (n > 0)
			fill(&tmp);
		/* the lookup itself may have processed an invalidation: start afresh */
		mc_ensure_cache();
		entry = hash_search(cache, keybuf, HASH_ENTER, &found);
		memcpy(entry->key + 0, keybuf, sizeof(keybuf));
		entry->found = tmp.found;
		entry->b1 = tmp.b1;
		entry->b2 = tmp.b2;
		entry->b3 = tmp.b3;
		entry->i64 = tmp.i64;
		entry->oid = tmp.oid;
		entry->num = tmp.num;
		memcpy(entry->str, tmp.str, sizeof(tmp.str));
	}
	PG_FINALLY();
	{
		SPI_finish();
	}
	PG_END_TRY();
	return entry;
}

static inline Numeric
copy_numeric_out(Numeric n)
{
	return n ? DatumGetNumericCopy(NumericGetDatum(n)) : NULL;
}

static void
fill_item(CacheEntry *e)
{
	bool		isnull;
	char	   *unit;

	e->i64 = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	e->num = col_numeric(2);
	unit = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	strlcpy(e->str, unit ? unit : "", sizeof(e->str));
	e->b1 = col_bool(4);
	e->b2 = col_bool(5);
	e->b3 = col_bool(6);
}

void
mc_item(int64 gtin, ItemInfo *out)
{
	char		key[64];
	Datum		v[1] = {Int64GetDatum(gtin)};
	Oid			t[1] = {INT8OID};
	CacheEntry *e;

	/* the gtin type is binary-compatible with int8: look it up through an int8 parameter */
	snprintf(key, sizeof(key), "I:" INT64_FORMAT, gtin);
	e = mc_lookup(key, PLAN_ITEM, v, t, fill_item);
	memset(out, 0, sizeof(*out));
	out->found = e->found;
	if (!e->found)
		return;
	out->item_gtin = e->i64;
	out->pack_quantity = copy_numeric_out(e->num);
	strlcpy(out->base_unit, e->str, sizeof(out->base_unit));
	out->lot_tracked = e->b1;
	out->serial_tracked = e->b2;
	out->whole_numbers = e->b3;
}

static void
fill_location(CacheEntry *e)
{
	e->b1 = col_bool(1);
	e->b2 = col_bool(2);
	e->b3 = col_bool(3);
}

void
mc_location(int64 gln, LocationInfo *out)
{
	char		key[64];
	Datum		v[1] = {Int64GetDatum(gln)};
	Oid			t[1] = {INT8OID};
	CacheEntry *e;

	snprintf(key, sizeof(key), "L:" INT64_FORMAT, gln);
	e = mc_lookup(key, PLAN_LOCATION, v, t, fill_location);
	out->found = e->found;
	out->in_transit = e->b1;
	out->strict = e->b2;
	out->enforce_ownership = e->b3;
}

static void
fill_unit(CacheEntry *e)
{
	e->b1 = col_bool(1);
	e->num = col_numeric(2);
}

void
mc_unit(int64 item_gtin, const char *unit, UnitInfo *out)
{
	char		key[2 * MC_NAME_LEN];
	Datum		v[2] = {Int64GetDatum(item_gtin), CStringGetTextDatum(unit)};
	Oid			t[2] = {INT8OID, TEXTOID};
	CacheEntry *e;

	snprintf(key, sizeof(key), "U:" INT64_FORMAT ":%.*s", item_gtin, MC_NAME_LEN, unit);
	e = mc_lookup(key, PLAN_UNIT, v, t, fill_unit);
	out->unit_exists = e->found;
	out->found = e->found && e->num != NULL;
	out->whole_numbers = e->b1;
	out->factor = copy_numeric_out(e->num);
}

static void
fill_source(CacheEntry *e)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	char	   *role = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

	e->oid = isnull ? InvalidOid : DatumGetObjectId(d);
	strlcpy(e->str, role ? role : "", sizeof(e->str));
}

void
mc_source(const char *source, SourceInfo *out)
{
	char		key[2 * MC_NAME_LEN];
	Datum		v[1] = {CStringGetTextDatum(source)};
	Oid			t[1] = {TEXTOID};
	CacheEntry *e;

	snprintf(key, sizeof(key), "S:%.*s", MC_NAME_LEN, source);
	e = mc_lookup(key, PLAN_SOURCE, v, t, fill_source);
	out->found = e->found;
	out->role = e->oid;
	strlcpy(out->rolename, e->str, sizeof(out->rolename));
}

static void
fill_nothing(CacheEntry *e)
{
}

bool
mc_bucket_exists(const char *bucket)
{
	char		key[2 * MC_NAME_LEN];
	Datum		v[1] = {CStringGetTextDatum(bucket)};
	Oid			t[1] = {TEXTOID};

	snprintf(key, sizeof(key), "B:%.*s", MC_NAME_LEN, bucket);
	return mc_lookup(key, PLAN_BUCKET, v, t, fill_nothing)->found;
}

bool
mc_reason_exists(const char *reason)
{
	char		key[2 * MC_NAME_LEN];
	Datum		v[1] = {CStringGetTextDatum(reason)};
	Oid			t[1] = {TEXTOID};

	/* cache keys hold MC_NAME_LEN bytes of the value; a longer one is never a code */
	if (strlen(reason) > MC_NAME_LEN)
		return false;
	snprintf(key, sizeof(key), "R:%s", reason);
	return mc_lookup(key, PLAN_REASON, v, t, fill_nothing)->found;
}

static void
fill_owner(CacheEntry *e)
{
	char	   *s = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

	strlcpy(e->str, s ? s : "", sizeof(e->str));
}

bool
mc_owner(int64 gln, const char *bucket, char *owner)
{
	char		key[2 * MC_NAME_LEN];
	Datum		v[2] = {Int64GetDatum(gln), CStringGetTextDatum(bucket)};
	Oid			t[2] = {INT8OID, TEXTOID};
	CacheEntry *e;

	snprintf(key, sizeof(key), "O:" INT64_FORMAT ":%.*s", gln, MC_NAME_LEN, bucket);
	e = mc_lookup(key, PLAN_OWNER, v, t, fill_owner);
	if (!e->found)
		return false;
	strlcpy(owner, e->str, MC_NAME_LEN);
	return true;
}

PG_FUNCTION_INFO_V1(master_data_changed);
/* Statement trigger on master-data tables: tell every backend's cache to drop what it has. */
Datum
master_data_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
						errmsg("master_data_changed() must be called as a trigger")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	PG_RETURN_POINTER(NULL);
}
