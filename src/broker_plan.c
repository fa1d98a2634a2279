/*
 * broker_plan.c
 *		The plan of an order brokering (where each unit ships from), in C, for the orders
 *		every unit of which a rule places whole or split.
 *
 * _broker_plan() (sql/install/240_broker.sql) asks this first. It reads, once per order
 * and with plans prepared once per backend, or by key:
 *   - the rules the order is brokered by (_broker_rules(): a pickup order, or a channel
 *     without rules, has one rule without number), kept per backend with the channel's
 *     locations;
 *   - the locations any rule may choose (the channel's, open, under their daily order
 *     capacity, not excluded, the pickup location alone when there is one), ranked once:
 *     nearest to the ship-to point first (great-circle distance rounded to 0.1 km, as
 *     great_circle_km() computes it), then the channel's priority, then the GLN; with the
 *     kind of each and the rules' location groups it is in, so each rule's candidates are
 *     a filter of this one list (_broker_candidates()'s order is kept);
 *   - the ATP of every item of the order at those locations as the channel sees it, and
 *     in the channel: the channel ATP published today and the stored location ATP of
 *     today by primary key, the latter only where the plan asks for it (stock_at()); or,
 *     where a row is missing or of an earlier day or a channel protects an item, what
 *     _channel_atp() and _broker_stock() compute (the same queries, as rows).
 * Then it places the units as _broker_plan() does, over arrays of numerics (the same
 * arithmetic, so the same quantities to the last digit), and returns the parts in the
 * shape _broker_plan() returns them. A unit no rule places (a refusal, or partial
 * brokering) makes it return NULL: the SQL plans that order, and words the refusal.
 * Read only, under the caller's snapshot.
 */
#include "postgres.h"
#include "pg_compat.h"

#include <float.h>
#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "broker_json.h"
#include "ext_catalog.h"
#include "keyed_row.h"
#include "numeric_util.h"
#include "spi_plan.h"

/* One component of a unit: an item and its quantity, and the line_ref its reservation takes. */
typedef struct PlanComp
{
	char	   *item;
	int			item_ix;		/* into PlanStock's items */
	Numeric		quantity;
	char	   *quantity_text;	/* as the unit gives it (numeric_out) */
	char	   *ref;
} PlanComp;

/* What is placed as one (_broker_units()): one component, or a kit's that ship together. */
typedef struct PlanUnit
{
	char	   *line_ref;
	char	   *unit_ref;
	bool		splittable;
	int			ncomps;
	PlanComp   *comps;
} PlanUnit;

typedef struct PlanLocation
{
	char	   *gln;
	int64		key;			/* the GLN as a number (gln's bigint cast) */
	bool		has_distance;
	double		distance;		/* km, as great_circle_km() gives it */
	char	   *distance_text;	/* rounded to 0.1 km (numeric_out); NULL: unknown */
	char	   *kind;
	int			ngroups;
	char	  **groups;			/* the rules' location groups it is a member of */
} PlanLocation;

typedef struct PlanRule
{
	bool		numbered;
	int32		rule_no;
	char	   *group;			/* NULL: any */
	char	   *kind;			/* NULL: any */
	bool		has_max_distance;
	double		max_distance;
	bool		allow_split;
	int32		max_shipments;
	Numeric		min_split;
	bool		prefer_single;
} PlanRule;

/*
 * Stock and the plan's use of it: [item * nlocs + loc] at a location, [item] in the
 * channel. The location ATP is either all read before the units are placed (computed),
 * or read where the plan asks for it (stored): see stock_at().
 */
typedef struct PlanStock
{
	int			nitems;
	char	  **items;
	int64	   *item_keys;		/* the GTINs as numbers (gtin's bigint cast) */
	int			nlocs;
	int64	   *loc_keys;		/* the locations' GLNs as numbers */
	Numeric    *at;
	Numeric    *channel;
	Numeric    *used_at;
	Numeric    *used_channel;
	bool		stored;			/* at[] is read where asked, from the stored location ATP */
	bool	   *loaded;			/* stored: at[k] was read */
	bool		missing;		/* stored: a row asked for is missing or of an earlier day */
	int32		shelf;			/* stored: the channel's minimum shelf life */
	DateADT		today;
	struct KeyedRow *latp;		/* stored: location_atp, open */
} PlanStock;

enum
{
	PQ_RULES,
	PQ_LOCATIONS,
	PQ_CHANNEL,
	PQ_STOCK_COMPUTED,
	PQ_CHANNEL_LOCATIONS,
	PQ_FULL,
	PQ_CHANNEL_RULES,
	PQ_COUNT
};

