/*
 * reservation_write.c
 *		Storing a reservation row directly, as INSERT ... ON CONFLICT DO NOTHING would.
 *
 * reserve() inserts its reservation before it takes the hot channel ATP row, and an
 * INSERT through the executor (planning, executor start-up, the index descriptions
 * built on every call) was most of the fixed cost of a promise. So the row goes in by
 * speculative insertion against the key's unique index, with index descriptions kept
 * per backend; the result is the same row, with the same waiting and the same
 * conflicts, as the statement would give.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "nodes/pg_list.h"
#include "optimizer/optimizer.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "promise_internal.h"

/* ------------------------------------------------------------------------
 * The reservation table's index descriptions, built once per backend.
 *
 * ExecOpenIndices builds them on every call: each index's predicate copied out of the
 * relcache, planned and compiled, and the unique indexes' operators looked up for the
 * speculative insertion, work every reservation would pay for. They only change when
 * the table's indexes do, which sends a relcache invalidation for the table or the
 * index: the callback marks them stale and the next reservation builds them again.
 * Only plain btree indexes without expressions are kept (btree keeps nothing of its own
 * in the IndexInfo); a table with any other index is opened the executor's way.
 * ------------------------------------------------------------------------ */
typedef struct ResIndexes
{
	MemoryContext cxt;			/* holds this struct and everything below */
	Oid			relid;			/* reservation */
	int			n;
	Oid		   *oids;			/* RelationGetIndexList order */
	IndexInfo **info;			/* predicates compiled, speculative support built */
	bool		cacheable;		/* false: ExecOpenIndices on every call */
} ResIndexes;

static ResIndexes *res_indexes = NULL;
static bool res_indexes_stale = false;

void
reservation_indexes_invalidate(Oid relid)
{
	int			i;

	if (res_indexes == NULL || res_indexes_stale)
		return;
	if (!OidIsValid(relid) || relid == res_indexes->relid)
	{
		res_indexes_stale = true;
		return;
	}
	for (i = 0; i < res_indexes->n; i++)
		if (relid == res_indexes->oids[i])
		{
			res_indexes_stale = true;
			return;
		}
}

/* the descriptions for rel as it is now (rel is open and locked) */
static ResIndexes *
res_indexes_get(Relation rel)
{
	List	   *list;
	ListCell   *lc;
	MemoryContext cxt;
	MemoryContext old;
	ResIndexes *ri;
	int			i = 0;

	if (res_indexes != NULL && !res_indexes_stale && res_indexes->relid == RelationGetRelid(rel))
		return res_indexes;
	if (res_indexes != NULL)
		MemoryContextDelete(res_indexes->cxt);
	res_indexes = NULL;
	res_indexes_stale = false;

	/* built under the caller's context (an error frees it), kept only once complete */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "inventory_sync reservation indexes", ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	ri = palloc0(sizeof(ResIndexes));
	ri->cxt = cxt;
	ri->relid = RelationGetRelid(rel);
	ri->cacheable = true;
	list = RelationGetIndexList(rel);
	ri->n = list_length(list);
	ri->oids = palloc0(sizeof(Oid) * Max(ri->n, 1));
	ri->info = palloc0(sizeof(IndexInfo *) * Max(ri->n, 1));
	foreach(lc, list)
	{
		Relation	idx = index_open(lfirst_oid(lc), RowExclusiveLock);
		IndexInfo  *ii = BuildIndexInfo(idx);

		if (idx->rd_rel->relam != BTREE_AM_OID || ii->ii_Expressions != NIL)
			ri->cacheable = false;
		else
		{
			if (ii->ii_Unique)
				BuildSpeculativeIndexInfo(idx, ii);
			if (ii->ii_Predicate != NIL)
				ii->ii_PredicateState = ExecInitQual((List *) expression_planner((Expr *) ii->ii_Predicate), NULL);
		}
		ri->oids[i] = RelationGetRelid(idx);
		ri->info[i++] = ii;
		index_close(idx, NoLock);
	}
	MemoryContextSwitchTo(old);
	MemoryContextSetParent(cxt, CacheMemoryContext);
	res_indexes = ri;
	return ri;
}

/*
 * ExecOpenIndices(rri, true) from the kept descriptions. An invalidation taken while the
 * indexes are locked here leaves this call with the descriptions it started with, as
 * ExecOpenIndices' own would be.
 */
static void
res_open_indices(ResultRelInfo *rri, Relation rel)
{
	ResIndexes *ri = res_indexes_get(rel);
	int			i;

	if (!ri->cacheable)
	{
		ExecOpenIndices(rri, true);
		return;
	}
	rri->ri_NumIndices = ri->n;
	rri->ri_IndexRelationDescs = palloc(sizeof(Relation) * Max(ri->n, 1));
	rri->ri_IndexRelationInfo = palloc(sizeof(IndexInfo *) * Max(ri->n, 1));
	for (i = 0; i < ri->n; i++)
	{
		rri->ri_IndexRelationDescs[i] = index_open(ri->oids[i], RowExclusiveLock);
		rri->ri_IndexRelationInfo[i] = ri->info[i];
	}
}

/*
 * Insert the reservation unless its key exists, as INSERT ... ON CONFLICT DO NOTHING does
 * (speculative insertion: a concurrent insert of the same key is waited for, and wins if
 * it commits). false: the key exists.
 *
 * Optimistic: a new key is the common case, so the first attempt inserts without the
 * pre-check (an index probe per call); the unique index's partial check reports a key
 * that exists or is being inserted, the tuple is then super-deleted, and every later
 * attempt pre-checks as ON CONFLICT does (waiting for a concurrent inserter).
 */
bool
reservation_insert(Datum *values, bool *nulls)
{
	Relation	rel = table_open(promise_catalog.reservation, RowExclusiveLock);
	ResultRelInfo *rri = makeNode(ResultRelInfo);
	EState	   *estate = CreateExecutorState();
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	List	   *arbiters = list_make1_oid(promise_catalog.reservation_key);
	bool		inserted = false;
	bool		first = true;

	InitResultRelInfo(rri, rel, 1, NULL, 0);
	res_open_indices(rri, rel);
	for (;;)
	{
		ItemPointerData conflict;
		bool		spec_conflict = false;
		uint32		token;

		ExecClearTuple(slot);
		memcpy(slot->tts_values, values, sizeof(Datum) * promise_catalog.reservation_natts);
		memcpy(slot->tts_isnull, nulls, sizeof(bool) * promise_catalog.reservation_natts);
		ExecStoreVirtualTuple(slot);
		if (!first && !compat_ExecCheckIndexConstraints(rri, slot, estate, &conflict, arbiters))
			break;
		first = false;
		token = SpeculativeInsertionLockAcquire(GetCurrentTransactionId());
		table_tuple_insert_speculative(rel, slot, GetCurrentCommandId(true), 0, NULL, token);
		compat_ExecInsertIndexTuples(rri, slot, estate, false, true, &spec_conflict, arbiters, false);
		table_tuple_complete_speculative(rel, slot, token, !spec_conflict);
		SpeculativeInsertionLockRelease(GetCurrentTransactionId());
		if (!spec_conflict)
		{
			inserted = true;
			break;
		}
		/* the same key went in meanwhile: look again (waiting for its inserter) */
	}
	ExecCloseIndices(rri);		/* before the hot row: its locks go now, not at commit */
	ExecDropSingleTupleTableSlot(slot);
	FreeExecutorState(estate);
	table_close(rel, NoLock);
	return inserted;
}

