/*
 * broker_hold.c
 *		The steps of broker() around its plan, in C, for the common order: its lines
 *		expanded into units, the locks of holding the plan, and the plan held.
 *
 * broker() (sql/install/240_broker.sql) asks these first; each does what the SQL of the
 * same step does, with statements prepared once per backend and no PL/pgSQL between
 * them:
 *   - _broker_units_placed(): the lines of an order each of one component (an item, or a
 *     kit of one: what _order_line_components() says), checked and made units, one per
 *     line; what each line's GTIN takes is kept per backend (src/broker_units.c), read
 *     in one query for the lines not kept. NULL when a line is not plainly right, is
 *     unknown or has several components: _broker_units() then expands the order, or says
 *     what is wrong with it in its own words.
 *   - _broker_lock(): the locks, in the global order of the promise layer: the capacity
 *     rows of the locations used (and their capacity counted again), the promise keys
 *     (the missing ones created first, then all locked in one statement, as
 *     _promise_keys_lock() takes them, without a PL/pgSQL call), then the channel ATP
 *     rows of every channel selling from the channel's locations (those channels kept
 *     per backend), in (channel, item) order, each created where missing as
 *     _channel_atp_lock_key() creates it. For the common order at READ COMMITTED (no
 *     capacity row, every key and row there) the keys and rows are found by primary key
 *     and locked one by one in the same order, without a statement (take_locks_keyed()).
 *   - _broker_hold_placed(): the parts of a plan reserved with reserve() (called through
 *     the function manager, not a statement) at their locations, in the order
 *     _broker_hold() takes them, and the allocation appended
 *     without an executor (src/broker_allocation.c). Only for an order brokered all or nothing: a part refused refuses
 *     the whole order, so no subtransaction is needed (the refusal is reworded as
 *     _broker_hold() words it, on its way out), where _broker_hold() takes one a part.
 *     NULL when the parts are not as a plan makes them: _broker_hold() holds them.
 *   - _broker_lock_hold_placed(): the two in one call, as broker() asks them for an order
 *     brokered all or nothing.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/inval.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "errcodes.h"
#include "numeric_util.h"
#include "spi_plan.h"
#include "broker_allocation.h"
#include "broker_json.h"
#include "broker_units.h"
#include "ext_catalog.h"
#include "keyed_row.h"

extern Datum gtin_is_valid(PG_FUNCTION_ARGS);

enum
{
	HQ_UNIT_ITEMS,
	HQ_CAPACITY_LOCK,
	HQ_CAPACITY_FULL,
	HQ_KEY_PAIRS,
	HQ_KEYS_CREATE,
	HQ_KEYS_LOCK,
	HQ_SIBLINGS,
	HQ_CHANNEL_PAIRS,
	HQ_CHANNEL_PAIRS_KEPT,
	HQ_CHANNEL_ROWS,
	HQ_CHANNEL_ROW,
	HQ_CHANNEL_CREATE,
	HQ_COUNT
};

typedef struct HoldQuery
{
	const char *sql;
	int			nargs;
	Oid			types[8];
} HoldQuery;

static const HoldQuery hold_query[HQ_COUNT] = {
	/*
	 * HQ_UNIT_ITEMS ($1 the lines' items, valid GTINs, $2 their quantities): line by line,
	 * whether the item is known (an item or a kit) and has one component
	 * (_order_line_components(): an item, or a kit of one), and that component's text and
	 * quantity
	 */
	{"SELECT c.n = 1 AND (EXISTS (SELECT FROM inventory_sync.item i WHERE i.gtin = x.g)"
		"                   OR EXISTS (SELECT FROM inventory_sync.kit k WHERE k.gtin = x.g)),"
		"       c.item, c.quantity"
		"  FROM unnest($1::text[], $2::numeric[]) WITH ORDINALITY u(t, q, n)"
		" CROSS JOIN LATERAL (SELECT u.t::inventory_sync.gtin AS g) x"
		" CROSS JOIN LATERAL (SELECT count(*) AS n, min(o.component::text) AS item, min(o.quantity) AS quantity"
		"                      FROM inventory_sync._order_line_components(x.g, u.q) o) c"
		" ORDER BY u.n",
	2, {TEXTARRAYOID, NUMERICARRAYOID}},

	/* HQ_CAPACITY_LOCK ($1 locations): level 1, the capacity rows of the locations used */
	{"SELECT 1 FROM inventory_sync.broker_location b"
		" WHERE b.location = ANY ($1::inventory_sync.gln[]) AND b.daily_order_capacity IS NOT NULL"
		" ORDER BY b.location FOR UPDATE",
	1, {TEXTARRAYOID}},

	/* HQ_CAPACITY_FULL ($1 channel, $2 order_ref, $3 locations): IS040 when one is full meanwhile */
	{"SELECT inventory_sync._refuse_beyond_atp("
		"         format('location %s reached its daily order capacity while order \"%s\" of channel \"%s\" was brokered',"
		"                f.location, $2, $1),"
		"         'Another order took its last slot of the day (broker_location.daily_order_capacity).',"
		"         'Broker the order again: it will be placed elsewhere.')"
		"  FROM (SELECT b.location FROM inventory_sync.broker_location b"
		"         WHERE b.location = ANY ($3::inventory_sync.gln[]) AND b.daily_order_capacity IS NOT NULL"
		"           AND (SELECT count(DISTINCT (a.channel, a.order_ref)) FROM inventory_sync.broker_allocation a"
		"                 WHERE a.location = b.location AND a.brokered_at >= date_trunc('day', now())"
		"                   AND a.status <> 'unallocated' AND NOT (a.channel = $1 AND a.order_ref = $2))"
		"               >= b.daily_order_capacity"
		"         ORDER BY b.location LIMIT 1) f",
	3, {TEXTOID, TEXTOID, TEXTARRAYOID}},

	/*
	 * HQ_KEY_PAIRS ($1 channel, $2 items, $3 locations): level 2, the promise keys of the
	 * parts and of every location of the channel for an item whose channel ATP is of an
	 * earlier day (reserve() locks those), each once, in (item, location) order, and
	 * whether each is there. The channel's locations are read only for such an item (the
	 * subquery is not pulled up: the join is a loop over those items). The keys are read
	 * by primary key, one a row (a scalar subquery: an EXISTS may become a hash of the
	 * whole table).
	 */
	{"SELECT k.item::text, k.location::text,"
		"       (SELECT true FROM inventory_sync.promise_key p WHERE p.item_gtin = k.item AND p.location = k.location)"
		"       IS NOT NULL"
		"  FROM (SELECT u.item, u.location"
		"          FROM unnest($2::inventory_sync.gtin[], $3::inventory_sync.gln[]) u(item, location)"
		"        UNION"
		"        SELECT i.item, l.location"
		"          FROM (SELECT DISTINCT x AS item FROM unnest($2::inventory_sync.gtin[]) x"
		"                 WHERE NOT EXISTS (SELECT FROM inventory_sync.channel_atp_state s"
		"                                    WHERE s.channel = $1 AND s.item_gtin = x AND s.computed_on = current_date)) i"
		"         CROSS JOIN LATERAL (SELECT cl.location FROM inventory_sync.channel_location cl"
		"                              WHERE cl.channel = $1 AND i.item IS NOT NULL OFFSET 0) l) k"
		" WHERE k.item IS NOT NULL AND k.location IS NOT NULL"
		" ORDER BY k.item, k.location",
	3, {TEXTOID, TEXTARRAYOID, TEXTARRAYOID}},

	/*
	 * HQ_KEYS_CREATE ($1 items, $2 locations: the keys, one a pair): the missing ones
	 * inserted first, in order, and only they (_promise_keys_lock()'s statement)
	 */
	{"INSERT INTO inventory_sync.promise_key (item_gtin, location)"
		" SELECT DISTINCT u.item, u.location"
		"   FROM unnest($1::inventory_sync.gtin[], $2::inventory_sync.gln[]) AS u(item, location)"
		"  WHERE u.item IS NOT NULL AND u.location IS NOT NULL"
		"    AND NOT EXISTS (SELECT FROM inventory_sync.promise_key k WHERE k.item_gtin = u.item AND k.location = u.location)"
		"  ORDER BY 1, 2"
		" ON CONFLICT DO NOTHING",
	2, {TEXTARRAYOID, TEXTARRAYOID}},

	/* HQ_KEYS_LOCK ($1 items, $2 locations): then every key locked in one statement, in order */
	{"SELECT 1 FROM inventory_sync.promise_key k"
		" WHERE (k.item_gtin, k.location) IN (SELECT u.item, u.location"
		"                                       FROM unnest($1::inventory_sync.gtin[], $2::inventory_sync.gln[]) AS u(item, location))"
		" ORDER BY k.item_gtin, k.location FOR UPDATE OF k",
	2, {TEXTARRAYOID, TEXTARRAYOID}},

	/*
	 * HQ_SIBLINGS ($1 channel): every channel selling from a location of this one, itself
	 * among them, in the order HQ_CHANNEL_PAIRS sorts them (kept per backend)
	 */
	{"SELECT c2.channel FROM inventory_sync.channel_location c1"
		"  JOIN inventory_sync.channel_location c2 ON c2.location = c1.location"
		" WHERE c1.channel = $1"
		" UNION SELECT $1"
		" ORDER BY 1",
	1, {TEXTOID}},

	/*
	 * HQ_CHANNEL_PAIRS ($1 channel, $2 items): the channel ATP rows to lock, in the order
	 * _channel_atp_lock() takes them (every channel selling from a location of this one,
	 * itself among them, for every item), and whether each is there
	 */
	{"SELECT c.channel, i.item::text,"
		"       EXISTS (SELECT FROM inventory_sync.channel_atp a WHERE a.channel = c.channel AND a.item_gtin = i.item)"
		"  FROM (SELECT c2.channel FROM inventory_sync.channel_location c1"
		"          JOIN inventory_sync.channel_location c2 ON c2.location = c1.location"
		"         WHERE c1.channel = $1"
		"        UNION SELECT $1) c,"
		"       (SELECT DISTINCT x AS item FROM unnest($2::inventory_sync.gtin[]) x) i"
		" WHERE c.channel IS NOT NULL AND i.item IS NOT NULL"
		" ORDER BY c.channel, i.item",
	2, {TEXTOID, TEXTARRAYOID}},

	/*
	 * HQ_CHANNEL_PAIRS_KEPT ($1 the channels of HQ_SIBLINGS, kept, $2 items): the same
	 * pairs in the same order
	 */
	{"SELECT c.channel, i.item::text,"
		"       EXISTS (SELECT FROM inventory_sync.channel_atp a WHERE a.channel = c.channel AND a.item_gtin = i.item)"
		"  FROM unnest($1::text[]) WITH ORDINALITY c(channel, n),"
		"       (SELECT DISTINCT x AS item FROM unnest($2::inventory_sync.gtin[]) x) i"
		" WHERE i.item IS NOT NULL"
		" ORDER BY c.n, i.item",
	2, {TEXTARRAYOID, TEXTARRAYOID}},

	/*
	 * HQ_CHANNEL_ROWS ($1 channels, $2 items: the pairs, every row there): level 4, the
	 * rows in that order in one statement (locked as they leave the sort)
	 */
	{"SELECT 1 FROM inventory_sync.channel_atp a"
		" WHERE (a.channel, a.item_gtin) IN (SELECT u.c, u.i FROM unnest($1::text[], $2::inventory_sync.gtin[]) u(c, i))"
		" ORDER BY a.channel, a.item_gtin FOR UPDATE OF a",
	2, {TEXTARRAYOID, TEXTARRAYOID}},

	/* HQ_CHANNEL_ROW ($1 channel, $2 item): level 4, one channel ATP row */
	{"SELECT 1 FROM inventory_sync.channel_atp a"
		" WHERE a.channel = $1 AND a.item_gtin = $2::inventory_sync.gtin FOR UPDATE",
	2, {TEXTOID, TEXTOID}},

	/* HQ_CHANNEL_CREATE ($1 channel, $2 item): the row created where missing (a lock at its key) */
	{"INSERT INTO inventory_sync.channel_atp (channel, item_gtin, atp, version)"
		" VALUES ($1, $2::inventory_sync.gtin, 0, 0) ON CONFLICT DO NOTHING",
	2, {TEXTOID, TEXTOID}},

};

