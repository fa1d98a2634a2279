/*
 * posting_registry.c
 *		The registry of every event posted to a partitioned ledger: (source,
 *		source_event_id) -> posting, in one unpartitioned table, ledger_event.
 *
 * An unpartitioned ledger's own UNIQUE (source, source_event_id) makes replays
 * idempotent. A partitioned ledger cannot have it: a unique index of a partitioned table
 * must contain the partition key, so (source, source_event_id, recorded_at) is unique per
 * partition only, and a replay landing in a later partition than its original (or after
 * the original's partition was detached or dropped) would be posted again. So on a
 * partitioned ledger the row trigger looks the event up here instead, and the statement
 * trigger registers the statement's new events here, in the transition table's order
 * (the order the ledger's own unique index would have taken them): a concurrent posting
 * of the same event waits on the registry's primary key and fails with 23505, exactly as
 * it does on the unpartitioned ledger's unique index. The registry outlives the
 * partitions: detaching or dropping one leaves its events registered.
 *
 * A replay whose original is in another partition, or in none any more, cannot be
 * compared column by column with it; the registry keeps a fingerprint of the original's
 * payload (the columns a replay must repeat) for that. event_fingerprint() computes it
 * from the same values the row trigger compares, with equal numerics hashing alike (5 and
 * 5.0 are the same quantity) and the kind by its label (enum OIDs change on restore).
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/genam.h"
#include "access/hash.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "ext_catalog.h"
#include "posting_int.h"

/* The payload a replay must repeat, in the order its fingerprint hashes it. */
const LedgerCol event_payload_cols[EVENT_PAYLOAD_COLS] = {
	LC_KIND, LC_GTIN, LC_LOCATION, LC_TO_LOCATION, LC_LOT, LC_SERIAL, LC_BUCKET,
	LC_TO_BUCKET, LC_QUANTITY, LC_UNIT
};

/* ledger_event's columns, by name */
typedef enum RegistryCol
{
	RC_SOURCE, RC_EVENT_ID, RC_POSTING_ID, RC_RECORDED_AT, RC_FINGERPRINT, NUM_REGISTRY_COLS
} RegistryCol;

static const char *const registry_col_names[NUM_REGISTRY_COLS] = {
	"source", "source_event_id", "posting_id", "recorded_at", "payload_hash"
};

/* columns ledger_event may have, dropped ones included */
#define REGISTRY_MAX_ATTS 32

static struct
{
	bool		valid;
	Oid			relid;
	Oid			pkey;
	int			natts;
	AttrNumber	att[NUM_REGISTRY_COLS];
} registry;

static void
registry_reset(int kind, Oid relid)
{
	registry.valid = false;
}

/* ledger_event, its primary key and its columns, found once and again after any relcache change. */
static void
registry_load(void)
{
	static bool watching = false;
	Relation	rel;
	int			c;

	if (registry.valid)
		return;
	if (!watching)
	{
		ext_catalog_on_change(registry_reset, EXT_CHANGE_RELATION);
		watching = true;
	}
	registry.relid = ext_catalog_relid("ledger_event", false);
	registry.pkey = ext_catalog_relid("ledger_event_pkey", false);
	rel = table_open(registry.relid, AccessShareLock);
	for (c = 0; c < NUM_REGISTRY_COLS; c++)
		registry.att[c] = ext_catalog_column(rel, registry_col_names[c]);
	registry.natts = RelationGetDescr(rel)->natts;
	table_close(rel, AccessShareLock);
	registry.valid = true;
}

/* ------------------------------------------------------------------------
 * The payload's fingerprint.
 * ------------------------------------------------------------------------ */
