/*
 * keyed_row.c
 *		Rows found through a btree index, locked and rewritten through the table AM (see
 *		keyed_row.h).
 *
 * A version is found with a fresh snapshot (the latest committed, and this transaction's
 * own after a CommandCounterIncrement), locked as SELECT ... FOR UPDATE locks it (in the
 * tuple lock's queue, then following the update chain to its latest version), and
 * rewritten as UPDATE would: new heap version, index entries where the update was not
 * HOT. The callers hold the locks that decide who may write the row, so a rewrite
 * meeting a concurrent change is a bug, reported as such.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "storage/bufmgr.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "common/hashfn.h"
#include "catalog/pg_index.h"

#include "ext_catalog.h"
#include "keyed_row.h"

void
keyed_table_load(KeyedTable *t, const char *table, const char *index, const char *const *keycols, int nkeys,
				 const char *const *cols, int ncols)
{
	Relation	rel;
	Relation	idx;
	AttrNumber	keyatts[KEYED_MAX_KEYS];
	int			i;

	Assert(nkeys <= KEYED_MAX_KEYS && ncols <= KEYED_MAX_COLS);
	memset(t, 0, sizeof(*t));
	t->relid = ext_catalog_relid(table, false);
	rel = table_open(t->relid, AccessShareLock);
	for (i = 0; i < nkeys; i++)
		keyatts[i] = ext_catalog_column(rel, keycols[i]);
	t->indexid = index ? ext_catalog_relid(index, false) : ext_catalog_index_on(rel, keyatts, nkeys, true);
	if (!OidIsValid(t->indexid))
		elog(ERROR, "inventory_sync: %s has lost its unique index on its key", table);
	for (i = 0; i < ncols; i++)
		t->att[i] = ext_catalog_column(rel, cols[i]);
	t->ncols = ncols;
	t->natts = RelationGetDescr(rel)->natts;
	t->nkeys = nkeys;
	memcpy(t->keyatt, keyatts, sizeof(AttrNumber) * nkeys);
	idx = index_open(t->indexid, AccessShareLock);
	ext_catalog_index_key_eq(idx, nkeys, t->eq, t->collation);
	t->unique = idx->rd_index->indisunique && IndexRelationGetNumberOfKeyAttributes(idx) == nkeys &&
		heap_attisnull(idx->rd_indextuple, Anum_pg_index_indpred, NULL) &&
		heap_attisnull(idx->rd_indextuple, Anum_pg_index_indexprs, NULL);
	for (i = 0; i < nkeys && t->unique; i++)
		t->unique = idx->rd_index->indkey.values[i] == keyatts[i];
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);
}

/* Whether a catalog change (see ext_catalog_on_change()) concerns one of n loaded tables. */
bool
keyed_tables_concerned(int kind, Oid relid, const KeyedTable *tables, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (ext_catalog_change_concerns(kind, relid, &tables[i].relid, 1))
			return true;
	return false;
}

void
keyed_row_open(KeyedRow *r, const KeyedTable *t, LOCKMODE lockmode)
{
	memset(r, 0, sizeof(*r));
	r->t = t;
	r->rel = table_open(t->relid, lockmode);
	r->index = index_open(t->indexid, lockmode);
	r->slot = table_slot_create(r->rel, NULL);
	r->newrow = MakeSingleTupleTableSlot(RelationGetDescr(r->rel), &TTSOpsVirtual);
	r->nblocks = InvalidBlockNumber;
}

void
keyed_row_close(KeyedRow *r)
{
	if (r->scan != NULL)
		keyed_scan_end(r);
	ExecDropSingleTupleTableSlot(r->slot);
	ExecDropSingleTupleTableSlot(r->newrow);
	index_close(r->index, NoLock);
	table_close(r->rel, NoLock);
}

Snapshot
keyed_snapshot(void)
{
	CommandCounterIncrement();
	return RegisterSnapshot(GetLatestSnapshot());
}