static SPIPlanPtr hold_plans[HQ_COUNT];

static SPIPlanPtr
hold_plan(int which)
{
	SPIPlanPtr	p;

	if (hold_plans[which] != NULL)
		return hold_plans[which];
	/* generic plans from the first call: the statements read by key, the same plan every order */
	p = is_prepare_kept(hold_query[which].sql, hold_query[which].nargs, (Oid *) hold_query[which].types,
						CURSOR_OPT_GENERIC_PLAN);
	hold_plans[which] = p;
	return p;
}

static void
hold_run(int which, Datum *values, const char *nulls, bool read_only)
{
	int			r = SPI_execute_plan(hold_plan(which), values, nulls, read_only, 0);

	if (r < 0)
		elog(ERROR, "inventory_sync: brokering statement %d failed: %s", which, SPI_result_code_string(r));
}

static Datum
text_array(char **texts, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int			i;

	for (i = 0; i < n; i++)
	{
		nulls[i] = texts[i] == NULL;
		d[i] = nulls[i] ? (Datum) 0 : CStringGetTextDatum(texts[i]);
	}
	return PointerGetDatum(construct_md_array(d, nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
}

/* ------------------------------------------------------------------------
 * The lines as units.
 * ------------------------------------------------------------------------ */

/*
 * Reads what each line takes (HQ_UNIT_ITEMS) into comps and cqtexts (the component and
 * its quantity, as text) and, when kept, keeps it, under a snapshot taken after the
 * invalidations received (src/broker_units.c). False when a line's item is unknown or a
 * kit of several components: _broker_units() expands or refuses the order.
 */
static bool
read_line_components(char **items, Numeric *quantities, char **qtexts, int n, bool kept, char **comps,
					 char **cqtexts)
{
	MemoryContext outer = CurrentMemoryContext;
	uint64		resets = broker_units_kept_resets();
	Datum		values[2];
	Datum	   *qs = palloc(sizeof(Datum) * n);
	bool		all_single = true;
	uint64		r;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_sync: SPI_connect failed");
	values[0] = text_array(items, n);
	for (r = 0; r < (uint64) n; r++)
		qs[r] = NumericGetDatum(quantities[r]);
	values[1] = PointerGetDatum(construct_array(qs, n, NUMERICOID, -1, false, TYPALIGN_INT));
	if (kept)
		PushActiveSnapshot(GetLatestSnapshot());
	hold_run(HQ_UNIT_ITEMS, values, NULL, true);
	if (kept)
		PopActiveSnapshot();
	if (SPI_processed != (uint64) n)
		elog(ERROR, "inventory_sync: %d components read for %d lines", (int) SPI_processed, n);
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	t = SPI_tuptable->vals[r];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		bool		single = DatumGetBool(SPI_getbinval(t, d, 1, &isnull)) && !isnull;
		MemoryContext spi;

		if (single)
		{
			spi = MemoryContextSwitchTo(outer);
			comps[r] = SPI_getvalue(t, d, 2);
			cqtexts[r] = SPI_getvalue(t, d, 3);
			MemoryContextSwitchTo(spi);
		}
		if (kept)
			broker_units_kept_put(resets, items[r], qtexts[r], single, single ? comps[r] : NULL,
								  single ? cqtexts[r] : NULL);
		all_single = all_single && single;
	}
	SPI_finish();
	return all_single;
}



PG_FUNCTION_INFO_V1(broker_units_placed);

/*
 * _broker_units_placed(order_ref, lines): the units of an order whose every line is right
 * and sells an item (not a kit), one unit a line; NULL otherwise (_broker_units() expands
 * it, or refuses it).
 */
Datum
broker_units_placed(PG_FUNCTION_ARGS)
{
	Jsonb	   *lines;
	int			n,
				i,
				j;
	char	  **refs;
	char	  **items;
	Numeric    *quantities;
	char	  **qtexts;
	char	  **comps;
	char	  **cqtexts;
	bool		kept;
	JsonbParseState *st = NULL;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	lines = PG_GETARG_JSONB_P(1);
	if (!JB_ROOT_IS_ARRAY(lines) || JB_ROOT_IS_SCALAR(lines))
		PG_RETURN_NULL();
	n = JB_ROOT_COUNT(lines);
	if (n < 1 || n > 500)
		PG_RETURN_NULL();
	refs = palloc(sizeof(char *) * n);
	items = palloc(sizeof(char *) * n);
	quantities = palloc(sizeof(Numeric) * n);
	for (i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(&lines->root, i);
		JsonbContainer *eo;
		JsonbValue	q;
		char	   *ref;
		int			len;

		if (e == NULL || e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data))
			PG_RETURN_NULL();
		eo = e->val.binary.data;
		ref = broker_json_string(eo, "line_ref");
		if (ref == NULL)
			PG_RETURN_NULL();
		len = pg_mbstrlen_with_len(ref, strlen(ref));
		if (len < 1 || len > 180 || strpbrk(ref, "#/") != NULL)
			PG_RETURN_NULL();
		for (j = 0; j < i; j++)
			if (strcmp(refs[j], ref) == 0)
				PG_RETURN_NULL();
		refs[i] = ref;
		items[i] = broker_json_string(eo, "item");
		if (items[i] == NULL
			|| !DatumGetBool(DirectFunctionCall1(gtin_is_valid, CStringGetTextDatum(items[i]))))
			PG_RETURN_NULL();
		if (getKeyJsonValueFromContainer(eo, "quantity", 8, &q) == NULL || q.type != jbvNumeric)
			PG_RETURN_NULL();
		quantities[i] = q.val.numeric;
		if (num_sign(quantities[i]) <= 0 || num_cmp(quantities[i], int64_to_numeric(INT64CONST(1000000000000000))) >= 0)
			PG_RETURN_NULL();
	}

	/* what each line takes: kept per backend (src/broker_units.c), else read and kept */
	qtexts = palloc(sizeof(char *) * n);
	comps = palloc(sizeof(char *) * n);
	cqtexts = palloc(sizeof(char *) * n);
	for (i = 0; i < n; i++)
		qtexts[i] = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(quantities[i])));
	kept = broker_units_kept_usable();
	for (i = 0; kept && i < n; i++)
	{
		bool		single;
		const char *c;
		const char *cq;

		if (!broker_units_kept_get(items[i], qtexts[i], &single, &c, &cq))
			break;
		if (!single)
			PG_RETURN_NULL();
		comps[i] = pstrdup(c);
		cqtexts[i] = pstrdup(cq);
	}
	if (!kept || i < n)
	{
		if (!read_line_components(items, quantities, qtexts, n, kept, comps, cqtexts))
			PG_RETURN_NULL();
	}

	/*
	 * the units as _broker_line_units() makes them of a line of one component, built as
	 * values rather than text that jsonb_in would parse again
	 */
	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (i = 0; i < n; i++)
	{
		JsonbValue	v;

		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		broker_json_push_string(&st, "line_ref", refs[i]);
		broker_json_push_string(&st, "unit_ref", refs[i]);
		broker_json_push_key(&st, "splittable");
		v.type = jbvBool;
		v.val.boolean = true;
		pushJsonbValue(&st, WJB_VALUE, &v);
		broker_json_push_key(&st, "comps");
		pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		broker_json_push_string(&st, "item", comps[i]);
		broker_json_push_key(&st, "quantity");
		v.type = jbvNumeric;
		v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(cqtexts[i]),
															ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
		pushJsonbValue(&st, WJB_VALUE, &v);
		broker_json_push_string(&st, "ref", refs[i]);
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
		pushJsonbValue(&st, WJB_END_ARRAY, NULL);
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	PG_RETURN_JSONB_P(JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_ARRAY, NULL)));
}

