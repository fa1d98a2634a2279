/*
 * posting_apply.c
 *		The ledger's AFTER INSERT statement trigger: the statement's postings applied to
 *		their balance keys.
 *
 * In four steps:
 *   collect     read the transition table into postings and their effects (one per key
 *               a posting touches: two for a transfer or a move), grouped by key
 *   order       sort the keys in one global order (item, location, lot, bucket), so that
 *               concurrent statements take balance rows in the same order and never
 *               deadlock
 *   apply       key by key: read the row, compute each effect's after-state, write the
 *               row (balance_store.c), append the after-states to balance_change
 *   finish      serial units, new lots and released lots, each in its own global order;
 *               the last after-states; channel ATP (posting_channels.c)
 *
 * What the engine writes through SPI (new balance rows, exceptions, serial units, lots)
 * goes through plans prepared once per backend and kept; they are prepared again only
 * when the extension's types move (the extension was dropped and created again).
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "master_cache.h"
#include "posting_int.h"
#include "spi_plan.h"

/* One posting of the statement, as the apply step needs it. */
typedef struct Posting
{
	int64		posting_id;
	PostingKind kind;
	Datum		source;			/* text */
	Datum		event_id;		/* text */
	char	   *source_str;
	int64		item;
	int64		location;
	Datum		lot;			/* lot_number, or 0 */
	Datum		serial;			/* serial_number, or 0 */
	Numeric		base_quantity;
	Numeric		expected;		/* NULL when not compare-and-set */
	TimestampTz event_time;
	TimestampTz recorded_at;
	int			first_effect;	/* its effects are effects[first_effect .. +neffects] */
	int			neffects;
	char	   *production_order;	/* a consumption of a lot for a production order (the
									 * first word of its reference), else NULL */
	bool		releases_lot;	/* a lot release (see posting_releases_lot) */
	Datum		actor;			/* text: who posted it; set for lot releases only */
	int64		fingerprint;	/* of its payload, when the events are registered */
} Posting;

/* One effect of a posting on one balance key. */
typedef struct Effect
{
	int			posting;		/* index into postings */
	bool		entering;		/* the +q side of a two-key posting */
	Numeric		delta;			/* NULL for a count until computed */
	int64		location;
	char	   *bucket;
} Effect;

typedef struct KeyEntry
{
	BalanceKey	key;			/* hash key: must be first */
	int		   *effects;		/* indexes into the effects array, in posting order */
	int			neffects;
	int			maxeffects;
} KeyEntry;

/* The statement's postings, their effects, and the keys they touch. */
typedef struct Batch
{
	Posting    *postings;
	int			npostings;
	int			maxpostings;
	Effect	   *effects;		/* room for two per posting */
	int			neffects;
	HTAB	   *keys;			/* BalanceKey -> KeyEntry */
	KeyEntry  **sorted;			/* the keys in the global order */
	int			nkeys;
	Numeric		zero;
	bool		register_events;	/* a partitioned ledger: into the event registry */
} Batch;

/* The ledger layout of the relation the statement trigger last fired on. */
static LedgerLayout apply_layout;

/* ------------------------------------------------------------------------
 * SPI plans, prepared once and kept.
 * ------------------------------------------------------------------------ */
typedef enum ApplyPlan
{
	AP_CREATE,
	AP_EXCEPTION,
	AP_SERIAL_LOCK,
	AP_SERIAL_SET,
	AP_LOT_REGISTER,
	AP_LOT_RELEASE,
	AP_SERIAL_ON_KEY,
	NUM_APPLY_PLANS
} ApplyPlan;

/* Schema-qualified throughout: see master_cache.c (no dependence on search_path). */
static const char *const apply_sql[NUM_APPLY_PLANS] = {
	"INSERT INTO inventory_sync.balance (item_gtin, location, lot, bucket)"
	" VALUES ($1::inventory_sync.gtin, $2::inventory_sync.gln, $3, $4) ON CONFLICT DO NOTHING",
	"INSERT INTO inventory_sync.exception (kind, posting_id, item_gtin, location, lot, serial, bucket, detail)"
	" VALUES ($1::inventory_sync.exception_kind, $2, $3::inventory_sync.gtin, $4::inventory_sync.gln, $5, $6, $7, $8)",
	"SELECT location::bigint FROM inventory_sync.serial_unit"
	" WHERE item_gtin OPERATOR(inventory_sync.=) $1::inventory_sync.gtin AND serial OPERATOR(inventory_sync.=) $2 FOR UPDATE",
	"INSERT INTO inventory_sync.serial_unit AS s (item_gtin, serial, location, lot, bucket, posting_id)"
	" VALUES ($1::inventory_sync.gtin, $2, $3::inventory_sync.gln, $4, $5, $6)"
	" ON CONFLICT (item_gtin, serial) DO UPDATE SET location = excluded.location, lot = excluded.lot,"
	"   bucket = excluded.bucket, posting_id = excluded.posting_id",
	"INSERT INTO inventory_sync.lot (item_gtin, lot) VALUES ($1::inventory_sync.gtin, $2)"
	" ON CONFLICT DO NOTHING",
	"UPDATE inventory_sync.lot SET released_at = pg_catalog.now(), released_by = $4"
	" WHERE item_gtin OPERATOR(inventory_sync.=) $1::inventory_sync.gtin AND lot OPERATOR(inventory_sync.=) $2"
	"   AND released_at IS NULL AND EXISTS (SELECT FROM inventory_sync.bucket b"
	"       WHERE b.bucket OPERATOR(pg_catalog.=) $3 AND b.sellable)",
	/* one serial's changes of a key: its postings (ledger_serial), each one's change of the key */
	"SELECT COALESCE(pg_catalog.sum((SELECT c.delta FROM inventory_sync.balance_change c"
	"   WHERE c.balance_id OPERATOR(pg_catalog.=) $1 AND c.event_time OPERATOR(pg_catalog.=) l.event_time"
	"     AND c.posting_id OPERATOR(pg_catalog.=) l.posting_id)), 0)"
	" FROM inventory_sync.ledger l"
	" WHERE l.item_gtin OPERATOR(inventory_sync.=) $2::inventory_sync.gtin"
	"   AND l.serial OPERATOR(inventory_sync.=) $3 AND l.serial IS NOT NULL"
	"   AND l.event_time OPERATOR(pg_catalog.<=) $4",
};

