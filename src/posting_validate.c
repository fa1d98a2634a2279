/*
 * posting_validate.c
 *		The ledger's BEFORE INSERT row trigger: one fact checked rule by rule against
 *		master data, resolved to its base item and base quantity, or recognised as a
 *		replay of a fact already posted.
 *
 * The rules run in a fixed order, which decides the error a fact breaking several gets:
 * required columns, the source and the right to post as it, replay (a replay changes
 * nothing even if master data moved on since), item, locations, buckets and reason,
 * what the kind needs, ownership, lot and serial, quantity and unit. Each rule is a
 * static function named for it; everything they read is looked up once in the master
 * cache (master_cache.c), so a row costs no catalog lookup or SPI call of its own.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "caller.h"
#include "ext_catalog.h"
#include "master_cache.h"
#include "posting_int.h"

/* The fact being posted, as the rules read it. */
typedef struct Fact
{
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	tup;
	LedgerLayout *layout;
	PostingKind kind;
	char	   *source;
	char	   *event_id;
	char	   *bucket;
	char	   *to_bucket;		/* NULL when none */
	char	   *unit;			/* NULL when none */
	char	   *reason;			/* NULL when none */
	int64		gtin;
	int64		gln;
	int64		to_gln;
	bool		has_to_location;
	bool		has_lot;
	bool		has_serial;
	Numeric		quantity;
	ItemInfo	item;
	LocationInfo loc;
	LocationInfo to_loc;		/* when has_to_location */
} Fact;

/* The ledger layout of the relation the row trigger last fired on (a partition). */
static LedgerLayout validate_layout;

/* Error detail naming the fact's key. */
static inline char *
fact_desc(const Fact *f)
{
	return posting_key_desc(f->source, f->event_id, f->gtin, f->gln);
}

/* ------------------------------------------------------------------------
 * Required columns.
 *
 * PostgreSQL checks NOT NULL only after the BEFORE ROW triggers have run, so the
 * trigger checks the columns it reads itself, first, and reports them as PostgreSQL
 * would (source and event id first: they name the fact).
 * ------------------------------------------------------------------------ */
static const LedgerCol required_cols[] = {
	LC_SOURCE, LC_SOURCE_EVENT_ID, LC_KIND, LC_GTIN, LC_LOCATION, LC_BUCKET, LC_QUANTITY
};

static void
report_null_column(Relation rel, HeapTuple tup, const LedgerLayout *l, LedgerCol c)
{
	TupleDesc	desc = RelationGetDescr(rel);
	char	   *source = ledger_text_col(tup, desc, l, LC_SOURCE);
	char	   *event_id = ledger_text_col(tup, desc, l, LC_SOURCE_EVENT_ID);

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
check_required_columns(Relation rel, HeapTuple tup, const LedgerLayout *l)
{
	int			i;

	for (i = 0; i < lengthof(required_cols); i++)
		if (heap_attisnull(tup, l->att[required_cols[i]], RelationGetDescr(rel)))
			report_null_column(rel, tup, l, required_cols[i]);
}

/* The fact's columns the rules read. */
static void
read_fact(Fact *f)
{
	bool		isnull;
	Datum		d;

	f->kind = posting_kind_of(DatumGetObjectId(ledger_col(f->tup, f->desc, f->layout, LC_KIND, &isnull)));
	f->source = ledger_text_col(f->tup, f->desc, f->layout, LC_SOURCE);
	f->event_id = ledger_text_col(f->tup, f->desc, f->layout, LC_SOURCE_EVENT_ID);
	f->gtin = DatumGetInt64(ledger_col(f->tup, f->desc, f->layout, LC_GTIN, &isnull));
	f->gln = DatumGetInt64(ledger_col(f->tup, f->desc, f->layout, LC_LOCATION, &isnull));
	d = ledger_col(f->tup, f->desc, f->layout, LC_TO_LOCATION, &isnull);
	f->has_to_location = !isnull;
	f->to_gln = isnull ? 0 : DatumGetInt64(d);
	f->has_lot = !heap_attisnull(f->tup, f->layout->att[LC_LOT], f->desc);
	f->has_serial = !heap_attisnull(f->tup, f->layout->att[LC_SERIAL], f->desc);
	f->bucket = ledger_text_col(f->tup, f->desc, f->layout, LC_BUCKET);
	f->to_bucket = ledger_text_col(f->tup, f->desc, f->layout, LC_TO_BUCKET);
	f->unit = ledger_text_col(f->tup, f->desc, f->layout, LC_UNIT);
	f->reason = ledger_text_col(f->tup, f->desc, f->layout, LC_REASON);
	f->quantity = DatumGetNumeric(ledger_col(f->tup, f->desc, f->layout, LC_QUANTITY, &isnull));
}

/* ------------------------------------------------------------------------
 * The source, and the right to post as it.
 * ------------------------------------------------------------------------ */
static void
check_source_and_role(const Fact *f)
{
	SourceInfo	src;

	mc_source(f->source, &src);
	if (!src.found)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("unknown source \"%s\"", f->source),
				 errdetail("Event \"%s\".", f->event_id),
				 errhint("Register it: INSERT INTO inventory_sync.source (source, name, kind, role) VALUES (...), with role the database role that posts as it.")));
	if (!OidIsValid(src.role) || !has_privs_of_role(posting_role(), src.role))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" may not post as source \"%s\"",
						GetUserNameFromId(posting_role(), false), f->source),
				 errdetail("Source \"%s\" is bound to role \"%s\".", f->source, src.rolename),
				 errhint("Post as a member of role \"%s\".", src.rolename)));
}