/* ------------------------------------------------------------------------
 * The locks.
 * ------------------------------------------------------------------------ */


/* The elements of an array of any type as their text (NULL stays NULL). */
static char **
array_texts(ArrayType *a, int *n)
{
	Oid			elem = ARR_ELEMTYPE(a);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Oid			out;
	bool		varlena;
	Datum	   *d;
	bool	   *nulls;
	char	  **texts;
	int			i;

	get_typlenbyvalalign(elem, &typlen, &typbyval, &typalign);
	getTypeOutputInfo(elem, &out, &varlena);
	deconstruct_array(a, elem, typlen, typbyval, typalign, &d, &nulls, n);
	texts = palloc(sizeof(char *) * Max(*n, 1));
	for (i = 0; i < *n; i++)
		texts[i] = nulls[i] ? NULL : OidOutputFunctionCall(out, d[i]);
	return texts;
}

/* An array argument as text[] for the statements (they cast it back), or NULL. */
static Datum
array_arg(FunctionCallInfo fcinfo, int arg, char *null)
{
	char	  **texts;
	int			n;

	*null = PG_ARGISNULL(arg) ? 'n' : ' ';
	if (PG_ARGISNULL(arg))
		return (Datum) 0;
	texts = array_texts(PG_GETARG_ARRAYTYPE_P(arg), &n);
	return text_array(texts, n);
}

/*
 * The channels selling from a location of a channel (itself among them), kept per
 * backend: the channel ATP rows an order locks are theirs. Read once per backend and
 * channel and dropped on any change of channel_location (its statement trigger,
 * master_data_changed(), sends a relcache invalidation of the table, at commit to every
 * backend and at once to the one that made it), as src/broker_plan.c keeps the channels'
 * locations: read under a snapshot taken after the invalidations received so far, and
 * used only where each statement has its own snapshot (READ COMMITTED).
 */