static SPIPlanPtr apply_plans[NUM_APPLY_PLANS];

/* The extension's types moved: every plan taking them is prepared again on next use. */
static void
forget_plans(void)
{
	int			i;

	for (i = 0; i < NUM_APPLY_PLANS; i++)
	{
		if (apply_plans[i] != NULL)
			SPI_freeplan(apply_plans[i]);
		apply_plans[i] = NULL;
	}
}

/*
 * Each plan's parameter types, one letter per parameter: i bigint, t text,
 * l lot_number, s serial_number (the extension's types, whose OIDs can move).
 */
static const char *const apply_args[NUM_APPLY_PLANS] = {
	"iilt",						/* AP_CREATE */
	"tiiilstt",					/* AP_EXCEPTION */
	"is",						/* AP_SERIAL_LOCK */
	"isilti",					/* AP_SERIAL_SET */
	"il",						/* AP_LOT_REGISTER */
	"iltt",						/* AP_LOT_RELEASE */
	"iisz",						/* AP_SERIAL_ON_KEY */
};

static Oid
plan_arg_type(char letter)
{
	switch (letter)
	{
		case 'i':
			return INT8OID;
		case 't':
			return TEXTOID;
		case 'z':
			return TIMESTAMPTZOID;
		case 'l':
			return posting_catalog.lot_type;
		case 's':
			return posting_catalog.serial_type;
	}
	elog(ERROR, "inventory_sync: unknown plan parameter type '%c'", letter);
	return InvalidOid;			/* keep compiler quiet */
}

static SPIPlanPtr
apply_plan(ApplyPlan which)
{
	Oid			types[8];
	int			nargs = strlen(apply_args[which]);
	SPIPlanPtr	plan;
	int			i;

	if (apply_plans[which] != NULL)
		return apply_plans[which];
	Assert(nargs <= lengthof(types));
	for (i = 0; i < nargs; i++)
		types[i] = plan_arg_type(apply_args[which][i]);
	plan = is_prepare_kept(apply_sql[which], nargs, types, 0);
	apply_plans[which] = plan;
	return plan;
}

static void
run_plan(ApplyPlan which, Datum *values, const char *nulls, int expect, long limit)
{
	int			rc = SPI_execute_plan(apply_plan(which), values, nulls, false, limit);

	if (rc != expect)
		elog(ERROR, "inventory_sync: \"%s\" failed: %s", apply_sql[which], SPI_result_code_string(rc));
}