/* ------------------------------------------------------------------------
 * Replay detection: (source, source_event_id) looked up through the ledger's unique index
 * (of a partitioned ledger: through the event registry first).
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

/*
 * A partitioned ledger's replay whose original is not in the fact's partition (an
 * earlier one, or one detached or dropped since): the registry's fingerprint of the
 * original's payload stands for its columns.
 */
static void
check_registered_payload(const Fact *f, const RegisteredEvent *ev)
{
	if (event_fingerprint(f->tup, f->desc, f->layout) != ev->fingerprint)
		ereport(ERROR,
				(errcode(ERRCODE_IS_CONFLICTING_REPLAY),
				 errmsg("event \"%s\" of source \"%s\" was already posted with a different payload",
						f->event_id, f->source),
				 errdetail("The original is posting %lld, recorded at %s; kind, gtin, location, to_location, lot, serial, bucket, to_bucket, quantity and unit must repeat it.",
						   (long long) ev->posting_id, timestamptz_to_str(ev->recorded_at)),
				 errhint("A source event id names one fact forever: post a correction under a new event id.")));
}

/*
 * True when the fact's event was posted before with the same payload: the original
 * stands and nothing changes. The same event with another payload is refused.
 *
 * An unpartitioned ledger finds the original through its own unique index. A partitioned
 * one asks the registry of every event it was ever given (posting_registry.c): an event
 * it does not know is new, whatever the partitions hold; one it knows is compared column
 * by column with the original when that is in the fact's partition, by fingerprint when not.
 */
static bool
is_exact_replay(const Fact *f)
{
	const LedgerLayout *l = f->layout;
	bool		isnull;
	Datum		source = ledger_col(f->tup, f->desc, l, LC_SOURCE, &isnull);
	Datum		event_id = ledger_col(f->tup, f->desc, l, LC_SOURCE_EVENT_ID, &isnull);
	HeapTuple	existing;
	int64		posted_id;
	int			i;

	if (registry_applies(f->rel))
	{
		RegisteredEvent ev;

		if (!registry_find(source, event_id, &ev))
			return false;
		existing = find_posted_event(f->rel, f->layout, source, event_id);
		if (existing == NULL)
		{
			check_registered_payload(f, &ev);
			return true;
		}
	}
	else
	{
		existing = find_posted_event(f->rel, f->layout, source, event_id);
		if (existing == NULL)
			return false;
	}
	posted_id = DatumGetInt64(heap_getattr(existing, l->att[LC_POSTING_ID], f->desc, &isnull));
	for (i = 0; i < EVENT_PAYLOAD_COLS; i++)
	{
		if (!same_col(f->tup, existing, f->desc, l->att[event_payload_cols[i]]))
			ereport(ERROR,
					(errcode(ERRCODE_IS_CONFLICTING_REPLAY),
					 errmsg("event \"%s\" of source \"%s\" was already posted with a different %s",
							f->event_id, f->source, ledger_col_names[event_payload_cols[i]]),
					 errdetail("The original is posting %lld.", (long long) posted_id),
					 errhint("A source event id names one fact forever: post a correction under a new event id.")));
	}
	return true;
}