static const char *const plan_query_sql[PQ_COUNT] = {
	/* PQ_RULES ($1 channel, $2 pickup): _broker_rules() with the filters of each rule */
	"SELECT r.rule_no, r.location_group, r.location_kind::text, r.max_distance_km::float8, r.allow_split,"
	"       r.max_shipments, r.min_split_quantity, r.prefer_single_shipment"
	"  FROM inventory_sync.broker_rule r WHERE r.channel = $1 AND $2 IS NULL"
	" UNION ALL"
	" SELECT NULL::integer, NULL::text, NULL::text, NULL::float8, false, 1, 1::numeric, false"
	"  WHERE $2 IS NOT NULL OR NOT EXISTS (SELECT FROM inventory_sync.broker_rule r WHERE r.channel = $1)"
	" ORDER BY 1",

	/*
	 * PQ_LOCATIONS ($1 channel, $2 latitude, $3 longitude, $4 pickup, $5 order_ref,
	 * $6 excluded, $7 the rules' groups, $8 whether a rule asks the kind):
	 * _broker_candidates() without the rule, ranked.
	 * The distance is great_circle_km()'s expression written out (the function is not
	 * inlined: it sets its search_path), NULL when a point is unknown as the STRICT
	 * function gives it.
	 */
	"SELECT cl.location::text, d.km, round(d.km::numeric, 1), CASE WHEN $8 THEN l.kind::text END, mg.groups,"
	"       cl.location::int8"
	"  FROM inventory_sync.channel_location cl"
	"  JOIN inventory_sync.location l ON l.gln = cl.location"
	"  LEFT JOIN inventory_sync.broker_location b ON b.location = cl.location"
	"  LEFT JOIN (SELECT m.location, array_agg(m.location_group) AS groups"
	"               FROM inventory_sync.location_group_member m WHERE m.location_group = ANY ($7)"
	"              GROUP BY m.location) mg ON mg.location = cl.location"
	" CROSS JOIN LATERAL (SELECT CASE WHEN $2 IS NULL OR $3 IS NULL OR l.latitude IS NULL OR l.longitude IS NULL"
	"                                 THEN NULL::float8 ELSE"
	"        2 * 6371.0088 * asin(least(1, sqrt("
	"               power(sin(radians(l.latitude::float8 - $2) / 2), 2)"
	"             + cos(radians($2)) * cos(radians(l.latitude::float8))"
	"               * power(sin(radians(l.longitude::float8 - $3) / 2), 2)))) END AS km) d"
	" WHERE cl.channel = $1"
	"   AND ($4 IS NULL OR cl.location = $4::inventory_sync.gln)"
	"   AND NOT coalesce(b.closed, false)"
	"   AND NOT (cl.location = ANY (coalesce($6::inventory_sync.gln[], '{}')))"
	"   AND (b.daily_order_capacity IS NULL"
	"        OR (SELECT count(DISTINCT (a.channel, a.order_ref)) FROM inventory_sync.broker_allocation a"
	"             WHERE a.location = cl.location AND a.brokered_at >= date_trunc('day', now())"
	"               AND a.status <> 'unallocated' AND NOT (a.channel = $1 AND a.order_ref = $5))"
	"           < b.daily_order_capacity)"
	" ORDER BY 3 NULLS LAST, cl.priority, cl.location",

	/*
	 * PQ_CHANNEL ($1 channel, $2 items): each item's channel ATP as _channel_atp_now()
	 * reads it (published today, else computed), without a PL/pgSQL call per item;
	 * whether a protection names the item; and the channel's minimum shelf life (the
	 * stored location ATP it sees, read by stock_stored())
	 */
	"SELECT i.item::text,"
	"       coalesce((SELECT a.atp FROM inventory_sync.channel_atp a"
	"                   JOIN inventory_sync.channel_atp_state s ON s.channel = a.channel AND s.item_gtin = a.item_gtin"
	"                  WHERE a.channel = $1 AND a.item_gtin = i.item AND s.computed_on = current_date),"
	"                inventory_sync._channel_atp($1, i.item)),"
	"       i.item::int8,"
	"       EXISTS (SELECT FROM inventory_sync.channel_protection cp WHERE cp.item_gtin = i.item),"
	"       (SELECT c.min_shelf_life_days FROM inventory_sync.channel c WHERE c.channel = $1)"
	"  FROM (SELECT DISTINCT u::inventory_sync.gtin AS item FROM unnest($2) u) i",

	/* PQ_STOCK_COMPUTED ($1 channel, $2 items): _broker_stock()'s location ATP, as rows */
	"WITH k AS (SELECT i.item, cl.location, c.min_shelf_life_days AS shelf, la.atp, la.computed_on"
	"             FROM (SELECT DISTINCT u::inventory_sync.gtin AS item FROM unnest($2) u) i"
	"            CROSS JOIN inventory_sync.channel_location cl"
	"             JOIN inventory_sync.channel c ON c.channel = cl.channel"
	"             LEFT JOIN inventory_sync.location_atp la"
	"                    ON la.item_gtin = i.item AND la.location = cl.location"
	"                   AND la.min_shelf_life_days = c.min_shelf_life_days"
	"            WHERE cl.channel = $1),"
	"     stale AS (SELECT array_agg(k.item) AS its, array_agg(k.location) AS locs, array_agg(k.shelf) AS shelves"
	"                 FROM k WHERE k.computed_on IS DISTINCT FROM current_date)"
	" SELECT x.item::int8, x.location::int8,"
	"        x.atp - CASE WHEN x.item = ANY (p.items)"
	"                     THEN inventory_sync._protected_from($1, x.item, x.location) ELSE 0 END"
	"   FROM (SELECT array_agg(DISTINCT cp.item_gtin) AS items FROM inventory_sync.channel_protection cp"
	"          WHERE cp.item_gtin = ANY ($2::inventory_sync.gtin[])) p,"
	"        (SELECT k.item, k.location, k.atp FROM k WHERE k.computed_on = current_date"
	"         UNION ALL"
	"         SELECT a.item_gtin, a.location, a.atp"
	"           FROM stale, inventory_sync._location_atp_of(stale.its, stale.locs, stale.shelves) a"
	"          WHERE stale.its IS NOT NULL) x",

	/*
	 * PQ_CHANNEL_LOCATIONS ($1 channel): what PQ_LOCATIONS reads of the channel's
	 * locations that changes only with the master data (kept per backend)
	 */
	"SELECT cl.location::text, cl.location::int8, l.latitude::float8, l.longitude::float8, l.kind::text, cl.priority,"
	"       (SELECT array_agg(m.location_group) FROM inventory_sync.location_group_member m"
	"         WHERE m.location = cl.location),"
	"       coalesce(b.closed, false), b.daily_order_capacity"
	"  FROM inventory_sync.channel_location cl"
	"  JOIN inventory_sync.location l ON l.gln = cl.location"
	"  LEFT JOIN inventory_sync.broker_location b ON b.location = cl.location"
	" WHERE cl.channel = $1",

	/*
	 * PQ_FULL ($1 channel, $2 order_ref, $3 locations, $4 their daily order capacity):
	 * those that took as many orders today as they may (this order not counted)
	 */
	"SELECT x.loc FROM unnest($3, $4) x(loc, cap)"
	" WHERE (SELECT count(DISTINCT (a.channel, a.order_ref)) FROM inventory_sync.broker_allocation a"
	"         WHERE a.location = x.loc::inventory_sync.gln AND a.brokered_at >= date_trunc('day', now())"
	"           AND a.status <> 'unallocated' AND NOT (a.channel = $1 AND a.order_ref = $2)) >= x.cap",

	/* PQ_CHANNEL_RULES ($1 channel): the channel's own rules, as PQ_RULES reads them (kept per backend) */
	"SELECT r.rule_no, r.location_group, r.location_kind::text, r.max_distance_km::float8, r.allow_split,"
	"       r.max_shipments, r.min_split_quantity, r.prefer_single_shipment"
	"  FROM inventory_sync.broker_rule r WHERE r.channel = $1"
	" ORDER BY 1",
};

static SPIPlanPtr plan_queries[PQ_COUNT];

static SPIPlanPtr
plan_query(int which)
{
	static const Oid rules_types[] = {TEXTOID, TEXTOID};
	static const Oid loc_types[] = {TEXTOID, FLOAT8OID, FLOAT8OID, TEXTOID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID, BOOLOID};
	static const Oid items_types[] = {TEXTOID, TEXTARRAYOID};
	static const Oid full_types[] = {TEXTOID, TEXTOID, TEXTARRAYOID, INT4ARRAYOID};
	SPIPlanPtr	p;

	if (plan_queries[which] != NULL)
		return plan_queries[which];
	/*
	 * Generic plans from the first call: a custom plan per order would be planned again
	 * for every order, for the same plan (the queries read by key, or a channel's rows).
	 */
	if (which == PQ_RULES)
		p = is_prepare_kept(plan_query_sql[which], 2, (Oid *) rules_types, CURSOR_OPT_GENERIC_PLAN);
	else if (which == PQ_LOCATIONS)
		p = is_prepare_kept(plan_query_sql[which], 8, (Oid *) loc_types, CURSOR_OPT_GENERIC_PLAN);
	else if (which == PQ_CHANNEL_LOCATIONS || which == PQ_CHANNEL_RULES)
		p = is_prepare_kept(plan_query_sql[which], 1, (Oid *) rules_types, CURSOR_OPT_GENERIC_PLAN);
	else if (which == PQ_FULL)
		p = is_prepare_kept(plan_query_sql[which], 4, (Oid *) full_types, CURSOR_OPT_GENERIC_PLAN);
	else
		p = is_prepare_kept(plan_query_sql[which], 2, (Oid *) items_types, CURSOR_OPT_GENERIC_PLAN);
	plan_queries[which] = p;
	return p;
}

static void
plan_run(int which, Datum *values, const char *nulls)
{
	int			r = SPI_execute_plan(plan_query(which), values, nulls, true, 0);

	if (r != SPI_OK_SELECT)
		elog(ERROR, "inventory_sync: brokering query %d failed: %s", which, SPI_result_code_string(r));
}

/* ------------------------------------------------------------------------
 * The units, from the jsonb _broker_units() makes.
 * ------------------------------------------------------------------------ */

/* false: not the shape _broker_units() makes (the SQL takes the order, and says what is wrong) */
static bool
read_units(Jsonb *units, PlanUnit **out, int *nout)
{
	int			n,
				i;
	PlanUnit   *us;

	if (!JB_ROOT_IS_ARRAY(units) || JB_ROOT_IS_SCALAR(units))
		return false;
	n = JB_ROOT_COUNT(units);
	us = palloc0(sizeof(PlanUnit) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		JsonbValue *u = getIthJsonbValueFromContainer(&units->root, i);
		JsonbContainer *uo;
		JsonbValue	v;
		JsonbContainer *co;
		int			j;

		if (u == NULL || u->type != jbvBinary || !JsonContainerIsObject(u->val.binary.data))
			return false;
		uo = u->val.binary.data;
		us[i].line_ref = broker_json_string(uo, "line_ref");
		us[i].unit_ref = broker_json_string(uo, "unit_ref");
		if (us[i].line_ref == NULL || us[i].unit_ref == NULL)
			return false;
		if (getKeyJsonValueFromContainer(uo, "splittable", 10, &v) == NULL || v.type != jbvBool)
			return false;
		us[i].splittable = v.val.boolean;
		if (getKeyJsonValueFromContainer(uo, "comps", 5, &v) == NULL || v.type != jbvBinary
			|| !JsonContainerIsArray(v.val.binary.data) || JsonContainerSize(v.val.binary.data) < 1)
			return false;
		co = v.val.binary.data;
		us[i].ncomps = JsonContainerSize(co);
		us[i].comps = palloc0(sizeof(PlanComp) * us[i].ncomps);
		for (j = 0; j < us[i].ncomps; j++)
		{
			JsonbValue *c = getIthJsonbValueFromContainer(co, j);
			PlanComp   *pc = &us[i].comps[j];
			JsonbValue	q;

			if (c == NULL || c->type != jbvBinary || !JsonContainerIsObject(c->val.binary.data))
				return false;
			pc->item = broker_json_string(c->val.binary.data, "item");
			pc->ref = broker_json_string(c->val.binary.data, "ref");
			if (pc->item == NULL || pc->ref == NULL)
				return false;
			if (getKeyJsonValueFromContainer(c->val.binary.data, "quantity", 8, &q) == NULL || q.type != jbvNumeric)
				return false;
			pc->quantity = q.val.numeric;
			pc->quantity_text = num_text(pc->quantity);
		}
	}
	*out = us;
	*nout = n;
	return true;
}

