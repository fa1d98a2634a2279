/*
 * promise.c
 *		reserve(): a reservation anywhere in a dedicated channel in one locked row (see
 *		promise.h); a line held at one location in reserve_placed.c; every other case is
 *		handed to _reserve_general() in SQL.
 *
 * Why the work is ordered the way it is: with many clients promising one hot item, the
 * rate is set by how long the hot row stays locked, i.e. by everything done between the
 * conditional UPDATE that locks it and the commit. So everything that can be done before
 * is done before (validation, the idempotent insert of the reservation, the change id,
 * opening the change table), and what must come after (the after-state row, which
 * carries the ATP and version the take returned) is one row, stored directly, heap tuple
 * plus index entries, as the posting engine stores balance_change, without planning or
 * starting an executor per row. That row is also the record of the channel's ATP move
 * (reservation_change.atp_before): a second row in channel_atp_change would lengthen
 * every wait in the hot row's queue.
 *
 * Correctness rests on one invariant: channel_atp.atp of a dedicated channel is its ATP
 * (sum of its locations' ATP - its safety stock - its pooled reservations), recomputed
 * under the row lock by every other change of its inputs (_channel_atp_publish), and
 * computed today (lots leave ATP by date: channel_atp_state.computed_on). A pooled
 * reservation of q moves that ATP by exactly -q, so taking q where atp >= q
 * (channel_atp_take) both checks and applies it, and concurrent promises queue on the
 * row lock and re-check the condition on the row as the previous one committed it.
 * Membership (is the channel still dedicated?) is read under a ROW SHARE lock on channel,
 * taken before any other lock, that every change of membership waits for
 * (channel_location's statement trigger takes EXCLUSIVE on channel). The one row lock
 * taken here, the channel's ATP row, is the last step of the global lock order
 * (docs/reference/promises.md), so the fast path takes part in no deadlock.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "errcodes.h"
#include "gs1.h"
#include "heap_append.h"
#include "numeric_util.h"
#include "channel_move.h"
#include "promise.h"
#include "promise_internal.h"


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

void
fast_terms_invalidate(void)
{
	terms_stale = true;
}

/* The cache key of (channel, item); false when the channel name is too long to cache. */
static bool
terms_key(Datum channel, Datum item, TermsKey *key)
{
	text	   *t = DatumGetTextPP(channel);
	int			len = VARSIZE_ANY_EXHDR(t);

	if (len >= (int) sizeof(key->channel))
		return false;
	memset(key, 0, sizeof(*key));
	memcpy(key->channel, VARDATA_ANY(t), len);
	key->item = DatumGetInt64(item);
	return true;
}

/* The remembered terms of today, or NULL; the cache is made anew after an invalidation. */
static TermsEntry *
terms_lookup(const TermsKey *key)
{
	TermsEntry *e;

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
	e = hash_search(terms, key, HASH_FIND, NULL);
	if (e != NULL && e->day != GetSQLCurrentDate())
		return NULL;
	return e;
}

/* The channel's terms for the fast path, or NULL when it does not apply. */
static TermsEntry *
fast_terms(Datum channel, Datum item)
{
	TermsKey	key;
	bool		cacheable = terms_key(channel, item, &key);
	TermsEntry *e = cacheable ? terms_lookup(&key) : NULL;
	TermsEntry	fresh;
	bool		isnull;
	Datum		v[2];

	if (e != NULL)
		return e;
	v[0] = channel;
	v[1] = item;
	promise_query_run(PQ_FAST_TERMS, v, NULL);
	if (SPI_processed == 0)
		return NULL;
	memset(&fresh, 0, sizeof(fresh));
	fresh.ttl = *DatumGetIntervalP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	fresh.day = DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (cacheable && !terms_stale)
	{
		bool		found;

		e = hash_search(terms, &key, HASH_ENTER, &found);
		e->ttl = fresh.ttl;
		e->day = fresh.day;
		return e;
	}
	e = palloc(sizeof(TermsEntry));
	*e = fresh;
	return e;
}

/*
 * A channel sharing a location with another does not pool: the fast path's own question
 * (a query per call) need not be asked.
 */
static bool
channel_shared(FunctionCallInfo fcinfo)
{
	char	   *name = TextDatumGetCString(PG_GETARG_DATUM(ARG_CHANNEL));
	const ChannelTerms *terms;

	channel_topology_load();
	terms = channel_terms(name);
	return terms != NULL && channel_shares_location(terms);
}

