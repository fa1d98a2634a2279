/*
 * posting.c
 *		The ledger's posting triggers (see posting.h for the two steps).
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/tableam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "parser/parse_relation.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "caller.h"
#include "gs1.h"
#include "master_cache.h"
#include "posting.h"

bool		is_engine_writing = false;

/* Posting kinds, in the order of the posting_kind enum. */
typedef enum PostingKind
{
	PK_RECEIPT,
	PK_ISSUE,
	PK_TRANSFER_OUT,
	PK_TRANSFER_IN,
	PK_ADJUSTMENT,
	PK_MOVE,
	PK_CONSUMPTION,
	PK_PRODUCTION,
	PK_RETURN,
	PK_COUNT,
	NUM_KINDS
} PostingKind;

static const char *const kind_names[NUM_KINDS] = {
	"receipt", "issue", "transfer_out", "transfer_in", "adjustment", "move",
	"consumption", "production", "return", "count"
};

/* Does the kind move stock from one key to another (two effects)? */
static inline bool
kind_is_two_key(PostingKind k)
{
	return k == PK_TRANSFER_OUT || k == PK_TRANSFER_IN || k == PK_MOVE;
}

/* Sign of the effect at (location, bucket): +1, -1, or 0 for signed/absolute kinds. */
static inline int
kind_sign(PostingKind k)
{
	switch (k)
	{
		case PK_RECEIPT:
		case PK_PRODUCTION:
		case PK_RETURN:
			return 1;
		case PK_ISSUE:
		case PK_CONSUMPTION:
		case PK_TRANSFER_OUT:
		case PK_TRANSFER_IN:
		case PK_MOVE:
			return -1;
		default:
			return 0;
	}
}

/*
 * Map a posting_kind enum OID to our enum. The OIDs are read from pg_enum once per
 * backend (and again if the type is recreated, e.g. after DROP/CREATE EXTENSION).
 */
static PostingKind
kind_from_oid(Oid enumval)
{
	HeapTuple	tup = SearchSysCache1(ENUMOID, ObjectIdGetDatum(enumval));
	const char *label;
	int			i;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "inventory_sync: unknown posting_kind value %u", enumval);
	label = NameStr(((Form_pg_enum) GETSTRUCT(tup))->enumlabel);
	for (i = 0; i < NUM_KINDS; i++)
	{
		if (strcmp(label, kind_names[i]) == 0)
		{
			ReleaseSysCache(tup);
			return (PostingKind) i;
		}
	}
	ReleaseSysCache(tup);
	elog(ERROR, "inventory_sync: unknown posting_kind \"%s\"", label);
	return NUM_KINDS;			/* keep compiler quiet */
}

/* ------------------------------------------------------------------------
 * Column positions of the ledger, by name, per relation (a partition's may differ).
 * ------------------------------------------------------------------------ */
typedef enum LedgerCol
{
	LC_POSTING_ID, LC_KIND, LC_SOURCE, LC_SOURCE_EVENT_ID, LC_SOURCE_SEQUENCE,
	LC_EVENT_TIME, LC_RECORDED_AT, LC_GTIN, LC_ITEM_GTIN, LC_LOCATION, LC_TO_LOCATION,
	LC_LOT, LC_SERIAL, LC_BUCKET, LC_TO_BUCKET, LC_QUANTITY, LC_UNIT, LC_BASE_QUANTITY,
	LC_EXPECTED_QUANTITY, LC_REASON, LC_REFERENCE, LC_ETA, LC_CORRECTS, LC_ACTOR,
	NUM_LEDGER_COLS
} LedgerCol;

static const char *const ledger_col_names[NUM_LEDGER_COLS] = {
	"posting_id", "kind", "source", "source_event_id", "source_sequence",
	"event_time", "recorded_at", "gtin", "item_gtin", "location", "to_location",
	"lot", "serial", "bucket", "to_bucket", "quantity", "unit", "base_quantity",
	"expected_quantity", "reason", "reference", "eta", "corrects", "actor"
};

typedef struct LedgerLayout
{
	Oid			relid;
	int			natts;
	AttrNumber	att[NUM_LEDGER_COLS];
	Oid			event_index;	/* unique index on (source, source_event_id), if known */
} LedgerLayout;

static LedgerLayout before_layout;
static LedgerLayout apply_layout;

static void
layout_for(TupleDesc desc, Oid relid, LedgerLayout *layout)
{
	int			c;

	if (layout->relid == relid && relid != InvalidOid && layout->natts == desc->natts)
		return;
	for (c = 0; c < NUM_LEDGER_COLS; c++)
	{
		int			a;

		layout->att[c] = InvalidAttrNumber;
		for (a = 0; a < desc->natts; a++)
		{
			Form_pg_attribute attr = TupleDescAttr(desc, a);

			if (!attr->attisdropped && strcmp(NameStr(attr->attname), ledger_col_names[c]) == 0)
			{
				layout->att[c] = a + 1;
				break;
			}
		}
		if (layout->att[c] == InvalidAttrNumber)
			elog(ERROR, "inventory_sync: ledger column \"%s\" is missing", ledger_col_names[c]);
	}
	layout->relid = relid;
	layout->natts = desc->natts;
	layout->event_index = InvalidOid;
}

/* ------------------------------------------------------------------------
 * Small helpers.
 * ------------------------------------------------------------------------ */
static inline Datum
get_col(HeapTuple tup, TupleDesc desc, const LedgerLayout *l, LedgerCol c, bool *isnull)
{
	return heap_getattr(tup, l->att[c], desc, isnull);
}

static inline char *
text_col(HeapTuple tup, TupleDesc desc, const LedgerLayout *l, LedgerCol c)
{
	bool		isnull;
	Datum		d = get_col(tup, desc, l, c, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static inline char *
key_text(int64 v, Gs1KeyKind kind)
{
	char	   *buf = palloc(24);

	gs1_key_format(kind, v, buf);
	return buf;
}

static inline Numeric
num_mul(Numeric a, Numeric b)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_mul, NumericGetDatum(a), NumericGetDatum(b)));
}

static inline Numeric
num_add(Numeric a, Numeric b)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_add, NumericGetDatum(a), NumericGetDatum(b)));
}

static inline Numeric
num_sub(Numeric a, Numeric b)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_sub, NumericGetDatum(a), NumericGetDatum(b)));
}

static inline Numeric
num_neg(Numeric a)
{
	return DatumGetNumeric(DirectFunctionCall1(numeric_uminus, NumericGetDatum(a)));
}

static inline int
num_cmp(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(a), NumericGetDatum(b)));
}

static inline int
num_sign(Numeric a)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(a),
											 NumericGetDatum(int64_to_numeric(0))));
}

static inline bool
num_is_integral(Numeric a)
{
	Numeric		t = DatumGetNumeric(DirectFunctionCall2(numeric_trunc, NumericGetDatum(a),
														Int32GetDatum(0)));

	return num_cmp(a, t) == 0;
}

static inline char *
num_text(Numeric a)
{
	return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(a)));
}

/* Describe the key a posting is about, for error details. */
static char *
posting_key_desc(const char *source, const char *event_id, int64 gtin, int64 gln)
{
	return psprintf("Source \"%s\", event \"%s\", gtin %s, location %s",
					source, event_id, key_text(gtin, GS1_KEY_GTIN), key_text(gln, GS1_KEY_GLN));
}

/* ------------------------------------------------------------------------
 * Replay detection: look (source, source_event_id) up through the ledger's unique index.
 * ------------------------------------------------------------------------ */
static Oid
find_event_index(Relation rel, const LedgerLayout *l)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			result = InvalidOid;

	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
		Form_pg_index idx;

		if (!HeapTupleIsValid(tup))
			continue;
		idx = (Form_pg_index) GETSTRUCT(tup);
		if (idx->indisunique && idx->indisvalid && idx->indnkeyatts >= 2 &&
			idx->indkey.values[0] == l->att[LC_SOURCE] &&
			idx->indkey.values[1] == l->att[LC_SOURCE_EVENT_ID])
			result = indexoid;
		ReleaseSysCache(tup);
		if (OidIsValid(result))
			break;
	}
	list_free(indexes);
	return result;
}

/*
 * Returns the stored ledger tuple of (source, event_id), copied, or NULL.
 * Uses the active snapshot: a row committed by another transaction after our snapshot
 * is caught by the unique index itself (23505).
 */
static HeapTuple
find_posted_event(Relation rel, LedgerLayout *l, Datum source, Datum event_id)
{
	Oid			indexoid;
	Relation	index;
	IndexScanDesc scan;
	ScanKeyData keys[2];
	TupleTableSlot *slot;
	HeapTuple	result = NULL;

	/* an index dropped and created again gets a new OID: look it up once per relation */
	if (!OidIsValid(l->event_index) ||
		!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(l->event_index)))
		l->event_index = find_event_index(rel, l);
	indexoid = l->event_index;
	if (!OidIsValid(indexoid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("ledger relation \"%s\" has no unique index on (source, source_event_id)",
						RelationGetRelationName(rel)),
				 errhint("Every ledger partition needs the index that makes replays idempotent.")));

	index = index_open(indexoid, AccessShareLock);
	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_TEXTEQ, source);
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_TEXTEQ, event_id);
	keys[0].sk_collation = DEFAULT_COLLATION_OID;
	keys[1].sk_collation = DEFAULT_COLLATION_OID;
	slot = table_slot_create(rel, NULL);
	scan = compat_index_beginscan(rel, index, GetActiveSnapshot(), 2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	if (index_getnext_slot(scan, ForwardScanDirection, slot))
		result = ExecCopySlotHeapTuple(slot);
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	return result;
}

/*
 * The columns every fact needs and the row trigger reads. PostgreSQL checks NOT NULL only
 * after the BEFORE ROW triggers have run, so the trigger checks these itself, first,
 * and reports them as PostgreSQL would (source and event id first: they name the fact).
 */
