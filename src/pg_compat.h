/*
 * pg_compat.h: the differences between the PostgreSQL majors inventory_sync builds against
 * (15, 17 and 18), in one place. Each block names the major that changed the API. Where
 * a name or a type changed, the code uses the newest and this header supplies it to the
 * older majors; where a function's arguments changed, the code calls a compat_ macro
 * with the arguments it needs, spelled here for the major being built. Every source file
 * includes this header right after postgres.h.
 */
#ifndef INVENTORY_SYNC_PG_COMPAT_H
#define INVENTORY_SYNC_PG_COMPAT_H

#include "postgres.h"

/* 16: the varlena macros (VARDATA_ANY, VARSIZE_ANY_EXHDR, ...) moved to varatt.h */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/*
 * 16: the executor and catalog headers no longer bring in utils/array.h (construct_array,
 * deconstruct_array) on their way
 */
#if PG_VERSION_NUM >= 160000
#include "utils/array.h"
#endif

/*
 * 16: table_tuple_update reports which indexes need new entries as a TU_UpdateIndexes
 * (TU_None, TU_All, TU_Summarizing: only the summarizing ones, e.g. BRIN) instead of a
 * bool, and ExecInsertIndexTuples takes onlySummarizing to match. Before 16 the result is
 * a bool (false = TU_None) and onlySummarizing is dropped unevaluated.
 */
#if PG_VERSION_NUM < 160000
typedef bool TU_UpdateIndexes;
#define TU_None false
#define compat_ExecInsertIndexTuples(rri, slot, estate, update, noDupErr, specConflict, arbiters, onlySummarizing) \
	ExecInsertIndexTuples((rri), (slot), (estate), (update), (noDupErr), (specConflict), (arbiters))
#else
#define compat_ExecInsertIndexTuples(rri, slot, estate, update, noDupErr, specConflict, arbiters, onlySummarizing) \
	ExecInsertIndexTuples((rri), (slot), (estate), (update), (noDupErr), (specConflict), (arbiters), (onlySummarizing))
#endif

/*
 * 17: an index AM may keep state between the inserts of one statement (BRIN keeps its
 * revmap pages pinned) until index_insert_cleanup, which ExecCloseIndices calls; code
 * that closes the indices itself calls it too (before 17 there is nothing to clean up).
 */
#if PG_VERSION_NUM >= 170000
#define compat_index_insert_cleanup(index, info) index_insert_cleanup((index), (info))
#else
#define compat_index_insert_cleanup(index, info) ((void) 0)
#endif

/* 17: a decoded change carries its tuples as HeapTuples (ReorderBufferTupleBuf is gone) */
#if PG_VERSION_NUM >= 170000
#define compat_change_newtuple(change) ((change)->data.tp.newtuple)
#else
#define compat_change_newtuple(change) (&(change)->data.tp.newtuple->tuple)
#endif

/*
 * 16: the decoding machinery reports a plugin's progress within a transaction itself;
 * before, the plugin calls OutputPluginUpdateProgress every so many changes too (at each
 * commit it does on every major: decoder.c's feed_progress).
 */

/*
 * 18: pg_attribute_noreturn() (after the declarator) gave way to pg_noreturn (before it);
 * the code writes "pg_noreturn static void f(...)".
 */
#ifndef pg_noreturn
#define pg_noreturn pg_attribute_noreturn()
#endif

/* 16: a relation's storage is named by a RelFileLocator (rd_locator), no longer a RelFileNode (rd_node) */
#if PG_VERSION_NUM >= 160000
#define compat_ReadRecentBuffer(rel, blkno, buffer) \
	ReadRecentBuffer((rel)->rd_locator, MAIN_FORKNUM, (blkno), (buffer))
#else
#define compat_ReadRecentBuffer(rel, blkno, buffer) \
	ReadRecentBuffer((rel)->rd_node, MAIN_FORKNUM, (blkno), (buffer))
#endif

/* 18: index_beginscan takes an IndexScanInstrumentation * (NULL: none) */
#if PG_VERSION_NUM >= 180000
#define compat_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), NULL, (nkeys), (norderbys))
#else
#define compat_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), (nkeys), (norderbys))
#endif

/*
 * 18: RelationGetPrimaryKeyIndex also knows deferrable primary keys, and returns one only
 * when asked to; before, a deferrable primary key was never returned.
 */
#if PG_VERSION_NUM >= 180000
#define compat_RelationGetPrimaryKeyIndex(rel) RelationGetPrimaryKeyIndex((rel), false)
#else
#define compat_RelationGetPrimaryKeyIndex(rel) RelationGetPrimaryKeyIndex(rel)
#endif

/*
 * 18: ExecCheckIndexConstraints can ignore one tuple (by TID, for an update's own row);
 * NULL for an insert, which is the only use here.
 */
#if PG_VERSION_NUM >= 180000
#define compat_ExecCheckIndexConstraints(rri, slot, estate, conflictTid, arbiters) \
	ExecCheckIndexConstraints((rri), (slot), (estate), (conflictTid), NULL, (arbiters))
#else
#define compat_ExecCheckIndexConstraints(rri, slot, estate, conflictTid, arbiters) \
	ExecCheckIndexConstraints((rri), (slot), (estate), (conflictTid), (arbiters))
#endif

/*
 * 16: the map from a partitioned table's rows to a partition's is built on first use by
 * ExecGetRootToChildMap; before, tuple routing set ri_RootToPartitionMap itself.
 */
#if PG_VERSION_NUM >= 160000
#define compat_ExecGetRootToChildMap(rri, estate) ExecGetRootToChildMap((rri), (estate))
#else
#define compat_ExecGetRootToChildMap(rri, estate) ((rri)->ri_RootToPartitionMap)
#endif

#endif							/* INVENTORY_SYNC_PG_COMPAT_H */
