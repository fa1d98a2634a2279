/*
 * reserve_placed.c
 *		reserve() of a line held at one location, in C: at the location the caller names,
 *		or anywhere in a channel that sells from one location only (a marketplace selling
 *		from a DC another channel shares).
 *
 * The same steps as _reserve_general() and its helpers take in SQL for such a line, in
 * the same lock order: the reservation row (an insert with the caller's key, so a key
 * seen before goes to the SQL), the location's promise key, then the ATP rows of every
 * channel selling from the location and of the reserving channel, in (channel, item)
 * order; then the check (the location's ATP as the channel sees it, and the channel's own
 * ATP: the line takes the lesser), the promise key's reserved quantity, the channels
 * moved by the location's new ATP (channel_move.c), and the reservation's after-state.
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

/* The location the line is held at; 0 when this path does not decide it. */
static int64
placed_location(FunctionCallInfo fcinfo, const ChannelTerms *terms, text *channel, PlacedLocks *locks)
{
	int64		location = PG_ARGISNULL(ARG_LOCATION) ? terms->location : DatumGetInt64(PG_GETARG_DATUM(ARG_LOCATION));
	int32	   *shelves;
	bool		member = false;
	int			i;

	if (terms->allow_backorder || terms->nlocations == 0 || (PG_ARGISNULL(ARG_LOCATION) && terms->nlocations != 1))
		return 0;
	locks->n = channel_location_channels(location, &locks->channels, &shelves);
	for (i = 0; i < locks->n; i++)
		member |= text_cmp(&locks->channels[i], &channel) == 0;
	if (!member)
		return 0;				/* not its location: IS043 is the SQL's */
	qsort(locks->channels, locks->n, sizeof(text *), text_cmp);
	/* every channel moved must have its rows; the reserving one's sum must be today's */
	for (i = 0; i < locks->n; i++)
		if (!channel_rows_ready(locks->channels[i], DatumGetInt64(PG_GETARG_DATUM(ARG_ITEM)),
								text_cmp(&locks->channels[i], &channel) == 0))
			return 0;
	return location;
}

