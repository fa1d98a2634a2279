/*
 * atp_take.c
 *		Taking ATP from a channel's published ATP row (see channel_atp_take in
 *		promise_internal.h for what it guarantees).
 *
 * The row is found by its primary key, checked and updated in place through the table
 * AM, and a concurrent taker is waited for exactly as UPDATE ... WHERE atp >= q would
 * wait: in the tuple lock's queue, then re-checking the row as that taker committed it.
 * Going through the executor instead would plan and start a statement per promise, with
 * the hot row's lock queue waiting behind every microsecond of it.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "numeric_util.h"
#include "promise_internal.h"

/* The channel ATP row being taken from, and what finding and rewriting it needs. */
typedef struct AtpRow
{
	Relation	rel;
	Relation	key_index;
	ScanKeyData key[2];
	TupleTableSlot *found;		/* the version looked at */
	TupleTableSlot *newrow;		/* the version written */
	int			natts;
} AtpRow;

static void
atp_row_open(AtpRow *row, Datum channel, Datum item)
{
	PromiseCatalog *pc = &promise_catalog;

	row->rel = table_open(pc->channel_atp, RowExclusiveLock);
	row->key_index = index_open(pc->channel_atp_key, RowExclusiveLock);
	row->found = table_slot_create(row->rel, NULL);
	row->newrow = MakeSingleTupleTableSlot(RelationGetDescr(row->rel), &TTSOpsVirtual);
	row->natts = RelationGetDescr(row->rel)->natts;
	ScanKeyInit(&row->key[0], 1, BTEqualStrategyNumber, pc->channel_atp_key_eq[0], channel);
	row->key[0].sk_collation = pc->channel_atp_key_collation[0];
	ScanKeyInit(&row->key[1], 2, BTEqualStrategyNumber, pc->channel_atp_key_eq[1], item);
	row->key[1].sk_collation = pc->channel_atp_key_collation[1];
}

static void
atp_row_close(AtpRow *row)
{
	ExecDropSingleTupleTableSlot(row->found);
	ExecDropSingleTupleTableSlot(row->newrow);
	index_close(row->key_index, NoLock);
	table_close(row->rel, NoLock);
}

/* The latest committed version (and this transaction's own) into row->found; false: none. */
static bool
atp_row_find_latest(AtpRow *row)
{
	IndexScanDesc scan;
	Snapshot	snap;
	bool		have;

	CommandCounterIncrement();
	snap = RegisterSnapshot(GetLatestSnapshot());
	scan = compat_index_beginscan(row->rel, row->key_index, snap, 2, 0);
	index_rescan(scan, row->key, 2, NULL, 0);
	have = index_getnext_slot(scan, ForwardScanDirection, row->found);
	index_endscan(scan);
	UnregisterSnapshot(snap);
	return have;
}

/* Writes the found version with atp, version and updated_at replaced, as UPDATE would. */
static TM_Result
atp_row_update(AtpRow *row, Numeric atp_after, int64 version_after)
{
	PromiseCatalog *pc = &promise_catalog;
	TupleTableSlot *newrow = row->newrow;
	TM_Result	res;
	TM_FailureData tmfd;
	LockTupleMode lockmode;
	TU_UpdateIndexes update_indexes;

	slot_getallattrs(row->found);
	ExecClearTuple(newrow);
	memcpy(newrow->tts_values, row->found->tts_values, sizeof(Datum) * row->natts);
	memcpy(newrow->tts_isnull, row->found->tts_isnull, sizeof(bool) * row->natts);
	newrow->tts_values[pc->channel_atp_att_atp - 1] = NumericGetDatum(atp_after);
	newrow->tts_values[pc->channel_atp_att_version - 1] = Int64GetDatum(version_after);
	newrow->tts_values[pc->channel_atp_att_updated_at - 1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	newrow->tts_isnull[pc->channel_atp_att_updated_at - 1] = false;
	ExecStoreVirtualTuple(newrow);
	res = table_tuple_update(row->rel, &row->found->tts_tid, newrow, GetCurrentCommandId(true), GetActiveSnapshot(),
							 InvalidSnapshot, true, &tmfd, &lockmode, &update_indexes);
	if (res == TM_Ok && update_indexes != TU_None)
	{
		EState	   *estate = CreateExecutorState();
		ResultRelInfo *rri = makeNode(ResultRelInfo);

		InitResultRelInfo(rri, row->rel, 1, NULL, 0);
		ExecOpenIndices(rri, false);
		compat_ExecInsertIndexTuples(rri, newrow, estate, false, false, NULL, NIL,
									 update_indexes == TU_Summarizing);
		ExecCloseIndices(rri);
		FreeExecutorState(estate);
	}
	return res;
}

static void
refuse_concurrent_update(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("could not serialize access due to concurrent update")));
}