void
keyed_scan_begin(KeyedRow *r, const Datum *key, int nkeys)
{
	const KeyedTable *t = r->t;
	int			i;

	Assert(nkeys <= t->nkeys && r->scan == NULL);
	for (i = 0; i < nkeys; i++)
	{
		ScanKeyInit(&r->key[i], i + 1, BTEqualStrategyNumber, t->eq[i], key[i]);
		r->key[i].sk_collation = t->collation[i];
	}
	if (r->snapshot != NULL)
		r->scan_snapshot = NULL;
	else
		r->scan_snapshot = keyed_snapshot();
	r->scan = compat_index_beginscan(r->rel, r->index, r->snapshot ? r->snapshot : r->scan_snapshot, nkeys, 0);
	index_rescan(r->scan, r->key, nkeys, NULL, 0);
}

bool
keyed_scan_next(KeyedRow *r)
{
	return index_getnext_slot(r->scan, ForwardScanDirection, r->slot);
}

void
keyed_scan_end(KeyedRow *r)
{
	index_endscan(r->scan);
	if (r->scan_snapshot != NULL)
		UnregisterSnapshot(r->scan_snapshot);
	r->scan_snapshot = NULL;
	r->scan = NULL;
}

/*
 * Where each row found with follow_seen was found last, per backend: (table, a hash of
 * its key) to the TID of the version. A hash shared by two keys costs a search of the
 * index, never a wrong row: the version read there is checked to carry the key.
 */
typedef struct SeenKey
{
	Oid			relid;
	uint32		hash;
} SeenKey;

typedef struct SeenRow
{
	SeenKey		key;			/* hash key */
	KeyedSeen	seen;
} SeenRow;

#define SEEN_MAX 65536			/* beyond this many rows the table starts again */

static HTAB *seen_rows = NULL;

