/*
 * balance_store.c
 *		Balance rows read and written directly, and the after-states appended to
 *		balance_change, for the apply step.
 *
 * The key loop runs once per statement and key; an SPI UPDATE ... RETURNING per key
 * spends most of its time starting an executor. Instead the row is found through the
 * unique key index, locked as the executor would lock it, and updated in place, the way
 * the logical-replication apply worker does it (execReplication.c): a dirty-snapshot
 * index probe, waiting for a transaction that is inserting or updating the row, then a
 * tuple lock on its latest version. Under READ COMMITTED that gives what UPDATE gives
 * (the newest committed state, no lost update); under REPEATABLE READ or SERIALIZABLE a
 * row changed by a transaction our snapshot cannot see is a serialization failure, as
 * for UPDATE.
 *
 * Both tables' columns and indexes are found by name (ext_catalog.h) when the catalog
 * is resolved; nothing here depends on their column order.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "executor/executor.h"
#include "storage/lmgr.h"
#include "utils/fmgroids.h"
#include "utils/snapmgr.h"

#include "errcodes.h"
#include "ext_catalog.h"
#include "posting_int.h"

/* The columns of balance_change the after-state writer fills, by name. */
typedef enum ChangeCol
{
	CC_POSTING_ID, CC_BALANCE_ID, CC_ITEM_GTIN, CC_LOCATION, CC_LOT, CC_BUCKET, CC_DELTA,
	CC_QUANTITY_AFTER, CC_VERSION, CC_KIND, CC_SOURCE, CC_SOURCE_EVENT_ID, CC_EVENT_TIME,
	CC_RECORDED_AT,
	NUM_CHANGE_COLS
} ChangeCol;

/* balance_change's columns, dropped ones included: room for the after-state's values */
#define MAX_CHANGE_NATTS 64

static const char *const change_col_names[NUM_CHANGE_COLS] = {
	"posting_id", "balance_id", "item_gtin", "location", "lot", "bucket", "delta",
	"quantity_after", "version", "kind", "source", "source_event_id", "event_time",
	"recorded_at"
};

/*
 * What direct access needs to know of the tables: balance's key index, the equality
 * procedures of its key columns and the columns it writes; balance_change's columns and
 * the index a count reads a key's later changes through.
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
	Oid			changes_relid;
	Oid			changes_idx;	/* balance_change (balance_id, event_time) */
	AttrNumber	change_att[NUM_CHANGE_COLS];
	int			changes_natts;
} BalanceMeta;

static BalanceMeta balance_meta;

/* The unique index on exactly (item_gtin, location, lot, bucket), and its key equality, into m. */
static void
find_balance_key_index(Relation rel, BalanceMeta *m)
{
	static const char *const keycols[4] = {"item_gtin", "location", "lot", "bucket"};
	AttrNumber	keyatts[4];
	Relation	idx;
	int			i;

	for (i = 0; i < 4; i++)
		keyatts[i] = ext_catalog_column(rel, keycols[i]);
	m->keyidx = ext_catalog_index_on(rel, keyatts, 4, true);
	if (!OidIsValid(m->keyidx))
		elog(ERROR, "inventory_sync: balance has lost its unique index on (item_gtin, location, lot, bucket)");
	idx = index_open(m->keyidx, AccessShareLock);
	ext_catalog_index_key_eq(idx, 4, m->eqproc, m->collation);
	index_close(idx, AccessShareLock);
}

/* balance_change's columns and its (balance_id, event_time) index, into m. */
static void
find_change_columns(Relation rel, BalanceMeta *m)
{
	AttrNumber	keyatts[2];
	int			c;

	for (c = 0; c < NUM_CHANGE_COLS; c++)
		m->change_att[c] = ext_catalog_column(rel, change_col_names[c]);
	m->changes_natts = RelationGetDescr(rel)->natts;
	if (m->changes_natts > MAX_CHANGE_NATTS)
		elog(ERROR, "inventory_sync: balance_change has %d columns, at most %d expected",
			 m->changes_natts, MAX_CHANGE_NATTS);
	keyatts[0] = m->change_att[CC_BALANCE_ID];
	keyatts[1] = m->change_att[CC_EVENT_TIME];
	m->changes_idx = ext_catalog_index_on(rel, keyatts, 2, false);
	if (!OidIsValid(m->changes_idx))
		elog(ERROR, "inventory_sync: balance_change has lost its index on (balance_id, event_time)");
}