/* ------------------------------------------------------------------------
 * The refusal.
 * ------------------------------------------------------------------------ */

/*
 * What the refusal adds when a cap limits the channel (_allocation_limit_note(): the
 * SQL's words); "" when nothing does. Only on the way to the error: never on a promise made.
 */
static char *
limit_note(const char *channel, const char *gtin)
{
	MemoryContext outer = CurrentMemoryContext;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2] = {CStringGetTextDatum(channel), CStringGetTextDatum(gtin)};
	char	   *note = "";

	SPI_connect();
	if (SPI_execute_with_args("SELECT inventory_sync._allocation_limit_note($1, $2::inventory_sync.gtin, NULL)",
							  2, types, args, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (v != NULL)
			note = MemoryContextStrdup(outer, v);
	}
	SPI_finish();
	return note;
}

/*
 * IS040 for a reservation anywhere in a channel: what was asked, what the channel has
 * (never below zero), the reservation's key. Worded as the SQL path words the same
 * refusal, so a caller sees one message whichever path decided.
 */
pg_noreturn static void
refuse_beyond_atp(Datum channel, Datum order_ref, Datum line_ref, Datum item, Numeric asked,
				  Numeric available)
{
	char		gtin[24];
	char	   *chan = TextDatumGetCString(channel);

	if (num_sign(available) <= 0)
		available = num_zero();
	gs1_key_format(GS1_KEY_GTIN, DatumGetInt64(item), gtin);
	ereport(ERROR,
			(errcode(ERRCODE_IS_BEYOND_ATP),
			 errmsg("insufficient ATP: %s of gtin %s asked, %s available in channel \"%s\"%s",
					num_text(asked), gtin, num_text(available), chan, limit_note(chan, gtin)),
			 errdetail("Reservation channel \"%s\", order \"%s\", line \"%s\".",
					   chan, TextDatumGetCString(order_ref), TextDatumGetCString(line_ref)),
			 errhint("Reserve less, elsewhere, or let the channel take backorders (channel.allow_backorder).")));
	pg_unreachable();
}

/* ------------------------------------------------------------------------
 * The fast path, in its steps.
 * ------------------------------------------------------------------------ */

/* A row of natts columns, every one NULL until set (dropped columns stay so). */
static inline void
row_all_null(Datum *values, bool *nulls, int natts)
{
	int			i;

	for (i = 0; i < natts; i++)
	{
		values[i] = (Datum) 0;
		nulls[i] = true;
	}
}

/*
 * The reservation row a C path inserts (open; at location, or anywhere in the channel when
 * location is 0), expiring after ttl unless the caller said when; returns its id.
 */
int64
reservation_row_fill(FunctionCallInfo fcinfo, const Interval *ttl, int64 location, Datum *values, bool *nulls)
{
	PromiseCatalog *pc = &promise_catalog;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	Datum		quantity = PG_GETARG_DATUM(ARG_QUANTITY);
	int64		reservation_id = nextval_internal(pc->reservation_seq, false);

	row_all_null(values, nulls, pc->reservation_natts);
#define SET(col, val) (values[pc->reservation_att[col] - 1] = (val), nulls[pc->reservation_att[col] - 1] = false)
	SET(RES_ID, Int64GetDatum(reservation_id));
	SET(RES_CHANNEL, PG_GETARG_DATUM(ARG_CHANNEL));
	SET(RES_ORDER_REF, PG_GETARG_DATUM(ARG_ORDER_REF));
	SET(RES_LINE_REF, PG_GETARG_DATUM(ARG_LINE_REF));
	SET(RES_ITEM, PG_GETARG_DATUM(ARG_ITEM));
	if (location != 0)
		SET(RES_LOCATION, Int64GetDatum(location));
	SET(RES_ANYWHERE, BoolGetDatum(PG_ARGISNULL(ARG_LOCATION)));
	SET(RES_QUANTITY, quantity);
	SET(RES_OPEN, quantity);
	SET(RES_FULFILLED, NumericGetDatum(num_zero()));
	SET(RES_STATUS, ObjectIdGetDatum(pc->status_open));
	SET(RES_EXPIRES_AT, PG_ARGISNULL(ARG_EXPIRES_AT)
		? DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(now), IntervalPGetDatum(ttl))
		: PG_GETARG_DATUM(ARG_EXPIRES_AT));
	if (!PG_ARGISNULL(ARG_DUE_DATE))
		SET(RES_DUE_DATE, PG_GETARG_DATUM(ARG_DUE_DATE));
	SET(RES_CREATED_AT, TimestampTzGetDatum(now));
	SET(RES_FULFILLING, BoolGetDatum(false));