/*
 * Waits our turn in the row's lock queue and locks its latest version into row->found;
 * false when the row was deleted meanwhile (look it up again).
 */
static bool
atp_row_lock_latest(AtpRow *row)
{
	TM_Result	res;
	TM_FailureData tmfd;

	PushActiveSnapshot(GetLatestSnapshot());
	res = table_tuple_lock(row->rel, &row->found->tts_tid, GetActiveSnapshot(), row->found,
						   GetCurrentCommandId(false), LockTupleNoKeyExclusive, LockWaitBlock,
						   TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
	PopActiveSnapshot();
	if (res == TM_Ok)
	{
		if (IsolationUsesXactSnapshot() &&
			!table_tuple_satisfies_snapshot(row->rel, row->found, GetTransactionSnapshot()))
			refuse_concurrent_update();
		return true;
	}
	if (res != TM_Updated && res != TM_Deleted)
		elog(ERROR, "inventory_sync: unexpected result %d locking channel ATP", (int) res);
	return false;
}

void
channel_atp_take(Datum channel, Datum item, Numeric quantity, AtpTake *result)
{
	PromiseCatalog *pc = &promise_catalog;
	AtpRow		row;
	bool		locked = false;

	memset(result, 0, sizeof(*result));
	result->outcome = ATP_NO_ROW;
	atp_row_open(&row, channel, item);
	for (;;)
	{
		bool		isnull;
		Numeric		atp;
		int64		version;
		TM_Result	res;

		/* no row: the general path publishes one */
		if (!locked && !atp_row_find_latest(&row))
			break;
		atp = DatumGetNumeric(slot_getattr(row.found, pc->channel_atp_att_atp, &isnull));
		version = DatumGetInt64(slot_getattr(row.found, pc->channel_atp_att_version, &isnull));
		if (num_cmp(atp, quantity) < 0)
		{
			/* as UPDATE ... WHERE atp >= q: not enough in the latest committed version */
			result->outcome = ATP_SHORT;
			result->atp_before = DatumGetNumericCopy(NumericGetDatum(atp));
			break;
		}
		result->atp_after = num_sub(atp, quantity);
		result->version = version + 1;
		res = atp_row_update(&row, result->atp_after, result->version);
		if (res == TM_Ok)
		{
			result->outcome = ATP_TAKEN;
			result->atp_before = DatumGetNumericCopy(NumericGetDatum(atp));
			break;
		}
		if (res != TM_Updated && res != TM_Deleted)
			elog(ERROR, "inventory_sync: unexpected result %d updating channel ATP", (int) res);
		if (locked)
			elog(ERROR, "inventory_sync: a locked channel ATP row changed");
		/* as UPDATE: a row changed after this transaction's snapshot cannot be promised from */
		if (IsolationUsesXactSnapshot())
			refuse_concurrent_update();
		/* wait our turn, then decide on the version the previous taker committed */
		locked = atp_row_lock_latest(&row);
	}
	atp_row_close(&row);
}