static const LedgerCol required_cols[] = {
	LC_SOURCE, LC_SOURCE_EVENT_ID, LC_KIND, LC_GTIN, LC_LOCATION, LC_BUCKET, LC_QUANTITY
};

static void
report_null_column(Relation rel, HeapTuple tup, const LedgerLayout *l, LedgerCol c)
{
	TupleDesc	desc = RelationGetDescr(rel);
	char	   *source = text_col(tup, desc, l, LC_SOURCE);
	char	   *event_id = text_col(tup, desc, l, LC_SOURCE_EVENT_ID);

	ereport(ERROR,
			(errcode(ERRCODE_NOT_NULL_VIOLATION),
			 errmsg("null value in column \"%s\" of relation \"%s\" violates not-null constraint",
					ledger_col_names[c], RelationGetRelationName(rel)),
			 event_id && source ? errdetail("Event \"%s\" of source \"%s\".", event_id, source) :
			 event_id ? errdetail("Event \"%s\".", event_id) :
			 source ? errdetail("Source \"%s\".", source) : 0,
			 errhint("Every posting needs kind, source, source_event_id, gtin, location, bucket and quantity."),
			 errtablecol(rel, l->att[c])));
}

/* Refuse a fact without a required column: a bitmap test per column, nothing allocated. */
static inline void
check_required_cols(Relation rel, HeapTuple tup, const LedgerLayout *l)
{
	int			i;

	for (i = 0; i < lengthof(required_cols); i++)
		if (heap_attisnull(tup, l->att[required_cols[i]], RelationGetDescr(rel)))
			report_null_column(rel, tup, l, required_cols[i]);
}

/*
 * NaN and infinity are valid numerics and timestamps, but no quantity or time of a fact:
 * an infinite event_time would also make every later posting of its key late (a count)
 * and latency unmeasurable.
 */
static void
check_finite(HeapTuple tup, TupleDesc desc, const LedgerLayout *l, Numeric quantity,
			 const char *source, const char *event_id, int64 gtin, int64 gln)
{
	bool		isnull;
	Datum		d;

	if (numeric_is_nan(quantity) || numeric_is_inf(quantity))
		ereport(ERROR,
				(errcode(ERRCODE_IS_INVALID_QUANTITY),
				 errmsg("quantity %s is not a number of units", num_text(quantity)),
				 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln))));
	d = get_col(tup, desc, l, LC_EXPECTED_QUANTITY, &isnull);
	if (!isnull && (numeric_is_nan(DatumGetNumeric(d)) || numeric_is_inf(DatumGetNumeric(d))))
		ereport(ERROR,
				(errcode(ERRCODE_IS_INVALID_QUANTITY),
				 errmsg("expected_quantity %s is not a number of units", num_text(DatumGetNumeric(d))),
				 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln)),
				 errhint("State the balance the posting expects to find, or leave expected_quantity empty.")));
	d = get_col(tup, desc, l, LC_EVENT_TIME, &isnull);
	if (!isnull && TIMESTAMP_NOT_FINITE(DatumGetTimestampTz(d)))
		ereport(ERROR,
				(errcode(ERRCODE_IS_INVALID_POSTING),
				 errmsg("event_time %s is not a point in time",
						TIMESTAMP_IS_NOBEGIN(DatumGetTimestampTz(d)) ? "-infinity" : "infinity"),
				 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln)),
				 errhint("State when the event happened at the source.")));
}

/* Same datum in two tuples (both NULL counts as same)? */
static bool
same_col(HeapTuple a, HeapTuple b, TupleDesc desc, AttrNumber att)
{
	bool		an,
				bn;
	Datum		ad = heap_getattr(a, att, desc, &an);
	Datum		bd = heap_getattr(b, att, desc, &bn);
	Form_pg_attribute attr = TupleDescAttr(desc, att - 1);

	if (an || bn)
		return an && bn;
	if (attr->atttypid == NUMERICOID)
		return num_cmp(DatumGetNumeric(ad), DatumGetNumeric(bd)) == 0;
	return datumIsEqual(ad, bd, attr->attbyval, attr->attlen);
}

/* ------------------------------------------------------------------------
 * Step 1: the row trigger.
 * ------------------------------------------------------------------------ */
/* The posting role's name, looked up once per role (and again after ALTER ROLE). */
static Oid	actor_id = InvalidOid;
static NameData actor_name;
static bool actor_callback_registered = false;

static void
actor_inval(Datum arg, int cacheid, uint32 hashvalue)
{
	actor_id = InvalidOid;
}

