/*
 * posting_channels.c
 *		Channel ATP republished after a statement's postings.
 *
 * When channels exist, the statement's (item, location) pairs go to
 * _channel_atp_refresh(), which republishes the ATP of every channel selling from those
 * locations (channel_atp and channel_atp_change, what the change feed publishes).
 * Without channels this costs a flag test: whether any exists is read once and again
 * after the invalidation channel_location's master_data_changed trigger sends.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/lsyscache.h"

#include "ext_catalog.h"
#include "posting_int.h"

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
		rc = SPI_execute("SELECT EXISTS (SELECT FROM inventory_sync.channel_location)", true, 1);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "inventory_sync: could not read channel_location: %s", SPI_result_code_string(rc));
		channels_present = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	channels_checked = true;
	return channels_present;
}

void
publish_channel_atp(const Datum *items, const Datum *locations, int nkeys, int64 last_posting)
{
	static SPIPlanPtr refresh_plan = NULL;
	static Oid	refresh_for_lot_type = InvalidOid;
	Datum		args[3];
	int			rc;

	if (refresh_plan == NULL || refresh_for_lot_type != posting_catalog.lot_type)
	{
		Oid			argtypes[3];
		SPIPlanPtr	plan;

		argtypes[0] = get_array_type(posting_catalog.gtin_type);
		argtypes[1] = get_array_type(posting_catalog.gln_type);
		argtypes[2] = INT8OID;
		plan = SPI_prepare("SELECT inventory_sync._channel_atp_refresh($1, $2, $3)", 3, argtypes);
		if (plan == NULL)
			elog(ERROR, "inventory_sync: could not prepare the channel ATP refresh: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		if (refresh_plan != NULL)
			SPI_freeplan(refresh_plan);
		refresh_plan = plan;
		refresh_for_lot_type = posting_catalog.lot_type;
	}
	args[0] = PointerGetDatum(construct_array((Datum *) items, nkeys, posting_catalog.gtin_type,
											  8, true, TYPALIGN_DOUBLE));
	args[1] = PointerGetDatum(construct_array((Datum *) locations, nkeys, posting_catalog.gln_type,
											  8, true, TYPALIGN_DOUBLE));
	args[2] = Int64GetDatum(last_posting);
	rc = SPI_execute_plan(refresh_plan, args, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "inventory_sync: channel ATP refresh failed: %s", SPI_result_code_string(rc));
}
