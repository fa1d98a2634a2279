/*
 * reserve_placed.c
 *		reserve() of a line held at one location, in C: at the location the caller names,
 *		or anywhere in a channel that shares a location with another (its locations tried
 *		in order of ATP).
 *
 * The same steps as _reserve_general() and its helpers take in SQL for such a line, in
 * the same lock order: the reservation row (an insert with the caller's key, so a key
 * seen before goes to the SQL), the location's promise key, then the ATP rows of the
 * channels selling from the location in (channel, item) order. Under the key: the check
 * (the location's ATP as the channel sees it, and the channel's own ATP: the line takes
 * the lesser) and the key's reserved quantity; then the channels moved by the location's
 * new ATP (channel_move.c: from the stored location ATP, which falls by the line, where
 * it is today's; else recomputed, the channels' rows locked first), and the reservation's
 * after-state.
 * Everything the SQL decides otherwise — a backorder channel, a published ATP from an
 * earlier day, a missing row, a refusal's wording — the SQL decides: this path returns
 * false before it writes anything, or hands the refusal to _reserve_refuse().
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/varlena.h"

#include "channel_move.h"
#include "ext_catalog.h"
#include "heap_append.h"
#include "keyed_row.h"
#include "numeric_util.h"
#include "promise_internal.h"

/* The channels whose ATP rows the line locks: those selling from the location, and its own. */
typedef struct PlacedLocks
{
	text	  **channels;
	int			n;
} PlacedLocks;