/* Record a fact that needs investigation in inventory_sync.exception. */
static void
record_exception(const char *kind, const Posting *p, const BalanceKey *key, const char *detail)
{
	Datum		v[8];
	char		n[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

	v[0] = CStringGetTextDatum(kind);
	v[1] = Int64GetDatum(p->posting_id);
	v[2] = Int64GetDatum(key->item);
	v[3] = Int64GetDatum(key->location);
	v[4] = p->lot;
	if (!p->lot)
		n[4] = 'n';
	v[5] = p->serial;
	if (!p->serial)
		n[5] = 'n';
	v[6] = CStringGetTextDatum(key->bucket);
	v[7] = CStringGetTextDatum(detail);
	run_plan(AP_EXCEPTION, v, n, SPI_OK_INSERT, 0);
}

/* ------------------------------------------------------------------------
 * The global orders: keys, lots, serials, lot releases.
 * ------------------------------------------------------------------------ */
static int
key_cmp(const void *a, const void *b)
{
	const BalanceKey *x = &(*(KeyEntry *const *) a)->key;
	const BalanceKey *y = &(*(KeyEntry *const *) b)->key;
	int			c;

	if (x->item != y->item)
		return x->item < y->item ? -1 : 1;
	if (x->location != y->location)
		return x->location < y->location ? -1 : 1;
	if (x->has_lot != y->has_lot)
		return x->has_lot ? 1 : -1;
	c = strcmp(x->lot, y->lot);
	if (c != 0)
		return c;
	return strcmp(x->bucket, y->bucket);
}

/* Lots are registered in (item, lot) order. */
static int
lot_cmp(const void *a, const void *b)
{
	const BalanceKey *x = &(*(KeyEntry *const *) a)->key;
	const BalanceKey *y = &(*(KeyEntry *const *) b)->key;

	if (x->item != y->item)
		return x->item < y->item ? -1 : 1;
	return strcmp(x->lot, y->lot);
}

/* What posting_text_cmp orders posting indexes by: a text column of the postings. */
typedef struct PostingOrder
{
	const Posting *postings;
	size_t		text_offset;	/* offsetof(Posting, serial) or offsetof(Posting, lot) */
} PostingOrder;

/* Posting indexes by (item, the text column, posting order). */
static int
posting_text_cmp(const void *a, const void *b, void *arg)
{
	const PostingOrder *o = (const PostingOrder *) arg;
	const Posting *x = &o->postings[*(const int *) a];
	const Posting *y = &o->postings[*(const int *) b];
	text	   *xs;
	text	   *ys;
	int			c;

	if (x->item != y->item)
		return x->item < y->item ? -1 : 1;
	xs = DatumGetTextPP(*(const Datum *) ((const char *) x + o->text_offset));
	ys = DatumGetTextPP(*(const Datum *) ((const char *) y + o->text_offset));
	c = memcmp(VARDATA_ANY(xs), VARDATA_ANY(ys),
			   Min(VARSIZE_ANY_EXHDR(xs), VARSIZE_ANY_EXHDR(ys)));
	if (c == 0)
		c = (int) VARSIZE_ANY_EXHDR(xs) - (int) VARSIZE_ANY_EXHDR(ys);
	if (c == 0)
		c = *(const int *) a - *(const int *) b;
	return c;
}

/* Sort posting indexes by (item, the text column at offset, posting order). */
static void
sort_postings_by(const Batch *b, int *order, int n, size_t offset)
{
	PostingOrder o = {b->postings, offset};

	qsort_arg(order, n, sizeof(int), posting_text_cmp, &o);
}

/* ------------------------------------------------------------------------
 * Collect: the transition table into postings, effects and keys.
 * ------------------------------------------------------------------------ */

/*
 * Columns the apply step reads that the row trigger guarantees (item_gtin and
 * base_quantity are the ones it resolves). A row that reached the ledger without the
 * trigger (disabled on the table or a partition) is refused, never read.
 */
static const LedgerCol applied_cols[] = {
	LC_POSTING_ID, LC_KIND, LC_SOURCE, LC_SOURCE_EVENT_ID, LC_ITEM_GTIN, LC_LOCATION,
	LC_BUCKET, LC_BASE_QUANTITY, LC_EVENT_TIME, LC_RECORDED_AT, LC_ACTOR
};

static inline void
check_row_validated(TupleTableSlot *slot, const LedgerLayout *l, Relation rel)
{
	int			i;

	for (i = 0; i < lengthof(applied_cols); i++)
		if (slot->tts_isnull[l->att[applied_cols[i]] - 1])
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("a row of \"%s\" reached the posting engine without %s",
							RelationGetRelationName(rel), ledger_col_names[applied_cols[i]]),
					 errdetail("The ledger's row trigger sets it; it did not run for this row."),
					 errhint("Enable the trigger ledger_10_validate on the ledger and on every partition of it."),
					 errtablecol(rel, l->att[applied_cols[i]])));
}

/*
 * A lot release is the move of a lot's stock with the reason code LOT_RELEASE_REASON,
 * what release_lot() posts. The row trigger has checked it as any move: the reason code
 * exists, the source is bound to the posting role and owns the bucket the stock enters.
 * Applying it stamps the lot released when that bucket is sellable (stamp_released_lots):
 * the stamp cannot be written by anyone the posting rules would refuse.
 */
#define LOT_RELEASE_REASON "lot_release"

static inline bool
posting_releases_lot(TupleTableSlot *slot, const LedgerLayout *l, PostingKind kind)
{
	text	   *reason;

	if (kind != PK_MOVE || slot->tts_isnull[l->att[LC_LOT] - 1] ||
		slot->tts_isnull[l->att[LC_REASON] - 1])
		return false;
	reason = DatumGetTextPP(slot->tts_values[l->att[LC_REASON] - 1]);
	return VARSIZE_ANY_EXHDR(reason) == strlen(LOT_RELEASE_REASON) &&
		memcmp(VARDATA_ANY(reason), LOT_RELEASE_REASON, strlen(LOT_RELEASE_REASON)) == 0;
}

/* Posting number posting's effect on (its item and lot, location, bucket). */
static inline void
add_effect(Batch *b, int posting, int64 location, const char *bucket, bool entering,
		   Numeric delta)
{
	const Posting *p = &b->postings[posting];
	Effect	   *eff = &b->effects[b->neffects];
	BalanceKey	k;
	KeyEntry   *e;
	bool		found;

	memset(&k, 0, sizeof(k));
	k.item = p->item;
	k.location = location;
	if (p->lot)
	{
		text	   *t = DatumGetTextPP(p->lot);

		k.has_lot = true;
		memcpy(k.lot, VARDATA_ANY(t), Min(VARSIZE_ANY_EXHDR(t), sizeof(k.lot) - 1));
	}
	strlcpy(k.bucket, bucket, sizeof(k.bucket));

	e = hash_search(b->keys, &k, HASH_ENTER, &found);
	if (!found)
	{
		e->maxeffects = 4;
		e->neffects = 0;
		e->effects = palloc(sizeof(int) * e->maxeffects);
	}
	else if (e->neffects == e->maxeffects)
	{
		e->maxeffects *= 2;
		e->effects = repalloc(e->effects, sizeof(int) * e->maxeffects);
	}
	e->effects[e->neffects++] = b->neffects;

	eff->posting = posting;
	eff->entering = entering;
	eff->delta = delta;
	eff->location = location;
	eff->bucket = pstrdup(bucket);
	b->neffects++;
}