typedef struct KeptSiblings
{
	char	   *channel;
	int			n;
	char	  **channels;
	struct KeptSiblings *next;
} KeptSiblings;

static Oid	siblings_relids[1];
static MemoryContext siblings_cxt = NULL;
static KeptSiblings *siblings_kept = NULL;
static bool siblings_stale = true;
static uint64 siblings_resets = 0;

/* A relcache invalidation of channel_location (or of every relation) drops the lists. */
static void
siblings_reset(int kind, Oid relid)
{
	if (!ext_catalog_change_concerns(kind, relid, siblings_relids, 1))
		return;
	siblings_stale = true;
	siblings_resets++;
}

/* The channels whose channel ATP rows an order of the channel locks, in lock order (SPI connected). */
static KeptSiblings *
siblings_of(Datum channel)
{
	char	   *name = TextDatumGetCString(channel);
	uint64		resets;
	KeptSiblings *k;
	MemoryContext old;
	uint64		r;

	ext_catalog_on_change(siblings_reset, EXT_CHANGE_RELATION);
	if (siblings_cxt == NULL)
		siblings_cxt = AllocSetContextCreate(CacheMemoryContext, "inventory_sync broker sibling channels",
											 ALLOCSET_SMALL_SIZES);
	/* the invalidations sent so far first, then a snapshot that sees every change they stand for */
	AcceptInvalidationMessages();
	if (siblings_stale)
	{
		MemoryContextReset(siblings_cxt);
		siblings_kept = NULL;
		siblings_relids[0] = ext_catalog_relid("channel_location", false);
		siblings_stale = false;
	}
	for (k = siblings_kept; k != NULL; k = k->next)
		if (strcmp(k->channel, name) == 0)
			return k;

	resets = siblings_resets;
	PushActiveSnapshot(GetLatestSnapshot());
	hold_run(HQ_SIBLINGS, &channel, NULL, true);
	PopActiveSnapshot();
	old = MemoryContextSwitchTo(siblings_cxt);
	k = palloc0(sizeof(KeptSiblings));
	k->channel = pstrdup(name);
	k->n = (int) SPI_processed;
	k->channels = palloc(sizeof(char *) * Max(k->n, 1));
	for (r = 0; r < SPI_processed; r++)
		k->channels[r] = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
	MemoryContextSwitchTo(old);
	/* dropped while it was read: used for this order, read again for the next */
	if (siblings_resets == resets && !siblings_stale)
	{
		k->next = siblings_kept;
		siblings_kept = k;
	}
	return k;
}

/*
 * take_locks() without a statement, for the common order at READ COMMITTED: no location
 * of a part has a broker_location row (no capacity to lock), the channel's ATP of every
 * item is of today (no other location's promise key to lock), and every promise key and
 * channel ATP row to lock is there. Then the keys and rows are found by primary key and
 * locked as the statements lock them (FOR UPDATE), in the same order: the promise keys
 * by (item, location), then the channel ATP rows by (channel as HQ_SIBLINGS sorts them,
 * item). What was looked at first is read under one fresh snapshot, as a statement would
 * read it; the locks take the latest version of each row. false when the order is not
 * such an order (no lock taken), or a row went meanwhile (the locks taken so far are a
 * first part of the same order): the statements take its locks.
 */
enum
{
	LK_BROKER_LOCATION, LK_STATE, LK_PROMISE_KEY, LK_CHANNEL_ATP, LK_COUNT
};
static KeyedTable lock_tables[LK_COUNT];
static bool lock_tables_loaded = false;

static void
lock_tables_reset(int kind, Oid relid)
{
	if (keyed_tables_concerned(kind, relid, lock_tables, LK_COUNT))
		lock_tables_loaded = false;
}

static int
int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

typedef struct KeyPair
{
	int64		item;
	int64		location;
} KeyPair;

static int
key_pair_cmp(const void *a, const void *b)
{
	const KeyPair *x = (const KeyPair *) a;
	const KeyPair *y = (const KeyPair *) b;

	if (x->item != y->item)
		return x->item < y->item ? -1 : 1;
	return x->location < y->location ? -1 : x->location > y->location ? 1 : 0;
}