static uint64
value_hash(Datum d, Oid typid, int16 typlen, bool typbyval)
{
	if (typid == NUMERICOID)
		return DatumGetUInt64(DirectFunctionCall2(hash_numeric_extended, d, Int64GetDatum(0)));
	if (typbyval)
	{
		int64		v;

		switch (typlen)
		{
			case 1:
				v = DatumGetChar(d);
				break;
			case 2:
				v = DatumGetInt16(d);
				break;
			case 4:
				v = DatumGetInt32(d);
				break;
			default:
				v = DatumGetInt64(d);
				break;
		}
		return DatumGetUInt64(hash_any_extended((const unsigned char *) &v, sizeof(v), 0));
	}
	if (typlen == -1)
	{
		struct varlena *v = PG_DETOAST_DATUM_PACKED(d);

		return DatumGetUInt64(hash_any_extended((const unsigned char *) VARDATA_ANY(v),
												VARSIZE_ANY_EXHDR(v), 0));
	}
	if (typlen == -2)
		return DatumGetUInt64(hash_any_extended((const unsigned char *) DatumGetCString(d),
												strlen(DatumGetCString(d)), 0));
	return DatumGetUInt64(hash_any_extended((const unsigned char *) DatumGetPointer(d), typlen, 0));
}

/* A payload column's type, as its value is hashed. */
typedef struct PayloadType
{
	Oid			typid;
	int16		typlen;
	bool		typbyval;
} PayloadType;

/*
 * The fingerprint of a payload: values[i] and nulls[i] of event_payload_cols[i], of the
 * types types[i]. A NULL and each column's position count, so moving a value from one
 * column to another changes it.
 */
static int64
payload_fingerprint(const Datum *values, const bool *nulls, const PayloadType *types)
{
	uint64		h = UINT64CONST(0x6c656467);	/* any fixed seed */
	int			i;

	for (i = 0; i < EVENT_PAYLOAD_COLS; i++)
	{
		uint64		v;

		if (nulls[i])
			v = UINT64CONST(0x9e3779b97f4a7c15) + i;
		else if (event_payload_cols[i] == LC_KIND)
		{
			const char *label = posting_kind_names[posting_kind_of(DatumGetObjectId(values[i]))];

			v = DatumGetUInt64(hash_any_extended((const unsigned char *) label, strlen(label), 0));
		}
		else
			v = value_hash(values[i], types[i].typid, types[i].typlen, types[i].typbyval);
		h = hash_combine64(h, v);
	}
	return (int64) h;
}

/* A column's type from its attribute: no catalog lookup per row. */
static inline void
payload_type_of(Form_pg_attribute attr, PayloadType *t)
{
	t->typid = attr->atttypid;
	t->typlen = attr->attlen;
	t->typbyval = attr->attbyval;
}

int64
event_fingerprint(HeapTuple tup, TupleDesc desc, const LedgerLayout *l)
{
	Datum		values[EVENT_PAYLOAD_COLS];
	bool		nulls[EVENT_PAYLOAD_COLS];
	PayloadType types[EVENT_PAYLOAD_COLS];
	int			i;

	for (i = 0; i < EVENT_PAYLOAD_COLS; i++)
	{
		AttrNumber	att = l->att[event_payload_cols[i]];

		values[i] = heap_getattr(tup, att, desc, &nulls[i]);
		payload_type_of(TupleDescAttr(desc, att - 1), &types[i]);
	}
	return payload_fingerprint(values, nulls, types);
}

int64
event_fingerprint_slot(TupleTableSlot *slot, const LedgerLayout *l)
{
	Datum		values[EVENT_PAYLOAD_COLS];
	bool		nulls[EVENT_PAYLOAD_COLS];
	PayloadType types[EVENT_PAYLOAD_COLS];
	int			i;

	for (i = 0; i < EVENT_PAYLOAD_COLS; i++)
	{
		AttrNumber	att = l->att[event_payload_cols[i]];

		values[i] = slot->tts_values[att - 1];
		nulls[i] = slot->tts_isnull[att - 1];
		payload_type_of(TupleDescAttr(slot->tts_tupleDescriptor, att - 1), &types[i]);
	}
	return payload_fingerprint(values, nulls, types);
}

PG_FUNCTION_INFO_V1(event_payload_fingerprint);
/*
 * _event_fingerprint(kind, gtin, location, to_location, lot, serial, bucket, to_bucket,
 * quantity, unit): the fingerprint the registry keeps, for registering the events of
 * ledger rows posted before the ledger was partitioned.
 */