PG_FUNCTION_INFO_V1(ledger_before_insert);
/* BEFORE INSERT row trigger on the ledger: validate, resolve, detect replays. */
Datum
ledger_before_insert(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	tup;
	LedgerLayout *l = &before_layout;
	bool		isnull;
	PostingKind kind;
	char	   *source;
	char	   *event_id;
	char	   *bucket;
	char	   *to_bucket;
	char	   *unit;
	char	   *reason;
	int64		gtin;
	int64		gln;
	int64		to_gln = 0;
	bool		has_to_location;
	bool		has_lot;
	bool		has_serial;
	Numeric		quantity;
	Numeric		base_quantity;
	Numeric		factor;
	bool		whole_numbers;
	ItemInfo	item;
	LocationInfo loc;
	LocationInfo to_loc;
	SourceInfo	src;
	HeapTuple	existing;
	Datum		new_values[4];
	bool		new_nulls[4] = {false, false, false, false};
	int			new_cols[4];
	char		owner[MC_NAME_LEN];

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) || !TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
						errmsg("ledger_before_insert() must be a BEFORE INSERT row trigger")));

	rel = trigdata->tg_relation;
	desc = RelationGetDescr(rel);
	tup = trigdata->tg_trigtuple;
	layout_for(desc, RelationGetRelid(rel), l);
	check_required_cols(rel, tup, l);

	kind = kind_from_oid(DatumGetObjectId(get_col(tup, desc, l, LC_KIND, &isnull)));
	source = text_col(tup, desc, l, LC_SOURCE);
	event_id = text_col(tup, desc, l, LC_SOURCE_EVENT_ID);
	gtin = DatumGetInt64(get_col(tup, desc, l, LC_GTIN, &isnull));
	gln = DatumGetInt64(get_col(tup, desc, l, LC_LOCATION, &isnull));
	{
		Datum		d = get_col(tup, desc, l, LC_TO_LOCATION, &isnull);

		has_to_location = !isnull;
		if (!isnull)
			to_gln = DatumGetInt64(d);
	}
	(void) get_col(tup, desc, l, LC_LOT, &isnull);
	has_lot = !isnull;
	(void) get_col(tup, desc, l, LC_SERIAL, &isnull);
	has_serial = !isnull;
	bucket = text_col(tup, desc, l, LC_BUCKET);
	to_bucket = text_col(tup, desc, l, LC_TO_BUCKET);
	unit = text_col(tup, desc, l, LC_UNIT);
	reason = text_col(tup, desc, l, LC_REASON);
	quantity = DatumGetNumeric(get_col(tup, desc, l, LC_QUANTITY, &isnull));

	/* The source, and the right to post as it. */
	mc_source(source, &src);
	if (!src.found)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("unknown source \"%s\"", source),
				 errdetail("Event \"%s\".", event_id),
				 errhint("Register it: INSERT INTO inventory_sync.source (source, name, kind, role) VALUES (...), with role the database role that posts as it.")));
	if (!OidIsValid(src.role) || !has_privs_of_role(posting_role(), src.role))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" may not post as source \"%s\"",
						GetUserNameFromId(posting_role(), false), source),
				 errdetail("Source \"%s\" is bound to role \"%s\".", source, src.rolename),
				 errhint("Post as a member of role \"%s\".", src.rolename)));

	/* Replays next: a replay must change nothing, even if master data moved on since. */
	existing = find_posted_event(rel, l, get_col(tup, desc, l, LC_SOURCE, &isnull),
								 get_col(tup, desc, l, LC_SOURCE_EVENT_ID, &isnull));
	if (existing != NULL)
	{
		static const LedgerCol payload[] = {
			LC_KIND, LC_GTIN, LC_LOCATION, LC_TO_LOCATION, LC_LOT, LC_SERIAL, LC_BUCKET,
			LC_TO_BUCKET, LC_QUANTITY, LC_UNIT
		};
		int			i;
		bool		posted_pid_null;
		int64		posted_id = DatumGetInt64(heap_getattr(existing, l->att[LC_POSTING_ID],
														   desc, &posted_pid_null));

		for (i = 0; i < lengthof(payload); i++)
		{
			if (!same_col(tup, existing, desc, l->att[payload[i]]))
				ereport(ERROR,
						(errcode(ERRCODE_IS_CONFLICTING_REPLAY),
						 errmsg("event \"%s\" of source \"%s\" was already posted with a different %s",
								event_id, source, ledger_col_names[payload[i]]),
						 errdetail("The original is posting %lld.", (long long) posted_id),
						 errhint("A source event id names one fact forever: post a correction under a new event id.")));
		}
		/* an exact replay: the original stands, nothing changes */
		return PointerGetDatum(NULL);
	}

	/* Item, through a pack GTIN if that is what was scanned. */
	mc_item(gtin, &item);
	if (!item.found)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("unknown item: gtin %s", key_text(gtin, GS1_KEY_GTIN)),
				 errdetail("Source \"%s\", event \"%s\".", source, event_id),
				 errhint("Add the item to inventory_sync.item, or its pack GTIN to inventory_sync.item_pack, first.")));

	mc_location(gln, &loc);
	if (!loc.found)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("unknown location: gln %s", key_text(gln, GS1_KEY_GLN)),
				 errdetail("Source \"%s\", event \"%s\".", source, event_id),
				 errhint("Add it to inventory_sync.location first.")));
	if (has_to_location)
	{
		mc_location(to_gln, &to_loc);
		if (!to_loc.found)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("unknown location: to_location gln %s", key_text(to_gln, GS1_KEY_GLN)),
					 errdetail("Source \"%s\", event \"%s\".", source, event_id)));
	}

	if (!mc_bucket_exists(bucket))
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("unknown bucket \"%s\"", bucket),
				 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln)),
				 errhint("Buckets are listed in inventory_sync.bucket; add one with INSERT INTO inventory_sync.bucket.")));
	if (to_bucket != NULL && !mc_bucket_exists(to_bucket))
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("unknown bucket \"%s\"", to_bucket),
				 errdetail("to_bucket of %s.", posting_key_desc(source, event_id, gtin, gln))));
	if (reason != NULL && !mc_reason_exists(reason))
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("unknown reason code \"%s\"", reason),
				 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln)),
				 errhint("Reason codes are listed in inventory_sync.reason_code.")));

	/* Which keys the kind touches, and what it needs. */
	switch (kind)
	{
		case PK_MOVE:
			if (to_bucket == NULL || strcmp(to_bucket, bucket) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_IS_INVALID_POSTING),
						 errmsg("a move needs a to_bucket different from bucket \"%s\"", bucket),
						 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln))));
			if (has_to_location && to_gln != gln)
				ereport(ERROR,
						(errcode(ERRCODE_IS_INVALID_POSTING),
						 errmsg("a move stays at one location: use transfer_out and transfer_in to move stock between locations"),
						 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln))));
			break;
		case PK_TRANSFER_OUT:
			if (!has_to_location || !to_loc.in_transit)
				ereport(ERROR,
						(errcode(ERRCODE_IS_INVALID_POSTING),
						 errmsg("transfer_out needs to_location to be an in_transit location"),
						 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln)),
						 errhint("Stock in transit is held at a location of kind in_transit until transfer_in.")));
			break;
		case PK_TRANSFER_IN:
			if (!loc.in_transit || !has_to_location || to_loc.in_transit)
				ereport(ERROR,
						(errcode(ERRCODE_IS_INVALID_POSTING),
						 errmsg("transfer_in moves stock from an in_transit location to a receiving to_location"),
						 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln))));
			break;
		case PK_ADJUSTMENT:
			if (reason == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_IS_INVALID_POSTING),
						 errmsg("an adjustment needs a reason code"),
						 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln)),
						 errhint("Reason codes are listed in inventory_sync.reason_code.")));
			/* fall through */
		default:
			if (has_to_location || to_bucket != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_IS_INVALID_POSTING),
						 errmsg("a %s posting touches one key: to_location and to_bucket must be empty",
								kind_names[kind]),
						 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln))));
	}

	/*
	 * Ownership: the source must be the system of record where it posts. A move (a status
	 * change at one location) is decided by the owner of the bucket the stock enters: the
	 * lab that owns "released" releases from the plant's "qa_hold"; otherwise stock could
	 * never pass between buckets that different systems own.
	 */
	if (kind != PK_MOVE &&
		loc.enforce_ownership && mc_owner(gln, bucket, owner) && strcmp(owner, source) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_IS_NOT_SYSTEM_OF_RECORD),
				 errmsg("source \"%s\" is not the system of record for bucket \"%s\" at location %s",
						source, bucket, key_text(gln, GS1_KEY_GLN)),
				 errdetail("The system of record is \"%s\" (event \"%s\").", owner, event_id),
				 errhint("Post through \"%s\", or change inventory_sync.ownership.", owner)));
	if (kind_is_two_key(kind))
	{
		int64		dest = has_to_location ? to_gln : gln;
		const char *dest_bucket = to_bucket ? to_bucket : bucket;
		bool		enforce = has_to_location ? to_loc.enforce_ownership : loc.enforce_ownership;

		if (enforce && mc_owner(dest, dest_bucket, owner) && strcmp(owner, source) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_IS_NOT_SYSTEM_OF_RECORD),
					 errmsg("source \"%s\" is not the system of record for bucket \"%s\" at location %s",
							source, dest_bucket, key_text(dest, GS1_KEY_GLN)),
					 errdetail("The system of record is \"%s\" (event \"%s\").", owner, event_id),
					 errhint("Post through \"%s\", or change inventory_sync.ownership.", owner)));
	}

	/* Lot and serial rules. */
	if (item.lot_tracked && !has_lot)
		ereport(ERROR,
				(errcode(ERRCODE_IS_LOT_RULE),
				 errmsg("item %s is lot-tracked: the posting needs a lot", key_text(item.item_gtin, GS1_KEY_GTIN)),
				 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln))));
	if (!item.lot_tracked && has_lot)
		ereport(ERROR,
				(errcode(ERRCODE_IS_LOT_RULE),
				 errmsg("item %s is not lot-tracked: the posting must not name a lot", key_text(item.item_gtin, GS1_KEY_GTIN)),
				 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln))));
	if (item.serial_tracked && !has_serial)
		ereport(ERROR,
				(errcode(ERRCODE_IS_SERIAL_RULE),
				 errmsg("item %s is serial-tracked: the posting needs a serial", key_text(item.item_gtin, GS1_KEY_GTIN)),
				 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln))));
	if (!item.serial_tracked && has_serial)
		ereport(ERROR,
				(errcode(ERRCODE_IS_SERIAL_RULE),
				 errmsg("item %s is not serial-tracked: the posting must not name a serial", key_text(item.item_gtin, GS1_KEY_GTIN)),
				 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln))));

	/* Quantity: to base units, with the kind's sign. */
	check_finite(tup, desc, l, quantity, source, event_id, gtin, gln);
	if (unit == NULL)
	{
		factor = item.pack_quantity;
		whole_numbers = true;	/* a GTIN counts trade items: packs or pieces */
		if (item.item_gtin == gtin)
			whole_numbers = item.whole_numbers;
	}
	else
	{
		UnitInfo	u;

		if (item.item_gtin != gtin)
			ereport(ERROR,
					(errcode(ERRCODE_IS_INVALID_QUANTITY),
					 errmsg("a pack GTIN is counted in packs: unit must be empty for gtin %s", key_text(gtin, GS1_KEY_GTIN)),
					 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln))));
		mc_unit(item.item_gtin, unit, &u);
		if (!u.unit_exists)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("unknown unit \"%s\"", unit),
					 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln)),
					 errhint("Units are listed in inventory_sync.unit.")));
		if (!u.found)
			ereport(ERROR,
					(errcode(ERRCODE_IS_INVALID_QUANTITY),
					 errmsg("unit \"%s\" does not convert to the base unit \"%s\" of item %s",
							unit, item.base_unit, key_text(item.item_gtin, GS1_KEY_GTIN)),
					 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln)),
					 errhint("Add the conversion to inventory_sync.item_unit.")));
		factor = u.factor;
		whole_numbers = u.whole_numbers;
	}
	if (whole_numbers && !num_is_integral(quantity))
		ereport(ERROR,
				(errcode(ERRCODE_IS_INVALID_QUANTITY),
				 errmsg("quantity %s is not a whole number of %s", num_text(quantity),
						unit ? unit : (item.item_gtin == gtin ? item.base_unit : "packs")),
				 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln))));
	base_quantity = num_mul(quantity, factor);
	if (item.whole_numbers && !num_is_integral(base_quantity))
		ereport(ERROR,
				(errcode(ERRCODE_IS_INVALID_QUANTITY),
				 errmsg("quantity %s %s is %s %s: not a whole number of base units",
						num_text(quantity), unit ? unit : "", num_text(base_quantity), item.base_unit),
				 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln))));

	if (kind == PK_COUNT)
	{
		if (num_sign(quantity) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_IS_INVALID_QUANTITY),
					 errmsg("a count states an absolute quantity: %s is negative", num_text(quantity)),
					 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln))));
	}
	else if (num_sign(quantity) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IS_INVALID_QUANTITY),
				 errmsg("quantity must not be zero"),
				 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln))));
	else if (kind_sign(kind) != 0)
	{
		if (num_sign(quantity) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_IS_INVALID_QUANTITY),
					 errmsg("quantity %s must be positive in a posting of kind %s", num_text(quantity), kind_names[kind]),
					 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln)),
					 errhint("The kind gives the direction; only adjustments are signed.")));
		if (kind_sign(kind) < 0)
			base_quantity = num_neg(base_quantity);
	}

	if (item.serial_tracked)
	{
		Numeric		one = int64_to_numeric(1);
		Numeric		absq = num_sign(base_quantity) < 0 ? num_neg(base_quantity) : base_quantity;

		if (kind == PK_COUNT ? num_cmp(absq, one) > 0 : num_cmp(absq, one) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_IS_SERIAL_RULE),
					 errmsg("a serialised unit moves alone: quantity %s is not %s one base unit",
							num_text(base_quantity), kind == PK_COUNT ? "zero or" : "plus or minus"),
					 errdetail("%s.", posting_key_desc(source, event_id, gtin, gln))));
	}

	/* What the ledger sets: the resolved item and quantity, when and by whom. */
	new_cols[0] = l->att[LC_ITEM_GTIN];
	new_values[0] = Int64GetDatum(item.item_gtin);
	new_cols[1] = l->att[LC_BASE_QUANTITY];
	new_values[1] = NumericGetDatum(base_quantity);
	new_cols[2] = l->att[LC_RECORDED_AT];
	new_values[2] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	new_cols[3] = l->att[LC_ACTOR];
	{
		Oid			actor = posting_role();

		if (!actor_callback_registered)
		{
			/* a renamed role must not leave its old name on new postings */
			CacheRegisterSyscacheCallback(AUTHOID, actor_inval, (Datum) 0);
			actor_callback_registered = true;
		}
		if (actor_id != actor)
		{
			namestrcpy(&actor_name, GetUserNameFromId(actor, false));
			actor_id = actor;
		}
		new_values[3] = NameGetDatum(&actor_name);
	}

	return PointerGetDatum(heap_modify_tuple_by_cols(tup, desc, 4, new_cols, new_values, new_nulls));
}