/* ------------------------------------------------------------------------
 * Master data: item, locations, buckets, reason.
 * ------------------------------------------------------------------------ */

/* The item, through a pack GTIN if that is what was scanned. */
static void
resolve_item(Fact *f)
{
	mc_item(f->gtin, &f->item);
	if (!f->item.found)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("unknown item: gtin %s", key_text(f->gtin, GS1_KEY_GTIN)),
				 errdetail("Source \"%s\", event \"%s\".", f->source, f->event_id),
				 errhint("Add the item to inventory_sync.item, or its pack GTIN to inventory_sync.item_pack, first.")));
}

static void
resolve_locations(Fact *f)
{
	mc_location(f->gln, &f->loc);
	if (!f->loc.found)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("unknown location: gln %s", key_text(f->gln, GS1_KEY_GLN)),
				 errdetail("Source \"%s\", event \"%s\".", f->source, f->event_id),
				 errhint("Add it to inventory_sync.location first.")));
	if (!f->has_to_location)
		return;
	mc_location(f->to_gln, &f->to_loc);
	if (!f->to_loc.found)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("unknown location: to_location gln %s", key_text(f->to_gln, GS1_KEY_GLN)),
				 errdetail("Source \"%s\", event \"%s\".", f->source, f->event_id)));
}

static void
check_buckets_and_reason(const Fact *f)
{
	if (!mc_bucket_exists(f->bucket))
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("unknown bucket \"%s\"", f->bucket),
				 errdetail("%s.", fact_desc(f)),
				 errhint("Buckets are listed in inventory_sync.bucket; add one with INSERT INTO inventory_sync.bucket.")));
	if (f->to_bucket != NULL && !mc_bucket_exists(f->to_bucket))
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("unknown bucket \"%s\"", f->to_bucket),
				 errdetail("to_bucket of %s.", fact_desc(f))));
	if (f->reason != NULL && !mc_reason_exists(f->reason))
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("unknown reason code \"%s\"", f->reason),
				 errdetail("%s.", fact_desc(f)),
				 errhint("Reason codes are listed in inventory_sync.reason_code.")));
}

/* ------------------------------------------------------------------------
 * What the kind needs: which keys it touches.
 * ------------------------------------------------------------------------ */
static void
check_kind_keys(const Fact *f)
{
	switch (f->kind)
	{
		case PK_MOVE:
			if (f->to_bucket == NULL || strcmp(f->to_bucket, f->bucket) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_IS_INVALID_POSTING),
						 errmsg("a move needs a to_bucket different from bucket \"%s\"", f->bucket),
						 errdetail("%s.", fact_desc(f))));
			if (f->has_to_location && f->to_gln != f->gln)
				ereport(ERROR,
						(errcode(ERRCODE_IS_INVALID_POSTING),
						 errmsg("a move stays at one location: use transfer_out and transfer_in to move stock between locations"),
						 errdetail("%s.", fact_desc(f))));
			break;
		case PK_TRANSFER_OUT:
			if (!f->has_to_location || !f->to_loc.in_transit)
				ereport(ERROR,
						(errcode(ERRCODE_IS_INVALID_POSTING),
						 errmsg("transfer_out needs to_location to be an in_transit location"),
						 errdetail("%s.", fact_desc(f)),
						 errhint("Stock in transit is held at a location of kind in_transit until transfer_in.")));
			break;
		case PK_TRANSFER_IN:
			if (!f->loc.in_transit || !f->has_to_location || f->to_loc.in_transit)
				ereport(ERROR,
						(errcode(ERRCODE_IS_INVALID_POSTING),
						 errmsg("transfer_in moves stock from an in_transit location to a receiving to_location"),
						 errdetail("%s.", fact_desc(f))));
			break;
		case PK_ADJUSTMENT:
			if (f->reason == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_IS_INVALID_POSTING),
						 errmsg("an adjustment needs a reason code"),
						 errdetail("%s.", fact_desc(f)),
						 errhint("Reason codes are listed in inventory_sync.reason_code.")));
			/* fall through */
		default:
			if (f->has_to_location || f->to_bucket != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_IS_INVALID_POSTING),
						 errmsg("a %s posting touches one key: to_location and to_bucket must be empty",
								posting_kind_names[f->kind]),
						 errdetail("%s.", fact_desc(f))));
	}
}