/* ------------------------------------------------------------------------
 * Rules, locations, stock.
 * ------------------------------------------------------------------------ */

static char *
col_text(HeapTuple t, TupleDesc d, int col)
{
	return SPI_getvalue(t, d, col);
}

/* The rules of the query just run (PQ_RULES' columns), in the current memory context. */
static void
rules_read(PlanRule **out, int *nout)
{
	PlanRule   *rs;
	uint64		i;

	rs = palloc0(sizeof(PlanRule) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		x;

		x = SPI_getbinval(t, d, 1, &isnull);
		rs[i].numbered = !isnull;
		rs[i].rule_no = isnull ? 0 : DatumGetInt32(x);
		rs[i].group = col_text(t, d, 2);
		rs[i].kind = col_text(t, d, 3);
		x = SPI_getbinval(t, d, 4, &isnull);
		rs[i].has_max_distance = !isnull;
		rs[i].max_distance = isnull ? 0 : DatumGetFloat8(x);
		rs[i].allow_split = DatumGetBool(SPI_getbinval(t, d, 5, &isnull));
		rs[i].max_shipments = DatumGetInt32(SPI_getbinval(t, d, 6, &isnull));
		rs[i].min_split = DatumGetNumericCopy(SPI_getbinval(t, d, 7, &isnull));
		rs[i].prefer_single = DatumGetBool(SPI_getbinval(t, d, 8, &isnull));
	}
	*out = rs;
	*nout = (int) SPI_processed;
}

static void
read_rules(text *channel, text *pickup, PlanRule **out, int *nout)
{
	Datum		values[2] = {PointerGetDatum(channel), PointerGetDatum(pickup)};
	char		nulls[2] = {' ', pickup == NULL ? 'n' : ' '};

	plan_run(PQ_RULES, values, nulls);
	rules_read(out, nout);
}

/* ------------------------------------------------------------------------
 * The channels' locations, kept per backend.
 *
 * What PQ_LOCATIONS reads that changes only with the master data — a channel's
 * locations, their coordinates, kind, priority, groups, whether closed and their daily
 * capacity — is read once per backend and channel, and dropped on any change of
 * channel_location, location, broker_location or location_group_member: their statement
 * triggers (master_data_changed()) send a relcache invalidation of the table, at commit
 * to every backend and at once to the one that made it (and again when it rolls back).
 * The list is read under a snapshot taken after the invalidations received so far, so it
 * is never older than any change whose invalidation was taken; and it is used only where
 * each statement has its own snapshot (READ COMMITTED): a transaction-wide snapshot may be
 * older than the list. What changes with every order, the daily order count of a location
 * with a capacity, is still read for every order.
 * ------------------------------------------------------------------------ */

typedef struct CachedLocation
{
	char	   *gln;
	int64		key;
	bool		has_point;
	double		latitude;
	double		longitude;
	char	   *kind;
	int32		priority;
	int			ngroups;
	char	  **groups;			/* every location group it is in */
	bool		closed;
	bool		has_capacity;
	int32		capacity;
} CachedLocation;

typedef struct CachedChannel
{
	char	   *channel;
	int			nrules;
	PlanRule   *rules;			/* the channel's own rules, in order */
	int			nlocs;
	CachedLocation *locs;
	struct CachedChannel *next;
} CachedChannel;

enum
{
	CT_CHANNEL_LOCATION, CT_LOCATION, CT_BROKER_LOCATION, CT_GROUP_MEMBER, CT_BROKER_RULE, CT_COUNT
};
static const char *const cache_tables[CT_COUNT] = {"channel_location", "location", "broker_location",
"location_group_member", "broker_rule"};
static Oid	cache_relids[CT_COUNT];
static MemoryContext cache_cxt = NULL;
static CachedChannel *cache_channels = NULL;
static bool cache_stale = true;
static uint64 cache_resets = 0;

/* A relcache invalidation: of one of the tables (or of every relation) drops the lists. */
static void
cache_reset(int kind, Oid relid)
{
	if (!ext_catalog_change_concerns(kind, relid, cache_relids, CT_COUNT))
		return;
	cache_stale = true;
	cache_resets++;
}

static CachedChannel *
cache_load(const char *channel)
{
	uint64		resets;
	CachedChannel *c;
	MemoryContext old;
	Datum		values[1];
	uint64		r;
	int			t;

	ext_catalog_on_change(cache_reset, EXT_CHANGE_RELATION | EXT_CHANGE_TYPE);
	if (cache_cxt == NULL)
		cache_cxt = AllocSetContextCreate(CacheMemoryContext, "inventory_sync broker locations",
										  ALLOCSET_SMALL_SIZES);
	/* the invalidations sent so far first, then a snapshot that sees every change they stand for */
	AcceptInvalidationMessages();
	if (cache_stale)
	{
		MemoryContextReset(cache_cxt);
		cache_channels = NULL;
		for (t = 0; t < CT_COUNT; t++)
			cache_relids[t] = ext_catalog_relid(cache_tables[t], false);
		cache_stale = false;
	}
	for (c = cache_channels; c != NULL; c = c->next)
		if (strcmp(c->channel, channel) == 0)
			return c;

	resets = cache_resets;
	values[0] = CStringGetTextDatum(channel);
	PushActiveSnapshot(GetLatestSnapshot());
	r = SPI_execute_plan(plan_query(PQ_CHANNEL_LOCATIONS), values, NULL, true, 0);
	PopActiveSnapshot();
	if (r != SPI_OK_SELECT)
		elog(ERROR, "inventory_sync: reading the locations of channel \"%s\" failed", channel);

	old = MemoryContextSwitchTo(cache_cxt);
	c = palloc0(sizeof(CachedChannel));
	c->channel = pstrdup(channel);
	c->nlocs = (int) SPI_processed;
	c->locs = palloc0(sizeof(CachedLocation) * Max(c->nlocs, 1));
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	d = SPI_tuptable->tupdesc;
		CachedLocation *l = &c->locs[r];
		bool		lat_null,
					lon_null,
					isnull;
		Datum		x;

		l->gln = SPI_getvalue(tup, d, 1);
		l->key = DatumGetInt64(SPI_getbinval(tup, d, 2, &isnull));
		l->latitude = DatumGetFloat8(SPI_getbinval(tup, d, 3, &lat_null));
		l->longitude = DatumGetFloat8(SPI_getbinval(tup, d, 4, &lon_null));
		l->has_point = !lat_null && !lon_null;
		l->kind = SPI_getvalue(tup, d, 5);
		l->priority = DatumGetInt32(SPI_getbinval(tup, d, 6, &isnull));
		x = SPI_getbinval(tup, d, 7, &isnull);
		if (!isnull)
		{
			Datum	   *elems;
			bool	   *enulls;
			int			ne,
						k;

			deconstruct_array(DatumGetArrayTypeP(x), TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &ne);
			l->groups = palloc(sizeof(char *) * Max(ne, 1));
			for (k = 0; k < ne; k++)
				if (!enulls[k])
					l->groups[l->ngroups++] = TextDatumGetCString(elems[k]);
		}
		l->closed = DatumGetBool(SPI_getbinval(tup, d, 8, &isnull));
		x = SPI_getbinval(tup, d, 9, &isnull);
		l->has_capacity = !isnull;
		l->capacity = isnull ? 0 : DatumGetInt32(x);
	}
	MemoryContextSwitchTo(old);

	PushActiveSnapshot(GetLatestSnapshot());
	r = SPI_execute_plan(plan_query(PQ_CHANNEL_RULES), values, NULL, true, 0);
	PopActiveSnapshot();
	if (r != SPI_OK_SELECT)
		elog(ERROR, "inventory_sync: reading the brokering rules of channel \"%s\" failed", channel);
	old = MemoryContextSwitchTo(cache_cxt);
	rules_read(&c->rules, &c->nrules);
	MemoryContextSwitchTo(old);
	/* dropped while it was read: used for this order, read again for the next */
	if (cache_resets == resets && !cache_stale)
	{
		c->next = cache_channels;
		cache_channels = c;
	}
	return c;
}