static int
text_cmp(const void *a, const void *b)
{
	const text *x = *(text *const *) a;
	const text *y = *(text *const *) b;

	return varstr_cmp(VARDATA_ANY(x), VARSIZE_ANY_EXHDR(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(y),
					  DEFAULT_COLLATION_OID);
}

/* The channels selling from a location (the reserving one among them?), sorted: the rows a line there locks. */
static bool
location_channels(int64 location, text *channel, PlacedLocks *locks)
{
	int32	   *shelves;
	bool		member = false;
	int			i;

	locks->n = channel_location_channels(location, &locks->channels, &shelves);
	for (i = 0; i < locks->n; i++)
		member |= text_cmp(&locks->channels[i], &channel) == 0;
	qsort(locks->channels, locks->n, sizeof(text *), text_cmp);
	return member;
}

static bool
text_same(const text *x, const text *y)
{
	return VARSIZE_ANY_EXHDR(x) == VARSIZE_ANY_EXHDR(y) &&
		memcmp(VARDATA_ANY(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(x)) == 0;
}

/* What placed_candidates() found out about the line on its way. */
typedef struct PlacedStart
{
	Numeric		channel_atp;	/* the reserving channel's published ATP */
	bool		rest_ordered;	/* the candidates after the first are in order (else: to be ordered) */
	LocationBest best;			/* the first candidate's stored ATP, where the order was read */
	bool		best_read;
} PlacedStart;

/*
 * The locations this path tries for the line, in order, into *out; 0 when the SQL decides
 * it: a backorder channel, a location not the channel's (IS043), a channel whose sum is
 * not today's, a channel selling there without its rows yet. Anywhere in the channel,
 * only the first is known at once: the others are put in order when the line does not
 * fit there (place_line), most lines being held at the first.
 */
static int
placed_candidates(FunctionCallInfo fcinfo, const ChannelTerms *terms, text *channel, int64 **out,
				  PlacedStart *start)
{
	int64		item = DatumGetInt64(PG_GETARG_DATUM(ARG_ITEM));
	text	  **checked = NULL;
	int			nchecked = 0;
	int			n;
	int			i;
	int			j;

	memset(start, 0, sizeof(*start));
	start->rest_ordered = true;
	if (terms->allow_backorder || terms->nlocations == 0 || terms->locations == NULL)
		return 0;
	n = PG_ARGISNULL(ARG_LOCATION) ? (int) terms->nlocations : 1;
	*out = palloc(sizeof(int64) * n);
	if (!PG_ARGISNULL(ARG_LOCATION))
		(*out)[0] = DatumGetInt64(PG_GETARG_DATUM(ARG_LOCATION));
	else if (n == 1)
		(*out)[0] = terms->location;
	else
	{
		channel_location_first(terms, item, &start->best);
		start->best_read = true;
		start->rest_ordered = false;
		(*out)[0] = start->best.location;
		for (i = 0, j = 1; i < n; i++)
			if (terms->locations[i] != start->best.location && j < n)
				(*out)[j++] = terms->locations[i];
	}
	/* every channel a line there moves must have its rows; the reserving one's sum today's */
	if (!channel_rows_ready(channel, item, true, &start->channel_atp))
		return 0;
	if (PG_ARGISNULL(ARG_LOCATION) && n > 1)
	{
		/* the channel's own locations: the other channels there are the same for every line */
		text	  **others;
		bool		member;
		int			nothers = channel_location_others(terms, channel, &others, &member);

		if (!member)
			return 0;
		for (i = 0; i < nothers; i++)
			if (!channel_rows_ready(others[i], item, false, NULL))
				return 0;
		return n;
	}
	for (i = 0; i < n; i++)
	{
		text	  **channels;
		int32	   *shelves;
		int			nchannels = channel_location_channels((*out)[i], &channels, &shelves);
		bool		member = false;

		for (j = 0; j < nchannels; j++)
		{
			int			k;

			if (text_same(channels[j], channel))
			{
				member = true;
				continue;
			}
			/* each other channel once, wherever it sells */
			for (k = 0; k < nchecked && !text_same(checked[k], channels[j]); k++)
				;
			if (k < nchecked)
				continue;
			if (!channel_rows_ready(channels[j], item, false, NULL))
				return 0;
			if (checked == NULL)
				checked = palloc(sizeof(text *) * n * 2);
			if (nchecked < n * 2)
				checked[nchecked++] = channels[j];
		}
		if (!member)
			return 0;
		if (nchannels > 0)
		{
			pfree(channels);
			pfree(shelves);
		}
	}
	return n;
}

/* The candidates after the first, in the order of the channel's locations now (the first was tried). */
static void
order_rest(const ChannelTerms *terms, int64 item, int64 *candidates, int n)
{
	int64	   *ordered = palloc(sizeof(int64) * terms->nlocations);
	int			i;
	int			j;

	channel_location_order(terms, item, ordered);
	for (i = 0, j = 1; i < terms->nlocations && j < n; i++)
		if (ordered[i] != candidates[0])
			candidates[j++] = ordered[i];
	pfree(ordered);
}

/* Locks the ATP rows of the channels, in order; the reserving channel's ATP as locked into *own. */
static bool
lock_channel_rows(const PlacedLocks *locks, text *channel, Datum item, Numeric *own)
{
	KeyedRow	r;
	bool		ok = true;
	int			i;

	keyed_row_open(&r, channel_move_table(CHANNEL_TABLE_ATP), RowExclusiveLock);
	for (i = 0; i < locks->n && ok; i++)
	{
		Datum		key[2] = {PointerGetDatum(locks->channels[i]), item};
		bool		isnull;

		ok = keyed_row_find(&r, key) && keyed_row_lock(&r, LockTupleNoKeyExclusive);
		if (ok && text_cmp(&locks->channels[i], &channel) == 0)
			*own = DatumGetNumericCopy(keyed_row_get(&r, 0, &isnull));
	}
	keyed_row_close(&r);
	return ok;
}

/*
 * The location's promise key, created where missing (_promise_keys_lock: it holds none
 * yet), locked, in r (open: the caller closes it).
 */
static void
lock_promise_key(Datum item, int64 location, KeyedRow *r)
{
	Datum		key[2] = {item, Int64GetDatum(location)};

	keyed_row_open(r, channel_move_table(CHANNEL_TABLE_PROMISE_KEY), RowExclusiveLock);
	/* the key every line held there queues on: found from the version seen last (keyed_row_find) */
	r->follow_seen = true;
	if (!keyed_row_find(r, key) || !keyed_row_lock(r, LockTupleExclusive))
	{
		Oid			gtin = ext_catalog_type("gtin", false);
		Oid			gln = ext_catalog_type("gln", false);
		Oid			argtypes[2] = {get_array_type(gtin), get_array_type(gln)};
		Datum		args[2] = {PointerGetDatum(construct_array(&key[0], 1, gtin, 8, true, TYPALIGN_DOUBLE)),
		PointerGetDatum(construct_array(&key[1], 1, gln, 8, true, TYPALIGN_DOUBLE))};

		if (SPI_execute_with_args("SELECT inventory_sync._promise_keys_lock($1, $2)", 2, argtypes, args, NULL,
								  false, 1) != SPI_OK_SELECT)
			elog(ERROR, "inventory_sync: could not create the promise key of a reservation");
		if (!keyed_row_find(r, key) || !keyed_row_lock(r, LockTupleExclusive))
			elog(ERROR, "inventory_sync: a promise key just created is gone");
	}
}

/* The line held there: the locked promise key's reserved quantity grows by it. */
static void
hold_on_promise_key(KeyedRow *r, Numeric quantity)
{
	static const int col[1] = {0};
	Datum		v[1];
	bool		isnull;

	v[0] = NumericGetDatum(num_add(DatumGetNumeric(keyed_row_get(r, 0, &isnull)), quantity));
	keyed_row_update(r, col, v, 1);
}

/* What one location offers the line, read under its locks. */
typedef struct PlacedTry
{
	int64		location;
	Numeric		location_atp;	/* before the line */
	Numeric		channel_atp;
	bool		fits;
	bool		stored;			/* read from the stored location ATP: hold.* says how to move it */
	LineHold	hold;
} PlacedTry;

/*
 * Takes the line's locks at a location (level 2, then 4) and reads what it offers: from
 * its stored ATP, the channel's rows left to the move (they are taken last, so the
 * channel's ATP row, the one every line of the channel queues on, is held the shortest);
 * or, where C cannot read the stored ATP, by locking the channels' rows and recomputing.
 */
static void
read_location(text *channel, Datum item, int32 shelf, Numeric quantity, PlacedTry *t)
{
	PlacedLocks locks;

	t->hold.item = DatumGetInt64(item);
	t->hold.location = t->location;
	t->hold.channel = channel;
	t->hold.shelf = shelf;
	t->hold.quantity = quantity;
	t->stored = channel_hold_read(&t->hold);
	if (t->stored)
	{
		t->location_atp = t->hold.location_atp;
		t->channel_atp = t->hold.channel_atp;
	}
	else
	{
		(void) location_channels(t->location, channel, &locks);
		t->channel_atp = NULL;
		if (!lock_channel_rows(&locks, channel, item, &t->channel_atp) || t->channel_atp == NULL)
			elog(ERROR, "inventory_sync: a channel ATP row checked a moment ago is gone");
		/* (a location whose ATP C cannot read, a backorder held there, is passed over) */
		if (!location_atp_now(DatumGetInt64(item), t->location, shelf, &t->location_atp))
			t->location_atp = num_zero();
	}
	t->fits = num_cmp(quantity, t->location_atp) <= 0 && num_cmp(quantity, t->channel_atp) <= 0;
}

/*
 * The line's hold on the location's promise key, where it fits: in the (sub)transaction
 * that locked the key, so the lock and the update are one transaction's (a key locked by
 * a subtransaction and rewritten by its parent would need a multixact).
 */
static void
try_location_locked(text *channel, Datum item, int32 shelf, Numeric quantity, PlacedTry *t)
{
	KeyedRow	key;

	lock_promise_key(item, t->location, &key);
	read_location(channel, item, shelf, quantity, t);
	if (t->fits)
		hold_on_promise_key(&key, quantity);
	keyed_row_close(&key);
}

/*
 * The same in a subtransaction, for a line that may go elsewhere: when it does not fit,
 * the subtransaction is rolled back and the locks it took with it, so the next location's
 * are taken holding none (no cycle with a line trying them the other way round).
 */
static void
try_location(text *channel, Datum item, int32 shelf, Numeric quantity, PlacedTry *t)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		try_location_locked(channel, item, shelf, quantity, t);
	}
	PG_CATCH();
	{
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (t->fits)
		ReleaseCurrentSubTransaction();
	else
		RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
}

/* The channels moved by the SQL (a row C does not find: it creates it), under the same locks. */
static void
sql_move(Datum item, int64 location, int64 reservation_id)
{
	Oid			gtin = ext_catalog_type("gtin", false);
	Oid			gln = ext_catalog_type("gln", false);
	Datum		loc = Int64GetDatum(location);
	Oid			argtypes[3] = {get_array_type(gtin), get_array_type(gln), INT8OID};
	Datum		args[3] = {PointerGetDatum(construct_array(&item, 1, gtin, 8, true, TYPALIGN_DOUBLE)),
		PointerGetDatum(construct_array(&loc, 1, gln, 8, true, TYPALIGN_DOUBLE)),
	Int64GetDatum(reservation_id)};

	if (SPI_execute_with_args("SELECT inventory_sync._channel_atp_move($1, $2, NULL, NULL, 'reservation', NULL, $3)",
							  3, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_sync: moving a reservation's channel ATP failed");
}

/* IS040 in the SQL's words (_reserve_refuse): what was asked, what one location and the channel have. */
pg_noreturn static void
refuse(FunctionCallInfo fcinfo, int64 location, Numeric location_atp, Numeric channel_atp, Numeric available)
{
	Oid			gtin = ext_catalog_type("gtin", false);
	Oid			gln = ext_catalog_type("gln", false);
	Oid			argtypes[11] = {TEXTOID, TEXTOID, TEXTOID, gtin, NUMERICOID, gln, BOOLOID, gln, NUMERICOID,
	NUMERICOID, NUMERICOID};
	Datum		args[11] = {PG_GETARG_DATUM(ARG_CHANNEL), PG_GETARG_DATUM(ARG_ORDER_REF), PG_GETARG_DATUM(ARG_LINE_REF),
		PG_GETARG_DATUM(ARG_ITEM), PG_GETARG_DATUM(ARG_QUANTITY), PG_ARGISNULL(ARG_LOCATION) ? 0 : PG_GETARG_DATUM(ARG_LOCATION),
		BoolGetDatum(false), Int64GetDatum(location), NumericGetDatum(location_atp), NumericGetDatum(channel_atp),
	NumericGetDatum(available)};
	char		nulls[12] = "     n     ";

	if (!PG_ARGISNULL(ARG_LOCATION))
		nulls[5] = ' ';
	SPI_execute_with_args("SELECT inventory_sync._reserve_refuse($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
						  11, argtypes, args, nulls, true, 1);
	elog(ERROR, "inventory_sync: _reserve_refuse() did not refuse");
	pg_unreachable();
}

/*
 * The refusal names what the channel's best location has, as the SQL reads it (every
 * location of the channel, or the one asked for), and the channel's ATP as locked.
 */
pg_noreturn static void
refuse_with_best(FunctionCallInfo fcinfo, text *channel, int32 shelf, Numeric channel_atp)
{
	Oid			argtypes[4] = {TEXTOID, ext_catalog_type("gtin", false), INT4OID, ext_catalog_type("gln", false)};
	Datum		args[4] = {PointerGetDatum(channel), PG_GETARG_DATUM(ARG_ITEM), Int32GetDatum(shelf),
	PG_ARGISNULL(ARG_LOCATION) ? (Datum) 0 : PG_GETARG_DATUM(ARG_LOCATION)};
	char		nulls[5] = "   n";
	int64		location = 0;
	Numeric		location_atp = num_zero();
	bool		isnull;

	if (!PG_ARGISNULL(ARG_LOCATION))
		nulls[3] = ' ';
	/* (read-write: a fresh snapshot, not the one this call started with before it waited) */
	if (SPI_execute_with_args("SELECT location::int8, atp FROM inventory_sync._channel_best_location($1, $2, $3, $4)",
							  4, argtypes, args, nulls, false, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		location = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		location_atp = DatumGetNumericCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	}
	refuse(fcinfo, location, location_atp, channel_atp,
		   num_cmp(location_atp, channel_atp) < 0 ? location_atp : channel_atp);
}

/*
 * Whether the line fits at the first location, read without locks: when it does not, the
 * SQL decides (it refuses, or finds the one location that holds it, before it writes
 * anything); so does a line whose location's ATP C cannot read (a backorder held there).
 * Under the locks it is read again: a refusal there happens only when another promise
 * took the stock in between. The location's ATP is its stored one where the order of
 * the channel's locations read it today (what the locks will read), else computed.
 */
static bool
line_likely_fits(FunctionCallInfo fcinfo, const PlacedStart *start, int32 shelf, int64 location)
{
	Numeric		quantity = PG_GETARG_NUMERIC(ARG_QUANTITY);
	int64		item = DatumGetInt64(PG_GETARG_DATUM(ARG_ITEM));
	Numeric		location_atp;

	if (start->best_read && start->best.location == location && start->best.found && start->best.today)
	{
		if (location_backorder_held(item, location))
			return false;
		location_atp = start->best.atp;
	}
	else if (!location_atp_now(item, location, shelf, &location_atp))
		return false;
	return num_cmp(quantity, location_atp) <= 0 && num_cmp(quantity, start->channel_atp) <= 0;
}

/* Where the line goes (into *placed): the first location it fits at, tried in order; refused (IS040) where none. */
static void
place_line(FunctionCallInfo fcinfo, const ChannelTerms *terms, text *channel, int64 *candidates, int n,
		   bool rest_ordered, PlacedTry *placed)
{
	Datum		item = PG_GETARG_DATUM(ARG_ITEM);
	Numeric		quantity = PG_GETARG_NUMERIC(ARG_QUANTITY);
	int32		shelf = terms->shelf;
	PlacedTry	best = {0};
	int			i;

	for (i = 0; i < n; i++)
	{
		PlacedTry	t;

		if (i == 1 && !rest_ordered)
			order_rest(terms, DatumGetInt64(item), candidates, n);
		memset(&t, 0, sizeof(t));
		t.location = candidates[i];

		if (n == 1)
			try_location_locked(channel, item, shelf, quantity, &t);
		else
			try_location(channel, item, shelf, quantity, &t);
		if (t.fits)
		{
			*placed = t;
			return;
		}
		if (best.location == 0 || num_cmp(t.location_atp, best.location_atp) > 0)
			best = t;
		/* the channel's own ATP limits the line wherever it goes */
		if (num_cmp(quantity, t.channel_atp) > 0)
			break;
	}
	refuse_with_best(fcinfo, channel, shelf, best.channel_atp);
}

/*
 * The reservation's after-state: its channel's ATP and version as the move left them
 * (version -1: read from the row), into the writer opened with its change id before the
 * line's locks.
 */
static void
record_reserve(FunctionCallInfo fcinfo, HeapAppend *writer, int64 change_id, text *channel, int64 reservation_id,
			   int64 location, Numeric atp, int64 version)
{
	KeyedRow	r;
	Datum		key[2] = {PointerGetDatum(channel), PG_GETARG_DATUM(ARG_ITEM)};
	bool		isnull;

	if (version < 0)
	{
		keyed_row_open(&r, channel_move_table(CHANNEL_TABLE_ATP), AccessShareLock);
		if (!keyed_row_find(&r, key))
			elog(ERROR, "inventory_sync: a channel ATP row vanished");
		atp = DatumGetNumericCopy(keyed_row_get(&r, 0, &isnull));
		version = DatumGetInt64(keyed_row_get(&r, 1, &isnull));
		keyed_row_close(&r);
	}
	reservation_change_append(writer, fcinfo, change_id, reservation_id, location, NULL, atp, version);
	heap_append_finish(writer, true);
}

/*
 * The channels moved by the line held at t's location (its promise key's reserved
 * quantity grown by it): from the stored location ATP where it was read so, else
 * recomputed, in C or, where C cannot, by the SQL. The line's channel's after-state
 * into *atp and *version (-1: unknown here).
 */
static void
move_channels(FunctionCallInfo fcinfo, PlacedTry *t, int64 reservation_id, Numeric *atp, int64 *version)
{
	ChannelPair pair = {DatumGetInt64(PG_GETARG_DATUM(ARG_ITEM)), t->location, NULL};
	HoldResult	r = t->stored ? channel_hold_write(&t->hold, reservation_id) : HOLD_SLOW;

	*atp = t->hold.channel_atp;
	*version = r == HOLD_DONE ? t->hold.version : -1;
	if (r == HOLD_REFUSED)
		refuse(fcinfo, t->location, t->location_atp, t->hold.channel_atp,
			   num_cmp(t->location_atp, t->hold.channel_atp) < 0 ? t->location_atp : t->hold.channel_atp);
	if (r == HOLD_SLOW && !channel_move_run(&pair, 1, "reservation", 0, reservation_id))
		sql_move(PG_GETARG_DATUM(ARG_ITEM), t->location, reservation_id);
}

/* Points the reservation at the location it was placed at, when that is not the first tried. */
static void
reservation_move_to(int64 reservation_id, int64 location)
{
	Oid			argtypes[2] = {INT8OID, ext_catalog_type("gln", false)};
	Datum		args[2] = {Int64GetDatum(reservation_id), Int64GetDatum(location)};

	if (SPI_execute_with_args("UPDATE inventory_sync.reservation SET location = $2 WHERE reservation_id = $1",
							  2, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "inventory_sync: could not place reservation %lld", (long long) reservation_id);
}

bool
reserve_placed(FunctionCallInfo fcinfo, Datum **values, bool **nulls)
{
	PromiseCatalog *pc = &promise_catalog;
	char	   *name = TextDatumGetCString(PG_GETARG_DATUM(ARG_CHANNEL));
	text	   *channel = cstring_to_text(name);
	const ChannelTerms *terms;
	int64	   *candidates;
	int			n;
	int64		reservation_id;
	PlacedTry	placed;
	Numeric		atp;
	int64		version;
	HeapAppend	writer;
	int64		change_id;
	PlacedStart start;

	channel_topology_load();
	channel_move_for_reservation();
	terms = channel_terms(name);
	if (terms == NULL || (n = placed_candidates(fcinfo, terms, channel, &candidates, &start)) == 0)
		return false;
	if (!line_likely_fits(fcinfo, &start, terms->shelf, candidates[0]))
		return false;

	/* the reservation first (level 1), at the first location tried; a key seen before is the SQL's */
	*values = palloc(sizeof(Datum) * pc->reservation_natts);
	*nulls = palloc(sizeof(bool) * pc->reservation_natts);
	reservation_id = reservation_row_fill(fcinfo, &terms->ttl, candidates[0], *values, *nulls);
	if (!reservation_insert(*values, *nulls))
		return false;
	/* what can be done before the line's locks is: every relation locked, the change id drawn */
	channel_hold_prelock();
	heap_append_init(&writer, pc->reservation_change, pc->change_natts, 1);
	heap_append_open(&writer);
	change_id = nextval_internal(pc->change_seq, false);
	place_line(fcinfo, terms, channel, candidates, n, start.rest_ordered, &placed);
	if (placed.location != candidates[0])
	{
		reservation_move_to(reservation_id, placed.location);
		(*values)[pc->reservation_att[RES_LOCATION] - 1] = Int64GetDatum(placed.location);
	}
	move_channels(fcinfo, &placed, reservation_id, &atp, &version);
	record_reserve(fcinfo, &writer, change_id, channel, reservation_id, placed.location, atp, version);
	return true;
}