/* ------------------------------------------------------------------------
 * Ownership: the source must be the system of record where it posts.
 * ------------------------------------------------------------------------ */
static void
check_owner_of(const Fact *f, bool enforce, int64 gln, const char *bucket)
{
	char		owner[MC_NAME_LEN];

	if (enforce && mc_owner(gln, bucket, owner) && strcmp(owner, f->source) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_IS_NOT_SYSTEM_OF_RECORD),
				 errmsg("source \"%s\" is not the system of record for bucket \"%s\" at location %s",
						f->source, bucket, key_text(gln, GS1_KEY_GLN)),
				 errdetail("The system of record is \"%s\" (event \"%s\").", owner, f->event_id),
				 errhint("Post through \"%s\", or change inventory_sync.ownership.", owner)));
}

/*
 * A move (a status change at one location) is decided by the owner of the bucket the
 * stock enters: the lab that owns "released" releases from the plant's "qa_hold";
 * otherwise stock could never pass between buckets that different systems own.
 */
static void
check_ownership(const Fact *f)
{
	if (f->kind != PK_MOVE)
		check_owner_of(f, f->loc.enforce_ownership, f->gln, f->bucket);
	if (kind_is_two_key(f->kind))
	{
		/* where the stock enters */
		const LocationInfo *dest = f->has_to_location ? &f->to_loc : &f->loc;

		check_owner_of(f, dest->enforce_ownership, f->has_to_location ? f->to_gln : f->gln,
					   f->to_bucket ? f->to_bucket : f->bucket);
	}
}

/* ------------------------------------------------------------------------
 * Lot and serial: named exactly when the item tracks them.
 * ------------------------------------------------------------------------ */
static void
check_lot_and_serial(const Fact *f)
{
	const ItemInfo *item = &f->item;

	if (item->lot_tracked && !f->has_lot)
		ereport(ERROR,
				(errcode(ERRCODE_IS_LOT_RULE),
				 errmsg("item %s is lot-tracked: the posting needs a lot", key_text(item->item_gtin, GS1_KEY_GTIN)),
				 errdetail("%s.", fact_desc(f))));
	if (!item->lot_tracked && f->has_lot)
		ereport(ERROR,
				(errcode(ERRCODE_IS_LOT_RULE),
				 errmsg("item %s is not lot-tracked: the posting must not name a lot", key_text(item->item_gtin, GS1_KEY_GTIN)),
				 errdetail("%s.", fact_desc(f))));
	if (item->serial_tracked && !f->has_serial)
		ereport(ERROR,
				(errcode(ERRCODE_IS_SERIAL_RULE),
				 errmsg("item %s is serial-tracked: the posting needs a serial", key_text(item->item_gtin, GS1_KEY_GTIN)),
				 errdetail("%s.", fact_desc(f))));
	if (!item->serial_tracked && f->has_serial)
		ereport(ERROR,
				(errcode(ERRCODE_IS_SERIAL_RULE),
				 errmsg("item %s is not serial-tracked: the posting must not name a serial", key_text(item->item_gtin, GS1_KEY_GTIN)),
				 errdetail("%s.", fact_desc(f))));
}

/* ------------------------------------------------------------------------
 * Quantity and unit.
 * ------------------------------------------------------------------------ */

/*
 * NaN and infinity are valid numerics and timestamps, but no quantity or time of a fact:
 * an infinite event_time would also make every later posting of its key late (a count)
 * and latency unmeasurable.
 */
static void
check_finite(const Fact *f)
{
	bool		isnull;
	Datum		d;

	if (numeric_is_nan(f->quantity) || numeric_is_inf(f->quantity))
		ereport(ERROR,
				(errcode(ERRCODE_IS_INVALID_QUANTITY),
				 errmsg("quantity %s is not a number of units", num_text(f->quantity)),
				 errdetail("%s.", fact_desc(f))));
	d = ledger_col(f->tup, f->desc, f->layout, LC_EXPECTED_QUANTITY, &isnull);
	if (!isnull && (numeric_is_nan(DatumGetNumeric(d)) || numeric_is_inf(DatumGetNumeric(d))))
		ereport(ERROR,
				(errcode(ERRCODE_IS_INVALID_QUANTITY),
				 errmsg("expected_quantity %s is not a number of units", num_text(DatumGetNumeric(d))),
				 errdetail("%s.", fact_desc(f)),
				 errhint("State the balance the posting expects to find, or leave expected_quantity empty.")));
	d = ledger_col(f->tup, f->desc, f->layout, LC_EVENT_TIME, &isnull);
	if (!isnull && TIMESTAMP_NOT_FINITE(DatumGetTimestampTz(d)))
		ereport(ERROR,
				(errcode(ERRCODE_IS_INVALID_POSTING),
				 errmsg("event_time %s is not a point in time",
						TIMESTAMP_IS_NOBEGIN(DatumGetTimestampTz(d)) ? "-infinity" : "infinity"),
				 errdetail("%s.", fact_desc(f)),
				 errhint("State when the event happened at the source.")));
}