/* The elements of a text[] of gtin or gln text as their numbers; false: a NULL among them. */
static bool
keys_of(Datum array, const char *typname, int64 **out, int *nout)
{
	Oid			in,
				io;
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;

	getTypeInputInfo(ext_catalog_type(typname, false), &in, &io);
	deconstruct_array(DatumGetArrayTypeP(array), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	*out = palloc(sizeof(int64) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		if (nulls[i])
			return false;
		(*out)[i] = DatumGetInt64(OidInputFunctionCall(in, TextDatumGetCString(elems[i]), io, -1));
	}
	*nout = n;
	return true;
}

static bool
take_locks_keyed(Datum channel, Datum items, char items_null, Datum locations, char locations_null)
{
	static const char *const location_key[] = {"location"};
	static const char *const capacity_cols[] = {"daily_order_capacity"};
	static const char *const channel_item[] = {"channel", "item_gtin"};
	static const char *const state_cols[] = {"computed_on"};
	static const char *const item_location[] = {"item_gtin", "location"};
	int64	   *item_keys,
			   *location_keys,
			   *distinct_items;
	int			nitems,
				nlocations,
				ndistinct = 0,
				npairs = 0,
				i,
				j;
	KeyPair    *pairs;
	KeptSiblings *sib;
	KeyedRow	r;
	Snapshot	snap;
	DateADT		today = GetSQLCurrentDate();
	bool		ok = true,
				isnull;

	if (items_null != ' ' || locations_null != ' ')
		return false;
	if (!keys_of(items, "gtin", &item_keys, &nitems) || !keys_of(locations, "gln", &location_keys, &nlocations)
		|| nitems != nlocations || nitems == 0)
		return false;
	ext_catalog_on_change(lock_tables_reset, EXT_CHANGE_RELATION | EXT_CHANGE_TYPE);
	if (!lock_tables_loaded)
	{
		keyed_table_load(&lock_tables[LK_BROKER_LOCATION], "broker_location", NULL, location_key, 1, capacity_cols, 1);
		keyed_table_load(&lock_tables[LK_STATE], "channel_atp_state", NULL, channel_item, 2, state_cols, 1);
		keyed_table_load(&lock_tables[LK_PROMISE_KEY], "promise_key", NULL, item_location, 2, NULL, 0);
		keyed_table_load(&lock_tables[LK_CHANNEL_ATP], "channel_atp", NULL, channel_item, 2, NULL, 0);
		lock_tables_loaded = true;
	}
	sib = siblings_of(channel);

	/* the pairs, each once, in order; the items, each once, in order */
	pairs = palloc(sizeof(KeyPair) * nitems);
	for (i = 0; i < nitems; i++)
	{
		pairs[i].item = item_keys[i];
		pairs[i].location = location_keys[i];
	}
	qsort(pairs, nitems, sizeof(KeyPair), key_pair_cmp);
	for (i = 0; i < nitems; i++)
		if (npairs == 0 || key_pair_cmp(&pairs[npairs - 1], &pairs[i]) != 0)
			pairs[npairs++] = pairs[i];
	distinct_items = palloc(sizeof(int64) * nitems);
	for (i = 0; i < nitems; i++)
		distinct_items[i] = item_keys[i];
	qsort(distinct_items, nitems, sizeof(int64), int64_cmp);
	for (i = 0; i < nitems; i++)
		if (ndistinct == 0 || distinct_items[ndistinct - 1] != distinct_items[i])
			distinct_items[ndistinct++] = distinct_items[i];

	/* what decides which locks there are, read as a statement would read it */
	snap = keyed_snapshot();
	keyed_row_open(&r, &lock_tables[LK_BROKER_LOCATION], AccessShareLock);
	r.snapshot = snap;
	for (i = 0; ok && i < npairs; i++)
	{
		Datum		key[1] = {Int64GetDatum(pairs[i].location)};

		ok = !keyed_row_find(&r, key);
	}
	keyed_row_close(&r);
	keyed_row_open(&r, &lock_tables[LK_STATE], AccessShareLock);
	r.snapshot = snap;
	r.follow_seen = true;
	for (i = 0; ok && i < ndistinct; i++)
	{
		Datum		key[2] = {channel, Int64GetDatum(distinct_items[i])};

		ok = keyed_row_find(&r, key) && DatumGetDateADT(keyed_row_get(&r, 0, &isnull)) == today;
	}
	keyed_row_close(&r);
	keyed_row_open(&r, &lock_tables[LK_PROMISE_KEY], AccessShareLock);
	r.snapshot = snap;
	r.follow_seen = true;
	for (i = 0; ok && i < npairs; i++)
	{
		Datum		key[2] = {Int64GetDatum(pairs[i].item), Int64GetDatum(pairs[i].location)};

		ok = keyed_row_find(&r, key);
	}
	keyed_row_close(&r);
	keyed_row_open(&r, &lock_tables[LK_CHANNEL_ATP], AccessShareLock);
	r.snapshot = snap;
	r.follow_seen = true;
	for (j = 0; ok && j < sib->n; j++)
		for (i = 0; ok && i < ndistinct; i++)
		{
			Datum		key[2] = {CStringGetTextDatum(sib->channels[j]), Int64GetDatum(distinct_items[i])};

			ok = keyed_row_find(&r, key);
		}
	keyed_row_close(&r);
	UnregisterSnapshot(snap);
	if (!ok)
		return false;

	/* level 2: the promise keys */
	keyed_row_open(&r, &lock_tables[LK_PROMISE_KEY], RowShareLock);
	r.follow_seen = true;
	for (i = 0; i < npairs; i++)
	{
		Datum		key[2] = {Int64GetDatum(pairs[i].item), Int64GetDatum(pairs[i].location)};

		if (!keyed_row_find(&r, key) || !keyed_row_lock(&r, LockTupleExclusive))
		{
			/* gone meanwhile: the statements take every lock again, in the same order */
			keyed_row_close(&r);
			return false;
		}
	}
	keyed_row_close(&r);
	/* level 4: the channel ATP rows */
	keyed_row_open(&r, &lock_tables[LK_CHANNEL_ATP], RowShareLock);
	r.follow_seen = true;
	for (j = 0; j < sib->n; j++)
		for (i = 0; i < ndistinct; i++)
		{
			Datum		key[2] = {CStringGetTextDatum(sib->channels[j]), Int64GetDatum(distinct_items[i])};

			if (!keyed_row_find(&r, key) || !keyed_row_lock(&r, LockTupleExclusive))
			{
				keyed_row_close(&r);
				return false;
			}
		}
	keyed_row_close(&r);
	return true;
}

/*
 * The locks of holding a plan (inside an SPI connection): items and locations are the
 * parts' as text[] (NULL: none). See _broker_lock().
 */
static void
take_locks(Datum channel, Datum order_ref, Datum items, char items_null, Datum locations, char locations_null)
{
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	bool		isnull;
	bool		all_there;
	uint64		nkeys,
				npairs,
				r;
	char	  **pair_channels;
	char	  **pair_items;

	if (!IsolationUsesXactSnapshot() && take_locks_keyed(channel, items, items_null, locations, locations_null))
		return;
	/* level 1: the capacity rows of the locations used, then their capacity counted again */
	values[0] = locations;
	nulls[0] = locations_null;
	hold_run(HQ_CAPACITY_LOCK, values, nulls, false);
	if (SPI_processed > 0)
	{
		values[0] = channel;
		values[1] = order_ref;
		values[2] = locations;
		nulls[0] = nulls[1] = ' ';
		nulls[2] = locations_null;
		hold_run(HQ_CAPACITY_FULL, values, nulls, true);
	}

	/*
	 * level 2: the promise keys as _promise_keys_lock() takes them: the missing ones
	 * inserted first, in order, then every key locked in one statement
	 */
	values[0] = channel;
	values[1] = items;
	values[2] = locations;
	nulls[0] = ' ';
	nulls[1] = items_null;
	nulls[2] = locations_null;
	hold_run(HQ_KEY_PAIRS, values, nulls, false);
	nkeys = SPI_processed;
	if (nkeys > 0)
	{
		char	  **key_items = palloc(sizeof(char *) * nkeys);
		char	  **key_locations = palloc(sizeof(char *) * nkeys);
		bool		keys_there = true;
		Datum		kv[2];

		for (r = 0; r < nkeys; r++)
		{
			key_items[r] = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
			key_locations[r] = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2);
			if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 3, &isnull)))
				keys_there = false;
		}
		kv[0] = text_array(key_items, (int) nkeys);
		kv[1] = text_array(key_locations, (int) nkeys);
		if (!keys_there)
			hold_run(HQ_KEYS_CREATE, kv, NULL, false);
		hold_run(HQ_KEYS_LOCK, kv, NULL, false);
	}

	/* level 4: every channel selling from a location of this one (itself among them), for every item */
	if (!IsolationUsesXactSnapshot())
	{
		KeptSiblings *k = siblings_of(channel);

		values[0] = text_array(k->channels, k->n);
		nulls[0] = ' ';
		nulls[1] = items_null;
		hold_run(HQ_CHANNEL_PAIRS_KEPT, values, nulls, true);
	}
	else
	{
		values[0] = channel;
		nulls[0] = ' ';
		nulls[1] = items_null;
		hold_run(HQ_CHANNEL_PAIRS, values, nulls, true);
	}
	npairs = SPI_processed;
	pair_channels = palloc(sizeof(char *) * Max(npairs, 1));
	pair_items = palloc(sizeof(char *) * Max(npairs, 1));
	all_there = true;
	for (r = 0; r < npairs; r++)
	{
		pair_channels[r] = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
		pair_items[r] = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2);
		if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 3, &isnull)))
			all_there = false;
	}
	if (npairs > 0 && all_there)
	{
		values[0] = text_array(pair_channels, (int) npairs);
		values[1] = text_array(pair_items, (int) npairs);
		nulls[0] = nulls[1] = ' ';
		hold_run(HQ_CHANNEL_ROWS, values, nulls, false);
		/* a row gone meanwhile: the rows one at a time, created where missing */
		all_there = SPI_processed == npairs;
	}
	for (r = 0; r < npairs && !all_there; r++)
	{
		values[0] = CStringGetTextDatum(pair_channels[r]);
		values[1] = CStringGetTextDatum(pair_items[r]);
		nulls[0] = nulls[1] = ' ';
		hold_run(HQ_CHANNEL_ROW, values, nulls, false);
		if (SPI_processed == 0)
		{
			/* missing: created in place, as _channel_atp_lock_key() creates it */
			hold_run(HQ_CHANNEL_CREATE, values, nulls, false);
			hold_run(HQ_CHANNEL_ROW, values, nulls, false);
		}
	}
}