/* The production order a reference names: its first word (production_order_of() in SQL). */
static char *
production_order_of(Datum reference)
{
	char	   *r = TextDatumGetCString(reference);
	char	   *space = strchr(r, ' ');

	if (space != NULL)
		*space = '\0';
	return r[0] != '\0' ? r : NULL;
}

/* One row of the transition table as the next posting, with its effects. */
static inline void
collect_posting(Batch *b, TupleTableSlot *slot, const LedgerLayout *l, Relation rel)
{
	Posting    *p = &b->postings[b->npostings];
	char	   *bucket;
	char	   *to_bucket;
	int64		to_location;

	slot_getallattrs(slot);
	check_row_validated(slot, l, rel);
#define COL(c) slot->tts_values[l->att[c] - 1]
#define ISNULL(c) slot->tts_isnull[l->att[c] - 1]
	p->posting_id = DatumGetInt64(COL(LC_POSTING_ID));
	p->kind = posting_kind_of(DatumGetObjectId(COL(LC_KIND)));
	p->releases_lot = posting_releases_lot(slot, l, p->kind);
	if (!p->releases_lot)
		p->actor = (Datum) 0;
	else if (l->actor_is_name)
		p->actor = CStringGetTextDatum(NameStr(*DatumGetName(COL(LC_ACTOR))));
	else
		p->actor = PointerGetDatum(PG_DETOAST_DATUM_COPY(COL(LC_ACTOR)));
	p->source = PointerGetDatum(PG_DETOAST_DATUM_COPY(COL(LC_SOURCE)));
	p->event_id = PointerGetDatum(PG_DETOAST_DATUM_COPY(COL(LC_SOURCE_EVENT_ID)));
	p->source_str = TextDatumGetCString(p->source);
	p->item = DatumGetInt64(COL(LC_ITEM_GTIN));
	p->location = DatumGetInt64(COL(LC_LOCATION));
	p->lot = ISNULL(LC_LOT) ? (Datum) 0 : PointerGetDatum(PG_DETOAST_DATUM_COPY(COL(LC_LOT)));
	p->serial = ISNULL(LC_SERIAL) ? (Datum) 0 : PointerGetDatum(PG_DETOAST_DATUM_COPY(COL(LC_SERIAL)));
	p->base_quantity = DatumGetNumericCopy(COL(LC_BASE_QUANTITY));
	p->expected = ISNULL(LC_EXPECTED_QUANTITY) ? NULL : DatumGetNumericCopy(COL(LC_EXPECTED_QUANTITY));
	p->event_time = DatumGetTimestampTz(COL(LC_EVENT_TIME));
	p->recorded_at = DatumGetTimestampTz(COL(LC_RECORDED_AT));
	bucket = TextDatumGetCString(COL(LC_BUCKET));
	to_bucket = ISNULL(LC_TO_BUCKET) ? bucket : TextDatumGetCString(COL(LC_TO_BUCKET));
	to_location = ISNULL(LC_TO_LOCATION) ? p->location : DatumGetInt64(COL(LC_TO_LOCATION));
	p->production_order = (p->kind == PK_CONSUMPTION && p->lot && !ISNULL(LC_REFERENCE))
		? production_order_of(COL(LC_REFERENCE)) : NULL;
	p->fingerprint = b->register_events ? event_fingerprint_slot(slot, l) : 0;
#undef COL
#undef ISNULL

	p->first_effect = b->neffects;
	if (p->kind == PK_COUNT)
		add_effect(b, b->npostings, p->location, bucket, false, NULL);
	else
	{
		add_effect(b, b->npostings, p->location, bucket, false, p->base_quantity);
		if (kind_is_two_key(p->kind))
			add_effect(b, b->npostings, to_location, to_bucket, true, num_neg(p->base_quantity));
	}
	p->neffects = b->neffects - p->first_effect;
	b->npostings++;
}