/*
 * Base units in one of what the fact counts, and whether it counts whole numbers: a
 * GTIN without a unit counts trade items (packs or pieces); a unit converts to the
 * item's base unit.
 */
static Numeric
unit_factor(const Fact *f, bool *whole_numbers)
{
	UnitInfo	u;

	if (f->unit == NULL)
	{
		*whole_numbers = f->item.item_gtin == f->gtin ? f->item.whole_numbers : true;
		return f->item.pack_quantity;
	}
	if (f->item.item_gtin != f->gtin)
		ereport(ERROR,
				(errcode(ERRCODE_IS_INVALID_QUANTITY),
				 errmsg("a pack GTIN is counted in packs: unit must be empty for gtin %s", key_text(f->gtin, GS1_KEY_GTIN)),
				 errdetail("%s.", fact_desc(f))));
	mc_unit(f->item.item_gtin, f->unit, &u);
	if (!u.unit_exists)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("unknown unit \"%s\"", f->unit),
				 errdetail("%s.", fact_desc(f)),
				 errhint("Units are listed in inventory_sync.unit.")));
	if (!u.found)
		ereport(ERROR,
				(errcode(ERRCODE_IS_INVALID_QUANTITY),
				 errmsg("unit \"%s\" does not convert to the base unit \"%s\" of item %s",
						f->unit, f->item.base_unit, key_text(f->item.item_gtin, GS1_KEY_GTIN)),
				 errdetail("%s.", fact_desc(f)),
				 errhint("Add the conversion to inventory_sync.item_unit.")));
	*whole_numbers = u.whole_numbers;
	return u.factor;
}

/* The quantity in base units, whole where the unit and the base unit need it. */
static Numeric
base_quantity_of(const Fact *f)
{
	bool		whole_numbers;
	Numeric		factor = unit_factor(f, &whole_numbers);
	Numeric		base;

	if (whole_numbers && !num_is_integral(f->quantity))
		ereport(ERROR,
				(errcode(ERRCODE_IS_INVALID_QUANTITY),
				 errmsg("quantity %s is not a whole number of %s", num_text(f->quantity),
						f->unit ? f->unit : (f->item.item_gtin == f->gtin ? f->item.base_unit : "packs")),
				 errdetail("%s.", fact_desc(f))));
	base = num_mul(f->quantity, factor);
	if (f->item.whole_numbers && !num_is_integral(base))
		ereport(ERROR,
				(errcode(ERRCODE_IS_INVALID_QUANTITY),
				 errmsg("quantity %s %s is %s %s: not a whole number of base units",
						num_text(f->quantity), f->unit ? f->unit : "", num_text(base), f->item.base_unit),
				 errdetail("%s.", fact_desc(f))));
	return base;
}

/*
 * The kind gives the direction: a count states an absolute quantity, an adjustment a
 * signed one, every other kind a positive one that the kind's sign applies to.
 */
static Numeric
apply_kind_sign(const Fact *f, Numeric base)
{
	if (f->kind == PK_COUNT)
	{
		if (num_sign(f->quantity) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_IS_INVALID_QUANTITY),
					 errmsg("a count states an absolute quantity: %s is negative", num_text(f->quantity)),
					 errdetail("%s.", fact_desc(f))));
	}
	else if (num_sign(f->quantity) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IS_INVALID_QUANTITY),
				 errmsg("quantity must not be zero"),
				 errdetail("%s.", fact_desc(f))));
	else if (kind_sign(f->kind) != 0)
	{
		if (num_sign(f->quantity) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_IS_INVALID_QUANTITY),
					 errmsg("quantity %s must be positive in a posting of kind %s", num_text(f->quantity),
							posting_kind_names[f->kind]),
					 errdetail("%s.", fact_desc(f)),
					 errhint("The kind gives the direction; only adjustments are signed.")));
		if (kind_sign(f->kind) < 0)
			base = num_neg(base);
	}
	return base;
}