PG_FUNCTION_INFO_V1(broker_lock);

/*
 * _broker_lock(channel, order_ref, items, locations): the locks of holding a plan, in the
 * global order (see the head of this file); IS040 when a location's daily order capacity
 * was taken meanwhile.
 */
Datum
broker_lock(PG_FUNCTION_ARGS)
{
	Datum		items,
				locations;
	char		items_null,
				locations_null;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						errmsg("_broker_lock() needs a channel and an order_ref"),
						errhint("broker() and reject_allocation() call it with the order they hold.")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_sync: SPI_connect failed");
	items = array_arg(fcinfo, 2, &items_null);
	locations = array_arg(fcinfo, 3, &locations_null);
	take_locks(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), items, items_null, locations, locations_null);
	SPI_finish();
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------------------
 * Holding the plan.
 * ------------------------------------------------------------------------ */

/* One part of a plan, as _broker_unit_parts() makes it. */
typedef struct HoldPart
{
	int			ix;				/* its position in the plan */
	JsonbContainer *obj;		/* the part as given (to return it with its reservation) */
	char	   *line_ref;
	char	   *unit_ref;
	int32		part;
	char	   *item;
	Numeric		quantity;
	char	   *quantity_text;	/* p->>'quantity' */
	char	   *location;		/* NULL: unallocated */
	bool		has_rule;
	int32		rule_no;
	Numeric		distance;		/* NULL: unknown */
	char	   *reservation_line_ref;
	int64		reservation_id;
	int			group;			/* its (unit_ref, part) */
} HoldPart;

/* The parts of one (unit_ref, part): held all or none. */
typedef struct HoldGroup
{
	char	   *unit_ref;
	int32		part;
	char	   *min_item;
	char	   *min_location;	/* NULL when none of its parts has one */
} HoldGroup;

/* text order, as the SQL's ORDER BY over ->> has it (the database's collation); NULL last */
static int
text_cmp(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == NULL) - (b == NULL);
	return varstr_cmp(a, strlen(a), b, strlen(b), DEFAULT_COLLATION_OID);
}

static int
group_cmp(const void *x, const void *y)
{
	const HoldGroup *a = (const HoldGroup *) x;
	const HoldGroup *b = (const HoldGroup *) y;
	int			c;

	if ((c = text_cmp(a->min_item, b->min_item)) != 0)
		return c;
	if ((c = text_cmp(a->min_location, b->min_location)) != 0)
		return c;
	if ((c = text_cmp(a->unit_ref, b->unit_ref)) != 0)
		return c;
	return a->part < b->part ? -1 : a->part > b->part ? 1 : 0;
}

static int
part_cmp(const void *x, const void *y)
{
	const HoldPart *a = *(HoldPart *const *) x;
	const HoldPart *b = *(HoldPart *const *) y;
	int			c;

	if (a->group != b->group)
		return a->group < b->group ? -1 : 1;
	if ((c = text_cmp(a->item, b->item)) != 0)
		return c;
	if ((c = text_cmp(a->location, b->location)) != 0)
		return c;
	return a->ix < b->ix ? -1 : a->ix > b->ix ? 1 : 0;
}

/* A JSON number as an integer; false when it has a fraction (the SQL's ::integer refuses it) */
static bool
jb_int4(JsonbValue *v, int32 *out)
{
	*out = DatumGetInt32(DirectFunctionCall1(numeric_int4, NumericGetDatum(v->val.numeric)));
	return num_cmp(v->val.numeric, int64_to_numeric(*out)) == 0;
}

/* false: not the shape of a plan's part */
static bool
read_part(JsonbValue *e, int ix, HoldPart *p)
{
	JsonbContainer *o;
	JsonbValue	v;

	if (e == NULL || e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data))
		return false;
	o = e->val.binary.data;
	p->ix = ix;
	p->obj = o;
	p->line_ref = broker_json_string(o, "line_ref");
	p->unit_ref = broker_json_string(o, "unit_ref");
	p->item = broker_json_string(o, "item");
	p->reservation_line_ref = broker_json_string(o, "reservation_line_ref");
	if (p->line_ref == NULL || p->unit_ref == NULL || p->item == NULL)
		return false;
	if (getKeyJsonValueFromContainer(o, "part", 4, &v) == NULL || v.type != jbvNumeric || !jb_int4(&v, &p->part))
		return false;
	if (getKeyJsonValueFromContainer(o, "quantity", 8, &v) == NULL || v.type != jbvNumeric)
		return false;
	p->quantity = v.val.numeric;
	p->quantity_text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(p->quantity)));
	if (getKeyJsonValueFromContainer(o, "location", 8, &v) == NULL || v.type == jbvNull)
		p->location = NULL;
	else if (v.type == jbvString)
		p->location = pnstrdup(v.val.string.val, v.val.string.len);
	else
		return false;
	if (p->location != NULL && p->reservation_line_ref == NULL)
		return false;
	if (getKeyJsonValueFromContainer(o, "rule_no", 7, &v) == NULL || v.type == jbvNull)
		p->has_rule = false;
	else if (v.type == jbvNumeric && jb_int4(&v, &p->rule_no))
		p->has_rule = true;
	else
		return false;
	if (getKeyJsonValueFromContainer(o, "distance_km", 11, &v) == NULL || v.type == jbvNull)
		p->distance = NULL;
	else if (v.type == jbvNumeric)
		p->distance = v.val.numeric;
	else
		return false;
	if (getKeyJsonValueFromContainer(o, "reservation_id", 14, &v) != NULL)
		return false;
	return true;
}

/*
 * reserve() called through the function manager, not a statement: as a statement runs it
 * (its rights and settings, a command counter step and a new snapshot before, a step
 * after), without the executor around it. Its lookup is kept per backend, dropped on any
 * change of a function.
 */
typedef struct ReserveCall
{
	FmgrInfo	reserve;
	FmgrInfo	gtin_in;		/* the text of a part's item and location as reserve() takes them */
	Oid			gtin_ioparam;
	FmgrInfo	gln_in;
	Oid			gln_ioparam;
} ReserveCall;

static MemoryContext reserve_cxt = NULL;
static ReserveCall *reserve_fn = NULL;

static void
reserve_fn_reset(Datum arg, int cacheid, uint32 hashvalue)
{
	reserve_fn = NULL;
}

