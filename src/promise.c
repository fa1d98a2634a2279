/*
 * promise.c
 *		reserve(): a reservation anywhere in a dedicated channel in one locked row (see
 *		promise.h); every other case is handed to _reserve_general() in SQL.
 *
 * Why the work is ordered the way it is: with 64 clients promising one hot item, the
 * rate is set by how long the hot row stays locked, i.e. by everything done between the
 * conditional UPDATE that locks it and the commit. So everything that can be done before
 * is done before (validation, the idempotent insert of the reservation, the change id),
 * and what must come after (the after-state row, which carries the ATP and version the
 * UPDATE returned) is one row, stored directly, heap tuple plus index entries, as the
 * posting engine stores balance_change, without planning or starting an executor per
 * row. That row is also the record of the channel's ATP move (reservation_change.
 * atp_before): a second row in channel_atp_change cost about a tenth of the hot-item
 * rate (paired runs, 64 clients: 0.80 -> 0.87 of a bare conditional UPDATE).
 *
 * Correctness rests on one invariant: channel_atp.atp of a dedicated channel is its ATP
 * (sum of its locations' ATP - its safety stock - its pooled reservations), recomputed
 * under the row lock by every other change of its inputs (_channel_atp_publish), and
 * computed today (lots leave ATP by date: channel_atp_state.computed_on). A pooled
 * reservation of q moves that ATP by exactly -q, so "UPDATE ... SET atp = atp - q WHERE
 * atp >= q" both checks and applies it, and concurrent promises queue on the row lock
 * and re-check the condition on the row as the previous one committed it. Membership
 * (is the channel still dedicated?) is read under a ROW SHARE lock on channel, taken
 * before any other lock, that every change of membership waits for (channel_location's
 * statement trigger takes EXCLUSIVE on channel). The one row lock taken here, the
 * channel's ATP row, is the last step of the global lock order (docs/reference/
 * promises.md), so the fast path takes part in no deadlock.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_relation.h"
#include "storage/lmgr.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "access/genam.h"
#include "access/relscan.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "optimizer/optimizer.h"
#include "utils/relcache.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "errcodes.h"
#include "ext_catalog.h"
#include "gs1.h"
#include "heap_append.h"
#include "numeric_util.h"
#include "promise.h"

typedef enum ReservePlan
{
	RP_TERMS,					/* may the fast path promise this item in this channel today? */
	RP_GENERAL,					/* every other case */
	NUM_RESERVE_PLANS
} ReservePlan;

/* Schema-qualified throughout: reserve() runs as its owner with the caller's search_path. */
static const char *const reserve_sql[NUM_RESERVE_PLANS] = {
	/* a row only when the fast path applies: see channel_atp_state */
	"SELECT c.reservation_ttl, s.computed_on"
	"  FROM inventory_sync.channel c"
	"  JOIN inventory_sync.channel_atp_state s ON s.channel OPERATOR(pg_catalog.=) c.channel"
	"   AND s.item_gtin OPERATOR(inventory_sync.=) $2"
	" WHERE c.channel OPERATOR(pg_catalog.=) $1 AND NOT c.allow_backorder"
	"   AND s.computed_on OPERATOR(pg_catalog.=) CURRENT_DATE AND s.dedicated",
	"SELECT * FROM inventory_sync._reserve_general($1, $2, $3, $4, $5, $6, $7, $8)",
};

/* What the plans and the direct writes need; looked up again when the extension is recreated. */
static struct
{
	Oid			channel_atp;	/* the key: all below belong to this incarnation */
	Oid			channel_atp_key;	/* its primary key index (channel, item_gtin) */
	RegProcedure key_eq[2];
	Oid			key_collation[2];
	AttrNumber	att_atp;
	AttrNumber	att_version;
	AttrNumber	att_updated_at;
	Oid			channel;		/* the table membership changes lock (see the file comment) */
	Oid			reservation;
	Oid			reservation_key;	/* unique (channel, order_ref, line_ref) */
	Oid			reservation_seq;
	Oid			status_open;	/* reservation_status 'open' */
	AttrNumber	res_att[17];	/* reservation's columns, by res_cols */
	int			res_natts;
	Oid			reservation_change;
	Oid			change_seq;
	Oid			gtin_type;
	Oid			gln_type;
	Oid			action_reserve; /* reservation_action 'reserve' */
	SPIPlanPtr	plans[NUM_RESERVE_PLANS];
} rc;

