/*
 * keyed_row.h
 *		Rows of the extension's tables found through a btree index, locked and rewritten
 *		through the table AM (src/keyed_row.c).
 *
 * For the hot paths that must not plan and start a statement per row: what UPDATE ...
 * WHERE key = ... does, one row at a time. A KeyedTable describes a table once per
 * incarnation of the extension (relation, index, the index keys' equality procedures,
 * the columns used, by name); a KeyedRow is one open use of it.
 */
#ifndef INVENTORY_SYNC_KEYED_ROW_H
#define INVENTORY_SYNC_KEYED_ROW_H

#include "postgres.h"

#include "access/skey.h"
#include "access/htup.h"
#include "access/tableam.h"
#include "access/xlogdefs.h"
#include "storage/buf.h"
#include "executor/tuptable.h"
#include "nodes/lockoptions.h"
#include "utils/rel.h"

#define KEYED_MAX_KEYS 4
#define KEYED_MAX_COLS 10

typedef struct KeyedTable
{
	Oid			relid;
	Oid			indexid;
	int			nkeys;			/* key columns the index is searched by */
	AttrNumber	keyatt[KEYED_MAX_KEYS];	/* their columns in the table */
	bool		unique;			/* the index is unique on exactly the keys, for every row */
	RegProcedure eq[KEYED_MAX_KEYS];
	Oid			collation[KEYED_MAX_KEYS];
	int			ncols;
	AttrNumber	att[KEYED_MAX_COLS];	/* the columns asked for, in the order asked */
	int			natts;			/* the table's columns (with dropped ones) */
} KeyedTable;

/*
 * Describes table: its index named index (or, when index is NULL, its unique index on
 * exactly keycols), searched by the first nkeys of keycols; cols are the columns the
 * caller reads or writes, by position in cols.
 */
extern void keyed_table_load(KeyedTable *t, const char *table, const char *index,
							 const char *const *keycols, int nkeys,
							 const char *const *cols, int ncols);
extern bool keyed_tables_concerned(int kind, Oid relid, const KeyedTable *tables, int n);

typedef struct KeyedRow
{
	const KeyedTable *t;
	Relation	rel;
	Relation	index;
	ScanKeyData key[KEYED_MAX_KEYS];
	TupleTableSlot *slot;		/* the version found */
	TupleTableSlot *newrow;		/* the version written */
	struct IndexScanDescData *scan;
	Snapshot	scan_snapshot;	/* registered by the scan, when it took its own */
	Snapshot	snapshot;		/* the caller's, for finds; NULL: a fresh one each time */
	HeapTupleData chain_tuple;	/* the version keyed_row_fetch_chain() put in slot (the slot points to it) */
	bool		follow_seen;	/* finds start from the version this backend found last (set by the caller) */
	BlockNumber nblocks;		/* the table's blocks, read once while open (InvalidBlockNumber: not yet) */
} KeyedRow;

extern void keyed_row_open(KeyedRow *r, const KeyedTable *t, LOCKMODE lockmode);
extern void keyed_row_close(KeyedRow *r);

/*
 * The latest committed version (or this transaction's own) of the row whose index keys
 * are key[], into r->slot; false when there is none. Commands before this one are made
 * visible first. With r->snapshot set (a caller's fresh snapshot, e.g. keyed_snapshot()
 * taken once after the locks that keep the rows read from changing), it reads under that.
 * With r->follow_seen set, on a table whose index is unique on exactly its keys, the row
 * is first looked for on the chain of versions from the one this backend found last
 * (keyed_row_fetch_chain(): the same version, without the index and without the versions
 * before the one seen), for rows many backends rewrite in turn: each reads far fewer.
 */
extern bool keyed_row_find(KeyedRow *r, const Datum *key);

/*
 * The version at tid into r->slot if snapshot (NULL: a fresh one) sees it: a row found
 * before, read again without searching the index; false when that version is not the
 * one the snapshot sees any more (search again).
 */
extern bool keyed_row_fetch(KeyedRow *r, ItemPointer tid, Snapshot snapshot);