static ReserveCall *
reserve_function(void)
{
	static bool registered = false;
	Oid			argtypes[8] = {TEXTOID, TEXTOID, TEXTOID, InvalidOid, NUMERICOID, InvalidOid, TIMESTAMPTZOID, DATEOID};
	Oid			fn,
				in;
	ReserveCall *f;

	if (reserve_fn != NULL)
		return reserve_fn;
	if (!registered)
	{
		CacheRegisterSyscacheCallback(PROCOID, reserve_fn_reset, (Datum) 0);
		registered = true;
	}
	if (reserve_cxt == NULL)
		reserve_cxt = AllocSetContextCreate(CacheMemoryContext, "inventory_sync broker reserve()",
											ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(reserve_cxt);
	argtypes[3] = ext_catalog_type("gtin", false);
	argtypes[5] = ext_catalog_type("gln", false);
	fn = LookupFuncName(list_make2(makeString("inventory_sync"), makeString("reserve")), 8, argtypes, false);
	f = MemoryContextAllocZero(reserve_cxt, sizeof(ReserveCall));
	fmgr_info_cxt(fn, &f->reserve, reserve_cxt);
	getTypeInputInfo(argtypes[3], &in, &f->gtin_ioparam);
	fmgr_info_cxt(in, &f->gtin_in, reserve_cxt);
	getTypeInputInfo(argtypes[5], &in, &f->gln_ioparam);
	fmgr_info_cxt(in, &f->gln_in, reserve_cxt);
	reserve_fn = f;
	return f;
}

/* Reserves one part at its location; IS040 when it is promised against supply, not stock. */
static void
hold_part(Datum channel, Datum order_ref, HoldPart *p, Datum expires_at, bool expires_null, Datum due_date,
		  bool due_null)
{
	LOCAL_FCINFO(fc, 8);
	ReserveCall *f = reserve_function();
	Datum		row;
	bool		isnull;
	bool		promised_null;
	int			i;

	InitFunctionCallInfoData(*fc, &f->reserve, 8, DEFAULT_COLLATION_OID, NULL, NULL);
	fc->args[0].value = channel;
	fc->args[1].value = order_ref;
	fc->args[2].value = CStringGetTextDatum(p->reservation_line_ref);
	fc->args[3].value = InputFunctionCall(&f->gtin_in, p->item, f->gtin_ioparam, -1);
	fc->args[4].value = NumericGetDatum(p->quantity);
	fc->args[5].value = InputFunctionCall(&f->gln_in, p->location, f->gln_ioparam, -1);
	fc->args[6].value = expires_at;
	fc->args[7].value = due_date;
	for (i = 0; i < 8; i++)
		fc->args[i].isnull = false;
	fc->args[6].isnull = expires_null;
	fc->args[7].isnull = due_null;
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	row = FunctionCallInvoke(fc);
	PopActiveSnapshot();
	CommandCounterIncrement();
	if (fc->isnull)
		elog(ERROR, "inventory_sync: reserve() returned no row");
	p->reservation_id = DatumGetInt64(GetAttributeByName(DatumGetHeapTupleHeader(row), "reservation_id", &isnull));
	(void) GetAttributeByName(DatumGetHeapTupleHeader(row), "promised_date", &promised_null);
	if (!promised_null)
		/* a backorder channel promised it against supply: not in stock there (_refuse_beyond_atp()'s IS040) */
		ereport(ERROR, (errcode(ERRCODE_IS_BEYOND_ATP),
						errmsg("%s of gtin %s is not in stock at %s", p->quantity_text, p->item, p->location),
						errdetail("Reservation channel \"%s\", order \"%s\", line \"%s\".",
								  TextDatumGetCString(channel), TextDatumGetCString(order_ref), p->reservation_line_ref)));
}

/*
 * The parts of a plan read and put in the order _broker_hold() holds them: by group (its
 * (unit_ref, part), ranked by min(item), min(location), unit_ref, part), then item,
 * location and position. NULL when the parts are not as a plan makes them.
 */
static HoldPart **
parts_in_hold_order(Jsonb *jparts, int n)
{
	HoldPart   *parts = palloc0(sizeof(HoldPart) * Max(n, 1));
	HoldGroup  *groups = palloc0(sizeof(HoldGroup) * Max(n, 1));
	HoldGroup  *sorted;
	HoldPart  **order;
	int		   *rank;
	int			i,
				g,
				ngroups = 0;

	for (i = 0; i < n; i++)
	{
		HoldPart   *p = &parts[i];

		if (!read_part(getIthJsonbValueFromContainer(&jparts->root, i), i, p))
			return NULL;
		/* its group: min(item), min(location) over the parts of its (unit_ref, part) */
		for (g = 0; g < ngroups; g++)
			if (groups[g].part == p->part && strcmp(groups[g].unit_ref, p->unit_ref) == 0)
				break;
		if (g == ngroups)
		{
			groups[g].unit_ref = p->unit_ref;
			groups[g].part = p->part;
			groups[g].min_item = p->item;
			groups[g].min_location = p->location;
			ngroups++;
		}
		else
		{
			if (text_cmp(p->item, groups[g].min_item) < 0)
				groups[g].min_item = p->item;
			/* min() skips NULL */
			if (p->location != NULL
				&& (groups[g].min_location == NULL || text_cmp(p->location, groups[g].min_location) < 0))
				groups[g].min_location = p->location;
		}
		p->group = g;
	}
	/* the groups in the order _broker_hold() takes them, each part pointing at its rank */
	sorted = palloc(sizeof(HoldGroup) * Max(ngroups, 1));
	memcpy(sorted, groups, sizeof(HoldGroup) * ngroups);
	qsort(sorted, ngroups, sizeof(HoldGroup), group_cmp);
	rank = palloc(sizeof(int) * Max(ngroups, 1));
	for (g = 0; g < ngroups; g++)
	{
		int			k;

		for (k = 0; k < ngroups; k++)
			if (sorted[k].part == groups[g].part && strcmp(sorted[k].unit_ref, groups[g].unit_ref) == 0)
				break;
		rank[g] = k;
	}
	for (i = 0; i < n; i++)
		parts[i].group = rank[parts[i].group];
	order = palloc(sizeof(HoldPart *) * Max(n, 1));
	for (i = 0; i < n; i++)
		order[i] = &parts[i];
	qsort(order, n, sizeof(HoldPart *), part_cmp);
	return order;
}

/*
 * The reservations, without a subtransaction: a part reserve() refuses (IS040) refuses the
 * order, so nothing of it is to be kept, and the error only reworded, as _broker_hold()
 * words it (the transaction is aborting: no statement runs in between). The rows locked
 * before are updated in the same transaction, not a subtransaction of it, so no row gets a
 * multixact for its lock and its update.
 */
static void
hold_parts(HoldPart **order, int n, Datum channel, Datum order_ref, Datum expires_at, bool expires_null,
		   Datum due_date, bool due_null)
{
	HoldPart   *volatile current = NULL;
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		int			i;

		for (i = 0; i < n; i++)
		{
			current = order[i];
			if (order[i]->location != NULL)
				hold_part(channel, order_ref, order[i], expires_at, expires_null, due_date, due_null);
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_IS_BEYOND_ATP || current == NULL)
			PG_RE_THROW();
		FlushErrorState();
		/* _refuse_beyond_atp() with the detail given: PL/pgSQL's RAISE refuses a NULL option */
		if (edata->detail == NULL)
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							errmsg("RAISE statement option cannot be null")));
		ereport(ERROR, (errcode(ERRCODE_IS_BEYOND_ATP),
						errmsg("insufficient ATP to broker order \"%s\" of channel \"%s\": line \"%s\" (%s)",
							   TextDatumGetCString(order_ref), TextDatumGetCString(channel), current->line_ref,
							   edata->message != NULL ? edata->message : ""),
						errdetail_internal("%s", edata->detail),
						errhint("Another promise took the stock meanwhile: broker the order again to place it elsewhere.")));
	}
	PG_END_TRY();
}

