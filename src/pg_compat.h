/*
 * pg_compat.h: the differences between the PostgreSQL majors inventory_sync builds against
 * (15, 17 and 18), in one place. Each block names the major that changed the API; the
 * code uses the newest spelling, and this header supplies it on the older majors.
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
 * 18: pg_attribute_noreturn() (after the declarator) gave way to pg_noreturn (before it);
 * the code writes "pg_noreturn static void f(...)".
 */
#ifndef pg_noreturn
#define pg_noreturn pg_attribute_noreturn()
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

#endif							/* INVENTORY_SYNC_PG_COMPAT_H */