/* The statement's postings, in insertion order (the transition table's), into b. */
static void
collect_postings(Batch *b, Tuplestorestate *newrows, Relation rel, MemoryContext cxt)
{
	TupleDesc	desc = RelationGetDescr(rel);
	TupleTableSlot *slot;
	HASHCTL		ctl;

	ledger_layout_for(rel, &apply_layout);
	b->maxpostings = Max(tuplestore_tuple_count(newrows), 1);
	b->postings = MemoryContextAllocHuge(cxt, sizeof(Posting) * b->maxpostings);
	b->effects = MemoryContextAllocHuge(cxt, sizeof(Effect) * b->maxpostings * 2);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(BalanceKey);
	ctl.entrysize = sizeof(KeyEntry);
	ctl.hcxt = cxt;
	b->keys = hash_create("inventory_sync keys", 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(newrows);
	while (tuplestore_gettupleslot(newrows, true, false, slot))
	{
		if (b->npostings == b->maxpostings)
		{
			b->maxpostings *= 2;
			b->postings = repalloc_huge(b->postings, sizeof(Posting) * b->maxpostings);
			b->effects = repalloc_huge(b->effects, sizeof(Effect) * b->maxpostings * 2);
		}
		collect_posting(b, slot, &apply_layout, rel);
		ExecClearTuple(slot);
	}
	ExecDropSingleTupleTableSlot(slot);
}

/* One global order for every statement: item, location, lot, bucket. */
static void
order_keys(Batch *b)
{
	HASH_SEQ_STATUS seq;
	KeyEntry   *ke;
	int			i = 0;

	b->nkeys = hash_get_num_entries(b->keys);
	b->sorted = palloc(sizeof(KeyEntry *) * Max(b->nkeys, 1));
	hash_seq_init(&seq, b->keys);
	while ((ke = hash_seq_search(&seq)) != NULL)
		b->sorted[i++] = ke;
	qsort(b->sorted, b->nkeys, sizeof(KeyEntry *), key_cmp);
}

/* ------------------------------------------------------------------------
 * Apply one key.
 * ------------------------------------------------------------------------ */

/* The key's row, created first if it is new (ON CONFLICT: someone may race us). */
static void
find_or_create_row(BalanceAccess *ba, const BalanceKey *key, Datum lot, bool lock, BalanceRow *row)
{
	while (!balance_find(ba, key, lot, lock, row))
	{
		Datum		v[4];
		char		n[4] = {' ', ' ', ' ', ' '};

		v[0] = Int64GetDatum(key->item);
		v[1] = Int64GetDatum(key->location);
		v[2] = lot;
		n[2] = key->has_lot ? ' ' : 'n';
		v[3] = CStringGetTextDatum(key->bucket);
		run_plan(AP_CREATE, v, n, SPI_OK_INSERT, 0);
		CommandCounterIncrement();
	}
}

/* Two postings name the same serial (both name one). */
static bool
same_serial(Datum x, Datum y)
{
	text	   *xs = DatumGetTextPP(x);
	text	   *ys = DatumGetTextPP(y);

	return VARSIZE_ANY_EXHDR(xs) == VARSIZE_ANY_EXHDR(ys) &&
		memcmp(VARDATA_ANY(xs), VARDATA_ANY(ys), VARSIZE_ANY_EXHDR(xs)) == 0;
}

/*
 * How many of the key's units are the count's serial, as of the count's event time: the
 * serial's changes of the key recorded so far, and this statement's earlier effects of
 * it on the key. The key's balance is the sum of its units; a count of one unit is
 * compared with that unit's part of it alone.
 */
static Numeric
serial_on_key(Batch *b, const KeyEntry *k, int j, int64 balance_id)
{
	const Posting *p = &b->postings[b->effects[k->effects[j]].posting];
	Datum		v[4];
	bool		isnull;
	Numeric		sum;
	int			m;

	v[0] = Int64GetDatum(balance_id);
	v[1] = Int64GetDatum(p->item);
	v[2] = p->serial;
	v[3] = TimestampTzGetDatum(p->event_time);
	run_plan(AP_SERIAL_ON_KEY, v, NULL, SPI_OK_SELECT, 1);
	sum = DatumGetNumeric(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	sum = num_add(sum, b->zero);	/* out of the tuple table, which goes now */
	SPI_freetuptable(SPI_tuptable);
	for (m = 0; m < j; m++)
	{
		const Effect *pe = &b->effects[k->effects[m]];
		const Posting *pp = &b->postings[pe->posting];

		if (pp->serial && same_serial(pp->serial, p->serial) && pp->event_time <= p->event_time)
			sum = num_add(sum, pe->delta);
	}
	return sum;
}

/*
 * A count's delta: the counted quantity minus the balance as of the count's event
 * time (the balance less the key's changes after it, this statement's earlier effects
 * included). The key's count watermark moves forward to it.
 *
 * A count that names a serial states where one unit is (1: here, 0: not here): its
 * delta is taken against that unit's part of the key only, and it leaves the key's
 * watermark alone, since the key's other units were not counted.
 */
static void
count_delta(Batch *b, const KeyEntry *k, int j, int64 balance_id, BalanceState *s)
{
	Effect	   *eff = &b->effects[k->effects[j]];
	const Posting *p = &b->postings[eff->posting];
	Numeric		later;
	int			m;

	if (p->serial)
	{
		eff->delta = num_sub(p->base_quantity, serial_on_key(b, k, j, balance_id));
		return;
	}
	later = sum_after(balance_id, p->event_time);
	for (m = 0; m < j; m++)
	{
		const Effect *pe = &b->effects[k->effects[m]];

		if (b->postings[pe->posting].event_time > p->event_time)
			later = num_add(later, pe->delta);
	}
	eff->delta = num_sub(p->base_quantity, num_sub(s->quantity, later));
	if (!s->has_count_at || p->event_time > s->last_count_at)
	{
		s->has_count_at = true;
		s->last_count_at = p->event_time;
	}
}

static void
record_late_event(const Posting *p, const BalanceKey *key, TimestampTz last_count_at)
{
	char	   *detail;

	detail = psprintf("event \"%s\" of source \"%s\" happened at %s, before the count of %s it arrived after",
					  text_to_cstring(DatumGetTextPP(p->event_id)), p->source_str,
					  timestamptz_to_str(p->event_time),
					  timestamptz_to_str(last_count_at));
	record_exception("late_event", p, key, detail);
}

static void
refuse_stale_expected(const Posting *p, const BalanceKey *key, Numeric before)
{
	ereport(ERROR,
			(errcode(ERRCODE_IS_STALE_EXPECTED_QUANTITY),
			 errmsg("balance of gtin %s at location %s, bucket \"%s\" is %s, not the expected %s",
					key_text(key->item, GS1_KEY_GTIN), key_text(key->location, GS1_KEY_GLN),
					key->bucket, num_text(before), num_text(p->expected)),
			 errdetail("Source \"%s\", event \"%s\".", p->source_str,
					   text_to_cstring(DatumGetTextPP(p->event_id))),
			 errhint("Read the balance again and retry with the quantity you find.")));
}

/*
 * A production order consumes lots that are there: consuming a lot the key never held
 * (a lot scanned wrong, or not received yet) or more than it has left (a lot already
 * consumed) would make the lot's genealogy name an input that was not used, so it is
 * refused wherever it happens, strict location or not.
 */
static void
refuse_lot_not_there(const Posting *p, const BalanceKey *key, Numeric before, bool never_held)
{
	const char *lot = text_to_cstring(DatumGetTextPP(p->lot));
	const char *event = text_to_cstring(DatumGetTextPP(p->event_id));

	if (never_held)
		ereport(ERROR,
				(errcode(ERRCODE_IS_LOT_NOT_AVAILABLE),
				 errmsg("production order %s consumes lot %s of gtin %s, which was never at location %s, bucket \"%s\"",
						p->production_order, lot, key_text(key->item, GS1_KEY_GTIN),
						key_text(key->location, GS1_KEY_GLN), key->bucket),
				 errdetail("Source \"%s\", event \"%s\".", p->source_str, event),
				 errhint("Check the lot scanned; a lot is consumed where it is: post its receipt, or its move into this bucket, first.")));
	ereport(ERROR,
			(errcode(ERRCODE_IS_LOT_NOT_AVAILABLE),
			 errmsg("production order %s consumes %s of lot %s of gtin %s at location %s, bucket \"%s\", which has %s left",
					p->production_order, num_text(num_neg(p->base_quantity)), lot,
					key_text(key->item, GS1_KEY_GTIN), key_text(key->location, GS1_KEY_GLN),
					key->bucket, num_text(before)),
			 errdetail("Source \"%s\", event \"%s\".", p->source_str, event),
			 errhint("The lot is used up here: check the lot scanned, or post what is missing (a receipt, a count) first.")));
}

/* A strict location refuses a balance going negative; any other records it. */
static void
on_negative_balance(const Posting *p, const BalanceKey *key, const LocationInfo *loc,
					Numeric before, Numeric delta, Numeric after)
{
	if (loc->strict)
		ereport(ERROR,
				(errcode(ERRCODE_IS_INSUFFICIENT_STOCK),
				 errmsg("insufficient stock: gtin %s at location %s, bucket \"%s\" has %s, the posting takes %s",
						key_text(key->item, GS1_KEY_GTIN), key_text(key->location, GS1_KEY_GLN),
						key->bucket, num_text(before), num_text(num_neg(delta))),
				 errdetail("Location %s is strict: it refuses postings that drive a balance negative (source \"%s\", event \"%s\").",
						   key_text(key->location, GS1_KEY_GLN), p->source_str,
						   text_to_cstring(DatumGetTextPP(p->event_id)))));
	record_exception("negative_balance", p, key,
					 psprintf("balance went from %s to %s", num_text(before), num_text(after)));
}

/*
 * Effect j of the key on state s, its after-state into *after. Returns false, having
 * decided nothing, when the effect is not plain (a late event, a stale expected
 * quantity, a balance going negative) and the row is not locked: such an effect is
 * decided on the locked row only, where it is final.
 */
static bool
apply_effect(Batch *b, const KeyEntry *k, int j, bool locked, const LocationInfo *loc,
			 int64 balance_id, BalanceState *s, AfterState *after)
{
	const Effect *eff = &b->effects[k->effects[j]];
	const Posting *p = &b->postings[eff->posting];
	Numeric		before = s->quantity;

	if (p->kind == PK_COUNT)
		count_delta(b, k, j, balance_id, s);
	else if (s->has_count_at && p->event_time < s->last_count_at)
	{
		if (!locked)
			return false;
		record_late_event(p, &k->key, s->last_count_at);
	}
	if (p->expected != NULL && !eff->entering && num_cmp(p->expected, before) != 0)
	{
		if (!locked)
			return false;
		refuse_stale_expected(p, &k->key, before);
	}
	s->quantity = num_add(s->quantity, eff->delta);
	s->version++;
	s->last_posting = p->posting_id;
	if (num_sign(eff->delta) < 0 && num_cmp(s->quantity, b->zero) < 0)
	{
		if (!locked)
			return false;
		if (p->production_order != NULL)
			refuse_lot_not_there(p, &k->key, before, s->version == 1);
		on_negative_balance(p, &k->key, loc, before, eff->delta, s->quantity);
	}

	after->posting_id = p->posting_id;
	after->balance_id = balance_id;
	after->item = k->key.item;
	after->location = k->key.location;
	after->lot = p->lot;
	after->delta = eff->delta;
	after->quantity = s->quantity;
	after->version = s->version;
	after->kind = p->kind;
	after->source = p->source;
	after->event_id = p->event_id;
	after->event_time = p->event_time;
	after->recorded_at = p->recorded_at;
	return true;
}

/*
 * Read the key's row, work out its new state, write it, append its after-states.
 * Optimistic first: the row is read unlocked and updated only if nobody changed it
 * meanwhile (one WAL record fewer than locking it first). Anything but the plain case
 * (a concurrent change, a late event, a stale expected quantity, a balance going
 * negative) is decided again on the locked row, where it is final.
 */
static void
apply_key(Batch *b, BalanceAccess *ba, HeapAppend *w, const KeyEntry *k)
{
	AfterState *after = palloc(sizeof(AfterState) * k->neffects);
	Datum		bucket = CStringGetTextDatum(k->key.bucket);
	Datum		lot = k->key.has_lot ? b->postings[b->effects[k->effects[0]].posting].lot : (Datum) 0;
	LocationInfo loc;
	bool		locked = false;
	int			j;

	mc_location(k->key.location, &loc);
	for (;;)
	{
		BalanceRow	row;
		BalanceState s;
		bool		plain = true;

		find_or_create_row(ba, &k->key, lot, locked, &row);
		s = row.state;
		for (j = 0; j < k->neffects && plain; j++)
			plain = apply_effect(b, k, j, locked, &loc, row.balance_id, &s, &after[j]);
		if (!plain)
		{
			locked = true;
			continue;
		}
		if (balance_write(ba, &row, locked, &s))
			break;
		/* changed since it was read: as UPDATE, an error where the snapshot is the transaction's */
		if (IsolationUsesXactSnapshot())
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent update")));
		locked = true;
	}
	for (j = 0; j < k->neffects; j++)
	{
		after[j].bucket = bucket;
		after_state_append(w, &after[j]);
	}
	/* the rows are copied into their slots: the key's values go with it */
	pfree(after);
	pfree(DatumGetPointer(bucket));
}

/* ------------------------------------------------------------------------
 * Finish: serial units, lots, released lots, channel ATP.
 * ------------------------------------------------------------------------ */

/*
 * Where the posting's serial is known to be, then where its effects (leaving, then
 * entering) take it; each contradiction is recorded as a serial_conflict.
 */
static void
track_serial(Batch *b, const Posting *p)
{
	Datum		v[6];
	char		n[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	bool		has_at = false;
	int64		at = 0;
	int			e;

	v[0] = Int64GetDatum(p->item);
	v[1] = p->serial;
	run_plan(AP_SERIAL_LOCK, v, n, SPI_OK_SELECT, 1);
	if (SPI_processed > 0)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		has_at = !isnull;
		if (!isnull)
			at = DatumGetInt64(d);
	}
	for (e = p->first_effect; e < p->first_effect + p->neffects; e++)
	{
		const Effect *eff = &b->effects[e];
		BalanceKey	k;
		int			s;

		memset(&k, 0, sizeof(k));
		k.item = p->item;
		k.location = eff->location;
		strlcpy(k.bucket, eff->bucket, sizeof(k.bucket));
		s = num_sign(eff->delta);
		if (s < 0)
		{
			if (!has_at || at != eff->location)
				record_exception("serial_conflict", p, &k,
								 has_at ? psprintf("serial leaves location %s but is known to be at %s",
												   key_text(eff->location, GS1_KEY_GLN), key_text(at, GS1_KEY_GLN))
								 : psprintf("serial leaves location %s but is not known to be on hand",
											key_text(eff->location, GS1_KEY_GLN)));
			has_at = false;
		}
		else if (s > 0)
		{
			if (has_at)
				record_exception("serial_conflict", p, &k,
								 at == eff->location
								 ? psprintf("serial arrives at location %s where it already is",
											key_text(at, GS1_KEY_GLN))
								 : psprintf("serial arrives at location %s but is known to be at %s",
											key_text(eff->location, GS1_KEY_GLN), key_text(at, GS1_KEY_GLN)));
			has_at = true;
			at = eff->location;
		}
	}
	v[2] = Int64GetDatum(at);
	n[2] = has_at ? ' ' : 'n';
	v[3] = p->lot;
	n[3] = p->lot ? ' ' : 'n';
	v[4] = CStringGetTextDatum(b->effects[p->first_effect + p->neffects - 1].bucket);
	n[4] = has_at ? ' ' : 'n';
	v[5] = Int64GetDatum(p->posting_id);
	run_plan(AP_SERIAL_SET, v, n, SPI_OK_INSERT, 0);
}

/* Serials, in (item, serial) order: one place at a time, conflicts become exceptions. */
static void
track_serials(Batch *b)
{
	int		   *order = palloc(sizeof(int) * b->npostings);
	int			n = 0;
	int			i;

	for (i = 0; i < b->npostings; i++)
		if (b->postings[i].serial)
			order[n++] = i;
	sort_postings_by(b, order, n, offsetof(Posting, serial));
	for (i = 0; i < n; i++)
		track_serial(b, &b->postings[order[i]]);
}

/*
 * Lots seen for the first time are registered (expiry is set by register_lot), in
 * (item, lot) order: a new lot's row is a lock that a concurrent statement registering
 * the same lot waits for, so every statement takes them in one order.
 */
static void
register_lots(Batch *b)
{
	KeyEntry  **lots = palloc(sizeof(KeyEntry *) * Max(b->nkeys, 1));
	int			nlots = 0;
	int			i;

	for (i = 0; i < b->nkeys; i++)
		if (b->sorted[i]->key.has_lot)
			lots[nlots++] = b->sorted[i];
	qsort(lots, nlots, sizeof(KeyEntry *), lot_cmp);
	for (i = 0; i < nlots; i++)
	{
		Datum		v[2];

		if (i > 0 && lot_cmp(&lots[i - 1], &lots[i]) == 0)
			continue;
		v[0] = Int64GetDatum(lots[i]->key.item);
		v[1] = b->postings[b->effects[lots[i]->effects[0]].posting].lot;
		run_plan(AP_LOT_REGISTER, v, NULL, SPI_OK_INSERT, 0);
	}
}

/*
 * Stamp each lot released by the statement's moves once: when, and the role that posted
 * its release; in (item, lot) order, so two statements releasing the same lots never
 * deadlock.
 */
static void
stamp_released_lots(Batch *b)
{
	int		   *order = NULL;
	int			n = 0;
	int			i;

	for (i = 0; i < b->npostings; i++)
	{
		if (!b->postings[i].releases_lot)
			continue;
		if (order == NULL)
			order = palloc(sizeof(int) * b->npostings);
		order[n++] = i;
	}
	if (n == 0)
		return;
	sort_postings_by(b, order, n, offsetof(Posting, lot));
	for (i = 0; i < n; i++)
	{
		const Posting *p = &b->postings[order[i]];
		Datum		v[4];

		v[0] = Int64GetDatum(p->item);
		v[1] = p->lot;
		/* a move's second effect is the bucket the stock enters */
		v[2] = CStringGetTextDatum(b->effects[p->first_effect + 1].bucket);
		v[3] = p->actor;
		run_plan(AP_LOT_RELEASE, v, NULL, SPI_OK_UPDATE, 0);
	}
	pfree(order);
}

/* The statement's (item, location, bucket) keys, one per balance key, in key order. */
static void
statement_pairs(Batch *b, StatementPairs *pairs)
{
	int			n = Max(b->nkeys, 1);
	int			i;

	pairs->items = palloc(sizeof(Datum) * n);
	pairs->locations = palloc(sizeof(Datum) * n);
	pairs->buckets = palloc(sizeof(Datum) * n);
	pairs->n = b->nkeys;
	for (i = 0; i < b->nkeys; i++)
	{
		pairs->items[i] = Int64GetDatum(b->sorted[i]->key.item);
		pairs->locations[i] = Int64GetDatum(b->sorted[i]->key.location);
		pairs->buckets[i] = CStringGetTextDatum(b->sorted[i]->key.bucket);
	}
}

/*
 * A partitioned ledger's new events into the registry, in the statement's order: first,
 * as the unpartitioned ledger's unique index takes them as the rows are stored, so a
 * concurrent posting of the same event waits here, before any balance row is locked.
 */
static void
register_events(Batch *b)
{
	HeapAppend	w;
	int			i;

	registry_begin(&w, b->npostings);
	for (i = 0; i < b->npostings; i++)
	{
		const Posting *p = &b->postings[i];

		registry_add(&w, p->source, p->event_id, p->posting_id, p->recorded_at, p->fingerprint);
	}
	heap_append_finish(&w, false);
}

/* Everything the statement writes, in the order that keeps concurrent statements apart. */
static void
apply_batch(Batch *b)
{
	BalanceAccess ba;
	HeapAppend	after_states;
	StatementPairs pairs;
	ChannelStatement channels;
	bool		channel_keys;
	int			i;

	if (b->register_events)
		register_events(b);
	/* the promise keys of channels' locations before the balance rows (the lock order) */
	channel_keys = false;
	if (channels_in_play())
	{
		statement_pairs(b, &pairs);
		channel_keys = lock_channel_keys(&pairs, &channels);
	}
	after_states_begin(&after_states);
	balance_open(&ba);
	for (i = 0; i < b->nkeys; i++)
		apply_key(b, &ba, &after_states, b->sorted[i]);
	balance_close(&ba);

	track_serials(b);
	register_lots(b);
	/* after their registration above */
	stamp_released_lots(b);
	/* the last after-states (the key loop wrote them as it went) */
	after_states_finish(&after_states);
	/* after the keys: the channels selling from their locations move */
	if (channel_keys)
		publish_channel_atp(&pairs, &channels, b->postings[b->npostings - 1].posting_id);
}

PG_FUNCTION_INFO_V1(ledger_apply);
/* AFTER INSERT statement trigger on the ledger: apply the new postings to balances. */
Datum
ledger_apply(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	MemoryContext cxt;
	MemoryContext old;
	Batch		b;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event) || trigdata->tg_newtable == NULL)
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
						errmsg("ledger_apply() must be an AFTER INSERT statement trigger with REFERENCING NEW TABLE")));
	if (tuplestore_tuple_count(trigdata->tg_newtable) == 0)
		PG_RETURN_POINTER(NULL);

	if (posting_catalog_resolve())
		forget_plans();

	/*
	 * The engine runs with its owner's rights: it applies the postings of the ledger, which
	 * the row trigger has validated, and of no other table a caller might attach it to.
	 */
	rel = trigdata->tg_relation;
	if (RelationGetNamespace(rel) != posting_catalog.nsp ||
		strcmp(RelationGetRelationName(rel), "ledger") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("ledger_apply() applies the postings of inventory_sync.ledger only, not of \"%s\"",
						RelationGetRelationName(rel)),
				 errhint("Post by inserting into inventory_sync.ledger.")));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "inventory_sync apply", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	memset(&b, 0, sizeof(b));
	b.zero = int64_to_numeric(0);
	b.register_events = registry_applies(rel);
	collect_postings(&b, trigdata->tg_newtable, rel, cxt);
	order_keys(&b);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_sync: SPI_connect failed");
	is_engine_writing = true;
	PG_TRY();
	{
		apply_batch(&b);
	}
	PG_FINALLY();
	{
		is_engine_writing = false;
	}
	PG_END_TRY();
	SPI_finish();

	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	PG_RETURN_POINTER(NULL);
}