/* reservation's columns, as the fast path fills them */
static const char *const res_cols[17] = {
	"reservation_id", "channel", "order_ref", "line_ref", "item_gtin", "location", "anywhere",
	"quantity", "open_quantity", "fulfilled_quantity", "status", "expires_at", "due_date",
	"promised_date", "created_at", "resolved_at", "fulfilling"
};

enum
{
	R_ID, R_CHANNEL, R_ORDER, R_LINE, R_ITEM, R_LOCATION, R_ANYWHERE, R_QUANTITY, R_OPEN, R_FULFILLED,
	R_STATUS, R_EXPIRES, R_DUE, R_PROMISED, R_CREATED, R_RESOLVED, R_FULFILLING
};

/* reservation_change's columns, in the order of the contract */
#define RC_NATTS 15

static void promise_relation_changed(int kind, Oid relid);

static void
resolve(void)
{
	Oid			atp = ext_catalog_relid("channel_atp", false);
	Relation	rel;
	int			i;

	ext_catalog_on_change(promise_relation_changed, EXT_CHANGE_RELATION);
	if (atp == rc.channel_atp)
		return;
	for (i = 0; i < NUM_RESERVE_PLANS; i++)
	{
		if (rc.plans[i] != NULL)
			SPI_freeplan(rc.plans[i]);
		rc.plans[i] = NULL;
	}
	rc.channel_atp = InvalidOid;
	rc.channel = ext_catalog_relid("channel", false);
	rc.reservation_change = ext_catalog_relid("reservation_change", false);
	rc.change_seq = ext_catalog_relid("reservation_change_change_id_seq", false);
	rc.gtin_type = ext_catalog_type("gtin", false);
	rc.gln_type = ext_catalog_type("gln", false);
	rc.action_reserve = ext_catalog_enum_value_by_name("reservation_action", "reserve");

	/* channel_atp: its columns and the primary key the fast path finds its row by */
	rel = table_open(atp, AccessShareLock);
	rc.att_atp = ext_catalog_column(rel, "atp");
	rc.att_version = ext_catalog_column(rel, "version");
	rc.att_updated_at = ext_catalog_column(rel, "updated_at");
	rc.channel_atp_key = compat_RelationGetPrimaryKeyIndex(rel);
	if (!OidIsValid(rc.channel_atp_key))
		elog(ERROR, "inventory_sync: channel_atp has lost its primary key");
	{
		Relation	idx = index_open(rc.channel_atp_key, AccessShareLock);

		if (IndexRelationGetNumberOfKeyAttributes(idx) != 2 ||
			idx->rd_index->indkey.values[0] != ext_catalog_column(rel, "channel") ||
			idx->rd_index->indkey.values[1] != ext_catalog_column(rel, "item_gtin"))
			elog(ERROR, "inventory_sync: channel_atp's primary key is not (channel, item_gtin)");
		ext_catalog_index_key_eq(idx, 2, rc.key_eq, rc.key_collation);
		index_close(idx, AccessShareLock);
	}
	table_close(rel, AccessShareLock);

	/* reservation: every column the fast path writes, and the index its key is unique in */
	rc.reservation = ext_catalog_relid("reservation", false);
	rc.reservation_seq = ext_catalog_relid("reservation_reservation_id_seq", false);
	rc.status_open = ext_catalog_enum_value_by_name("reservation_status", "open");
	{
		AttrNumber	key[3];
		int			live = 0;

		rel = table_open(rc.reservation, AccessShareLock);
		for (i = 0; i < lengthof(res_cols); i++)
			rc.res_att[i] = ext_catalog_column(rel, res_cols[i]);
		for (i = 0; i < RelationGetDescr(rel)->natts; i++)
			if (!TupleDescAttr(RelationGetDescr(rel), i)->attisdropped)
				live++;
		if (live != lengthof(res_cols) ||
			(rel->trigdesc != NULL && (rel->trigdesc->trig_insert_before_row || rel->trigdesc->trig_insert_after_row ||
									   rel->trigdesc->trig_insert_before_statement ||
									   rel->trigdesc->trig_insert_after_statement)) ||
			(RelationGetDescr(rel)->constr != NULL && (RelationGetDescr(rel)->constr->num_check > 0 ||
													   RelationGetDescr(rel)->constr->has_generated_stored)))
			elog(ERROR, "inventory_sync: reservation is not the table reserve() knows how to write");
		rc.res_natts = RelationGetDescr(rel)->natts;
		key[0] = rc.res_att[R_CHANNEL];
		key[1] = rc.res_att[R_ORDER];
		key[2] = rc.res_att[R_LINE];
		rc.reservation_key = ext_catalog_index_on(rel, key, 3, true);
		table_close(rel, AccessShareLock);
		if (!OidIsValid(rc.reservation_key))
			elog(ERROR, "inventory_sync: reservation has lost its unique key (channel, order_ref, line_ref)");
	}
	rc.channel_atp = atp;
}