/*
 * The version snapshot sees of the row whose index keys are key[], looked for on the
 * heap-only chain that continues from tid (a version of it read before), into r->slot,
 * *tid moved to it; false when that chain holds none (the row moved to another page, was
 * deleted, or tid's line now holds another row's version): search the index. The caller
 * gives the number of blocks the relation had when it opened it (it holds a lock that
 * keeps it from being truncated). Where a row changes more often than it is read, its
 * versions since tid are fewer than those since the chain's start, which an index search
 * follows, and no index page is visited.
 */
extern bool keyed_row_fetch_chain(KeyedRow *r, ItemPointer tid, BlockNumber nblocks, Snapshot snapshot,
								  const Datum *key);

/*
 * Where this backend found a version of a row last (per backend, by table and a hash of
 * the row's index keys; bounded, it starts again when full): the version's TID, and, where
 * that version had settled when it was read (committed by another transaction, neither
 * updated, deleted nor locked), its page's LSN then and its inserter, which let a later
 * read take it again without walking its chain while its page has not changed
 * (keyed_row_fetch_seen()). A remembered version is where to start looking, never the row
 * itself: two keys may share an entry, so the version read there is checked to carry the
 * key. get copies the entry, false when none; put stores one (NULL: forgets the row).
 * keyed_row_find() with follow_seen keeps them.
 */
typedef struct KeyedSeen
{
	ItemPointerData tid;
	XLogRecPtr	lsn;			/* InvalidXLogRecPtr: not settled when read */
	TransactionId xmin;
	Buffer		buffer;			/* the shared buffer its page was in (InvalidBuffer: none); checked before use */
} KeyedSeen;

extern bool keyed_seen_get(KeyedRow *r, const Datum *key, KeyedSeen *seen);
extern void keyed_seen_put(KeyedRow *r, const Datum *key, const KeyedSeen *seen);

/*
 * keyed_row_fetch_chain() from a remembered version, *seen moved to the version found:
 * where that version had settled and its page has not changed since, it is still the one
 * any later snapshot sees, taken without walking the chain (nor pruning the page again).
 */
extern bool keyed_row_fetch_seen(KeyedRow *r, KeyedSeen *seen, BlockNumber nblocks, Snapshot snapshot,
								 const Datum *key);

/*
 * Whether the version remembered in *seen, settled when it was read, is still the one
 * snapshot sees, its page unchanged since: the caller, who read it by its key, keeps what
 * it read from it. False: read it again (keyed_row_fetch_seen()).
 */
extern bool keyed_seen_unchanged(KeyedRow *r, KeyedSeen *seen, BlockNumber nblocks, Snapshot snapshot);

/* A fresh snapshot (after a CommandCounterIncrement), registered: unregister it when done. */
extern Snapshot keyed_snapshot(void);

/* Every such row in turn (a prefix of the index keys): begin, then next until false. */
extern void keyed_scan_begin(KeyedRow *r, const Datum *key, int nkeys);
extern bool keyed_scan_next(KeyedRow *r);
extern void keyed_scan_end(KeyedRow *r);

/* Column c (a position in the table's cols) of the version in r->slot. */
extern Datum keyed_row_get(KeyedRow *r, int c, bool *isnull);

/*
 * Waits in the found row's lock queue and locks its latest version into r->slot, as
 * SELECT ... FOR UPDATE (or FOR NO KEY UPDATE) would; false when it was deleted meanwhile.
 */
extern bool keyed_row_lock(KeyedRow *r, LockTupleMode mode);

/* Rewrites the row in r->slot (which this transaction has locked) with columns replaced. */
extern void keyed_row_update(KeyedRow *r, const int *cols, const Datum *values, int n);

/*
 * The same for a row found but not locked: waits for a transaction holding it, as UPDATE
 * does; false when the version in r->slot is not the latest any more (it was updated or
 * deleted meanwhile: find it again).
 */
extern bool keyed_row_try_update(KeyedRow *r, const int *cols, const Datum *values, int n);

#endif							/* INVENTORY_SYNC_KEYED_ROW_H */