/* The allocation, part by part in the order they were held (src/broker_allocation.c). */
static void
record_allocation(HoldPart **order, int n, Datum channel, Datum order_ref)
{
	AllocationRow *rows = palloc0(sizeof(AllocationRow) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
	{
		HoldPart   *p = order[i];

		rows[i].line_ref = p->line_ref;
		rows[i].unit_ref = p->unit_ref;
		rows[i].part = p->part;
		rows[i].item = p->item;
		rows[i].location = p->location;
		rows[i].quantity = p->quantity;
		rows[i].has_rule = p->has_rule;
		rows[i].rule_no = p->rule_no;
		rows[i].distance = p->distance;
		rows[i].reservation_id = p->reservation_id;
	}
	broker_allocation_append(channel, order_ref, rows, n);
}

/*
 * The parts with their reservations, in the order they were held, as jsonb: each object
 * as given, a located one with its reservation_id added, built as values rather than text
 * that jsonb_in would parse again.
 */
static Datum
held_parts_jsonb(HoldPart **order, int n)
{
	JsonbParseState *st = NULL;
	JsonbValue	v;
	JsonbValue *res;
	int			i;

	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (i = 0; i < n; i++)
	{
		HoldPart   *p = order[i];
		JsonbIterator *it = JsonbIteratorInit(p->obj);
		JsonbIteratorToken t;

		/* nested values come whole (skipNested) and pushJsonbValue() unpacks them */
		while ((t = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (t == WJB_END_OBJECT && p->location != NULL)
			{
				JsonbValue	k;

				k.type = jbvString;
				k.val.string.val = "reservation_id";
				k.val.string.len = 14;
				pushJsonbValue(&st, WJB_KEY, &k);
				k.type = jbvNumeric;
				k.val.numeric = int64_to_numeric(p->reservation_id);
				pushJsonbValue(&st, WJB_VALUE, &k);
			}
			pushJsonbValue(&st, t, t < WJB_BEGIN_ARRAY ? &v : NULL);
		}
	}
	res = pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(res));
}

/*
 * The parts held and recorded (inside an SPI connection): the parts with their
 * reservations as jsonb, made in the context outer.
 */
static Datum
hold_placed(HoldPart **order, int n, Datum channel, Datum order_ref, Datum expires_at, bool expires_null,
			Datum due_date, bool due_null, MemoryContext outer)
{
	MemoryContext spi;
	Datum		result;

	hold_parts(order, n, channel, order_ref, expires_at, expires_null, due_date, due_null);
	record_allocation(order, n, channel, order_ref);
	spi = MemoryContextSwitchTo(outer);
	result = held_parts_jsonb(order, n);
	MemoryContextSwitchTo(spi);
	return result;
}

PG_FUNCTION_INFO_V1(broker_hold_placed);

/*
 * _broker_hold_placed(channel, order_ref, parts, expires_at, due_date): an order brokered
 * all or nothing held and recorded, as _broker_hold() holds it; NULL (nothing done) when
 * the parts are not as a plan makes them.
 */
Datum
broker_hold_placed(PG_FUNCTION_ARGS)
{
	MemoryContext outer = CurrentMemoryContext;
	Jsonb	   *jparts;
	int			n;
	HoldPart  **order;
	Datum		result;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	jparts = PG_GETARG_JSONB_P(2);
	if (!JB_ROOT_IS_ARRAY(jparts) || JB_ROOT_IS_SCALAR(jparts))
		PG_RETURN_NULL();
	n = JB_ROOT_COUNT(jparts);
	order = parts_in_hold_order(jparts, n);
	if (order == NULL)
		PG_RETURN_NULL();

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_sync: SPI_connect failed");
	result = hold_placed(order, n, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), PG_GETARG_DATUM(3), PG_ARGISNULL(3),
						 PG_GETARG_DATUM(4), PG_ARGISNULL(4), outer);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* x->>key of a JSON object as text; NULL when absent or null */
static char *
jb_field_text(JsonbContainer *o, const char *key)
{
	JsonbValue	v;

	if (getKeyJsonValueFromContainer(o, key, strlen(key), &v) == NULL)
		return NULL;
	switch (v.type)
	{
		case jbvNull:
			return NULL;
		case jbvString:
			return pnstrdup(v.val.string.val, v.val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
		case jbvBool:
			return pstrdup(v.val.boolean ? "true" : "false");
		case jbvBinary:
			return JsonbToCString(NULL, v.val.binary.data, v.val.binary.len);
		default:
			elog(ERROR, "inventory_sync: unexpected jsonb value type %d", (int) v.type);
	}
	return NULL;
}

PG_FUNCTION_INFO_V1(broker_lock_hold_placed);

/*
 * _broker_lock_hold_placed(channel, order_ref, parts, expires_at, due_date): what broker()
 * does with the plan of an order brokered all or nothing, in one call: the locks of
 * every located part, as _broker_lock() takes them (the items and locations of the parts
 * whose location is not null, as broker() gives them), then the parts held and recorded
 * as _broker_hold_placed() holds them. NULL when the parts are not as a plan makes them:
 * the locks are taken, the parts left to _broker_hold().
 */
Datum
broker_lock_hold_placed(PG_FUNCTION_ARGS)
{
	MemoryContext outer = CurrentMemoryContext;
	Jsonb	   *jparts = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	int			n = 0,
				nlocated = 0,
				i;
	char	  **items = NULL;
	char	  **locations = NULL;
	Datum		item_array = (Datum) 0,
				location_array = (Datum) 0;
	HoldPart  **order;
	Datum		result;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						errmsg("_broker_lock() needs a channel and an order_ref"),
						errhint("broker() and reject_allocation() call it with the order they hold.")));
	/* jsonb_array_elements()'s refusals */
	if (jparts != NULL && JB_ROOT_IS_SCALAR(jparts))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("cannot extract elements from a scalar")));
	if (jparts != NULL && !JB_ROOT_IS_ARRAY(jparts))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("cannot extract elements from an object")));

	/* the located parts' items and locations, in the parts' order (array_agg() of them: NULL when none) */
	if (jparts != NULL)
	{
		n = JB_ROOT_COUNT(jparts);
		items = palloc(sizeof(char *) * Max(n, 1));
		locations = palloc(sizeof(char *) * Max(n, 1));
		for (i = 0; i < n; i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(&jparts->root, i);
			char	   *location;

			if (e == NULL || e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data))
				continue;		/* x->>'location' of a non-object is NULL */
			location = jb_field_text(e->val.binary.data, "location");
			if (location == NULL)
				continue;
			items[nlocated] = jb_field_text(e->val.binary.data, "item");
			locations[nlocated] = location;
			nlocated++;
		}
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_sync: SPI_connect failed");
	if (nlocated > 0)
	{
		item_array = text_array(items, nlocated);
		location_array = text_array(locations, nlocated);
	}
	take_locks(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), item_array, nlocated > 0 ? ' ' : 'n', location_array,
			   nlocated > 0 ? ' ' : 'n');

	order = jparts == NULL ? NULL : parts_in_hold_order(jparts, n);
	if (order == NULL)
	{
		SPI_finish();
		PG_RETURN_NULL();
	}
	result = hold_placed(order, n, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), PG_GETARG_DATUM(3), PG_ARGISNULL(3),
						 PG_GETARG_DATUM(4), PG_ARGISNULL(4), outer);
	SPI_finish();
	PG_RETURN_DATUM(result);
}