/* ------------------------------------------------------------------------
 * The reservation table's index descriptions, built once per backend.
 *
 * ExecOpenIndices builds them on every call: each index's predicate copied out of the
 * relcache, planned and compiled, and the unique indexes' operators looked up for the
 * speculative insertion (together about 3% of a reservation's CPU). They only change
 * when the table's indexes do, which sends a relcache invalidation for the table or the
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

static void
res_indexes_invalidate(Oid relid)
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
static bool
reservation_insert(Datum *values, bool *nulls)
{
	Relation	rel = table_open(rc.reservation, RowExclusiveLock);
	ResultRelInfo *rri = makeNode(ResultRelInfo);
	EState	   *estate = CreateExecutorState();
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	List	   *arbiters = list_make1_oid(rc.reservation_key);
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
		memcpy(slot->tts_values, values, sizeof(Datum) * rc.res_natts);
		memcpy(slot->tts_isnull, nulls, sizeof(bool) * rc.res_natts);
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

static SPIPlanPtr
plan(ReservePlan which)
{
	static const int nargs[NUM_RESERVE_PLANS] = {2, 8};
	Oid			types[8];
	SPIPlanPtr	p;

	if (rc.plans[which] != NULL)
		return rc.plans[which];
	types[0] = TEXTOID;
	types[1] = rc.gtin_type;
	if (which != RP_TERMS)
	{
		types[1] = TEXTOID;
		types[2] = TEXTOID;
		types[3] = rc.gtin_type;
		types[4] = NUMERICOID;
		types[5] = rc.gln_type;
		types[6] = TIMESTAMPTZOID;
		types[7] = DATEOID;
	}
	p = SPI_prepare(reserve_sql[which], nargs[which], types);
	if (p == NULL)
		elog(ERROR, "inventory_sync: could not prepare \"%s\": %s", reserve_sql[which],
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(p) != 0)
		elog(ERROR, "inventory_sync: could not keep plan");
	rc.plans[which] = p;
	return p;
}

static void
run(ReservePlan which, Datum *values, const char *nulls, int expect)
{
	int			r = SPI_execute_plan(plan(which), values, nulls, false, 1);

	if (r != expect)
		elog(ERROR, "inventory_sync: \"%s\" failed: %s", reserve_sql[which], SPI_result_code_string(r));
}

/* ------------------------------------------------------------------------
 * Which (channel, item) the fast path may promise, remembered per backend.
 *
 * Only "yes" is remembered, with the day it holds for: the answer changes when a
 * channel's membership, backorder rule or reservation lifetime change (statement
 * triggers on channel and channel_location send a relcache invalidation, which empties
 * this cache; reserve() takes its lock on channel before it looks, and taking a
 * lock reads pending invalidations), when the item is deleted (likewise), and at
 * midnight (the day is compared).
 * ------------------------------------------------------------------------ */
typedef struct TermsKey
{
	char		channel[72];	/* channel names are 1 to 64 characters */
	int64		item;
} TermsKey;

typedef struct TermsEntry
{
	TermsKey	key;
	Interval	ttl;
	DateADT		day;
} TermsEntry;

static HTAB *terms = NULL;
static bool terms_stale = false;