/*
 * What read_rules() reads, from the channel's rules kept per backend: a pickup order, or
 * a channel without rules, has one rule without number. Copied out of the list, which an
 * invalidation may drop before the order is planned.
 */
static void
read_rules_kept(text *channel, text *pickup, PlanRule **out, int *nout)
{
	CachedChannel *c = cache_load(text_to_cstring(channel));
	PlanRule   *rs;
	int			i;

	if (pickup != NULL || c->nrules == 0)
	{
		rs = palloc0(sizeof(PlanRule));
		rs->numbered = false;
		rs->allow_split = false;
		rs->max_shipments = 1;
		rs->min_split = DatumGetNumeric(DirectFunctionCall1(int4_numeric, Int32GetDatum(1)));
		rs->prefer_single = false;
		*out = rs;
		*nout = 1;
		return;
	}
	rs = palloc(sizeof(PlanRule) * c->nrules);
	for (i = 0; i < c->nrules; i++)
	{
		rs[i] = c->rules[i];
		rs[i].group = c->rules[i].group == NULL ? NULL : pstrdup(c->rules[i].group);
		rs[i].kind = c->rules[i].kind == NULL ? NULL : pstrdup(c->rules[i].kind);
		rs[i].min_split = DatumGetNumericCopy(NumericGetDatum(c->rules[i].min_split));
	}
	*out = rs;
	*nout = c->nrules;
}

/* great_circle_km() (as PQ_LOCATIONS writes it out), in the same float8 steps */
static double
great_circle(double lat1, double lon1, double lat2, double lon2)
{
	const double rpd = 0.0174532925199432957692;	/* radians(): float.c's RADIANS_PER_DEGREE */
	double		a = pow(sin(((lat2 - lat1) * rpd) / 2), 2);
	double		b = cos(lat1 * rpd) * cos(lat2 * rpd) * pow(sin(((lon2 - lon1) * rpd) / 2), 2);
	double		h = sqrt(a + b);

	return (2 * 6371.0088) * asin(h > 1 ? 1 : h);
}

/* A GLN given as text in gln's own text (22P02 when it is none), as the SQL's cast to gln has it */
static char *
gln_canonical(const char *text)
{
	Oid			gln = ext_catalog_type("gln", false);
	Oid			in,
				io,
				out;
	bool		varlena;

	getTypeInputInfo(gln, &in, &io);
	getTypeOutputInfo(gln, &out, &varlena);
	return OidOutputFunctionCall(out, OidInputFunctionCall(in, (char *) text, io, -1));
}

typedef struct RankedLocation
{
	PlanLocation loc;
	bool		has_rounded;	/* false: no distance */
	int64		tenths;			/* round(distance::numeric, 1), in tenths of a km */
	int32		priority;
} RankedLocation;

/*
 * round(km::numeric, 1) in tenths of a km, without a numeric: float8_numeric() reads the
 * float8's text of DBL_DIG significant digits ("%.*g"), and round() to one decimal looks
 * at the digit after it (5 or more: up, away from zero); the same text read the same way.
 * That text differs from the float8 by less than 1e-10 km up to the longest distance
 * (20,040 km), so where ten times the distance is farther than 1e-6 from a half the float8
 * rounds as its text does, and the text is not written. Through numeric when the text is
 * not plain digits (an exponent: below 0.0001 km).
 */
static int64
rounded_tenths(double km)
{
	char		buf[DBL_DIG + 100];
	const char *p;
	int64		whole = 0;
	int			first = 0;
	bool		up = false;
	double		x = km * 10;

	if (x >= 0.001 && x < 1e6 && fabs(x - floor(x) - 0.5) > 1e-6)
		return (int64) floor(x + 0.5);
	snprintf(buf, sizeof(buf), "%.*g", DBL_DIG, km);
	for (p = buf; *p >= '0' && *p <= '9'; p++)
		whole = whole * 10 + (*p - '0');
	if (*p == '.' && p[1] >= '0' && p[1] <= '9')
	{
		first = p[1] - '0';
		p += 2;
		up = *p >= '5' && *p <= '9';
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (p == buf || *p != '\0')
	{
		Datum		r = DirectFunctionCall2(numeric_round, DirectFunctionCall1(float8_numeric, Float8GetDatum(km)),
											Int32GetDatum(1));

		return DatumGetInt64(DirectFunctionCall1(numeric_int8,
												 DirectFunctionCall2(numeric_mul, r,
																	 DirectFunctionCall1(int4_numeric, Int32GetDatum(10)))));
	}
	return whole * 10 + first + (up ? 1 : 0);
}

/* tenths of a km as numeric_out() writes a numeric of scale 1 ("12.3", "0.0") */
static char *
tenths_text(int64 tenths)
{
	char	   *text = palloc(MAXINT8LEN + 3);
	int			len = pg_lltoa(tenths / 10, text);

	text[len] = '.';
	text[len + 1] = (char) ('0' + tenths % 10);
	text[len + 2] = '\0';
	return text;
}

/* PQ_LOCATIONS' order: the distance rounded to 0.1 km (unknown last), the channel's priority, the GLN */
static int
ranked_cmp(const void *x, const void *y)
{
	const RankedLocation *a = (const RankedLocation *) x;
	const RankedLocation *b = (const RankedLocation *) y;

	if (a->has_rounded != b->has_rounded)
		return a->has_rounded ? -1 : 1;
	if (a->has_rounded && a->tenths != b->tenths)
		return a->tenths < b->tenths ? -1 : 1;
	if (a->priority != b->priority)
		return a->priority < b->priority ? -1 : 1;
	return a->loc.key < b->loc.key ? -1 : a->loc.key > b->loc.key ? 1 : 0;
}

static int
ranked_ref_cmp(const void *x, const void *y)
{
	return ranked_cmp(*(const RankedLocation *const *) x, *(const RankedLocation *const *) y);
}

/*
 * read_locations() from the kept list: the same locations, in the same order, with the
 * same distances (only the daily order count read for the order).
 */
static void
read_locations_kept(text *channel, Datum latitude, bool lat_null, Datum longitude, bool lon_null, text *pickup,
					text *order_ref, Datum exclude, bool exclude_null, PlanLocation **out, int *nout)
{
	CachedChannel *c = cache_load(text_to_cstring(channel));
	char	   *pickup_text = pickup == NULL ? NULL : gln_canonical(text_to_cstring(pickup));
	Datum	   *ex = NULL;
	bool	   *ex_nulls = NULL;
	int			nex = 0;
	bool		ex_has_null = false;
	RankedLocation *rs = palloc0(sizeof(RankedLocation) * Max(c->nlocs, 1));
	RankedLocation **order;
	char	  **ex_texts;
	int			n = 0,
				nfull_ask = 0,
				i,
				k;
	Datum	   *ask_locs = palloc(sizeof(Datum) * Max(c->nlocs, 1));
	Datum	   *ask_caps = palloc(sizeof(Datum) * Max(c->nlocs, 1));
	bool	   *full = palloc0(sizeof(bool) * Max(c->nlocs, 1));
	int		   *asked_ix = palloc(sizeof(int) * Max(c->nlocs, 1));

	if (!exclude_null)
		deconstruct_array(DatumGetArrayTypeP(exclude), TEXTOID, -1, false, TYPALIGN_INT, &ex, &ex_nulls, &nex);
	ex_texts = palloc(sizeof(char *) * Max(nex, 1));
	for (k = 0; k < nex; k++)
	{
		ex_texts[k] = ex_nulls[k] ? NULL : gln_canonical(TextDatumGetCString(ex[k]));
		ex_has_null |= ex_nulls[k];
	}

	for (i = 0; i < c->nlocs; i++)
	{
		CachedLocation *l = &c->locs[i];
		bool		excluded = false;

		if (pickup_text != NULL && strcmp(l->gln, pickup_text) != 0)
			continue;
		if (l->closed)
			continue;
		for (k = 0; k < nex; k++)
			if (ex_texts[k] != NULL && strcmp(ex_texts[k], l->gln) == 0)
				excluded = true;
		/* NOT (location = ANY (exclude)): unknown, so not chosen, when exclude has a NULL */
		if (excluded || ex_has_null)
			continue;
		if (l->has_capacity)
		{
			asked_ix[nfull_ask] = i;
			ask_locs[nfull_ask] = CStringGetTextDatum(l->gln);
			ask_caps[nfull_ask] = Int32GetDatum(l->capacity);
			nfull_ask++;
		}
	}
	if (nfull_ask > 0)
	{
		Datum		values[4];
		uint64		r;

		values[0] = PointerGetDatum(channel);
		values[1] = PointerGetDatum(order_ref);
		values[2] = PointerGetDatum(construct_array(ask_locs, nfull_ask, TEXTOID, -1, false, TYPALIGN_INT));
		values[3] = PointerGetDatum(construct_array(ask_caps, nfull_ask, INT4OID, 4, true, TYPALIGN_INT));
		plan_run(PQ_FULL, values, NULL);
		for (r = 0; r < SPI_processed; r++)
		{
			char	   *gln = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);

			for (k = 0; k < nfull_ask; k++)
				if (strcmp(c->locs[asked_ix[k]].gln, gln) == 0)
					full[asked_ix[k]] = true;
		}
	}

	for (i = 0; i < c->nlocs; i++)
	{
		CachedLocation *l = &c->locs[i];
		RankedLocation *rl;
		bool		excluded = false;

		if (pickup_text != NULL && strcmp(l->gln, pickup_text) != 0)
			continue;
		if (l->closed || full[i] || ex_has_null)
			continue;
		for (k = 0; k < nex; k++)
			if (ex_texts[k] != NULL && strcmp(ex_texts[k], l->gln) == 0)
				excluded = true;
		if (excluded)
			continue;
		rl = &rs[n++];
		rl->priority = l->priority;
		rl->loc.gln = l->gln;
		rl->loc.key = l->key;
		rl->loc.kind = l->kind;
		rl->loc.ngroups = l->ngroups;
		rl->loc.groups = l->groups;
		rl->loc.has_distance = !lat_null && !lon_null && l->has_point;
		if (rl->loc.has_distance)
		{
			rl->loc.distance = great_circle(DatumGetFloat8(latitude), DatumGetFloat8(longitude), l->latitude,
											l->longitude);
			/* round(km::numeric, 1), as the SQL has it (its text as numeric_out() writes it) */
			rl->has_rounded = true;
			rl->tenths = rounded_tenths(rl->loc.distance);
			rl->loc.distance_text = tenths_text(rl->tenths);
		}
	}
	/* sorted by reference: a location is too wide to be moved at every step of the sort */
	order = palloc(sizeof(RankedLocation *) * Max(n, 1));
	for (i = 0; i < n; i++)
		order[i] = &rs[i];
	qsort(order, n, sizeof(RankedLocation *), ranked_ref_cmp);
	*out = palloc0(sizeof(PlanLocation) * Max(n, 1));
	for (i = 0; i < n; i++)
		(*out)[i] = order[i]->loc;
	*nout = n;
}