/* ------------------------------------------------------------------------
 * Step 2: the statement trigger that applies the statement's postings.
 * ------------------------------------------------------------------------ */

/* A balance key; fixed-size and zero-padded so it can be hashed and compared as bytes. */
typedef struct BalanceKey
{
	int64		item;
	int64		location;
	bool		has_lot;
	char		lot[21];
	char		bucket[33];
} BalanceKey;

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
	bool		releases_lot;	/* a lot release (see posting_releases_lot) */
	Datum		actor;			/* name: who posted it; set for lot releases only */
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

typedef enum ApplyPlan
{
	AP_CREATE,
	AP_EXCEPTION,
	AP_SERIAL_LOCK,
	AP_SERIAL_SET,
	AP_LOT_REGISTER,
	AP_LOT_RELEASE,
	NUM_APPLY_PLANS
} ApplyPlan;

static SPIPlanPtr apply_plans[NUM_APPLY_PLANS];


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
};

static Oid	lot_type_oid = InvalidOid;
static Oid	serial_type_oid = InvalidOid;
static Oid	gtin_type_oid = InvalidOid;
static Oid	gln_type_oid = InvalidOid;
static Oid	extension_nsp = InvalidOid;	/* schema inventory_sync */

/* balance_change and the posting_kind OIDs, valid while the types above are */
static Oid	changes_relid = InvalidOid;
static Oid	kind_oids[NUM_KINDS];

/*
 * The saved plans take lot_number and serial_number parameters. Their OIDs change when
 * the extension is dropped and created again in a running backend: look them up on every
 * statement (two syscache probes) and prepare the plans again when they moved.
 */
/*
 * What the direct access to balance rows needs to know of the table: its key index, the
 * equality procedures of the key columns and the columns it writes. Loaded with the
 * types below, again after any invalidation.
 */
typedef struct BalanceMeta
{
	bool		valid;
	Oid			relid;
	Oid			keyidx;			/* UNIQUE NULLS NOT DISTINCT (item_gtin, location, lot, bucket) */
	RegProcedure eqproc[4];		/* equality of each key column, from the index's opfamilies */
	Oid			collation[4];
	AttrNumber	att_id,
				att_quantity,
				att_version,
				att_last_posting,
				att_last_count_at,
				att_updated_at;
	Oid			changes_idx;	/* balance_change (balance_id, event_time) */
	AttrNumber	changes_att_delta;
} BalanceMeta;

static BalanceMeta balance_meta;

static void balance_meta_load(Oid nsp);
static AttrNumber balance_att(Relation rel, const char *name);

static bool types_checked = false;	/* reset by any pg_type or relcache invalidation */
static bool channels_checked = false;	/* reset likewise (channel_location has master_data_changed) */
static bool channels_present = false;
static bool apply_callbacks_registered = false;

static void
apply_type_inval(Datum arg, int cacheid, uint32 hashvalue)
{
	types_checked = false;
}

static void
apply_rel_inval(Datum arg, Oid relid)
{
	types_checked = false;
	channels_checked = false;
	/* a ledger (or partition) changed shape: find its columns again */
	before_layout.relid = InvalidOid;
	apply_layout.relid = InvalidOid;
}

static void
resolve_types(void)
{
	Oid			nsp;
	Oid			lot;
	Oid			serial;
	int			i;

	if (types_checked)
		return;
	if (!apply_callbacks_registered)
	{
		CacheRegisterSyscacheCallback(TYPEOID, apply_type_inval, (Datum) 0);
		CacheRegisterRelcacheCallback(apply_rel_inval, (Datum) 0);
		apply_callbacks_registered = true;
	}
	nsp = get_namespace_oid("inventory_sync", false);
	extension_nsp = nsp;
	lot = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
						  CStringGetDatum("lot_number"), ObjectIdGetDatum(nsp));
	serial = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
							 CStringGetDatum("serial_number"), ObjectIdGetDatum(nsp));

	if (!OidIsValid(lot) || !OidIsValid(serial))
		elog(ERROR, "inventory_sync: types lot_number and serial_number are missing");
	if (lot == lot_type_oid && serial == serial_type_oid)
	{
		balance_meta_load(nsp);
		types_checked = true;
		return;
	}
	for (i = 0; i < NUM_APPLY_PLANS; i++)
	{
		if (apply_plans[i] != NULL)
			SPI_freeplan(apply_plans[i]);
		apply_plans[i] = NULL;
	}
	lot_type_oid = InvalidOid;

	{
		Relation	rel;
		TupleDesc	desc;
		Oid			kind_type;

		changes_relid = get_relname_relid("balance_change", nsp);
		rel = table_open(changes_relid, AccessShareLock);
		desc = RelationGetDescr(rel);
		if (desc->natts != 14)
			elog(ERROR, "inventory_sync: balance_change has %d columns, expected 14", desc->natts);
		kind_type = TupleDescAttr(desc, 9)->atttypid;
		table_close(rel, AccessShareLock);
		for (i = 0; i < NUM_KINDS; i++)
		{
			HeapTuple	et = SearchSysCache2(ENUMTYPOIDNAME, ObjectIdGetDatum(kind_type),
											 CStringGetDatum(kind_names[i]));

			if (!HeapTupleIsValid(et))
				elog(ERROR, "inventory_sync: posting_kind %s not found", kind_names[i]);
			kind_oids[i] = ((Form_pg_enum) GETSTRUCT(et))->oid;
			ReleaseSysCache(et);
		}
	}
	lot_type_oid = lot;
	serial_type_oid = serial;
	gtin_type_oid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
									CStringGetDatum("gtin"), ObjectIdGetDatum(nsp));
	gln_type_oid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
								   CStringGetDatum("gln"), ObjectIdGetDatum(nsp));
	balance_meta.valid = false;
	balance_meta_load(nsp);
	types_checked = true;
}

static SPIPlanPtr
apply_plan(ApplyPlan which)
{
	static const int nargs[NUM_APPLY_PLANS] = {4, 8, 2, 6, 2, 4};
	Oid			types[8];

	if (apply_plans[which] != NULL)
		return apply_plans[which];

	switch (which)
	{
		case AP_CREATE:
			types[0] = INT8OID;
			types[1] = INT8OID;
			types[2] = lot_type_oid;
			types[3] = TEXTOID;
			break;
		case AP_EXCEPTION:
			types[0] = TEXTOID;
			types[1] = INT8OID;
			types[2] = INT8OID;
			types[3] = INT8OID;
			types[4] = lot_type_oid;
			types[5] = serial_type_oid;
			types[6] = TEXTOID;
			types[7] = TEXTOID;
			break;
		case AP_SERIAL_LOCK:
			types[0] = INT8OID;
			types[1] = serial_type_oid;
			break;
		case AP_SERIAL_SET:
			types[0] = INT8OID;
			types[1] = serial_type_oid;
			types[2] = INT8OID;
			types[3] = lot_type_oid;
			types[4] = TEXTOID;
			types[5] = INT8OID;
			break;
		case AP_LOT_REGISTER:
			types[0] = INT8OID;
			types[1] = lot_type_oid;
			break;
		case AP_LOT_RELEASE:
			types[0] = INT8OID;
			types[1] = lot_type_oid;
			types[2] = TEXTOID;
			types[3] = NAMEOID;
			break;
		default:
			break;
	}
	{
		SPIPlanPtr	plan = SPI_prepare(apply_sql[which], nargs[which], types);

		if (plan == NULL)
			elog(ERROR, "inventory_sync: could not prepare \"%s\": %s", apply_sql[which],
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "inventory_sync: could not keep plan");
		apply_plans[which] = plan;
	}
	return apply_plans[which];
}

static void
run_plan(ApplyPlan which, Datum *values, const char *nulls, int expect, long limit)
{
	int			rc = SPI_execute_plan(apply_plan(which), values, nulls, false, limit);

	if (rc != expect)
		elog(ERROR, "inventory_sync: \"%s\" failed: %s", apply_sql[which], SPI_result_code_string(rc));
}

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

/* Serial units are locked in (item, serial, posting order) order, like balance keys. */
static Posting *serial_sort_postings;

static int
serial_cmp(const void *a, const void *b)
{
	const Posting *x = &serial_sort_postings[*(const int *) a];
	const Posting *y = &serial_sort_postings[*(const int *) b];
	text	   *xs;
	text	   *ys;
	int			c;

	if (x->item != y->item)
		return x->item < y->item ? -1 : 1;
	xs = DatumGetTextPP(x->serial);
	ys = DatumGetTextPP(y->serial);
	c = memcmp(VARDATA_ANY(xs), VARDATA_ANY(ys),
			   Min(VARSIZE_ANY_EXHDR(xs), VARSIZE_ANY_EXHDR(ys)));
	if (c == 0)
		c = (int) VARSIZE_ANY_EXHDR(xs) - (int) VARSIZE_ANY_EXHDR(ys);
	if (c == 0)
		c = *(const int *) a - *(const int *) b;
	return c;
}

static void
raise_exception(const char *kind, const Posting *p, const BalanceKey *key, const char *detail)
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

static inline void
add_effect(HTAB *keys, Effect *effects, int *neffects, int posting, const Posting *p,
		   int64 location, const char *bucket, bool entering, Numeric delta)
{
	BalanceKey	k;
	KeyEntry   *e;
	bool		found;
	Effect	   *eff = &effects[*neffects];

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

	e = hash_search(keys, &k, HASH_ENTER, &found);
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
	e->effects[e->neffects++] = *neffects;

	eff->posting = posting;
	eff->entering = entering;
	eff->delta = delta;
	eff->location = location;
	eff->bucket = pstrdup(bucket);
	(*neffects)++;
}

