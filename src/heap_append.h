/*
 * heap_append.h
 *		Appending rows to a table only the engine writes, without an executor
 *		(src/heap_append.c).
 *
 * balance_change (a posting's after-states) and reservation_change (a reservation's)
 * are append-only tables with no constraints beyond NOT NULL (which the engine fills),
 * no triggers and no rules, written by nothing but the engine. Planning and starting an
 * executor for an INSERT was the largest fixed cost of a single-row posting, so rows go
 * straight in: heap tuple and index entries, as the logical-replication apply worker
 * stores them. One writer serves both: a statement's rows are batched (table_multi_insert,
 * with a bulk-insert state once a batch fills) so a million-row COPY streams its after-
 * states without spilling them first; a single reservation's row goes in at once, into a
 * table opened before the hot row lock was taken.
 *
 * A table partitioned by time (partition_ledger(), sql/install/165_ledger_partitioning.sql)
 * is written through tuple routing, as COPY does: each row goes at once into the
 * partition its key falls in (a row outside every partition is refused, 23514).
 */
#ifndef INVENTORY_SYNC_HEAP_APPEND_H
#define INVENTORY_SYNC_HEAP_APPEND_H

#include "postgres.h"

#include "access/heapam.h"
#include "executor/execPartition.h"
#include "executor/executor.h"

#define HEAP_APPEND_MAX_BATCH 1000

typedef struct HeapAppend
{
	Oid			relid;
	int			natts;			/* the table's columns, checked when it is opened */
	int			batch;			/* rows per insert: 1 = each row as it comes */
	Relation	rel;			/* NULL until opened */
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slots[HEAP_APPEND_MAX_BATCH];
	int			nslots;			/* slots made so far */
	int			n;				/* rows waiting in slots[0 .. n-1] */
	BulkInsertState bistate;	/* from the first full batch on */
	/* a partitioned table: each row is routed to its partition and stored at once */
	ModifyTableState *mtstate;
	PartitionTupleRouting *proute;
} HeapAppend;

/* Sets up a writer for relid (natts columns, batch rows per insert, 1..HEAP_APPEND_MAX_BATCH); opens nothing. */
extern void heap_append_init(HeapAppend *w, Oid relid, int natts, int batch);

/*
 * Opens the table, its indexes and an executor state, and checks the column count:
 * optional (the first row opens too), for a caller that wants this done before it
 * takes a lock others queue on.
 */
extern void heap_append_open(HeapAppend *w);

/*
 * One row in the table's column order (natts values and null flags). With batch 1 it is
 * stored at once; otherwise it is copied into a slot, so the caller's arrays and the
 * memory they point to may be freed right after, and stored when the batch fills.
 */
extern void heap_append_row(HeapAppend *w, const Datum *values, const bool *nulls);

/*
 * Stores what is waiting and closes; nothing to do when the table was never opened.
 * keep_index_locks: hold the index locks to the end of the transaction, as the table's
 * are (cheaper when a hot row lock is held: releasing them one by one only lengthens
 * the queue behind it); otherwise release them as ExecCloseIndices does.
 */
extern void heap_append_finish(HeapAppend *w, bool keep_index_locks);

/* ExecCloseIndices, but the index locks are kept to the end of the transaction. */
extern void heap_append_close_indices_keep_locks(ResultRelInfo *rri);

#endif							/* INVENTORY_SYNC_HEAP_APPEND_H */