static void
read_locations(text *channel, Datum latitude, bool lat_null, Datum longitude, bool lon_null, text *pickup,
			   text *order_ref, Datum exclude, bool exclude_null, PlanRule *rules, int nrules,
			   PlanLocation **out, int *nout)
{
	Datum		values[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	Datum	   *groups = palloc(sizeof(Datum) * Max(nrules, 1));
	int			ngroups = 0;
	bool		kinds = false;
	PlanLocation *ls;
	uint64		i;
	int			r;

	for (r = 0; r < nrules; r++)
	{
		if (rules[r].group != NULL)
			groups[ngroups++] = CStringGetTextDatum(rules[r].group);
		if (rules[r].kind != NULL)
			kinds = true;
	}
	values[0] = PointerGetDatum(channel);
	values[1] = latitude;
	nulls[1] = lat_null ? 'n' : ' ';
	values[2] = longitude;
	nulls[2] = lon_null ? 'n' : ' ';
	values[3] = PointerGetDatum(pickup);
	nulls[3] = pickup == NULL ? 'n' : ' ';
	values[4] = PointerGetDatum(order_ref);
	values[5] = exclude;
	nulls[5] = exclude_null ? 'n' : ' ';
	values[6] = PointerGetDatum(construct_array(groups, ngroups, TEXTOID, -1, false, TYPALIGN_INT));
	values[7] = BoolGetDatum(kinds);
	plan_run(PQ_LOCATIONS, values, nulls);

	ls = palloc0(sizeof(PlanLocation) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		x;

		ls[i].gln = col_text(t, d, 1);
		ls[i].key = DatumGetInt64(SPI_getbinval(t, d, 6, &isnull));
		x = SPI_getbinval(t, d, 2, &isnull);
		ls[i].has_distance = !isnull;
		ls[i].distance = isnull ? 0 : DatumGetFloat8(x);
		ls[i].distance_text = col_text(t, d, 3);
		ls[i].kind = col_text(t, d, 4);
		x = SPI_getbinval(t, d, 5, &isnull);
		if (!isnull)
		{
			Datum	   *elems;
			bool	   *enulls;
			int			ne,
						k;

			deconstruct_array(DatumGetArrayTypeP(x), TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &ne);
			ls[i].groups = palloc(sizeof(char *) * Max(ne, 1));
			for (k = 0; k < ne; k++)
				if (!enulls[k])
					ls[i].groups[ls[i].ngroups++] = TextDatumGetCString(elems[k]);
		}
	}
	*out = ls;
	*nout = (int) SPI_processed;
}

static int
item_index(PlanStock *s, const char *item)
{
	int			i;

	for (i = 0; i < s->nitems; i++)
		if (strcmp(s->items[i], item) == 0)
			return i;
	return -1;
}

/* The locations by GLN, to find a row's location among them without a scan per row. */
typedef struct LocationKey
{
	int64		key;
	int			ix;
} LocationKey;

static int
location_key_cmp(const void *a, const void *b)
{
	int64		x = ((const LocationKey *) a)->key;
	int64		y = ((const LocationKey *) b)->key;

	return x < y ? -1 : x > y ? 1 : 0;
}

static int
location_index(LocationKey *keys, int nlocs, int64 gln)
{
	LocationKey key = {gln, -1};
	LocationKey *hit = bsearch(&key, keys, nlocs, sizeof(LocationKey), location_key_cmp);

	return hit == NULL ? -1 : hit->ix;
}

/* Fills the location ATP of s from the rows of the query just run (item, location, atp). */
static void
stock_rows(PlanStock *s, LocationKey *keys)
{
	uint64		r;

	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	t = SPI_tuptable->vals[r];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		item_null,
					gln_null,
					isnull;
		int64		item = DatumGetInt64(SPI_getbinval(t, d, 1, &item_null));
		int64		gln = DatumGetInt64(SPI_getbinval(t, d, 2, &gln_null));
		Datum		atp = SPI_getbinval(t, d, 3, &isnull);
		int			i,
					l;

		if (item_null || gln_null)
			continue;
		for (i = 0; i < s->nitems; i++)
			if (s->item_keys[i] == item)
				break;
		if (i == s->nitems)
			continue;
		l = location_index(keys, s->nlocs, gln);
		if (l < 0)
			continue;
		/* a NULL ATP counts as none, as the SQL's coalesce has it */
		s->at[i * s->nlocs + l] = isnull ? num_zero() : DatumGetNumeric(atp);
	}
}

/*
 * The stored location ATP of today, read where the plan asks for it. An order's units
 * mostly fit at the first location a rule ranks first, so the plan asks for a few of the
 * channel's locations an item, not all of them: each (item, location) it asks for is
 * read once, by location_atp's primary key under the caller's snapshot (as a statement
 * of the caller would read it), starting from the version this backend found last
 * (keyed_row_find()'s follow_seen: the row changes with every reservation of the item
 * there). A row missing or of an earlier day sets missing: the caller then reads all of
 * the stock as _broker_stock() computes it and places the units again, which is what the
 * plan was before it read by key (where every row is of today, _broker_stock() gives the
 * stored ATP itself, so the plan is the same whichever way the stock was read).
 */