#undef SET
	return reservation_id;
}

/*
 * The after-state of a reservation a C path opened: at location (0: anywhere), the
 * channel's ATP after it and its version; atp_before when this row records the channel's
 * move itself (a pooled reservation: channel_atp_change gets no row for it, see
 * 200_promise.sql), else NULL.
 */
void
reservation_change_append(HeapAppend *writer, FunctionCallInfo fcinfo, int64 change_id, int64 reservation_id,
						  int64 location, Numeric atp_before, Numeric atp_after, int64 version)
{
	PromiseCatalog *pc = &promise_catalog;
	Datum		quantity = PG_GETARG_DATUM(ARG_QUANTITY);
	Datum	   *values = palloc(sizeof(Datum) * pc->change_natts);
	bool	   *nulls = palloc(sizeof(bool) * pc->change_natts);

	row_all_null(values, nulls, pc->change_natts);
#define SET(col, val) (values[pc->change_att[col] - 1] = (val), nulls[pc->change_att[col] - 1] = false)
	SET(CHG_ID, Int64GetDatum(change_id));
	SET(CHG_RESERVATION, Int64GetDatum(reservation_id));
	SET(CHG_ACTION, ObjectIdGetDatum(pc->action_reserve));
	SET(CHG_CHANNEL, PG_GETARG_DATUM(ARG_CHANNEL));
	SET(CHG_ITEM, PG_GETARG_DATUM(ARG_ITEM));
	if (location != 0)
		SET(CHG_LOCATION, Int64GetDatum(location));
	SET(CHG_ORDER_REF, PG_GETARG_DATUM(ARG_ORDER_REF));
	SET(CHG_LINE_REF, PG_GETARG_DATUM(ARG_LINE_REF));
	SET(CHG_DELTA, quantity);
	SET(CHG_OPEN_AFTER, quantity);
	if (atp_before != NULL)
		SET(CHG_ATP_BEFORE, NumericGetDatum(atp_before));
	SET(CHG_ATP_AFTER, NumericGetDatum(atp_after));
	SET(CHG_VERSION, Int64GetDatum(version));
	/* posting_id: NULL, no posting made this change */
	SET(CHG_CHANGED_AT, TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()));
#undef SET
	heap_append_row(writer, values, nulls);
}

/*
 * The fast path; false when it does not apply (nothing has been written then). On true,
 * *values and *nulls are the reservation row, in reservation's column order.
 */
static bool
reserve_fast(FunctionCallInfo fcinfo, Datum **values, bool **nulls)
{
	PromiseCatalog *pc = &promise_catalog;
	Datum		channel = PG_GETARG_DATUM(ARG_CHANNEL);
	Datum		item = PG_GETARG_DATUM(ARG_ITEM);
	Numeric		quantity = PG_GETARG_NUMERIC(ARG_QUANTITY);
	TermsEntry *terms_now;
	int64		reservation_id;
	int64		change_id;
	HeapAppend	change_writer;
	AtpTake		take;

	terms_now = fast_terms(channel, item);
	if (terms_now == NULL)
		return false;

	/* before the hot row: the reservation (a key seen before goes to the general path:
	 * same terms or IS044), the change id, the change table opened */
	*values = palloc(sizeof(Datum) * pc->reservation_natts);
	*nulls = palloc(sizeof(bool) * pc->reservation_natts);
	reservation_id = reservation_row_fill(fcinfo, &terms_now->ttl, 0, *values, *nulls);
	if (!reservation_insert(*values, *nulls))
		return false;
	change_id = nextval_internal(pc->change_seq, false);
	heap_append_init(&change_writer, pc->reservation_change, pc->change_natts, 1);
	heap_append_open(&change_writer);

	/* the one lock: check and take under it */
	channel_atp_take(channel, item, quantity, &take);
	if (take.outcome == ATP_NO_ROW)
		elog(ERROR, "inventory_sync: channel ATP row of channel \"%s\" vanished", TextDatumGetCString(channel));
	if (take.outcome == ATP_SHORT)
		refuse_beyond_atp(channel, PG_GETARG_DATUM(ARG_ORDER_REF), PG_GETARG_DATUM(ARG_LINE_REF), item,
						  quantity, take.atp_before);

	/* after it: one row, the index locks kept to commit */
	/* atp_after + q: the move this row records (as _channel_atp_add records one) */
	reservation_change_append(&change_writer, fcinfo, change_id, reservation_id, 0,
							  num_add(take.atp_after, quantity), take.atp_after, take.version);
	heap_append_finish(&change_writer, true);
	return true;
}