static HTAB *
seen_table(void)
{
	if (seen_rows != NULL && hash_get_num_entries(seen_rows) > SEEN_MAX)
	{
		hash_destroy(seen_rows);
		seen_rows = NULL;
	}
	if (seen_rows == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(SeenKey);
		ctl.entrysize = sizeof(SeenRow);
		ctl.hcxt = TopMemoryContext;
		seen_rows = hash_create("inventory_sync rows seen", 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	return seen_rows;
}

/* The row's entry key; false where its key cannot be hashed here (a key type of another kind). */
static bool
seen_key(KeyedRow *r, const Datum *key, SeenKey *k)
{
	const KeyedTable *t = r->t;
	TupleDesc	desc = RelationGetDescr(r->rel);
	uint32		h = 0;
	int			i;

	for (i = 0; i < t->nkeys; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, t->keyatt[i] - 1);
		uint32		hi;

		if (att->attbyval)
		{
			Datum		d = key[i];

			hi = hash_bytes((const unsigned char *) &d, sizeof(Datum));
		}
		else if (att->attlen == -1)
		{
			struct varlena *v = (struct varlena *) DatumGetPointer(key[i]);

			if (VARATT_IS_EXTENDED(v) && !VARATT_IS_SHORT(v))
				return false;
			hi = hash_bytes((const unsigned char *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
		}
		else if (att->attlen > 0)
			hi = hash_bytes((const unsigned char *) DatumGetPointer(key[i]), att->attlen);
		else
			return false;
		h = hash_combine(h, hi);
	}
	memset(k, 0, sizeof(*k));
	k->relid = RelationGetRelid(r->rel);
	k->hash = h;
	return true;
}

bool
keyed_seen_get(KeyedRow *r, const Datum *key, KeyedSeen *seen)
{
	SeenKey		k;
	SeenRow    *e;

	if (seen_rows == NULL || !seen_key(r, key, &k))
		return false;
	e = hash_search(seen_rows, &k, HASH_FIND, NULL);
	if (e == NULL)
		return false;
	*seen = e->seen;
	return true;
}

void
keyed_seen_put(KeyedRow *r, const Datum *key, const KeyedSeen *seen)
{
	SeenKey		k;
	SeenRow    *e;

	if (!seen_key(r, key, &k))
		return;
	if (seen == NULL)
	{
		if (seen_rows != NULL)
			hash_search(seen_rows, &k, HASH_REMOVE, NULL);
		return;
	}
	e = hash_search(seen_table(), &k, HASH_ENTER, NULL);
	e->seen = *seen;
}

bool
keyed_row_find(KeyedRow *r, const Datum *key)
{
	bool		follow = r->follow_seen && r->t->unique && !IsolationIsSerializable();
	KeyedSeen	seen;
	Snapshot	given = r->snapshot;
	Snapshot	snap = NULL;
	bool		found;

	if (follow && keyed_seen_get(r, key, &seen))
	{
		/* (the lock held on the table keeps it from being truncated while it is open) */
		if (r->nblocks == InvalidBlockNumber)
			r->nblocks = RelationGetNumberOfBlocks(r->rel);
		snap = given ? given : keyed_snapshot();
		found = keyed_row_fetch_seen(r, &seen, r->nblocks, snap, key);
		if (found)
		{
			if (given == NULL)
				UnregisterSnapshot(snap);
			keyed_seen_put(r, key, &seen);
			return true;
		}
		/* searched under the same snapshot */
		r->snapshot = snap;
	}
	keyed_scan_begin(r, key, r->t->nkeys);
	found = keyed_scan_next(r);
	keyed_scan_end(r);
	r->snapshot = given;
	if (snap != NULL && given == NULL)
		UnregisterSnapshot(snap);
	if (follow && found)
	{
		/* (where the index scan found it; whether it has settled is left to the next read) */
		seen.tid = r->slot->tts_tid;
		seen.lsn = InvalidXLogRecPtr;
		seen.xmin = InvalidTransactionId;
		seen.buffer = InvalidBuffer;
		keyed_seen_put(r, key, &seen);
	}
	return found;
}

bool
keyed_row_fetch(KeyedRow *r, ItemPointer tid, Snapshot snapshot)
{
	Snapshot	snap = snapshot ? snapshot : keyed_snapshot();
	bool		found = table_tuple_fetch_row_version(r->rel, tid, snap, r->slot);

	if (snapshot == NULL)
		UnregisterSnapshot(snap);
	return found;
}

/* Whether a stored key value is the one searched for, byte for byte (where equal bytes, the same key). */
static bool
key_same(Datum stored, Datum wanted, Form_pg_attribute att)
{
	if (att->attlen == -1)
	{
		struct varlena *a = (struct varlena *) DatumGetPointer(stored);
		struct varlena *b = (struct varlena *) DatumGetPointer(wanted);

		if (VARATT_IS_EXTENDED(a) && !VARATT_IS_SHORT(a))
			return false;
		if (VARATT_IS_EXTENDED(b) && !VARATT_IS_SHORT(b))
			return false;
		return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
			memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
	}
	return datumIsEqual(stored, wanted, att->attbyval, att->attlen);
}

/*
 * The version snapshot sees on the chain from offnum of the page in buf (share-locked),
 * into *tuple: as heap_hot_search_buffer() walks a chain, but from any of its versions,
 * not only from its root (which that function requires).
 */
static bool
chain_visible(Relation rel, Buffer buf, OffsetNumber offnum, Snapshot snapshot, HeapTuple tuple)
{
	Page		page = BufferGetPage(buf);
	BlockNumber blkno = BufferGetBlockNumber(buf);
	TransactionId prev_xmax = InvalidTransactionId;
	bool		at_start = true;

	for (;;)
	{
		ItemId		lp;

		if (offnum < FirstOffsetNumber || offnum > PageGetMaxOffsetNumber(page))
			return false;
		lp = PageGetItemId(page, offnum);
		if (!ItemIdIsNormal(lp))
		{
			/* a root pruned away points to the chain's first version still there */
			if (ItemIdIsRedirected(lp) && at_start)
			{
				offnum = ItemIdGetRedirect(lp);
				at_start = false;
				continue;
			}
			return false;
		}
		tuple->t_data = (HeapTupleHeader) PageGetItem(page, lp);
		tuple->t_len = ItemIdGetLength(lp);
		tuple->t_tableOid = RelationGetRelid(rel);
		ItemPointerSet(&tuple->t_self, blkno, offnum);
		/* the next version must be the one the previous was updated to, not a line reused since */
		if (TransactionIdIsValid(prev_xmax) &&
			!TransactionIdEquals(prev_xmax, HeapTupleHeaderGetXmin(tuple->t_data)))
			return false;
		if (HeapTupleSatisfiesVisibility(tuple, snapshot, buf))
			return true;
		if (!HeapTupleIsHotUpdated(tuple))
			return false;
		Assert(ItemPointerGetBlockNumber(&tuple->t_data->t_ctid) == blkno);
		offnum = ItemPointerGetOffsetNumber(&tuple->t_data->t_ctid);
		prev_xmax = HeapTupleHeaderGetUpdateXid(tuple->t_data);
		at_start = false;
	}
}

/* Whether the version in r->slot carries the key searched for (a key does not change along a heap-only chain). */
static bool
slot_has_key(KeyedRow *r, const Datum *key)
{
	const KeyedTable *t = r->t;
	TupleDesc	desc = RelationGetDescr(r->rel);
	int			i;

	for (i = 0; i < t->nkeys; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, t->keyatt[i] - 1);
		bool		isnull;
		Datum		v = slot_getattr(r->slot, t->keyatt[i], &isnull);

		if (isnull || !key_same(v, key[i], att))
			return false;
	}
	return true;
}

/*
 * Whether the version remembered in *seen is certainly still the one snapshot sees, before
 * its page is read: it had settled when it was read (seen->lsn and seen->xmin set: committed,
 * neither updated, deleted nor locked), its inserter ended before every transaction the
 * snapshot counts as running (its xid precedes the snapshot's xmin, so the snapshot sees
 * it), and the table is WAL-logged (see page_unchanged()).
 */
static bool
seen_settled(KeyedRow *r, const KeyedSeen *seen, BlockNumber nblocks, Snapshot snapshot)
{
	return !XLogRecPtrIsInvalid(seen->lsn) && TransactionIdIsNormal(seen->xmin) &&
		ItemPointerIsValid(&seen->tid) && ItemPointerGetBlockNumber(&seen->tid) < nblocks &&
		!IsolationIsSerializable() && RelationNeedsWAL(r->rel) &&
		TransactionIdPrecedes(seen->xmin, snapshot->xmin);
}

/*
 * With seen_settled(): whether the page (in buf, share-locked) has not changed since the
 * version was read. Every update, deletion and row lock of a version is WAL-logged on its
 * page, which moves the page's LSN: while it has not moved, that version still has no
 * successor, and it is the one the snapshot sees.
 */
static bool
page_unchanged(const KeyedSeen *seen, Buffer buf)
{
	return BufferGetLSNAtomic(buf) == seen->lsn;
}

/* Pins the page of seen->tid, from the buffer it was in last where it still is there. */
static Buffer
seen_pin(KeyedRow *r, KeyedSeen *seen)
{
	BlockNumber blkno = ItemPointerGetBlockNumber(&seen->tid);
	Buffer		buf;

	/* the page is most often still in the buffer it was read from: pinned there without the buffer table */
	if (BufferIsValid(seen->buffer) && !BufferIsLocal(seen->buffer) &&
		compat_ReadRecentBuffer(r->rel, blkno, seen->buffer))
		buf = seen->buffer;
	else
		buf = ReadBuffer(r->rel, blkno);
	seen->buffer = buf;
	return buf;
}

bool
keyed_seen_unchanged(KeyedRow *r, KeyedSeen *seen, BlockNumber nblocks, Snapshot snapshot)
{
	Buffer		buf;
	bool		same;

	if (!seen_settled(r, seen, nblocks, snapshot))
		return false;
	buf = seen_pin(r, seen);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	same = page_unchanged(seen, buf);
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	ReleaseBuffer(buf);
	return same;
}

/* The version at seen->tid into r->chain_tuple, where seen_settled() and page_unchanged() hold. */
static bool
fetch_settled(KeyedRow *r, const KeyedSeen *seen, Buffer buf, bool settled)
{
	Page		page = BufferGetPage(buf);
	OffsetNumber offnum = ItemPointerGetOffsetNumber(&seen->tid);
	HeapTuple	tuple = &r->chain_tuple;
	ItemId		lp;

	if (!settled || !page_unchanged(seen, buf) ||
		offnum < FirstOffsetNumber || offnum > PageGetMaxOffsetNumber(page))
		return false;
	lp = PageGetItemId(page, offnum);
	if (!ItemIdIsNormal(lp))
		return false;
	tuple->t_data = (HeapTupleHeader) PageGetItem(page, lp);
	tuple->t_len = ItemIdGetLength(lp);
	tuple->t_tableOid = RelationGetRelid(r->rel);
	tuple->t_self = seen->tid;
	return TransactionIdEquals(HeapTupleHeaderGetXmin(tuple->t_data), seen->xmin);
}

/*
 * Where the version the snapshot sees has settled (committed by another transaction, and
 * no update, deletion or lock on it, so no successor is coming that this backend has not
 * met), what fetch_settled() needs to take it again without walking the chain: the page's
 * LSN now and its inserter; else neither.
 */
static void
seen_settle(KeyedSeen *seen, HeapTuple tuple, Buffer buf)
{
	HeapTupleHeader h = tuple->t_data;
	TransactionId xmin = HeapTupleHeaderGetXmin(h);

	seen->tid = tuple->t_self;
	seen->lsn = InvalidXLogRecPtr;
	seen->xmin = InvalidTransactionId;
	if (TransactionIdIsNormal(xmin) && !TransactionIdIsCurrentTransactionId(xmin) &&
		((h->t_infomask & HEAP_XMAX_INVALID) || !TransactionIdIsValid(HeapTupleHeaderGetRawXmax(h))))
	{
		seen->lsn = BufferGetLSNAtomic(buf);
		seen->xmin = xmin;
	}
}

bool
keyed_row_fetch_seen(KeyedRow *r, KeyedSeen *seen, BlockNumber nblocks, Snapshot snapshot, const Datum *key)
{
	HeapTuple	tuple = &r->chain_tuple;
	ItemPointer tid = &seen->tid;
	Buffer		buf;
	bool		found;
	bool		settled;

	/* (serializable transactions read through the index, which takes their predicate locks) */
	if (!ItemPointerIsValid(tid) || ItemPointerGetBlockNumber(tid) >= nblocks || IsolationIsSerializable())
		return false;
	settled = seen_settled(r, seen, nblocks, snapshot);
	buf = seen_pin(r, seen);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	found = fetch_settled(r, seen, buf, settled);
	if (!found)
	{
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		/* as an index scan visiting the page would (a page unchanged since is not pruned again) */
		heap_page_prune_opt(r->rel, buf);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		found = chain_visible(r->rel, buf, ItemPointerGetOffsetNumber(tid), snapshot, tuple);
		if (found)
			seen_settle(seen, tuple, buf);
	}
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	if (found)
	{
		ExecStoreBufferHeapTuple(tuple, r->slot, buf);
		/* the version found must be the row's (two keys may share a remembered TID) */
		found = slot_has_key(r, key);
		if (!found)
			ExecClearTuple(r->slot);
	}
	if (!found)
	{
		seen->lsn = InvalidXLogRecPtr;
		seen->xmin = InvalidTransactionId;
	}
	ReleaseBuffer(buf);
	return found;
}

bool
keyed_row_fetch_chain(KeyedRow *r, ItemPointer tid, BlockNumber nblocks, Snapshot snapshot, const Datum *key)
{
	KeyedSeen	seen;
	bool		found;

	seen.tid = *tid;
	seen.lsn = InvalidXLogRecPtr;
	seen.xmin = InvalidTransactionId;
	seen.buffer = InvalidBuffer;
	found = keyed_row_fetch_seen(r, &seen, nblocks, snapshot, key);
	if (found)
		*tid = seen.tid;
	return found;
}

Datum
keyed_row_get(KeyedRow *r, int c, bool *isnull)
{
	return slot_getattr(r->slot, r->t->att[c], isnull);
}

bool
keyed_row_lock(KeyedRow *r, LockTupleMode mode)
{
	TM_Result	res;
	TM_FailureData tmfd;

	PushActiveSnapshot(GetLatestSnapshot());
	res = table_tuple_lock(r->rel, &r->slot->tts_tid, GetActiveSnapshot(), r->slot, GetCurrentCommandId(false),
						   mode, LockWaitBlock, TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
	PopActiveSnapshot();
	if (res == TM_Ok)
		return true;
	if (res != TM_Deleted && res != TM_Updated)
		elog(ERROR, "inventory_sync: unexpected result %d locking a row of \"%s\"", (int) res,
			 RelationGetRelationName(r->rel));
	return false;
}

/* The found version with columns replaced, written as UPDATE would; its result. */
static TM_Result
row_update(KeyedRow *r, const int *cols, const Datum *values, int n)
{
	const KeyedTable *t = r->t;
	TupleTableSlot *newrow = r->newrow;
	TM_Result	res;
	TM_FailureData tmfd;
	LockTupleMode lockmode;
	TU_UpdateIndexes update_indexes;
	int			i;

	slot_getallattrs(r->slot);
	ExecClearTuple(newrow);
	memcpy(newrow->tts_values, r->slot->tts_values, sizeof(Datum) * t->natts);
	memcpy(newrow->tts_isnull, r->slot->tts_isnull, sizeof(bool) * t->natts);
	for (i = 0; i < n; i++)
	{
		newrow->tts_values[t->att[cols[i]] - 1] = values[i];
		newrow->tts_isnull[t->att[cols[i]] - 1] = false;
	}
	ExecStoreVirtualTuple(newrow);
	res = table_tuple_update(r->rel, &r->slot->tts_tid, newrow, GetCurrentCommandId(true), GetActiveSnapshot(),
							 InvalidSnapshot, true, &tmfd, &lockmode, &update_indexes);
	if (res == TM_Ok && update_indexes != TU_None)
	{
		EState	   *estate = CreateExecutorState();
		ResultRelInfo *rri = makeNode(ResultRelInfo);

		InitResultRelInfo(rri, r->rel, 1, NULL, 0);
		ExecOpenIndices(rri, false);
		compat_ExecInsertIndexTuples(rri, newrow, estate, false, false, NULL, NIL,
									 update_indexes == TU_Summarizing);
		ExecCloseIndices(rri);
		FreeExecutorState(estate);
	}
	return res;
}

void
keyed_row_update(KeyedRow *r, const int *cols, const Datum *values, int n)
{
	TM_Result	res = row_update(r, cols, values, n);

	if (res != TM_Ok)
		elog(ERROR, "inventory_sync: a locked row of \"%s\" changed under its lock (%d)",
			 RelationGetRelationName(r->rel), (int) res);
}

bool
keyed_row_try_update(KeyedRow *r, const int *cols, const Datum *values, int n)
{
	TM_Result	res = row_update(r, cols, values, n);

	if (res == TM_Updated || res == TM_Deleted)
		return false;
	if (res != TM_Ok)
		elog(ERROR, "inventory_sync: unexpected result %d updating a row of \"%s\"", (int) res,
			 RelationGetRelationName(r->rel));
	return true;
}
