/*
 * posting_channels.c
 *		Channel ATP moved by a statement's postings.
 *
 * A posting changes the stock channels promise from. Before its balance rows, the
 * statement takes the promise keys of its (item, location) pairs at locations a channel
 * sells from (_posting_keys_lock): every input of a location's ATP changes under that
 * key, so the location ATP recomputed after the balances is exact, and the channels move
 * by the change of that location's contribution (_channel_atp_refresh, which calls
 * _channel_atp_move). Without channels this costs a flag test: whether any exists is read
 * once and again after the invalidation channel_location's master_data_changed trigger
 * sends.
 *
 * Every statement also holds a ROW SHARE lock on channel to its end: a change of channel
 * membership or a recomputation of every channel ATP takes EXCLUSIVE on it, so it never
 * runs beside a posting whose stock it would not see.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "storage/lmgr.h"
#include "utils/lsyscache.h"

#include "ext_catalog.h"
#include "posting_int.h"
#include "spi_plan.h"

static bool channels_checked = false;
static bool channels_present = false;

/* channel_location has master_data_changed: its changes reach every backend as relcache invalidations */
static void
channels_reset(int kind, Oid relid)
{
	channels_checked = false;
}

bool
channels_exist(void)
{
	int			rc;
	bool		isnull;

	static bool watching = false;

	if (channels_checked)
		return channels_present;
	if (!watching)
	{
		ext_catalog_on_change(channels_reset, EXT_CHANGE_RELATION);
		watching = true;
	}
	channels_present = false;
	if (OidIsValid(ext_catalog_relid("channel_location", true)))
	{
		/* a fresh snapshot: the statement's may predate a change it waited for on channel's lock */
		rc = SPI_execute("SELECT EXISTS (SELECT FROM inventory_sync.channel_location)", false, 1);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "inventory_sync: could not read channel_location: %s", SPI_result_code_string(rc));
		channels_present = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	channels_checked = true;
	return channels_present;
}

/* A plan taking (gtin[], gln[], text[], int8), made for the current types. */
static SPIPlanPtr
prepare_pairs_plan(const char *sql, int nargs)
{
	Oid			argtypes[4];
	SPIPlanPtr	plan;

	argtypes[0] = get_array_type(posting_catalog.gtin_type);
	argtypes[1] = get_array_type(posting_catalog.gln_type);
	argtypes[2] = TEXTARRAYOID;
	argtypes[3] = INT8OID;
	plan = is_prepare_kept(sql, nargs, argtypes, 0);
	return plan;
}

static void
pairs_args(Datum *args, const StatementPairs *pairs)
{
	args[0] = PointerGetDatum(construct_array(pairs->items, pairs->n, posting_catalog.gtin_type,
											  8, true, TYPALIGN_DOUBLE));
	args[1] = PointerGetDatum(construct_array(pairs->locations, pairs->n, posting_catalog.gln_type,
											  8, true, TYPALIGN_DOUBLE));
	args[2] = PointerGetDatum(construct_array(pairs->buckets, pairs->n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* The plans below are made for one incarnation of the extension's types. */
static Oid	plans_for_gtin_type = InvalidOid;
static SPIPlanPtr lock_plan = NULL;
static SPIPlanPtr refresh_plan = NULL;

static void
channel_plans_check(void)
{
	if (plans_for_gtin_type == posting_catalog.gtin_type && lock_plan != NULL)
		return;
	if (lock_plan != NULL)
		SPI_freeplan(lock_plan);
	if (refresh_plan != NULL)
		SPI_freeplan(refresh_plan);
	lock_plan = prepare_pairs_plan("SELECT inventory_sync._posting_keys_lock($1, $2, $3)", 3);
	refresh_plan = prepare_pairs_plan("SELECT inventory_sync._channel_atp_refresh($1, $2, $3, $4)", 4);
	plans_for_gtin_type = posting_catalog.gtin_type;
}

static bool
sql_lock_keys(const StatementPairs *pairs)
{
	Datum		args[3];
	bool		isnull;
	int			rc;

	channel_plans_check();
	pairs_args(args, pairs);
	rc = SPI_execute_plan(lock_plan, args, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "inventory_sync: locking promise keys failed: %s", SPI_result_code_string(rc));
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

bool
channels_in_play(void)
{
	Oid			channel = ext_catalog_relid("channel", true);

	if (!OidIsValid(channel))
		return false;
	/* before anything is read about channels: taking the lock reads pending invalidations */
	LockRelationOid(channel, RowShareLock);
	return channels_exist();
}

bool
lock_channel_keys(const StatementPairs *pairs, ChannelStatement *cs)
{
	memset(cs, 0, sizeof(*cs));
	cs->keys = CHANNEL_KEYS_NONE;
	if (pairs->n == 0)
		return false;
	cs->keys = channel_keys_lock_fast(pairs, cs);
	switch (cs->keys)
	{
		case CHANNEL_KEYS_NONE:
			return false;
		case CHANNEL_KEYS_FAST:
			return true;
		case CHANNEL_KEYS_CREATE:
			if (!sql_lock_keys(pairs))
				elog(ERROR, "inventory_sync: the promise keys of a statement's pairs were not found again");
			cs->keys = CHANNEL_KEYS_FAST;
			return true;
		case CHANNEL_KEYS_SQL:
			return sql_lock_keys(pairs);
	}
	return false;
}

void
publish_channel_atp(const StatementPairs *pairs, const ChannelStatement *cs, int64 last_posting)
{
	Datum		args[4];
	int			rc;

	if (cs->keys == CHANNEL_KEYS_FAST && channel_move_fast(cs, last_posting))
		return;
	channel_plans_check();
	pairs_args(args, pairs);
	args[3] = Int64GetDatum(last_posting);
	rc = SPI_execute_plan(refresh_plan, args, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "inventory_sync: moving channel ATP failed: %s", SPI_result_code_string(rc));
}