/* ------------------------------------------------------------------------
 * The general path and the entry point.
 * ------------------------------------------------------------------------ */

/* _reserve_general()'s row, in reserve()'s declared row type (its dropped columns, if any, as NULL). */
static HeapTuple
reserve_general(FunctionCallInfo fcinfo, TupleDesc resultdesc)
{
	Datum		args[NUM_RESERVE_ARGS];
	char		argnulls[NUM_RESERVE_ARGS];
	Datum	   *values;
	bool	   *nulls;
	HeapTuple	row;
	TupleDesc	rowdesc;
	int			src = 0;
	int			i;

	for (i = 0; i < NUM_RESERVE_ARGS; i++)
	{
		args[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		argnulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	promise_query_run(PQ_RESERVE_GENERAL, args, argnulls);
	if (SPI_processed != 1)
		elog(ERROR, "inventory_sync: _reserve_general returned %llu rows", (unsigned long long) SPI_processed);
	row = SPI_tuptable->vals[0];
	rowdesc = SPI_tuptable->tupdesc;

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
	return heap_form_tuple(resultdesc, values, nulls);
}

/* order_ref and line_ref: 1 to 200 characters (bytes bound characters from above) */
static inline bool
key_part_ok(text *t)
{
	int			len = VARSIZE_ANY_EXHDR(t);

	return len >= 1 && (len <= 200 || pg_mbstrlen_with_len(VARDATA_ANY(t), len) <= 200);
}

bool
reserve_args_sane(FunctionCallInfo fcinfo)
{
	int			i;

	if (PG_NARGS() != NUM_RESERVE_ARGS)
		return false;
	for (i = ARG_CHANNEL; i <= ARG_QUANTITY; i++)
		if (PG_ARGISNULL(i))
			return false;
	if (!num_is_positive_finite(PG_GETARG_NUMERIC(ARG_QUANTITY)) ||
		!key_part_ok(PG_GETARG_TEXT_PP(ARG_ORDER_REF)) || !key_part_ok(PG_GETARG_TEXT_PP(ARG_LINE_REF)))
		return false;
	if (!PG_ARGISNULL(ARG_EXPIRES_AT) &&
		PG_GETARG_TIMESTAMPTZ(ARG_EXPIRES_AT) <= GetCurrentTransactionStartTimestamp())
		return false;
	return !IsolationUsesXactSnapshot();
}

PG_FUNCTION_INFO_V1(reserve);
/* reserve(channel, order_ref, line_ref, item, quantity, location, expires_at, due_date) */
Datum
reserve(PG_FUNCTION_ARGS)
{
	TupleDesc	resultdesc;
	bool		sane = reserve_args_sane(fcinfo);
	Datum	   *values;
	bool	   *nulls;
	HeapTuple	row;
	Datum		result;

	if (get_call_result_type(fcinfo, NULL, &resultdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "inventory_sync: reserve() must return a composite type");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_sync: SPI_connect failed");
	promise_catalog_load();
	/* membership cannot change until this transaction ends (see the file comment) */
	LockRelationOid(promise_catalog.channel, RowShareLock);
	if (sane && PG_ARGISNULL(ARG_LOCATION) && !channel_shared(fcinfo) && reserve_fast(fcinfo, &values, &nulls))
		row = heap_form_tuple(resultdesc, values, nulls);
	else if (sane && reserve_placed(fcinfo, &values, &nulls))
		row = heap_form_tuple(resultdesc, values, nulls);
	else
		row = reserve_general(fcinfo, resultdesc);
	result = PointerGetDatum(SPI_returntuple(row, resultdesc));
	SPI_finish();
	PG_RETURN_DATUM(result);
}