static KeyedTable latp_table;
static bool latp_loaded = false;

static void
latp_reset(int kind, Oid relid)
{
	if (!ext_catalog_change_concerns(kind, relid, &latp_table.relid, 1))
		return;
	latp_loaded = false;
}

enum
{
	LATP_ATP, LATP_COMPUTED_ON
};

static void
stock_stored_open(PlanStock *s, int32 shelf)
{
	static const char *const latp_keys[] = {"item_gtin", "location", "min_shelf_life_days"};
	static const char *const latp_cols[] = {"atp", "computed_on"};

	ext_catalog_on_change(latp_reset, EXT_CHANGE_RELATION | EXT_CHANGE_TYPE);
	if (!latp_loaded)
	{
		keyed_table_load(&latp_table, "location_atp", NULL, latp_keys, 3, latp_cols, 2);
		latp_loaded = true;
	}
	s->latp = palloc(sizeof(KeyedRow));
	keyed_row_open(s->latp, &latp_table, AccessShareLock);
	s->latp->snapshot = GetActiveSnapshot();
	s->latp->follow_seen = true;
	s->stored = true;
	s->missing = false;
	s->shelf = shelf;
	s->today = GetSQLCurrentDate();
	s->loaded = palloc0(sizeof(bool) * Max(s->nitems * s->nlocs, 1));
}

static void
stock_stored_close(PlanStock *s)
{
	if (s->latp != NULL)
		keyed_row_close(s->latp);
	s->latp = NULL;
	s->stored = false;
}

/* The location ATP of item at loc as the plan reads it. */
static Numeric
stock_at(PlanStock *s, int item, int loc)
{
	int			k = item * s->nlocs + loc;

	if (s->stored && !s->loaded[k])
	{
		Datum		key[3] = {Int64GetDatum(s->item_keys[item]), Int64GetDatum(s->loc_keys[loc]),
		Int32GetDatum(s->shelf)};
		bool		isnull;

		if (keyed_row_find(s->latp, key)
			&& DatumGetDateADT(keyed_row_get(s->latp, LATP_COMPUTED_ON, &isnull)) == s->today)
			s->at[k] = DatumGetNumericCopy(keyed_row_get(s->latp, LATP_ATP, &isnull));
		else
			s->missing = true;
		s->loaded[k] = true;
	}
	return s->at[k];
}

/*
 * What PQ_CHANNEL reads, by key where it is published: the order's items (each GTIN
 * once, as gtin's text), the channel's ATP of each from channel_atp where its
 * channel_atp_state row says it was computed today, whether a protection names an item,
 * and the channel's minimum shelf life; read through the tables' indexes under the
 * caller's snapshot, the channel ATP rows from the version this backend found last (they
 * change with every reservation of the item). false, with nothing set, when an item's
 * channel ATP is not published today or the channel is unknown: PQ_CHANNEL reads it
 * (_channel_atp() computes what is not published).
 */
enum
{
	KT_CHANNEL, KT_CHANNEL_ATP, KT_STATE, KT_PROTECTION, KT_COUNT
};
static KeyedTable stock_tables[KT_COUNT];
static bool stock_tables_loaded = false;

static void
stock_tables_reset(int kind, Oid relid)
{
	if (keyed_tables_concerned(kind, relid, stock_tables, KT_COUNT))
		stock_tables_loaded = false;
}

static bool
channel_stock_keyed(text *channel, PlanUnit *us, int nunits, PlanStock *s, bool *protected, bool *has_shelf,
					int32 *shelf)
{
	static const char *const channel_key[] = {"channel"};
	static const char *const channel_cols[] = {"min_shelf_life_days"};
	static const char *const channel_item[] = {"channel", "item_gtin"};
	static const char *const atp_cols[] = {"atp"};
	static const char *const state_cols[] = {"computed_on"};
	static const char *const item_location[] = {"item_gtin", "location"};
	Oid			gtin = ext_catalog_type("gtin", false);
	Oid			in,
				io,
				out;
	bool		varlena;
	Snapshot	snap = GetActiveSnapshot();
	DateADT		today = GetSQLCurrentDate();
	KeyedRow	rows[KT_COUNT];
	int			n = 0,
				total = 0,
				u,
				c,
				i;
	int64	   *keys;
	Numeric    *atps;
	bool		ok = true,
				prot = false,
				isnull;
	int32		sh;

	ext_catalog_on_change(stock_tables_reset, EXT_CHANGE_RELATION | EXT_CHANGE_TYPE);
	if (!stock_tables_loaded)
	{
		keyed_table_load(&stock_tables[KT_CHANNEL], "channel", NULL, channel_key, 1, channel_cols, 1);
		keyed_table_load(&stock_tables[KT_CHANNEL_ATP], "channel_atp", NULL, channel_item, 2, atp_cols, 1);
		keyed_table_load(&stock_tables[KT_STATE], "channel_atp_state", NULL, channel_item, 2, state_cols, 1);
		keyed_table_load(&stock_tables[KT_PROTECTION], "channel_protection", "channel_protection_item",
						 item_location, 2, NULL, 0);
		stock_tables_loaded = true;
	}
	for (u = 0; u < nunits; u++)
		total += us[u].ncomps;
	keys = palloc(sizeof(int64) * Max(total, 1));
	/* each GTIN once, as the cast to gtin reads it (its errors too) */
	getTypeInputInfo(gtin, &in, &io);
	for (u = 0; u < nunits; u++)
		for (c = 0; c < us[u].ncomps; c++)
		{
			int64		k = DatumGetInt64(OidInputFunctionCall(in, us[u].comps[c].item, io, -1));

			for (i = 0; i < n && keys[i] != k; i++)
				;
			if (i == n)
				keys[n++] = k;
		}

	for (i = 0; i < KT_COUNT; i++)
	{
		keyed_row_open(&rows[i], &stock_tables[i], AccessShareLock);
		rows[i].snapshot = snap;
	}
	rows[KT_CHANNEL_ATP].follow_seen = true;
	rows[KT_STATE].follow_seen = true;
	{
		Datum		key[1] = {PointerGetDatum(channel)};

		ok = keyed_row_find(&rows[KT_CHANNEL], key);
		sh = ok ? DatumGetInt32(keyed_row_get(&rows[KT_CHANNEL], 0, &isnull)) : 0;
	}
	atps = palloc(sizeof(Numeric) * Max(n, 1));
	for (i = 0; ok && i < n; i++)
	{
		Datum		key[2] = {PointerGetDatum(channel), Int64GetDatum(keys[i])};
		Datum		pkey[1] = {Int64GetDatum(keys[i])};

		if (!keyed_row_find(&rows[KT_STATE], key)
			|| DatumGetDateADT(keyed_row_get(&rows[KT_STATE], 0, &isnull)) != today
			|| !keyed_row_find(&rows[KT_CHANNEL_ATP], key))
		{
			ok = false;
			break;
		}
		atps[i] = DatumGetNumericCopy(keyed_row_get(&rows[KT_CHANNEL_ATP], 0, &isnull));
		if (!prot)
		{
			keyed_scan_begin(&rows[KT_PROTECTION], pkey, 1);
			prot = keyed_scan_next(&rows[KT_PROTECTION]);
			keyed_scan_end(&rows[KT_PROTECTION]);
		}
	}
	for (i = 0; i < KT_COUNT; i++)
		keyed_row_close(&rows[i]);
	if (!ok)
		return false;

	getTypeOutputInfo(gtin, &out, &varlena);
	s->nitems = n;
	s->items = palloc(sizeof(char *) * Max(n, 1));
	s->item_keys = keys;
	s->channel = atps;
	s->used_channel = palloc(sizeof(Numeric) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		s->items[i] = OidOutputFunctionCall(out, Int64GetDatum(keys[i]));
		s->used_channel[i] = num_zero();
	}
	*protected = prot;
	*has_shelf = true;
	*shelf = sh;
	return true;
}

