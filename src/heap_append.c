/*
 * heap_append.c
 *		Direct appends to the engine's append-only tables (see heap_append.h).
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "executor/execPartition.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"
#include "nodes/makefuncs.h"
#include "utils/rel.h"

#include "heap_append.h"

void
heap_append_init(HeapAppend *w, Oid relid, int natts, int batch)
{
	Assert(batch >= 1 && batch <= HEAP_APPEND_MAX_BATCH);
	memset(w, 0, offsetof(HeapAppend, slots));
	w->relid = relid;
	w->natts = natts;
	w->batch = batch;
	w->nslots = 0;
	w->n = 0;
	w->bistate = NULL;
	w->mtstate = NULL;
	w->proute = NULL;
}

void
heap_append_open(HeapAppend *w)
{
	if (w->rel != NULL)
		return;
	w->rel = table_open(w->relid, RowExclusiveLock);
	if (RelationGetDescr(w->rel)->natts != w->natts)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" has %d columns, expected %d", RelationGetRelationName(w->rel),
						RelationGetDescr(w->rel)->natts, w->natts),
				 errhint("The extension's objects do not match its library: ALTER EXTENSION inventory_sync UPDATE.")));
	w->estate = CreateExecutorState();
	w->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(w->rri, w->rel, 1, NULL, 0);
	if (w->rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
	{
		/* what COPY sets up to route rows: a result relation and no plan */
		w->mtstate = makeNode(ModifyTableState);
		w->mtstate->ps.plan = NULL;
		w->mtstate->ps.state = w->estate;
		w->mtstate->operation = CMD_INSERT;
		w->mtstate->mt_nrels = 1;
		w->mtstate->resultRelInfo = w->rri;
		w->mtstate->rootResultRelInfo = w->rri;
		w->proute = ExecSetupPartitionTupleRouting(w->estate, w->rel);
		w->batch = 1;
		return;
	}
	ExecOpenIndices(w->rri, false);
}

/* One row into the partition its key falls in, with its index entries. */
static void
heap_append_routed(HeapAppend *w, TupleTableSlot *slot)
{
	ResultRelInfo *leaf = ExecFindPartition(w->mtstate, w->rri, w->proute, slot, w->estate);
	TupleConversionMap *map = compat_ExecGetRootToChildMap(leaf, w->estate);

	if (map != NULL)
		slot = execute_attr_map_slot(map->attrMap, slot, leaf->ri_PartitionTupleSlot);
	table_tuple_insert(leaf->ri_RelationDesc, slot, GetCurrentCommandId(true), 0, NULL);
	if (leaf->ri_NumIndices > 0)
		compat_ExecInsertIndexTuples(leaf, slot, w->estate, false, false, NULL, NIL, false);
	ResetPerTupleExprContext(w->estate);
}

/* Stores the waiting rows: one by table_tuple_insert, more by table_multi_insert. */
static void
heap_append_flush(HeapAppend *w)
{
	CommandId	cid = GetCurrentCommandId(true);
	int			i;

	if (w->n == 0)
		return;
	if (w->proute != NULL)
	{
		for (i = 0; i < w->n; i++)
		{
			heap_append_routed(w, w->slots[i]);
			ExecClearTuple(w->slots[i]);
		}
		w->n = 0;
		return;
	}
	if (w->n == 1)
		table_tuple_insert(w->rel, w->slots[0], cid, 0, NULL);
	else
	{
		if (w->bistate == NULL && w->n == HEAP_APPEND_MAX_BATCH)
			w->bistate = GetBulkInsertState();
		table_multi_insert(w->rel, w->slots, w->n, cid, 0, w->bistate);
	}
	for (i = 0; i < w->n && w->rri->ri_NumIndices > 0; i++)
	{
		compat_ExecInsertIndexTuples(w->rri, w->slots[i], w->estate, false, false, NULL, NIL, false);
		ResetPerTupleExprContext(w->estate);
	}
	for (i = 0; i < w->n; i++)
		ExecClearTuple(w->slots[i]);
	w->n = 0;
}

void
heap_append_row(HeapAppend *w, const Datum *values, const bool *nulls)
{
	TupleTableSlot *slot;

	heap_append_open(w);
	if (w->n == w->nslots)
		w->slots[w->nslots++] = table_slot_create(w->rel, NULL);
	slot = w->slots[w->n++];
	ExecClearTuple(slot);
	memcpy(slot->tts_values, values, sizeof(Datum) * w->natts);
	memcpy(slot->tts_isnull, nulls, sizeof(bool) * w->natts);
	ExecStoreVirtualTuple(slot);
	/* a row that waits is copied now (the insert would form the tuple anyway) */
	if (w->batch > 1)
		ExecMaterializeSlot(slot);
	if (w->n >= w->batch)
		heap_append_flush(w);
}

void
heap_append_close_indices_keep_locks(ResultRelInfo *rri)
{
	int			i;

	for (i = 0; i < rri->ri_NumIndices; i++)
		if (rri->ri_IndexRelationDescs[i] != NULL)
		{
			compat_index_insert_cleanup(rri->ri_IndexRelationDescs[i], rri->ri_IndexRelationInfo[i]);
			index_close(rri->ri_IndexRelationDescs[i], NoLock);
		}
}

void
heap_append_finish(HeapAppend *w, bool keep_index_locks)
{
	int			i;

	if (w->rel == NULL)
		return;
	heap_append_flush(w);
	if (w->bistate != NULL)
		FreeBulkInsertState(w->bistate);
	w->bistate = NULL;
	if (w->proute != NULL)
	{
		/* closes the partitions and their indexes (their locks are kept to the end of the transaction) */
		ExecCleanupTupleRouting(w->mtstate, w->proute);
		ExecResetTupleTable(w->estate->es_tupleTable, false);
		w->proute = NULL;
		w->mtstate = NULL;
	}
	else if (keep_index_locks)
		heap_append_close_indices_keep_locks(w->rri);
	else
		ExecCloseIndices(w->rri);
	for (i = 0; i < w->nslots; i++)
		ExecDropSingleTupleTableSlot(w->slots[i]);
	w->nslots = 0;
	FreeExecutorState(w->estate);
	w->estate = NULL;
	table_close(w->rel, NoLock);
	w->rel = NULL;
}