/*
 * Direct access to balance rows. The key loop runs once per statement and key; an SPI
 * UPDATE ... RETURNING per key spent most of its time starting an executor. Instead the
 * row is found through the unique key index, locked as the executor would lock it, and
 * updated in place, the way the logical-replication apply worker does it
 * (execReplication.c): a dirty-snapshot index probe, waiting for a transaction that
 * is inserting or updating the row, then a tuple lock on its latest version. Under READ
 * COMMITTED that gives what UPDATE gives (the newest committed state, no lost update);
 * under REPEATABLE READ or SERIALIZABLE a row changed by a transaction our snapshot
 * cannot see is a serialization failure, as for UPDATE.
 */
typedef struct BalanceAccess
{
	Relation	rel;
	Relation	keyidx;
	TupleTableSlot *found;		/* the locked row */
	TupleTableSlot *newrow;
	EState	   *estate;			/* only for index entries of a non-HOT update */
	ResultRelInfo *rri;
} BalanceAccess;

/* What the key loop needs of a locked balance row. */
typedef struct BalanceRow
{
	ItemPointerData tid;
	int64		balance_id;
	Numeric		quantity;
	int64		version;
	bool		has_count_at;
	TimestampTz last_count_at;
} BalanceRow;

static AttrNumber
balance_att(Relation rel, const char *name)
{
	AttrNumber	a = attnameAttNum(rel, name, false);

	if (a == InvalidAttrNumber)
		elog(ERROR, "inventory_sync: balance has no column \"%s\"", name);
	return a;
}

static void
balance_meta_load(Oid nsp)
{
	Relation	rel;
	List	   *indexes;
	ListCell   *lc;
	static const char *const keycols[4] = {"item_gtin", "location", "lot", "bucket"};
	AttrNumber	keyatts[4];
	int			i;
	BalanceMeta m;

	memset(&m, 0, sizeof(m));
	m.relid = get_relname_relid("balance", nsp);
	if (!OidIsValid(m.relid))
		elog(ERROR, "inventory_sync: table balance is missing");
	rel = table_open(m.relid, AccessShareLock);
	for (i = 0; i < 4; i++)
		keyatts[i] = balance_att(rel, keycols[i]);
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);
		bool		match = idx->rd_index->indisunique && idx->rd_index->indisvalid &&
			idx->rd_rel->relam == BTREE_AM_OID &&
			IndexRelationGetNumberOfKeyAttributes(idx) == 4;

		for (i = 0; match && i < 4; i++)
			match = idx->rd_index->indkey.values[i] == keyatts[i];
		if (match)
		{
			m.keyidx = RelationGetRelid(idx);
			for (i = 0; i < 4; i++)
			{
				Oid			optype = idx->rd_opcintype[i];
				Oid			op = get_opfamily_member(idx->rd_opfamily[i], optype, optype,
													 BTEqualStrategyNumber);

				if (!OidIsValid(op))
					elog(ERROR, "inventory_sync: no equality operator for column %d of the balance key", i + 1);
				m.eqproc[i] = get_opcode(op);
				m.collation[i] = idx->rd_indcollation[i];
			}
		}
		index_close(idx, AccessShareLock);
		if (OidIsValid(m.keyidx))
			break;
	}
	list_free(indexes);
	if (!OidIsValid(m.keyidx))
		elog(ERROR, "inventory_sync: balance has lost its unique index on (item_gtin, location, lot, bucket)");
	m.att_id = balance_att(rel, "balance_id");
	m.att_quantity = balance_att(rel, "quantity");
	m.att_version = balance_att(rel, "version");
	m.att_last_posting = balance_att(rel, "last_posting_id");
	m.att_last_count_at = balance_att(rel, "last_count_at");
	m.att_updated_at = balance_att(rel, "updated_at");
	table_close(rel, AccessShareLock);

	/* the index a count reads the key's later changes through */
	rel = table_open(get_relname_relid("balance_change", nsp), AccessShareLock);
	keyatts[0] = balance_att(rel, "balance_id");
	keyatts[1] = balance_att(rel, "event_time");
	m.changes_att_delta = balance_att(rel, "delta");
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);

		if (idx->rd_index->indisvalid && idx->rd_rel->relam == BTREE_AM_OID &&
			IndexRelationGetNumberOfKeyAttributes(idx) >= 2 &&
			idx->rd_index->indkey.values[0] == keyatts[0] &&
			idx->rd_index->indkey.values[1] == keyatts[1] &&
			idx->rd_opcintype[0] == INT8OID && idx->rd_opcintype[1] == TIMESTAMPTZOID)
			m.changes_idx = RelationGetRelid(idx);
		index_close(idx, AccessShareLock);
		if (OidIsValid(m.changes_idx))
			break;
	}
	list_free(indexes);
	table_close(rel, AccessShareLock);
	if (!OidIsValid(m.changes_idx))
		elog(ERROR, "inventory_sync: balance_change has lost its index on (balance_id, event_time)");
	m.valid = true;
	balance_meta = m;
}

/*
 * The sum of a key's changes after a time: what a count as of that time must add back to
 * the balance. Every change of the key also updates its balance row: a snapshot taken
 * after the row was read sees every change committed before, and this transaction's
 * earlier statements (the command id is advanced, as SPI would); one committed after the
 * row was read makes the caller's update fail, and it reads both again, locked.
 */
static Numeric
sum_after(int64 balance_id, TimestampTz after)
{
	Relation	heap = table_open(changes_relid, AccessShareLock);
	Relation	idx = index_open(balance_meta.changes_idx, AccessShareLock);
	TupleTableSlot *slot = table_slot_create(heap, NULL);
	ScanKeyData sk[2];
	IndexScanDesc scan;
	Numeric		sum = int64_to_numeric(0);

	PushActiveSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	ScanKeyInit(&sk[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(balance_id));
	ScanKeyInit(&sk[1], 2, BTGreaterStrategyNumber, F_TIMESTAMPTZ_GT, TimestampTzGetDatum(after));
	scan = compat_index_beginscan(heap, idx, GetActiveSnapshot(), 2, 0);
	index_rescan(scan, sk, 2, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, balance_meta.changes_att_delta, &isnull);

		if (!isnull)
			sum = num_add(sum, DatumGetNumeric(d));
	}
	index_endscan(scan);
	PopActiveSnapshot();
	ExecDropSingleTupleTableSlot(slot);
	index_close(idx, NoLock);
	table_close(heap, NoLock);
	return sum;
}

static void
balance_open(BalanceAccess *ba)
{
	Assert(balance_meta.valid);
	memset(ba, 0, sizeof(*ba));
	ba->rel = table_open(balance_meta.relid, RowExclusiveLock);
	ba->keyidx = index_open(balance_meta.keyidx, RowExclusiveLock);
	ba->found = table_slot_create(ba->rel, NULL);
	ba->newrow = MakeSingleTupleTableSlot(RelationGetDescr(ba->rel), &TTSOpsVirtual);
}

static void
balance_close(BalanceAccess *ba)
{
	if (ba->rri != NULL)
	{
		ExecCloseIndices(ba->rri);
		FreeExecutorState(ba->estate);
	}
	ExecDropSingleTupleTableSlot(ba->found);
	ExecDropSingleTupleTableSlot(ba->newrow);
	index_close(ba->keyidx, NoLock);
	table_close(ba->rel, NoLock);
}

/*
 * Find the key's row. lock: lock it (FOR NO KEY UPDATE) in its latest version. Otherwise
 * read its latest committed version (or this transaction's own) without locking it: the
 * caller then updates it only if nobody did meanwhile (balance_write with locked false).
 * false when the key has no row (nobody has inserted it, or its inserter rolled back).
 */