/* Every location ATP of the stock as _broker_stock() computes it; values: PQ_STOCK_COMPUTED's arguments. */
static void
stock_computed(PlanStock *s, Datum *values)
{
	char		nulls[2] = {' ', ' '};
	Numeric		zero = num_zero();
	LocationKey *keys = palloc(sizeof(LocationKey) * Max(s->nlocs, 1));
	int			i;

	for (i = 0; i < s->nlocs; i++)
	{
		keys[i].key = s->loc_keys[i];
		keys[i].ix = i;
	}
	qsort(keys, s->nlocs, sizeof(LocationKey), location_key_cmp);
	for (i = 0; i < s->nitems * s->nlocs; i++)
		s->at[i] = zero;
	plan_run(PQ_STOCK_COMPUTED, values, nulls);
	stock_rows(s, keys);
}

/*
 * false: an item of the units is not one the stock knows by that text (the SQL plans
 * it). values: where PQ_STOCK_COMPUTED's arguments are left for the caller.
 */
static bool
read_stock(text *channel, PlanUnit *us, int nunits, PlanLocation *ls, int nlocs, PlanStock *s, Datum *values)
{
	Datum	   *items = palloc(sizeof(Datum) * 1);
	int			nitems = 0,
				cap = 1;
	char		nulls[2] = {' ', ' '};
	bool		protected = false;
	bool		has_shelf = false;
	int32		shelf = 0;
	Numeric		zero = num_zero();
	int			u,
				c,
				i;
	uint64		r;

	for (u = 0; u < nunits; u++)
		for (c = 0; c < us[u].ncomps; c++)
		{
			if (nitems == cap)
			{
				cap *= 2;
				items = repalloc(items, sizeof(Datum) * cap);
			}
			items[nitems++] = CStringGetTextDatum(us[u].comps[c].item);
		}
	values[0] = PointerGetDatum(channel);
	values[1] = PointerGetDatum(construct_array(items, nitems, TEXTOID, -1, false, TYPALIGN_INT));

	s->nlocs = nlocs;
	if (channel_stock_keyed(channel, us, nunits, s, &protected, &has_shelf, &shelf))
		goto items_read;
	plan_run(PQ_CHANNEL, values, nulls);
	s->nitems = (int) SPI_processed;
	s->items = palloc(sizeof(char *) * Max(s->nitems, 1));
	s->item_keys = palloc(sizeof(int64) * Max(s->nitems, 1));
	s->channel = palloc(sizeof(Numeric) * Max(s->nitems, 1));
	s->used_channel = palloc(sizeof(Numeric) * Max(s->nitems, 1));
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	t = SPI_tuptable->vals[r];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		x;

		s->items[r] = col_text(t, d, 1);
		s->item_keys[r] = DatumGetInt64(SPI_getbinval(t, d, 3, &isnull));
		x = SPI_getbinval(t, d, 2, &isnull);
		s->channel[r] = isnull ? num_zero() : DatumGetNumeric(x);
		s->used_channel[r] = num_zero();
		if (DatumGetBool(SPI_getbinval(t, d, 4, &isnull)))
			protected = true;
		x = SPI_getbinval(t, d, 5, &isnull);
		has_shelf = !isnull;
		shelf = isnull ? 0 : DatumGetInt32(x);
	}
items_read:
	for (u = 0; u < nunits; u++)
		for (c = 0; c < us[u].ncomps; c++)
			if ((us[u].comps[c].item_ix = item_index(s, us[u].comps[c].item)) < 0)
				return false;

	s->at = palloc(sizeof(Numeric) * Max(s->nitems * nlocs, 1));
	s->used_at = palloc(sizeof(Numeric) * Max(s->nitems * nlocs, 1));
	s->loc_keys = palloc(sizeof(int64) * Max(nlocs, 1));
	for (i = 0; i < nlocs; i++)
		s->loc_keys[i] = ls[i].key;
	for (i = 0; i < s->nitems * nlocs; i++)
	{
		s->at[i] = zero;
		s->used_at[i] = zero;
	}
	if (nlocs == 0 || s->nitems == 0)
		return true;
	if (!protected && has_shelf)
	{
		stock_stored_open(s, shelf);
		return true;
	}
	/* a protection (or no channel): as _broker_stock() computes it */
	stock_computed(s, values);
	return true;
}

/* ------------------------------------------------------------------------
 * Placing (the steps of _broker_plan(), _broker_first_fit() and _broker_greedy()).
 * ------------------------------------------------------------------------ */

/* least(x, y) as SQL's LEAST: the first on a tie */
static Numeric
num_least(Numeric x, Numeric y)
{
	return num_cmp(y, x) < 0 ? y : x;
}

/* _broker_available(): what the plan may still take of an item at a location */
static Numeric
available(PlanStock *s, int item, int loc)
{
	int			k = item * s->nlocs + loc;

	return num_least(num_sub(stock_at(s, item, loc), s->used_at[k]), num_sub(s->channel[item], s->used_channel[item]));
}

static void
use(PlanStock *s, int item, int loc, Numeric q)
{
	int			k = item * s->nlocs + loc;

	s->used_at[k] = num_add(s->used_at[k], q);
	s->used_channel[item] = num_add(s->used_channel[item], q);
}

/* _broker_first_fit(): the first candidate (its position) at which every component of the units fits; -1: none */
static int
first_fit(PlanStock *s, PlanUnit *us, int *which, int nwhich, int *cands, int ncands)
{
	Numeric    *need = palloc(sizeof(Numeric) * Max(s->nitems, 1));
	bool	   *asked = palloc0(sizeof(bool) * Max(s->nitems, 1));
	int			w,
				c,
				i,
				k;

	for (w = 0; w < nwhich; w++)
		for (c = 0; c < us[which[w]].ncomps; c++)
		{
			PlanComp   *pc = &us[which[w]].comps[c];

			need[pc->item_ix] = asked[pc->item_ix] ? num_add(need[pc->item_ix], pc->quantity) : pc->quantity;
			asked[pc->item_ix] = true;
		}
	for (k = 0; k < ncands; k++)
	{
		for (i = 0; i < s->nitems; i++)
			if (asked[i] && num_cmp(available(s, i, cands[k]), need[i]) < 0)
				break;
		if (i == s->nitems)
			return k;
	}
	return -1;
}

/* One part of the plan: a component of a unit held at a location. */
typedef struct PlanPart
{
	PlanUnit   *unit;
	int			comp;
	int			part;
	bool		suffix;
	PlanLocation *loc;
	PlanRule   *rule;
	Numeric		quantity;		/* NULL: the component's */
} PlanPart;

/* The parts so far, in plan order. */
typedef struct PlanParts
{
	PlanPart   *v;
	int			n;
	int			cap;
} PlanParts;

/*
 * _broker_unit_parts(): one part per component of a unit held at a location (the first
 * component's quantity replaced by quantity when given: a part of a split)
 */
static void
unit_parts(PlanParts *out, PlanUnit *u, int part, bool suffix, PlanLocation *loc, PlanRule *rule, Numeric quantity)
{
	int			c;

	for (c = 0; c < u->ncomps; c++)
	{
		PlanPart   *pp;

		if (out->n == out->cap)
		{
			out->cap = Max(out->cap * 2, 8);
			out->v = out->v == NULL ? palloc(sizeof(PlanPart) * out->cap)
				: repalloc(out->v, sizeof(PlanPart) * out->cap);
		}
		pp = &out->v[out->n++];
		pp->unit = u;
		pp->comp = c;
		pp->part = part;
		pp->suffix = suffix;
		pp->loc = loc;
		pp->rule = rule;
		pp->quantity = quantity != NULL && c == 0 ? quantity : NULL;
	}
}

/*
 * The parts as _broker_plan() returns them, built as values rather than text that
 * jsonb_in would parse again.
 */