/* A serialised unit moves alone: one base unit (a count: zero or one). */
static void
check_serial_moves_alone(const Fact *f, Numeric base)
{
	Numeric		one = int64_to_numeric(1);
	Numeric		absq = num_sign(base) < 0 ? num_neg(base) : base;

	if (f->kind == PK_COUNT ? num_cmp(absq, one) > 0 : num_cmp(absq, one) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_IS_SERIAL_RULE),
				 errmsg("a serialised unit moves alone: quantity %s is not %s one base unit",
						num_text(base), f->kind == PK_COUNT ? "zero or" : "plus or minus"),
				 errdetail("%s.", fact_desc(f))));
}

/* ------------------------------------------------------------------------
 * What the ledger sets: the resolved item and quantity, when and by whom.
 * ------------------------------------------------------------------------ */

/*
 * The posting role's name, looked up once per role (and again after ALTER ROLE). The
 * ledger stores it as text, only the name's characters, where a name column takes
 * NAMEDATALEN bytes on every row; as name for a 0.1.0 ledger not yet updated.
 */
static Oid	actor_id = InvalidOid;
static text *actor_text = NULL;
static NameData actor_name;
static bool actor_watched = false;

static void
actor_reset(int kind, Oid relid)
{
	actor_id = InvalidOid;
}

static Datum
actor_datum(bool as_name)
{
	Oid			actor = posting_role();

	if (!actor_watched)
	{
		/* a renamed role must not leave its old name on new postings */
		ext_catalog_on_change(actor_reset, EXT_CHANGE_ROLE);
		actor_watched = true;
	}
	if (actor_id != actor || actor_text == NULL)
	{
		char	   *rolname = GetUserNameFromId(actor, false);
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		text	   *t = cstring_to_text(rolname);

		MemoryContextSwitchTo(old);
		if (actor_text != NULL)
			pfree(actor_text);
		actor_text = t;
		namestrcpy(&actor_name, rolname);
		actor_id = actor;
	}
	return as_name ? NameGetDatum(&actor_name) : PointerGetDatum(actor_text);
}

static HeapTuple
resolved_row(const Fact *f, Numeric base_quantity)
{
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	int			cols[4];

	cols[0] = f->layout->att[LC_ITEM_GTIN];
	values[0] = Int64GetDatum(f->item.item_gtin);
	cols[1] = f->layout->att[LC_BASE_QUANTITY];
	values[1] = NumericGetDatum(base_quantity);
	cols[2] = f->layout->att[LC_RECORDED_AT];
	values[2] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	cols[3] = f->layout->att[LC_ACTOR];
	values[3] = actor_datum(f->layout->actor_is_name);
	return heap_modify_tuple_by_cols(f->tup, f->desc, 4, cols, values, nulls);
}

PG_FUNCTION_INFO_V1(ledger_before_insert);
/* BEFORE INSERT row trigger on the ledger: validate, resolve, detect replays. */
Datum
ledger_before_insert(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Fact		f;
	Numeric		base_quantity;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) || !TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
						errmsg("ledger_before_insert() must be a BEFORE INSERT row trigger")));

	f.rel = trigdata->tg_relation;
	f.desc = RelationGetDescr(f.rel);
	f.tup = trigdata->tg_trigtuple;
	f.layout = &validate_layout;
	ledger_layout_for(f.rel, f.layout);
	check_required_columns(f.rel, f.tup, f.layout);
	read_fact(&f);

	check_source_and_role(&f);
	/* a replay must change nothing, even if master data moved on since */
	if (is_exact_replay(&f))
		return PointerGetDatum(NULL);

	resolve_item(&f);
	resolve_locations(&f);
	check_buckets_and_reason(&f);
	check_kind_keys(&f);
	check_ownership(&f);
	check_lot_and_serial(&f);

	check_finite(&f);
	base_quantity = apply_kind_sign(&f, base_quantity_of(&f));
	if (f.item.serial_tracked)
		check_serial_moves_alone(&f, base_quantity);

	return PointerGetDatum(resolved_row(&f, base_quantity));
}