/*
 * Any relcache invalidation empties the terms (the tables they come from send one on
 * every change); the index descriptions go stale with their table or one of its indexes.
 */
static void
promise_relation_changed(int kind, Oid relid)
{
	terms_stale = true;
	res_indexes_invalidate(relid);
}

static TermsEntry *
terms_lookup(Datum channel, Datum item, bool *cacheable)
{
	TermsKey	key;
	text	   *t = DatumGetTextPP(channel);
	int			len = VARSIZE_ANY_EXHDR(t);
	TermsEntry *e;

	*cacheable = len < (int) sizeof(key.channel);
	if (!*cacheable)
		return NULL;
	if (terms == NULL || terms_stale)
	{
		HASHCTL		ctl;

		if (terms != NULL)
			hash_destroy(terms);
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(TermsKey);
		ctl.entrysize = sizeof(TermsEntry);
		ctl.hcxt = CacheMemoryContext;
		terms = hash_create("inventory_sync reserve terms", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		terms_stale = false;
	}
	memset(&key, 0, sizeof(key));
	memcpy(key.channel, VARDATA_ANY(t), len);
	key.item = DatumGetInt64(item);
	e = hash_search(terms, &key, HASH_FIND, NULL);
	if (e != NULL && e->day != GetSQLCurrentDate())
		return NULL;
	return e;
}

/* The channel's terms for the fast path, or NULL when it does not apply. */
static TermsEntry *
fast_terms(Datum channel, Datum item)
{
	bool		cacheable;
	TermsEntry *e = terms_lookup(channel, item, &cacheable);
	TermsEntry	fresh;
	bool		isnull;
	Datum		v[2];

	if (e != NULL)
		return e;
	v[0] = channel;
	v[1] = item;
	run(RP_TERMS, v, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return NULL;
	memset(&fresh, 0, sizeof(fresh));
	fresh.ttl = *DatumGetIntervalP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	fresh.day = DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (cacheable && !terms_stale)
	{
		bool		found;
		TermsKey	key;
		text	   *t = DatumGetTextPP(channel);

		memset(&key, 0, sizeof(key));
		memcpy(key.channel, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		key.item = DatumGetInt64(item);
		e = hash_search(terms, &key, HASH_ENTER, &found);
		e->ttl = fresh.ttl;
		e->day = fresh.day;
		return e;
	}
	e = palloc(sizeof(TermsEntry));
	*e = fresh;
	return e;
}

/* ------------------------------------------------------------------------
 * Taking from the channel's ATP row: found by its key, checked and updated in place,
 * waiting for a concurrent promise exactly as UPDATE ... WHERE atp >= q would (in the
 * tuple lock's queue, then re-checking the row as that promise committed it).
 * ------------------------------------------------------------------------ */
static bool
atp_take(Datum channel, Datum item, Numeric quantity, Numeric *atp_after, int64 *version_after,
		 Numeric *atp_found)
{
	Relation	rel = table_open(rc.channel_atp, RowExclusiveLock);
	Relation	idx = index_open(rc.channel_atp_key, RowExclusiveLock);
	TupleTableSlot *found = table_slot_create(rel, NULL);
	TupleTableSlot *newrow = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsVirtual);
	int			natts = RelationGetDescr(rel)->natts;
	ScanKeyData sk[2];
	bool		taken = false;
	bool		locked = false;
	bool		isnull;

	*atp_found = NULL;
	ScanKeyInit(&sk[0], 1, BTEqualStrategyNumber, rc.key_eq[0], channel);
	sk[0].sk_collation = rc.key_collation[0];
	ScanKeyInit(&sk[1], 2, BTEqualStrategyNumber, rc.key_eq[1], item);
	sk[1].sk_collation = rc.key_collation[1];

	for (;;)
	{
		IndexScanDesc scan;
		Snapshot	snap;
		TM_Result	res;
		TM_FailureData tmfd;
		LockTupleMode lockmode;
		Numeric		atp;
		int64		version;
		bool		have = false;
		TU_UpdateIndexes update_indexes;

		if (!locked)
		{
			/* the latest committed version (and this transaction's own) */
			CommandCounterIncrement();
			snap = RegisterSnapshot(GetLatestSnapshot());
			scan = compat_index_beginscan(rel, idx, snap, 2, 0);
			index_rescan(scan, sk, 2, NULL, 0);
			have = index_getnext_slot(scan, ForwardScanDirection, found);
			index_endscan(scan);
			UnregisterSnapshot(snap);
			if (!have)
				break;			/* no row: the general path publishes one */
		}
		atp = DatumGetNumeric(slot_getattr(found, rc.att_atp, &isnull));
		version = DatumGetInt64(slot_getattr(found, rc.att_version, &isnull));
		if (num_cmp(atp, quantity) < 0)
		{
			/* as UPDATE ... WHERE atp >= q: not enough in the latest committed version */
			*atp_found = DatumGetNumericCopy(NumericGetDatum(atp));
			break;
		}

		/* the new version: atp - q, version + 1, updated now */
		slot_getallattrs(found);
		ExecClearTuple(newrow);
		memcpy(newrow->tts_values, found->tts_values, sizeof(Datum) * natts);
		memcpy(newrow->tts_isnull, found->tts_isnull, sizeof(bool) * natts);
		*atp_after = num_sub(atp, quantity);
		*version_after = version + 1;
		newrow->tts_values[rc.att_atp - 1] = NumericGetDatum(*atp_after);
		newrow->tts_values[rc.att_version - 1] = Int64GetDatum(*version_after);
		newrow->tts_values[rc.att_updated_at - 1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
		newrow->tts_isnull[rc.att_updated_at - 1] = false;
		ExecStoreVirtualTuple(newrow);
		res = table_tuple_update(rel, &found->tts_tid, newrow, GetCurrentCommandId(true), GetActiveSnapshot(),
								 InvalidSnapshot, true, &tmfd, &lockmode, &update_indexes);
		if (res == TM_Ok)
		{
			if (update_indexes != TU_None)
			{
				EState	   *estate = CreateExecutorState();
				ResultRelInfo *rri = makeNode(ResultRelInfo);

				InitResultRelInfo(rri, rel, 1, NULL, 0);
				ExecOpenIndices(rri, false);
				compat_ExecInsertIndexTuples(rri, newrow, estate, false, false, NULL, NIL,
											 update_indexes == TU_Summarizing);
				ExecCloseIndices(rri);
				FreeExecutorState(estate);
			}
			taken = true;
			break;
		}
		if (res != TM_Updated && res != TM_Deleted)
			elog(ERROR, "inventory_sync: unexpected result %d updating channel ATP", (int) res);
		if (locked)
			elog(ERROR, "inventory_sync: a locked channel ATP row changed");
		/* as UPDATE: a row changed after this transaction's snapshot cannot be promised from */
		if (IsolationUsesXactSnapshot())
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent update")));

		/* wait our turn in the row's queue, lock its latest version, decide on that */
		PushActiveSnapshot(GetLatestSnapshot());
		res = table_tuple_lock(rel, &found->tts_tid, GetActiveSnapshot(), found, GetCurrentCommandId(false),
							   LockTupleNoKeyExclusive, LockWaitBlock, TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
		PopActiveSnapshot();
		if (res == TM_Ok)
		{
			if (IsolationUsesXactSnapshot() &&
				!table_tuple_satisfies_snapshot(rel, found, GetTransactionSnapshot()))
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to concurrent update")));
			locked = true;
			continue;
		}
		if (res != TM_Updated && res != TM_Deleted)
			elog(ERROR, "inventory_sync: unexpected result %d locking channel ATP", (int) res);
		/* gone while we looked: look again */
	}
	ExecDropSingleTupleTableSlot(found);
	ExecDropSingleTupleTableSlot(newrow);
	index_close(idx, NoLock);
	table_close(rel, NoLock);
	return taken;
}

/* order_ref and line_ref: 1 to 200 characters (bytes bound characters from above) */
static inline bool
key_part_ok(text *t)
{
	int			len = VARSIZE_ANY_EXHDR(t);

	return len >= 1 && (len <= 200 || pg_mbstrlen_with_len(VARDATA_ANY(t), len) <= 200);
}

/* The fast path; false when it does not apply (nothing has been written then). */
static bool
reserve_fast(FunctionCallInfo fcinfo, Datum **resultvals, bool **resultnulls)
{
	Datum		channel = PG_GETARG_DATUM(0);
	Datum		item = PG_GETARG_DATUM(3);
	Datum		quantity = PG_GETARG_DATUM(4);
	Datum	   *rv = palloc(sizeof(Datum) * rc.res_natts);
	bool	   *rn = palloc(sizeof(bool) * rc.res_natts);
	int			i;
	int64		reservation_id;
	int64		change_id;
	Numeric		atp_after;
	int64		version;
	Numeric		atp_found;
	TermsEntry *terms_now;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	HeapAppend	change_writer;

	/* membership cannot change until this transaction ends (see the file comment) */
	LockRelationOid(rc.channel, RowShareLock);
	terms_now = fast_terms(channel, item);
	if (terms_now == NULL)
		return false;

	/* the reservation; a key seen before goes to the general path (same terms or IS044) */
	for (i = 0; i < rc.res_natts; i++)
	{
		rv[i] = (Datum) 0;
		rn[i] = true;
	}
#define SET(col, val) (rv[rc.res_att[col] - 1] = (val), rn[rc.res_att[col] - 1] = false)
	reservation_id = nextval_internal(rc.reservation_seq, false);
	SET(R_ID, Int64GetDatum(reservation_id));
	SET(R_CHANNEL, channel);
	SET(R_ORDER, PG_GETARG_DATUM(1));
	SET(R_LINE, PG_GETARG_DATUM(2));
	SET(R_ITEM, item);
	SET(R_ANYWHERE, BoolGetDatum(true));
	SET(R_QUANTITY, quantity);
	SET(R_OPEN, quantity);
	SET(R_FULFILLED, NumericGetDatum(num_zero()));
	SET(R_STATUS, ObjectIdGetDatum(rc.status_open));
	SET(R_EXPIRES, PG_ARGISNULL(6)
		? DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(now), IntervalPGetDatum(&terms_now->ttl))
		: PG_GETARG_DATUM(6));
	if (!PG_ARGISNULL(7))
		SET(R_DUE, PG_GETARG_DATUM(7));
	SET(R_CREATED, TimestampTzGetDatum(now));
	SET(R_FULFILLING, BoolGetDatum(false));
#undef SET
	if (!reservation_insert(rv, rn))
		return false;
	change_id = nextval_internal(rc.change_seq, false);
	heap_append_init(&change_writer, rc.reservation_change, RC_NATTS, 1);
	heap_append_open(&change_writer);

	/* the one lock: check and take under it */
	if (!atp_take(channel, item, DatumGetNumeric(quantity), &atp_after, &version, &atp_found))
	{
		Numeric		avail = num_zero();
		char		gtin[24];

		if (atp_found == NULL)
			elog(ERROR, "inventory_sync: channel ATP row of channel \"%s\" vanished", TextDatumGetCString(channel));
		if (num_sign(atp_found) > 0)
			avail = atp_found;
		gs1_key_format(GS1_KEY_GTIN, DatumGetInt64(item), gtin);
		ereport(ERROR,
				(errcode(ERRCODE_IS_BEYOND_ATP),
				 errmsg("insufficient ATP: %s of gtin %s asked, %s available in channel \"%s\"",
						num_text(DatumGetNumeric(quantity)), gtin, num_text(avail), TextDatumGetCString(channel)),
				 errdetail("Reservation channel \"%s\", order \"%s\", line \"%s\".",
						   TextDatumGetCString(channel), TextDatumGetCString(PG_GETARG_DATUM(1)),
						   TextDatumGetCString(PG_GETARG_DATUM(2))),
				 errhint("Reserve less, elsewhere, or let the channel take backorders (channel.allow_backorder).")));
	}

	/*
	 * The after-state, in the contract's column order. It records the channel's ATP move
	 * too (atp_before, atp_after, version): channel_atp_change gets no row for it (see
	 * 200_promise.sql), one row fewer under the hot row's lock.
	 */
	{
		Datum		cv[RC_NATTS];
		bool		cn[RC_NATTS];

		memset(cn, 0, sizeof(cn));
		cv[0] = Int64GetDatum(change_id);
		cv[1] = Int64GetDatum(reservation_id);
		cv[2] = ObjectIdGetDatum(rc.action_reserve);
		cv[3] = channel;
		cv[4] = item;
		cv[5] = (Datum) 0;
		cn[5] = true;			/* location: anywhere in the channel */
		cv[6] = PG_GETARG_DATUM(1);
		cv[7] = PG_GETARG_DATUM(2);
		cv[8] = quantity;		/* delta */
		cv[9] = quantity;		/* open_after */
		cv[10] = NumericGetDatum(num_add(atp_after, DatumGetNumeric(quantity)));	/* atp_before */
		cv[11] = NumericGetDatum(atp_after);
		cv[12] = Int64GetDatum(version);
		cv[13] = (Datum) 0;
		cn[13] = true;			/* posting_id */
		cv[14] = TimestampTzGetDatum(now);
		heap_append_row(&change_writer, cv, cn);
	}
	heap_append_finish(&change_writer, true);
	*resultvals = rv;
	*resultnulls = rn;
	return true;
}
PG_FUNCTION_INFO_V1(reserve);
/* reserve(channel, order_ref, line_ref, item, quantity, location, expires_at, due_date) */
Datum
reserve(PG_FUNCTION_ARGS)
{
	TupleDesc	resultdesc;
	Datum	   *values;
	bool	   *nulls;
	bool		fast;
	Datum		result;
	int			i;

	if (get_call_result_type(fcinfo, NULL, &resultdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "inventory_sync: reserve() must return a composite type");

	/* the fast path's domain: anywhere, every key given, a sane quantity and expiry */
	fast = PG_NARGS() == 8 && PG_ARGISNULL(5);
	for (i = 0; fast && i < 5; i++)
		fast = !PG_ARGISNULL(i);
	if (fast)
		fast = num_is_positive_finite(PG_GETARG_NUMERIC(4)) && key_part_ok(PG_GETARG_TEXT_PP(1)) &&
			key_part_ok(PG_GETARG_TEXT_PP(2));
	if (fast && !PG_ARGISNULL(6))
		fast = PG_GETARG_TIMESTAMPTZ(6) > GetCurrentTransactionStartTimestamp();
	/* under REPEATABLE READ and SERIALIZABLE the general path's SQL decides as SQL does */
	if (IsolationUsesXactSnapshot())
		fast = false;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_sync: SPI_connect failed");
	resolve();
	if (fast && reserve_fast(fcinfo, &values, &nulls))
		result = PointerGetDatum(SPI_returntuple(heap_form_tuple(resultdesc, values, nulls), resultdesc));
	else
	{
		Datum		v[8];
		char		n[8];
		HeapTuple	row;
		TupleDesc	rowdesc;
		int			src = 0;

		for (i = 0; i < 8; i++)
		{
			v[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
			n[i] = PG_ARGISNULL(i) ? 'n' : ' ';
		}
		run(RP_GENERAL, v, n, SPI_OK_SELECT);
		if (SPI_processed != 1)
			elog(ERROR, "inventory_sync: _reserve_general returned %llu rows", (unsigned long long) SPI_processed);
		row = SPI_tuptable->vals[0];
		rowdesc = SPI_tuptable->tupdesc;

		/* the row in the function's declared row type (its dropped columns, if any, as NULL) */
		values = palloc(sizeof(Datum) * resultdesc->natts);
		nulls = palloc(sizeof(bool) * resultdesc->natts);
		for (i = 0; i < resultdesc->natts; i++)
		{
			if (TupleDescAttr(resultdesc, i)->attisdropped)
			{
				values[i] = (Datum) 0;
				nulls[i] = true;
				continue;
			}
			if (src >= rowdesc->natts)
				elog(ERROR, "inventory_sync: reservation row has %d columns, expected more", rowdesc->natts);
			values[i] = SPI_getbinval(row, rowdesc, ++src, &nulls[i]);
		}
		result = PointerGetDatum(SPI_returntuple(heap_form_tuple(resultdesc, values, nulls), resultdesc));
	}
	SPI_finish();
	PG_RETURN_DATUM(result);
}