static Jsonb *
parts_jsonb(PlanParts *ps)
{
	JsonbParseState *st = NULL;
	int			i;

	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (i = 0; i < ps->n; i++)
	{
		PlanPart   *pp = &ps->v[i];
		PlanUnit   *u = pp->unit;
		PlanComp   *pc = &u->comps[pp->comp];

		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		broker_json_push_string(&st, "line_ref", u->line_ref);
		broker_json_push_string(&st, "unit_ref", u->unit_ref);
		broker_json_push_numeric(&st, "part", int64_to_numeric(pp->part));
		broker_json_push_string(&st, "item", pc->item);
		broker_json_push_numeric(&st, "quantity", pp->quantity != NULL ? pp->quantity : pc->quantity);
		broker_json_push_string(&st, "location", pp->loc->gln);
		broker_json_push_numeric(&st, "rule_no", pp->rule->numbered ? int64_to_numeric(pp->rule->rule_no) : NULL);
		broker_json_push_numeric(&st, "distance_km", pp->loc->distance_text == NULL ? NULL
					 : DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(pp->loc->distance_text),
														   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1))));
		broker_json_push_string(&st, "reservation_line_ref", pp->suffix ? psprintf("%s#%d", pc->ref, pp->part) : pc->ref);
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_ARRAY, NULL));
}

static bool
eligible(PlanRule *rule, PlanLocation *loc)
{
	int			g;

	if (!rule->numbered)
		return true;
	if (rule->group != NULL)
	{
		for (g = 0; g < loc->ngroups; g++)
			if (strcmp(loc->groups[g], rule->group) == 0)
				break;
		if (g == loc->ngroups)
			return false;
	}
	if (rule->kind != NULL && (loc->kind == NULL || strcmp(loc->kind, rule->kind) != 0))
		return false;
	if (rule->has_max_distance && !(loc->has_distance && loc->distance <= rule->max_distance))
		return false;
	return true;
}

/* false: a unit is left that no rule places (the SQL refuses it, or places it partially) */
static bool
place(PlanUnit *us, int nunits, PlanRule *rules, int nrules, PlanLocation *ls, int nlocs, PlanStock *s,
	  int part_from, bool suffix, PlanParts *b)
{
	int		   *pending = palloc(sizeof(int) * Max(nunits, 1));
	int		   *rest = palloc(sizeof(int) * Max(nunits, 1));
	int		   *cands = palloc(sizeof(int) * Max(nlocs, 1));
	int			npending = nunits;
	int			r,
				i,
				k;

	for (i = 0; i < nunits; i++)
		pending[i] = i;
	for (r = 0; r < nrules && npending > 0; r++)
	{
		PlanRule   *rule = &rules[r];
		int			ncands = 0;
		int			nrest = 0;
		int		   *swap;

		for (k = 0; k < nlocs; k++)
			if (eligible(rule, &ls[k]))
				cands[ncands++] = k;
		if (ncands == 0)
			continue;
		if (rule->prefer_single && npending > 1)
		{
			k = first_fit(s, us, pending, npending, cands, ncands);
			if (k >= 0)
			{
				for (i = 0; i < npending; i++)
					unit_parts(b, &us[pending[i]], part_from, suffix, &ls[cands[k]], rule, NULL);
				npending = 0;
			}
		}
		for (i = 0; i < npending; i++)
		{
			PlanUnit   *u = &us[pending[i]];
			bool		placed = false;

			k = first_fit(s, us, &pending[i], 1, cands, ncands);
			if (k >= 0)
			{
				int			c;

				unit_parts(b, u, part_from, suffix, &ls[cands[k]], rule, NULL);
				for (c = 0; c < u->ncomps; c++)
					use(s, u->comps[c].item_ix, cands[k], u->comps[c].quantity);
				placed = true;
			}
			if (!placed && rule->allow_split && u->splittable && num_cmp(u->comps[0].quantity, rule->min_split) >= 0)
			{
				/* _broker_greedy(): nearest first, as much as each has, at most max_shipments parts */
				int			item = u->comps[0].item_ix;
				Numeric		need = u->comps[0].quantity;
				Numeric    *used_at = palloc(sizeof(Numeric) * Max(s->nitems * s->nlocs, 1));
				Numeric    *used_channel = palloc(sizeof(Numeric) * Max(s->nitems, 1));
				int			kept = b->n;	/* the parts before the split's, kept if it fails */
				int			n = 0;

				memcpy(used_at, s->used_at, sizeof(Numeric) * s->nitems * s->nlocs);
				memcpy(used_channel, s->used_channel, sizeof(Numeric) * s->nitems);
				for (k = 0; k < ncands; k++)
				{
					Numeric		a,
								take;

					if (num_sign(need) <= 0 || n >= rule->max_shipments)
						break;
					a = available(s, item, cands[k]);
					if (num_sign(a) <= 0)
						continue;
					take = num_least(a, need);
					unit_parts(b, u, part_from + n, true, &ls[cands[k]], rule, take);
					use(s, item, cands[k], take);
					need = num_sub(need, take);
					n++;
				}
				if (num_sign(need) == 0)
					placed = true;
				else
				{
					b->n = kept;
					memcpy(s->used_at, used_at, sizeof(Numeric) * s->nitems * s->nlocs);
					memcpy(s->used_channel, used_channel, sizeof(Numeric) * s->nitems);
				}
			}
			if (!placed)
				rest[nrest++] = pending[i];
		}
		swap = pending;
		pending = rest;
		rest = swap;
		npending = nrest;
	}
	return npending == 0;
}

PG_FUNCTION_INFO_V1(broker_plan_placed);

/*
 * _broker_plan_placed(channel, order_ref, units, latitude, longitude, pickup, exclude,
 * part_from, suffix): the parts, or NULL when the SQL is to plan the order.
 */
Datum
broker_plan_placed(PG_FUNCTION_ARGS)
{
	MemoryContext outer = CurrentMemoryContext;
	text	   *channel,
			   *order_ref,
			   *pickup;
	Jsonb	   *units;
	PlanUnit   *us;
	int			nunits;
	PlanRule   *rules;
	int			nrules;
	PlanLocation *ls;
	int			nlocs;
	PlanStock	stock;
	Datum		stock_args[2];
	PlanParts	b = {NULL, 0, 0};
	bool		done;
	Datum		result = (Datum) 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(7) || PG_ARGISNULL(8))
		PG_RETURN_NULL();
	channel = PG_GETARG_TEXT_PP(0);
	order_ref = PG_GETARG_TEXT_PP(1);
	units = PG_GETARG_JSONB_P(2);
	pickup = PG_ARGISNULL(5) ? NULL : PG_GETARG_TEXT_PP(5);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_sync: SPI_connect failed");
	memset(&stock, 0, sizeof(stock));
	done = read_units(units, &us, &nunits);
	if (done && nunits > 0)
	{
		if (!IsolationUsesXactSnapshot())
			read_rules_kept(channel, pickup, &rules, &nrules);
		else
			read_rules(channel, pickup, &rules, &nrules);
		if (!IsolationUsesXactSnapshot())
			read_locations_kept(channel, PG_GETARG_DATUM(3), PG_ARGISNULL(3), PG_GETARG_DATUM(4), PG_ARGISNULL(4),
								pickup, order_ref, PG_ARGISNULL(6) ? (Datum) 0 : PG_GETARG_DATUM(6), PG_ARGISNULL(6),
								&ls, &nlocs);
		else
			read_locations(channel, PG_GETARG_DATUM(3), PG_ARGISNULL(3), PG_GETARG_DATUM(4), PG_ARGISNULL(4), pickup,
						   order_ref, PG_ARGISNULL(6) ? (Datum) 0 : PG_GETARG_DATUM(6), PG_ARGISNULL(6), rules, nrules,
						   &ls, &nlocs);
		done = read_stock(channel, us, nunits, ls, nlocs, &stock, stock_args);
		if (done)
			done = place(us, nunits, rules, nrules, ls, nlocs, &stock, PG_GETARG_INT32(7), PG_GETARG_BOOL(8), &b);
		if (stock.stored)
		{
			bool		again = stock.missing;

			stock_stored_close(&stock);
			if (again)
			{
				/* a row asked for is missing or of an earlier day: all of it as _broker_stock() computes it */
				int			i;

				stock_computed(&stock, stock_args);
				for (i = 0; i < stock.nitems * stock.nlocs; i++)
					stock.used_at[i] = num_zero();
				for (i = 0; i < stock.nitems; i++)
					stock.used_channel[i] = num_zero();
				b.n = 0;
				done = place(us, nunits, rules, nrules, ls, nlocs, &stock, PG_GETARG_INT32(7), PG_GETARG_BOOL(8), &b);
			}
		}
	}
	if (done)
	{
		MemoryContext spi = MemoryContextSwitchTo(outer);

		result = JsonbPGetDatum(parts_jsonb(&b));
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	if (!done)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}