static bool
balance_find(BalanceAccess *ba, const BalanceKey *key, Datum lot, bool lock, BalanceRow *row)
{
	ScanKeyData sk[4];
	Datum		vals[4];
	int			i;

	vals[0] = Int64GetDatum(key->item);
	vals[1] = Int64GetDatum(key->location);
	vals[2] = lot;
	vals[3] = CStringGetTextDatum(key->bucket);
	for (;;)
	{
		SnapshotData dirty;
		IndexScanDesc scan;
		TransactionId xwait = InvalidTransactionId;
		bool		found = false;
		TM_FailureData tmfd;
		TM_Result	res;
		bool		isnull;

		for (i = 0; i < 4; i++)
		{
			ScanKeyInit(&sk[i], i + 1, BTEqualStrategyNumber, balance_meta.eqproc[i], vals[i]);
			sk[i].sk_collation = balance_meta.collation[i];
			if (i == 2 && !key->has_lot)
				sk[i].sk_flags |= SK_ISNULL | SK_SEARCHNULL;
		}
		InitDirtySnapshot(dirty);
		scan = compat_index_beginscan(ba->rel, ba->keyidx, &dirty, 4, 0);
		index_rescan(scan, sk, 4, NULL, 0);
		if (index_getnext_slot(scan, ForwardScanDirection, ba->found))
		{
			found = true;
			/* someone is inserting it: wait for them to commit or roll back, then look again */
			xwait = dirty.xmin;
		}
		index_endscan(scan);
		if (!found)
			return false;
		if (TransactionIdIsValid(xwait))
		{
			XactLockTableWait(xwait, NULL, NULL, XLTW_None);
			continue;
		}
		if (!lock)
		{
			/*
			 * The version the probe returned: the latest committed one, or one that an
			 * open transaction is replacing (whose update the write then waits for and
			 * reports: the caller reads again, locked).
			 */
			res = TM_Ok;
		}
		else
		{
			/*
			 * Lock its latest version. A transaction updating it is waited for in the
			 * tuple lock's queue, first come first served, exactly as an UPDATE waits.
			 */
			PushActiveSnapshot(GetLatestSnapshot());
			res = table_tuple_lock(ba->rel, &ba->found->tts_tid, GetActiveSnapshot(), ba->found,
								   GetCurrentCommandId(false), LockTupleNoKeyExclusive, LockWaitBlock,
								   TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
			PopActiveSnapshot();
		}
		switch (res)
		{
			case TM_Ok:
				break;
			case TM_Updated:
			case TM_Deleted:
				/* gone while we looked: probe again */
				continue;
			default:
				elog(ERROR, "inventory_sync: unexpected result %d locking a balance row", (int) res);
		}
		/* as UPDATE: a row our transaction snapshot cannot see was changed after it */
		if (IsolationUsesXactSnapshot() &&
			!table_tuple_satisfies_snapshot(ba->rel, ba->found, GetTransactionSnapshot()))
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent update")));
		row->tid = ba->found->tts_tid;
		row->balance_id = DatumGetInt64(slot_getattr(ba->found, balance_meta.att_id, &isnull));
		row->quantity = DatumGetNumericCopy(slot_getattr(ba->found, balance_meta.att_quantity, &isnull));
		row->version = DatumGetInt64(slot_getattr(ba->found, balance_meta.att_version, &isnull));
		{
			Datum		d = slot_getattr(ba->found, balance_meta.att_last_count_at, &isnull);

			row->has_count_at = !isnull;
			row->last_count_at = isnull ? 0 : DatumGetTimestampTz(d);
		}
		return true;
	}
}

/*
 * Write the key's new state into the row balance_find found. locked: it locked the row.
 * Otherwise the update waits for a transaction updating the row, as UPDATE does, and
 * false reports that the row changed since it was read (nothing was written).
 */
static bool
balance_write(BalanceAccess *ba, const BalanceRow *row, bool locked, Numeric quantity, int64 version,
			  int64 last_posting, bool has_count_at, TimestampTz last_count_at)
{
	TupleTableSlot *n = ba->newrow;
	int			natts = RelationGetDescr(ba->rel)->natts;
	TU_UpdateIndexes update_indexes;

	/* ba->found still holds the locked row: keep its other columns */
	slot_getallattrs(ba->found);
	ExecClearTuple(n);
	memcpy(n->tts_values, ba->found->tts_values, sizeof(Datum) * natts);
	memcpy(n->tts_isnull, ba->found->tts_isnull, sizeof(bool) * natts);
	n->tts_values[balance_meta.att_quantity - 1] = NumericGetDatum(quantity);
	n->tts_values[balance_meta.att_version - 1] = Int64GetDatum(version);
	n->tts_values[balance_meta.att_last_posting - 1] = Int64GetDatum(last_posting);
	n->tts_isnull[balance_meta.att_last_posting - 1] = false;
	n->tts_values[balance_meta.att_last_count_at - 1] = TimestampTzGetDatum(last_count_at);
	n->tts_isnull[balance_meta.att_last_count_at - 1] = !has_count_at;
	n->tts_values[balance_meta.att_updated_at - 1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	n->tts_isnull[balance_meta.att_updated_at - 1] = false;
	ExecStoreVirtualTuple(n);

	/* a row this trigger created through SPI must be visible to the update */
	CommandCounterIncrement();
	if (locked)
		simple_table_tuple_update(ba->rel, (ItemPointer) &row->tid, n, GetActiveSnapshot(), &update_indexes);
	else
	{
		TM_FailureData tmfd;
		LockTupleMode lockmode;
		TM_Result	res;

		res = table_tuple_update(ba->rel, (ItemPointer) &row->tid, n, GetCurrentCommandId(true),
								 GetActiveSnapshot(), InvalidSnapshot, true, &tmfd, &lockmode, &update_indexes);
		if (res == TM_Updated || res == TM_Deleted)
			return false;
		if (res != TM_Ok)
			elog(ERROR, "inventory_sync: unexpected result %d updating a balance row", (int) res);
	}
	if (update_indexes != TU_None)
	{
		/*
		 * (update = false: the "unchanged index" hint needs the executor's range
		 * table, which this EState does not have; it only tunes bottom-up deletion.)
		 */
		if (ba->rri == NULL)
		{
			ba->estate = CreateExecutorState();
			ba->rri = makeNode(ResultRelInfo);
			InitResultRelInfo(ba->rri, ba->rel, 1, NULL, 0);
			ExecOpenIndices(ba->rri, false);
		}
		compat_ExecInsertIndexTuples(ba->rri, n, ba->estate, false, false, NULL, NIL,
									 update_indexes == TU_Summarizing);
		ResetPerTupleExprContext(ba->estate);
	}
	return true;
}

#define CHANGES_BATCH 1000		/* balance_change rows per heap_multi_insert */

/*
 * The statement's balance_change rows, stored as the key loop produces them: heap
 * inserts CHANGES_BATCH at a time plus their index entries, as the logical-replication
 * apply worker does, without planning or starting an executor for an INSERT (that
 * start-up was the largest fixed cost of a single-row posting). Streaming them keeps a
 * million-row COPY from spilling its after-states to a temporary file first.
 * balance_change has no constraints beyond NOT NULL, which the engine fills, and only
 * the engine writes it, so nothing else needs to fire. Each row is copied into its slot
 * as it comes, so the caller's values may be freed right after.
 */
typedef struct ChangeWriter
{
	Relation	rel;			/* NULL until the first row */
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slots[CHANGES_BATCH];
	int			nslots;			/* slots made so far */
	int			n;				/* rows waiting in slots[0 .. n-1] */
	BulkInsertState bistate;	/* from the first full batch on */
} ChangeWriter;

static void
changes_flush(ChangeWriter *w)
{
	CommandId	cid = GetCurrentCommandId(true);

	if (w->n == 0)
		return;
	if (w->n == 1)
		table_tuple_insert(w->rel, w->slots[0], cid, 0, NULL);
	else
	{
		if (w->bistate == NULL && w->n == CHANGES_BATCH)
			w->bistate = GetBulkInsertState();
		table_multi_insert(w->rel, w->slots, w->n, cid, 0, w->bistate);
	}
	for (int i = 0; i < w->n && w->rri->ri_NumIndices > 0; i++)
	{
		compat_ExecInsertIndexTuples(w->rri, w->slots[i], w->estate, false, false, NULL, NIL, false);
		ResetPerTupleExprContext(w->estate);
	}
	for (int i = 0; i < w->n; i++)
		ExecClearTuple(w->slots[i]);
	w->n = 0;
}

/* One after-state, in balance_change's column order (14 columns: resolve_types checks). */
static void
changes_add(ChangeWriter *w, const Datum *values, const bool *nulls)
{
	TupleTableSlot *slot;

	if (w->rel == NULL)
	{
		w->rel = table_open(changes_relid, RowExclusiveLock);
		w->estate = CreateExecutorState();
		w->rri = makeNode(ResultRelInfo);
		InitResultRelInfo(w->rri, w->rel, 1, NULL, 0);
		ExecOpenIndices(w->rri, false);
	}
	if (w->n == w->nslots)
		w->slots[w->nslots++] = table_slot_create(w->rel, NULL);
	slot = w->slots[w->n++];
	ExecClearTuple(slot);
	memcpy(slot->tts_values, values, sizeof(Datum) * 14);
	memcpy(slot->tts_isnull, nulls, sizeof(bool) * 14);
	ExecStoreVirtualTuple(slot);
	/* copied now (table_multi_insert would form the tuple anyway): the caller's arrays may go */
	ExecMaterializeSlot(slot);
	if (w->n == CHANGES_BATCH)
		changes_flush(w);
}

/* Writes what is left and closes; nothing to do when no row came. */
static void
changes_finish(ChangeWriter *w)
{
	if (w->rel == NULL)
		return;
	changes_flush(w);
	if (w->bistate != NULL)
		FreeBulkInsertState(w->bistate);
	ExecCloseIndices(w->rri);
	for (int i = 0; i < w->nslots; i++)
		ExecDropSingleTupleTableSlot(w->slots[i]);
	FreeExecutorState(w->estate);
	table_close(w->rel, NoLock);
	w->rel = NULL;
}

/*
 * When channels exist, the statement's keys go to _channel_atp_refresh(), which
 * republishes the ATP of every channel selling from their locations (channel_atp and
 * channel_atp_change, what the change feed publishes). Without channels this costs a
 * flag test: the flag is computed once and reset by the invalidation channel_location's
 * master_data_changed trigger sends.
 */
static void
publish_channel_atp(KeyEntry **sorted, int nkeys, int64 last_posting)
{
	Datum	   *items;
	Datum	   *locations;
	Datum		args[3];
	Oid			argtypes[3];
	int			i;
	int			rc;
	static SPIPlanPtr refresh_plan = NULL;
	static Oid	refresh_for_lot_type = InvalidOid;

	if (!channels_checked)
	{
		Oid			nsp = get_namespace_oid("inventory_sync", false);

		channels_present = false;
		if (OidIsValid(get_relname_relid("channel_location", nsp)))
		{
			rc = SPI_execute("SELECT EXISTS (SELECT FROM inventory_sync.channel_location)", true, 1);
			if (rc != SPI_OK_SELECT)
				elog(ERROR, "inventory_sync: could not read channel_location: %s", SPI_result_code_string(rc));
			{
				bool		isnull;

				channels_present = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			}
		}
		channels_checked = true;
	}
	if (!channels_present || nkeys == 0)
		return;

	items = palloc(sizeof(Datum) * nkeys);
	locations = palloc(sizeof(Datum) * nkeys);
	for (i = 0; i < nkeys; i++)
	{
		items[i] = Int64GetDatum(sorted[i]->key.item);
		locations[i] = Int64GetDatum(sorted[i]->key.location);
	}
	argtypes[0] = get_array_type(gtin_type_oid);
	argtypes[1] = get_array_type(gln_type_oid);
	argtypes[2] = INT8OID;
	if (refresh_plan == NULL || refresh_for_lot_type != lot_type_oid)
	{
		SPIPlanPtr	plan = SPI_prepare("SELECT inventory_sync._channel_atp_refresh($1, $2, $3)", 3, argtypes);

		if (plan == NULL)
			elog(ERROR, "inventory_sync: could not prepare the channel ATP refresh: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		if (refresh_plan != NULL)
			SPI_freeplan(refresh_plan);
		refresh_plan = plan;
		refresh_for_lot_type = lot_type_oid;
	}
	args[0] = PointerGetDatum(construct_array(items, nkeys, gtin_type_oid, 8, true, TYPALIGN_DOUBLE));
	args[1] = PointerGetDatum(construct_array(locations, nkeys, gln_type_oid, 8, true, TYPALIGN_DOUBLE));
	args[2] = Int64GetDatum(last_posting);
	rc = SPI_execute_plan(refresh_plan, args, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "inventory_sync: channel ATP refresh failed: %s", SPI_result_code_string(rc));
}

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
check_validated(TupleTableSlot *slot, const LedgerLayout *l, Relation rel)
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

/* Lots are stamped in (item, lot) order: two statements releasing the same lots never deadlock. */
static Posting *release_sort_postings;

static int
release_cmp(const void *a, const void *b)
{
	const Posting *x = &release_sort_postings[*(const int *) a];
	const Posting *y = &release_sort_postings[*(const int *) b];
	text	   *xl;
	text	   *yl;
	int			c;

	if (x->item != y->item)
		return x->item < y->item ? -1 : 1;
	xl = DatumGetTextPP(x->lot);
	yl = DatumGetTextPP(y->lot);
	c = memcmp(VARDATA_ANY(xl), VARDATA_ANY(yl), Min(VARSIZE_ANY_EXHDR(xl), VARSIZE_ANY_EXHDR(yl)));
	if (c == 0)
		c = (int) VARSIZE_ANY_EXHDR(xl) - (int) VARSIZE_ANY_EXHDR(yl);
	if (c == 0)
		c = *(const int *) a - *(const int *) b;
	return c;
}

/* Stamp each released lot once: when, and the role that posted its release. */
static void
stamp_released_lots(Posting *postings, int npostings, const Effect *effects)
{
	int		   *order = NULL;
	int			n = 0;
	int			i;

	for (i = 0; i < npostings; i++)
	{
		if (!postings[i].releases_lot)
			continue;
		if (order == NULL)
			order = palloc(sizeof(int) * npostings);
		order[n++] = i;
	}
	if (n == 0)
		return;
	release_sort_postings = postings;
	qsort(order, n, sizeof(int), release_cmp);
	for (i = 0; i < n; i++)
	{
		const Posting *p = &postings[order[i]];
		Datum		v[4];

		v[0] = Int64GetDatum(p->item);
		v[1] = p->lot;
		/* a move's second effect is the bucket the stock enters */
		v[2] = CStringGetTextDatum(effects[p->first_effect + 1].bucket);
		v[3] = p->actor;
		run_plan(AP_LOT_RELEASE, v, NULL, SPI_OK_UPDATE, 0);
	}
	pfree(order);
}

PG_FUNCTION_INFO_V1(ledger_apply);
/* AFTER INSERT statement trigger on the ledger: apply the new postings to balances. */
Datum
ledger_apply(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Tuplestorestate *newrows;
	TupleDesc	desc;
	TupleTableSlot *slot;
	LedgerLayout layout;
	MemoryContext cxt;
	MemoryContext old;
	Posting    *postings;
	volatile int npostings = 0;
	int			maxpostings;
	Effect	   *effects;
	int			neffects = 0;
	HTAB	   *keys;
	HASHCTL		ctl;
	KeyEntry  **sorted;
	int			nkeys;
	int			i;
	HASH_SEQ_STATUS seq;
	KeyEntry   *ke;
	ChangeWriter changes;
	Numeric		zero = int64_to_numeric(0);

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event) || trigdata->tg_newtable == NULL)
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
						errmsg("ledger_apply() must be an AFTER INSERT statement trigger with REFERENCING NEW TABLE")));

	newrows = trigdata->tg_newtable;
	if (tuplestore_tuple_count(newrows) == 0)
		PG_RETURN_POINTER(NULL);

	resolve_types();

	/*
	 * The engine runs with its owner's rights: it applies the postings of the ledger, which
	 * the row trigger has validated, and of no other table a caller might attach it to.
	 */
	if (RelationGetNamespace(trigdata->tg_relation) != extension_nsp ||
		strcmp(RelationGetRelationName(trigdata->tg_relation), "ledger") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("ledger_apply() applies the postings of inventory_sync.ledger only, not of \"%s\"",
						RelationGetRelationName(trigdata->tg_relation)),
				 errhint("Post by inserting into inventory_sync.ledger.")));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "inventory_sync apply", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	desc = RelationGetDescr(trigdata->tg_relation);
	layout_for(desc, RelationGetRelid(trigdata->tg_relation), &apply_layout);
	layout = apply_layout;

	/* Read the statement's postings; the transition table is in insertion order. */
	maxpostings = Max(tuplestore_tuple_count(newrows), 1);
	postings = MemoryContextAllocHuge(cxt, sizeof(Posting) * maxpostings);
	effects = MemoryContextAllocHuge(cxt, sizeof(Effect) * maxpostings * 2);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(BalanceKey);
	ctl.entrysize = sizeof(KeyEntry);
	ctl.hcxt = cxt;
	keys = hash_create("inventory_sync keys", 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(newrows);
	while (tuplestore_gettupleslot(newrows, true, false, slot))
	{
		Posting    *p;
		char	   *bucket;
		char	   *to_bucket;
		int64		to_location = 0;
		bool		has_to;

		if (npostings == maxpostings)
		{
			maxpostings *= 2;
			postings = repalloc_huge(postings, sizeof(Posting) * maxpostings);
			effects = repalloc_huge(effects, sizeof(Effect) * maxpostings * 2);
		}
		p = &postings[npostings];
		slot_getallattrs(slot);
#define COL(c) slot->tts_values[layout.att[c] - 1]
#define ISNULL(c) slot->tts_isnull[layout.att[c] - 1]
		check_validated(slot, &layout, trigdata->tg_relation);
		p->posting_id = DatumGetInt64(COL(LC_POSTING_ID));
		p->kind = kind_from_oid(DatumGetObjectId(COL(LC_KIND)));
		p->releases_lot = posting_releases_lot(slot, &layout, p->kind);
		p->actor = p->releases_lot ? datumCopy(COL(LC_ACTOR), false, NAMEDATALEN) : (Datum) 0;
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
		has_to = !ISNULL(LC_TO_LOCATION);
		if (has_to)
			to_location = DatumGetInt64(COL(LC_TO_LOCATION));
#undef COL
#undef ISNULL

		p->first_effect = neffects;
		if (p->kind == PK_COUNT)
			add_effect(keys, effects, &neffects, npostings, p, p->location, bucket, false, NULL);
		else
		{
			add_effect(keys, effects, &neffects, npostings, p, p->location, bucket, false,
					   p->base_quantity);
			if (kind_is_two_key(p->kind))
				add_effect(keys, effects, &neffects, npostings, p,
						   has_to ? to_location : p->location, to_bucket, true,
						   num_neg(p->base_quantity));
		}
		p->neffects = neffects - p->first_effect;
		npostings++;
		ExecClearTuple(slot);
	}
	ExecDropSingleTupleTableSlot(slot);

	/* One global order for every statement: item, location, lot, bucket. */
	nkeys = hash_get_num_entries(keys);
	sorted = palloc(sizeof(KeyEntry *) * nkeys);
	i = 0;
	hash_seq_init(&seq, keys);
	while ((ke = hash_seq_search(&seq)) != NULL)
		sorted[i++] = ke;
	qsort(sorted, nkeys, sizeof(KeyEntry *), key_cmp);

	memset(&changes, 0, sizeof(changes));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_sync: SPI_connect failed");
	is_engine_writing = true;
	PG_TRY();
	{
		BalanceAccess ba;

		balance_open(&ba);
		for (i = 0; i < nkeys; i++)
		{
			KeyEntry   *k = sorted[i];
			Datum		v[5];
			char		n[5] = {' ', ' ', ' ', ' ', ' '};
			int64		balance_id;
			Numeric		qty;
			int64		version;
			bool		has_count_at;
			TimestampTz last_count_at = 0;
			int			j;
			LocationInfo loc;
			int64		last_posting = 0;
			Datum		lotd;
			BalanceRow	brow;
			bool		locked = false;
			Datum	   *cv = palloc(sizeof(Datum) * 14 * k->neffects);
			bool	   *cn = palloc(sizeof(bool) * 14 * k->neffects);
			Datum		bucketd = CStringGetTextDatum(k->key.bucket);

			lotd = k->key.has_lot ? postings[effects[k->effects[0]].posting].lot : (Datum) 0;
			mc_location(k->key.location, &loc);

			/*
			 * Read the key's row, work out its new state, write it. Optimistic first: the
			 * row is read unlocked and updated only if nobody changed it meanwhile (one
			 * WAL record fewer than locking it first). Anything but the plain case (a
			 * concurrent change, a late event, a stale expected quantity, a balance going
			 * negative) is decided again on the locked row, where it is final.
			 */
			for (;;)
			{
				bool		unusual = false;

				/* the key's row, created if it is new (ON CONFLICT: someone may race us) */
				while (!balance_find(&ba, &k->key, lotd, locked, &brow))
				{
					v[0] = Int64GetDatum(k->key.item);
					v[1] = Int64GetDatum(k->key.location);
					v[2] = lotd;
					n[2] = k->key.has_lot ? ' ' : 'n';
					v[3] = CStringGetTextDatum(k->key.bucket);
					run_plan(AP_CREATE, v, n, SPI_OK_INSERT, 0);
					CommandCounterIncrement();
				}
				balance_id = brow.balance_id;
				qty = brow.quantity;
				version = brow.version;
				has_count_at = brow.has_count_at;
				last_count_at = brow.last_count_at;
				last_posting = 0;

				for (j = 0; j < k->neffects; j++)
				{
					Effect	   *eff = &effects[k->effects[j]];
					Posting    *p = &postings[eff->posting];
					Numeric		before = qty;
					Datum	   *rv = cv + 14 * j;
					bool	   *rn = cn + 14 * j;

					if (p->kind == PK_COUNT)
					{
						/* delta = count - balance as of the watermark */
						Numeric		later;
						int			m;

						later = sum_after(balance_id, p->event_time);
						/* and this statement's own earlier effects on the key after it */
						for (m = 0; m < j; m++)
						{
							Effect	   *pe = &effects[k->effects[m]];

							if (postings[pe->posting].event_time > p->event_time)
								later = num_add(later, pe->delta);
						}
						eff->delta = num_sub(p->base_quantity, num_sub(qty, later));
						if (!has_count_at || p->event_time > last_count_at)
						{
							has_count_at = true;
							last_count_at = p->event_time;
						}
					}
					else if (has_count_at && p->event_time < last_count_at)
					{
						char	   *detail;

						if (!locked)
						{
							unusual = true;
							break;
						}
						detail = psprintf("event \"%s\" of source \"%s\" happened at %s, before the count of %s it arrived after",
										  text_to_cstring(DatumGetTextPP(p->event_id)), p->source_str,
										  timestamptz_to_str(p->event_time),
										  timestamptz_to_str(last_count_at));
						raise_exception("late_event", p, &k->key, detail);
					}

					if (p->expected != NULL && !eff->entering && num_cmp(p->expected, before) != 0)
					{
						if (!locked)
						{
							unusual = true;
							break;
						}
						ereport(ERROR,
								(errcode(ERRCODE_IS_STALE_EXPECTED_QUANTITY),
								 errmsg("balance of gtin %s at location %s, bucket \"%s\" is %s, not the expected %s",
										key_text(k->key.item, GS1_KEY_GTIN), key_text(k->key.location, GS1_KEY_GLN),
										k->key.bucket, num_text(before), num_text(p->expected)),
								 errdetail("Source \"%s\", event \"%s\".", p->source_str,
										   text_to_cstring(DatumGetTextPP(p->event_id))),
								 errhint("Read the balance again and retry with the quantity you find.")));
					}

					qty = num_add(qty, eff->delta);
					version++;
					last_posting = p->posting_id;

					if (num_sign(eff->delta) < 0 && num_cmp(qty, zero) < 0)
					{
						if (!locked)
						{
							unusual = true;
							break;
						}
						if (loc.strict)
							ereport(ERROR,
									(errcode(ERRCODE_IS_INSUFFICIENT_STOCK),
									 errmsg("insufficient stock: gtin %s at location %s, bucket \"%s\" has %s, the posting takes %s",
											key_text(k->key.item, GS1_KEY_GTIN), key_text(k->key.location, GS1_KEY_GLN),
											k->key.bucket, num_text(before), num_text(num_neg(eff->delta))),
									 errdetail("Location %s is strict: it refuses postings that drive a balance negative (source \"%s\", event \"%s\").",
											   key_text(k->key.location, GS1_KEY_GLN), p->source_str,
											   text_to_cstring(DatumGetTextPP(p->event_id)))));
						raise_exception("negative_balance", p, &k->key,
										psprintf("balance went from %s to %s", num_text(before), num_text(qty)));
					}

					/* the after-state, in balance_change's column order */
					memset(rn, 0, sizeof(bool) * 14);
					rv[0] = Int64GetDatum(p->posting_id);
					rv[1] = Int64GetDatum(balance_id);
					rv[2] = Int64GetDatum(k->key.item);
					rv[3] = Int64GetDatum(k->key.location);
					rv[4] = p->lot;
					rn[4] = !p->lot;
					rv[5] = bucketd;
					rv[6] = NumericGetDatum(eff->delta);
					rv[7] = NumericGetDatum(qty);
					rv[8] = Int64GetDatum(version);
					rv[9] = ObjectIdGetDatum(kind_oids[p->kind]);
					rv[10] = p->source;
					rv[11] = p->event_id;
					rv[12] = TimestampTzGetDatum(p->event_time);
					rv[13] = TimestampTzGetDatum(p->recorded_at);
				}
				if (unusual)
				{
					locked = true;
					continue;
				}
				if (balance_write(&ba, &brow, locked, qty, version, last_posting, has_count_at, last_count_at))
					break;
				/* changed since it was read: as UPDATE, an error where the snapshot is the transaction's */
				if (IsolationUsesXactSnapshot())
					ereport(ERROR,
							(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
							 errmsg("could not serialize access due to concurrent update")));
				locked = true;
			}
			for (j = 0; j < k->neffects; j++)
				changes_add(&changes, cv + 14 * j, cn + 14 * j);
			/* the rows are copied into their slots: a key's arrays go with it */
			pfree(cv);
			pfree(cn);
			pfree(DatumGetPointer(bucketd));
		}
		balance_close(&ba);

		/* Serials, in (item, serial) order: one place at a time, conflicts become exceptions. */
		{
			int		   *sp = palloc(sizeof(int) * npostings);
			int			ns = 0;
			int			j;

			for (j = 0; j < npostings; j++)
				if (postings[j].serial)
					sp[ns++] = j;
			serial_sort_postings = postings;
			qsort(sp, ns, sizeof(int), serial_cmp);
			for (j = 0; j < ns; j++)
			{
				Posting    *p = &postings[sp[j]];
				Datum		v[6];
				char		n[6] = {' ', ' ', ' ', ' ', ' ', ' '};
				bool		isnull;
				bool		known;
				int64		at = 0;
				int			e;
				bool		has_at;

				v[0] = Int64GetDatum(p->item);
				v[1] = p->serial;
				run_plan(AP_SERIAL_LOCK, v, n, SPI_OK_SELECT, 1);
				known = SPI_processed > 0;
				has_at = false;
				if (known)
				{
					Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

					has_at = !isnull;
					if (!isnull)
						at = DatumGetInt64(d);
				}
				/* walk this posting's effects: leaving, then entering */
				for (e = p->first_effect; e < p->first_effect + p->neffects; e++)
				{
					Effect	   *eff = &effects[e];
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
							raise_exception("serial_conflict", p, &k,
											has_at ? psprintf("serial leaves location %s but is known to be at %s",
															  key_text(eff->location, GS1_KEY_GLN), key_text(at, GS1_KEY_GLN))
											: psprintf("serial leaves location %s but is not known to be on hand",
													   key_text(eff->location, GS1_KEY_GLN)));
						has_at = false;
					}
					else if (s > 0)
					{
						if (has_at)
							raise_exception("serial_conflict", p, &k,
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
				v[4] = (Datum) 0;
				n[4] = 'n';
				e = p->first_effect + p->neffects - 1;
				v[4] = CStringGetTextDatum(effects[e].bucket);
				n[4] = has_at ? ' ' : 'n';
				v[5] = Int64GetDatum(p->posting_id);
				run_plan(AP_SERIAL_SET, v, n, SPI_OK_INSERT, 0);
			}
		}

		/*
		 * Lots seen for the first time are registered (expiry is set by register_lot), in
		 * (item, lot) order: a new lot's row is a lock that a concurrent statement
		 * registering the same lot waits for, so every statement takes them in one order.
		 */
		{
			KeyEntry  **lots = palloc(sizeof(KeyEntry *) * Max(nkeys, 1));
			int			nlots = 0;
			int			j;

			for (j = 0; j < nkeys; j++)
				if (sorted[j]->key.has_lot)
					lots[nlots++] = sorted[j];
			qsort(lots, nlots, sizeof(KeyEntry *), lot_cmp);
			for (j = 0; j < nlots; j++)
			{
				KeyEntry   *k = lots[j];
				Datum		v[2];

				if (j > 0 && lot_cmp(&lots[j - 1], &lots[j]) == 0)
					continue;
				v[0] = Int64GetDatum(k->key.item);
				v[1] = postings[effects[k->effects[0]].posting].lot;
				run_plan(AP_LOT_REGISTER, v, NULL, SPI_OK_INSERT, 0);
			}
		}

		/* Lots released by this statement's moves (after their registration above). */
		stamp_released_lots(postings, npostings, effects);

		/* The last after-states (the key loop wrote them as it went). */
		changes_finish(&changes);

		/* Channels selling from these locations republish their ATP (after the keys). */
		publish_channel_atp(sorted, nkeys, postings[npostings - 1].posting_id);
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

PG_FUNCTION_INFO_V1(refuse_change);
/*
 * Statement trigger refusing UPDATE, DELETE and TRUNCATE: of the ledger for everyone but
 * a superuser, of engine-maintained tables for everyone but the engine itself.
 */
Datum
refuse_change(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *what;
	bool		ledger;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
						errmsg("refuse_change() must be called as a trigger")));
	if (is_engine_writing)
		PG_RETURN_POINTER(NULL);
	ledger = trigdata->tg_trigger->tgnargs > 0 && strcmp(trigdata->tg_trigger->tgargs[0], "superuser") == 0;
	if (ledger && superuser())
		PG_RETURN_POINTER(NULL);

	what = TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ? "INSERT into" :
		TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? "UPDATE of" :
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ? "DELETE from" : "TRUNCATE of";
	ereport(ERROR,
			(errcode(ERRCODE_IS_IMMUTABLE),
			 errmsg("%s %s is not allowed", what, RelationGetRelationName(trigdata->tg_relation)),
			 ledger ? errdetail("The ledger is append-only.")
			 : errdetail("%s is maintained by the ledger's posting trigger.", RelationGetRelationName(trigdata->tg_relation)),
			 ledger ? errhint("Correct a posting with a counter-posting that names it (inventory_sync.correct).")
			 : errhint("Post to the ledger instead.")));
	PG_RETURN_POINTER(NULL);
}