/* Locks the ATP rows of the channels, in order; the reserving channel's ATP as locked into *own. */
static bool
lock_channel_rows(const PlacedLocks *locks, text *channel, Datum item, Numeric *own)
{
	KeyedTable	t;
	KeyedRow	r;
	static const char *const keycols[] = {"channel", "item_gtin"};
	static const char *const cols[] = {"atp"};
	bool		ok = true;
	int			i;

	keyed_table_load(&t, "channel_atp", NULL, keycols, 2, cols, 1);
	keyed_row_open(&r, &t, RowExclusiveLock);
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

/* The location's promise key, created where missing (_promise_keys_lock: it holds none yet), locked. */
static void
lock_promise_key(Datum item, int64 location, Numeric quantity, Numeric *reserved)
{
	KeyedTable	t;
	KeyedRow	r;
	static const char *const keycols[] = {"item_gtin", "location"};
	static const char *const cols[] = {"reserved"};
	Datum		key[2] = {item, Int64GetDatum(location)};
	bool		isnull;

	keyed_table_load(&t, "promise_key", NULL, keycols, 2, cols, 1);
	keyed_row_open(&r, &t, RowExclusiveLock);
	if (!keyed_row_find(&r, key) || !keyed_row_lock(&r, LockTupleExclusive))
	{
		Oid			gtin = ext_catalog_type("gtin", false);
		Oid			gln = ext_catalog_type("gln", false);
		Oid			argtypes[2] = {get_array_type(gtin), get_array_type(gln)};
		Datum		args[2] = {PointerGetDatum(construct_array(&key[0], 1, gtin, 8, true, TYPALIGN_DOUBLE)),
		PointerGetDatum(construct_array(&key[1], 1, gln, 8, true, TYPALIGN_DOUBLE))};

		if (SPI_execute_with_args("SELECT inventory_sync._promise_keys_lock($1, $2)", 2, argtypes, args, NULL,
								  false, 1) != SPI_OK_SELECT ||
			!keyed_row_find(&r, key))
			elog(ERROR, "inventory_sync: could not create the promise key of a reservation");
	}
	*reserved = DatumGetNumericCopy(keyed_row_get(&r, 0, &isnull));
	{
		static const int col[1] = {0};
		Datum		v[1] = {NumericGetDatum(num_add(*reserved, quantity))};

		/* written now, read by the move below: the line is held there once it is checked */
		keyed_row_update(&r, col, v, 1);
	}
	keyed_row_close(&r);
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

bool
reserve_placed(FunctionCallInfo fcinfo, Datum **values, bool **nulls)
{
	PromiseCatalog *pc = &promise_catalog;
	text	   *channel = PG_GETARG_TEXT_PP(ARG_CHANNEL);
	Datum		item = PG_GETARG_DATUM(ARG_ITEM);
	Numeric		quantity = PG_GETARG_NUMERIC(ARG_QUANTITY);
	char	   *name = text_to_cstring(channel);
	const ChannelTerms *terms;
	PlacedLocks locks;
	int64		location;
	int64		reservation_id;
	Numeric		reserved;
	Numeric		location_atp;
	Numeric		channel_atp = NULL;
	Numeric		available;
	ChannelPair pair;
	HeapAppend	writer;

	channel_topology_load();
	terms = channel_terms(name);
	if (terms == NULL)
		return false;
	channel = DatumGetTextPCopy(PointerGetDatum(cstring_to_text(name)));
	location = placed_location(fcinfo, terms, channel, &locks);
	if (location == 0)
		return false;
	if (!location_atp_now(DatumGetInt64(item), location, terms->shelf, &location_atp))
		return false;

	/* the reservation first (level 1); a key seen before is the SQL's (same terms or IS044) */
	*values = palloc(sizeof(Datum) * pc->reservation_natts);
	*nulls = palloc(sizeof(bool) * pc->reservation_natts);
	reservation_id = reservation_row_fill(fcinfo, &terms->ttl, location, *values, *nulls);
	if (!reservation_insert(*values, *nulls))
		return false;
	/* then the promise key (level 2) and the channels' ATP rows (level 4), and the check under them */
	lock_promise_key(item, location, quantity, &reserved);
	if (!lock_channel_rows(&locks, channel, item, &channel_atp) || channel_atp == NULL)
		elog(ERROR, "inventory_sync: a channel ATP row checked a moment ago is gone");
	if (!location_atp_now(DatumGetInt64(item), location, terms->shelf, &location_atp))
		elog(ERROR, "inventory_sync: the ATP of a location could not be read again");
	/* location_atp_now read the promise key as just written: the line is in it */
	location_atp = num_add(location_atp, quantity);
	available = num_cmp(location_atp, channel_atp) < 0 ? location_atp : channel_atp;
	if (num_cmp(quantity, available) > 0)
		refuse(fcinfo, location, location_atp, channel_atp, available);

	pair.item = DatumGetInt64(item);
	pair.location = location;
	pair.reserved = NULL;
	if (!channel_move_run(&pair, 1, "reservation", 0, reservation_id))
		sql_move(item, location, reservation_id);
	{
		KeyedTable	t;
		KeyedRow	r;
		static const char *const keycols[] = {"channel", "item_gtin"};
		static const char *const cols[] = {"atp", "version"};
		Datum		key[2] = {PointerGetDatum(channel), item};
		bool		isnull;

		keyed_table_load(&t, "channel_atp", NULL, keycols, 2, cols, 2);
		keyed_row_open(&r, &t, AccessShareLock);
		if (!keyed_row_find(&r, key))
			elog(ERROR, "inventory_sync: a channel ATP row vanished");
		heap_append_init(&writer, pc->reservation_change, pc->change_natts, 1);
		heap_append_open(&writer);
		reservation_change_append(&writer, fcinfo, nextval_internal(pc->change_seq, false), reservation_id, location,
								  NULL, DatumGetNumeric(keyed_row_get(&r, 0, &isnull)),
								  DatumGetInt64(keyed_row_get(&r, 1, &isnull)));
		heap_append_finish(&writer, true);
		keyed_row_close(&r);
	}
	return true;
}