Datum
event_payload_fingerprint(PG_FUNCTION_ARGS)
{
	Datum		values[EVENT_PAYLOAD_COLS];
	bool		nulls[EVENT_PAYLOAD_COLS];
	PayloadType types[EVENT_PAYLOAD_COLS];
	int			i;

	if (PG_NARGS() != EVENT_PAYLOAD_COLS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("_event_fingerprint() takes %d arguments, not %d", EVENT_PAYLOAD_COLS, PG_NARGS())));
	for (i = 0; i < EVENT_PAYLOAD_COLS; i++)
	{
		nulls[i] = PG_ARGISNULL(i);
		values[i] = nulls[i] ? (Datum) 0 : PG_GETARG_DATUM(i);
		types[i].typid = get_fn_expr_argtype(fcinfo->flinfo, i);
		get_typlenbyval(types[i].typid, &types[i].typlen, &types[i].typbyval);
	}
	PG_RETURN_INT64(payload_fingerprint(values, nulls, types));
}

/* ------------------------------------------------------------------------
 * Looking an event up.
 * ------------------------------------------------------------------------ */

/*
 * The registered posting of (source, event_id) into *ev; false when none. Reads with the
 * active snapshot: an event another transaction registers after it is caught by the
 * primary key when this one registers it (23505), as on an unpartitioned ledger.
 */
bool
registry_find(Datum source, Datum event_id, RegisteredEvent *ev)
{
	Relation	rel;
	Relation	index;
	IndexScanDesc scan;
	ScanKeyData keys[2];
	TupleTableSlot *slot;
	bool		found = false;

	registry_load();
	rel = table_open(registry.relid, AccessShareLock);
	index = index_open(registry.pkey, AccessShareLock);
	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_TEXTEQ, source);
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_TEXTEQ, event_id);
	keys[0].sk_collation = C_COLLATION_OID;
	keys[1].sk_collation = C_COLLATION_OID;
	slot = table_slot_create(rel, NULL);
	scan = compat_index_beginscan(rel, index, GetActiveSnapshot(), 2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	if (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		slot_getallattrs(slot);
		ev->posting_id = DatumGetInt64(slot->tts_values[registry.att[RC_POSTING_ID] - 1]);
		ev->recorded_at = DatumGetTimestampTz(slot->tts_values[registry.att[RC_RECORDED_AT] - 1]);
		ev->fingerprint = DatumGetInt64(slot->tts_values[registry.att[RC_FINGERPRINT] - 1]);
		found = true;
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(rel, AccessShareLock);
	return found;
}

/* ------------------------------------------------------------------------
 * Registering a statement's events.
 * ------------------------------------------------------------------------ */
void
registry_begin(HeapAppend *w, int nrows)
{
	registry_load();
	heap_append_init(w, registry.relid, registry.natts, Max(1, Min(nrows, HEAP_APPEND_MAX_BATCH)));
}

void
registry_add(HeapAppend *w, Datum source, Datum event_id, int64 posting_id,
			 TimestampTz recorded_at, int64 fingerprint)
{
	Datum		values[REGISTRY_MAX_ATTS];
	bool		nulls[REGISTRY_MAX_ATTS];

	if (registry.natts > REGISTRY_MAX_ATTS)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"ledger_event\" has %d columns, at most %d expected", registry.natts, REGISTRY_MAX_ATTS),
				 errhint("The extension's objects do not match its library: ALTER EXTENSION inventory_sync UPDATE.")));
	memset(nulls, true, sizeof(bool) * registry.natts);
	values[registry.att[RC_SOURCE] - 1] = source;
	values[registry.att[RC_EVENT_ID] - 1] = event_id;
	values[registry.att[RC_POSTING_ID] - 1] = Int64GetDatum(posting_id);
	values[registry.att[RC_RECORDED_AT] - 1] = TimestampTzGetDatum(recorded_at);
	values[registry.att[RC_FINGERPRINT] - 1] = Int64GetDatum(fingerprint);
	nulls[registry.att[RC_SOURCE] - 1] = false;
	nulls[registry.att[RC_EVENT_ID] - 1] = false;
	nulls[registry.att[RC_POSTING_ID] - 1] = false;
	nulls[registry.att[RC_RECORDED_AT] - 1] = false;
	nulls[registry.att[RC_FINGERPRINT] - 1] = false;
	heap_append_row(w, values, nulls);
}