void
balance_store_load(void)
{
	Relation	rel;
	BalanceMeta m;

	memset(&m, 0, sizeof(m));
	m.relid = ext_catalog_relid("balance", false);
	rel = table_open(m.relid, AccessShareLock);
	find_balance_key_index(rel, &m);
	m.att_id = ext_catalog_column(rel, "balance_id");
	m.att_quantity = ext_catalog_column(rel, "quantity");
	m.att_version = ext_catalog_column(rel, "version");
	m.att_last_posting = ext_catalog_column(rel, "last_posting_id");
	m.att_last_count_at = ext_catalog_column(rel, "last_count_at");
	m.att_updated_at = ext_catalog_column(rel, "updated_at");
	table_close(rel, AccessShareLock);

	m.changes_relid = ext_catalog_relid("balance_change", false);
	rel = table_open(m.changes_relid, AccessShareLock);
	find_change_columns(rel, &m);
	table_close(rel, AccessShareLock);
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
/* The sum of the deltas of one table's changes of a key after a time, by its index. */
static Numeric
sum_after_in(Relation heap, Oid idxid, AttrNumber delta_att, int64 balance_id, TimestampTz after, Numeric sum)
{
	Relation	idx = index_open(idxid, AccessShareLock);
	TupleTableSlot *slot = table_slot_create(heap, NULL);
	ScanKeyData sk[2];
	IndexScanDesc scan;

	ScanKeyInit(&sk[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(balance_id));
	ScanKeyInit(&sk[1], 2, BTGreaterStrategyNumber, F_TIMESTAMPTZ_GT, TimestampTzGetDatum(after));
	scan = compat_index_beginscan(heap, idx, GetActiveSnapshot(), 2, 0);
	index_rescan(scan, sk, 2, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, delta_att, &isnull);

		if (!isnull)
			sum = num_add(sum, DatumGetNumeric(d));
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(idx, NoLock);
	return sum;
}

/*
 * The sum of a key's changes after a time: what a count as of that time must add back to
 * the balance. Every change of the key also updates its balance row: a snapshot taken
 * after the row was read sees every change committed before, and this transaction's
 * earlier statements (the command id is advanced, as SPI would); one committed after the
 * row was read makes the caller's update fail, and it reads both again, locked.
 * balance_change partitioned by recorded_at (partition_ledger()): a change recorded at any
 * time may have happened after the watermark, so every partition is read, each by its own
 * index on (balance_id, event_time); a watermark before the key's archived changes is
 * refused (refuse_before_retained()).
 */
/*
 * A key whose early after-states detach_ledger_partition() archived keeps, in
 * balance_change_anchor, the latest event_time among them: a count as of an earlier time
 * would miss what those changes added after it, so it is refused rather than answered
 * wrongly. Read under the caller's active snapshot.
 */
static void
refuse_before_retained(int64 balance_id, TimestampTz after)
{
	Oid			relid = ext_catalog_relid("balance_change_anchor", true);
	Relation	heap;
	AttrNumber	keyatt;
	AttrNumber	timeatt;
	Oid			idxid;
	Relation	idx;
	TupleTableSlot *slot;
	ScanKeyData sk;
	IndexScanDesc scan;
	bool		found = false;
	TimestampTz last = 0;

	if (!OidIsValid(relid))
		return;
	heap = table_open(relid, AccessShareLock);
	keyatt = ext_catalog_column(heap, "balance_id");
	timeatt = ext_catalog_column(heap, "last_event_time");
	idxid = ext_catalog_index_on(heap, &keyatt, 1, true);
	if (!OidIsValid(idxid))
		elog(ERROR, "inventory_sync: balance_change_anchor has lost its unique index on balance_id");
	idx = index_open(idxid, AccessShareLock);
	slot = table_slot_create(heap, NULL);
	ScanKeyInit(&sk, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(balance_id));
	scan = compat_index_beginscan(heap, idx, GetActiveSnapshot(), 1, 0);
	index_rescan(scan, &sk, 1, NULL, 0);
	if (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, timeatt, &isnull);

		found = !isnull;
		last = found ? DatumGetTimestampTz(d) : 0;
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(idx, NoLock);
	table_close(heap, NoLock);
	if (found && last > after)
		ereport(ERROR,
				(errcode(ERRCODE_IS_BEFORE_RETAINED_HISTORY),
				 errmsg("cannot count as of %s: the key's changes until %s are archived",
						timestamptz_to_str(after), timestamptz_to_str(last)),
				 errdetail("Balance key %lld; detach_ledger_partition() archived its after-states up to then.",
						   (long long) balance_id),
				 errhint("Count as of a time at or after %s, or as of now.", timestamptz_to_str(last))));
}

Numeric
sum_after(int64 balance_id, TimestampTz after)
{
	Relation	heap = table_open(balance_meta.changes_relid, AccessShareLock);
	Numeric		sum = int64_to_numeric(0);

	PushActiveSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	if (heap->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		sum = sum_after_in(heap, balance_meta.changes_idx, balance_meta.change_att[CC_DELTA],
						   balance_id, after, sum);
	else
	{
		List	   *parts;
		ListCell   *lc;

		refuse_before_retained(balance_id, after);
		parts = find_all_inheritors(RelationGetRelid(heap), AccessShareLock, NULL);

		foreach(lc, parts)
		{
			Relation	part = table_open(lfirst_oid(lc), NoLock);
			AttrNumber	keyatts[2];
			Oid			idx;

			if (part->rd_rel->relkind != RELKIND_RELATION)
			{
				table_close(part, NoLock);
				continue;
			}
			keyatts[0] = ext_catalog_column(part, "balance_id");
			keyatts[1] = ext_catalog_column(part, "event_time");
			idx = ext_catalog_index_on(part, keyatts, 2, false);
			if (!OidIsValid(idx))
				elog(ERROR, "inventory_sync: partition \"%s\" of balance_change has no index on (balance_id, event_time)",
					 RelationGetRelationName(part));
			sum = sum_after_in(part, idx, ext_catalog_column(part, "delta"), balance_id, after, sum);
			table_close(part, NoLock);
		}
		list_free(parts);
	}
	PopActiveSnapshot();
	table_close(heap, NoLock);
	return sum;
}

void
balance_open(BalanceAccess *ba)
{
	Assert(balance_meta.valid);
	memset(ba, 0, sizeof(*ba));
	ba->rel = table_open(balance_meta.relid, RowExclusiveLock);
	ba->keyidx = index_open(balance_meta.keyidx, RowExclusiveLock);
	ba->found = table_slot_create(ba->rel, NULL);
	ba->newrow = MakeSingleTupleTableSlot(RelationGetDescr(ba->rel), &TTSOpsVirtual);
}

void
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
 * Probe the key index with a dirty snapshot into ba->found. Returns false when the key
 * has no row; sets *xwait to a transaction inserting or updating it, if any.
 */
static bool
probe_key(BalanceAccess *ba, const BalanceKey *key, const Datum *vals, TransactionId *xwait)
{
	ScanKeyData sk[4];
	SnapshotData dirty;
	IndexScanDesc scan;
	bool		found = false;
	int			i;

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
	*xwait = InvalidTransactionId;
	if (index_getnext_slot(scan, ForwardScanDirection, ba->found))
	{
		found = true;
		/* someone is inserting it: the caller waits for them, then looks again */
		*xwait = dirty.xmin;
	}
	index_endscan(scan);
	return found;
}

/* What the key loop needs of the row in ba->found. */
static void
read_found_row(BalanceAccess *ba, BalanceRow *row)
{
	bool		isnull;
	Datum		d;

	row->tid = ba->found->tts_tid;
	row->balance_id = DatumGetInt64(slot_getattr(ba->found, balance_meta.att_id, &isnull));
	row->state.quantity = DatumGetNumericCopy(slot_getattr(ba->found, balance_meta.att_quantity, &isnull));
	row->state.version = DatumGetInt64(slot_getattr(ba->found, balance_meta.att_version, &isnull));
	row->state.last_posting = 0;
	d = slot_getattr(ba->found, balance_meta.att_last_count_at, &isnull);
	row->state.has_count_at = !isnull;
	row->state.last_count_at = isnull ? 0 : DatumGetTimestampTz(d);
}

/*
 * Find the key's row. lock: lock it (FOR NO KEY UPDATE) in its latest version. Otherwise
 * read its latest committed version (or this transaction's own) without locking it: the
 * caller then updates it only if nobody did meanwhile (balance_write with locked false).
 * false when the key has no row (nobody has inserted it, or its inserter rolled back).
 */
bool
balance_find(BalanceAccess *ba, const BalanceKey *key, Datum lot, bool lock, BalanceRow *row)
{
	Datum		vals[4];

	vals[0] = Int64GetDatum(key->item);
	vals[1] = Int64GetDatum(key->location);
	vals[2] = lot;
	vals[3] = CStringGetTextDatum(key->bucket);
	for (;;)
	{
		TransactionId xwait;
		TM_FailureData tmfd;
		TM_Result	res;

		if (!probe_key(ba, key, vals, &xwait))
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
		read_found_row(ba, row);
		return true;
	}
}

/* The found row with the key loop's columns replaced, into ba->newrow. */
static void
form_new_row(BalanceAccess *ba, const BalanceState *s)
{
	TupleTableSlot *n = ba->newrow;
	int			natts = RelationGetDescr(ba->rel)->natts;

	/* ba->found still holds the row balance_find read: keep its other columns */
	slot_getallattrs(ba->found);
	ExecClearTuple(n);
	memcpy(n->tts_values, ba->found->tts_values, sizeof(Datum) * natts);
	memcpy(n->tts_isnull, ba->found->tts_isnull, sizeof(bool) * natts);
	n->tts_values[balance_meta.att_quantity - 1] = NumericGetDatum(s->quantity);
	n->tts_values[balance_meta.att_version - 1] = Int64GetDatum(s->version);
	n->tts_values[balance_meta.att_last_posting - 1] = Int64GetDatum(s->last_posting);
	n->tts_isnull[balance_meta.att_last_posting - 1] = false;
	n->tts_values[balance_meta.att_last_count_at - 1] = TimestampTzGetDatum(s->last_count_at);
	n->tts_isnull[balance_meta.att_last_count_at - 1] = !s->has_count_at;
	n->tts_values[balance_meta.att_updated_at - 1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	n->tts_isnull[balance_meta.att_updated_at - 1] = false;
	ExecStoreVirtualTuple(n);
}

/*
 * Write the key's new state into the row balance_find found. locked: it locked the row.
 * Otherwise the update waits for a transaction updating the row, as UPDATE does, and
 * false reports that the row changed since it was read (nothing was written).
 */
bool
balance_write(BalanceAccess *ba, const BalanceRow *row, bool locked, const BalanceState *state)
{
	TupleTableSlot *n = ba->newrow;
	TU_UpdateIndexes update_indexes;

	form_new_row(ba, state);
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

/* ------------------------------------------------------------------------
 * The after-states.
 *
 * The statement's balance_change rows go to heap_append (heap_append.h) as the key
 * loop produces them, AFTER_STATE_BATCH at a time: streaming them keeps a million-row
 * COPY from spilling its after-states to a temporary file first. Each row is copied as
 * it comes, so the caller's values may be freed right after.
 * ------------------------------------------------------------------------ */
void
after_states_begin(HeapAppend *w)
{
	heap_append_init(w, balance_meta.changes_relid, balance_meta.changes_natts, AFTER_STATE_BATCH);
}

void
after_state_append(HeapAppend *w, const AfterState *a)
{
	const AttrNumber *att = balance_meta.change_att;
	Datum		v[MAX_CHANGE_NATTS];
	bool		n[MAX_CHANGE_NATTS];

	memset(n, true, sizeof(bool) * balance_meta.changes_natts);
#define SET(c, d) (v[att[c] - 1] = (d), n[att[c] - 1] = false)
	SET(CC_POSTING_ID, Int64GetDatum(a->posting_id));
	SET(CC_BALANCE_ID, Int64GetDatum(a->balance_id));
	SET(CC_ITEM_GTIN, Int64GetDatum(a->item));
	SET(CC_LOCATION, Int64GetDatum(a->location));
	if (a->lot)
		SET(CC_LOT, a->lot);
	SET(CC_BUCKET, a->bucket);
	SET(CC_DELTA, NumericGetDatum(a->delta));
	SET(CC_QUANTITY_AFTER, NumericGetDatum(a->quantity));
	SET(CC_VERSION, Int64GetDatum(a->version));
	SET(CC_KIND, ObjectIdGetDatum(posting_catalog.kind_value[a->kind]));
	SET(CC_SOURCE, a->source);
	SET(CC_SOURCE_EVENT_ID, a->event_id);
	SET(CC_EVENT_TIME, TimestampTzGetDatum(a->event_time));
	SET(CC_RECORDED_AT, TimestampTzGetDatum(a->recorded_at));
#undef SET
	heap_append_row(w, v, n);
}

/* Stores what is left and closes; nothing to do when no row came. */
void
after_states_finish(HeapAppend *w)
{
	heap_append_finish(w, false);
}
