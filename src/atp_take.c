/*
 * atp_take.c
 *		Taking ATP from a channel's published ATP row (see channel_atp_take in
 *		promise_internal.h for what it guarantees).
 *
 * The row is found by its primary key, checked and updated in place through the table
 * AM (keyed_row.c), and a concurrent taker is waited for exactly as UPDATE ... WHERE
 * atp >= q would wait: in the tuple lock's queue, then re-checking the row as that taker
 * committed it.
 * Going through the executor instead would plan and start a statement per promise, with
 * the hot row's lock queue waiting behind every microsecond of it.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/xact.h"
#include "utils/timestamp.h"

#include "keyed_row.h"
#include "numeric_util.h"
#include "promise_internal.h"

static void
refuse_concurrent_update(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("could not serialize access due to concurrent update")));
}

void
channel_atp_take(Datum channel, Datum item, Numeric quantity, AtpTake *result)
{
	static const int cols[3] = {ATP_COL_ATP, ATP_COL_VERSION, ATP_COL_UPDATED_AT};
	KeyedRow	row;
	Datum		key[2] = {channel, item};
	bool		locked = false;

	memset(result, 0, sizeof(*result));
	result->outcome = ATP_NO_ROW;
	keyed_row_open(&row, &promise_catalog.channel_atp_table, RowExclusiveLock);
	for (;;)
	{
		bool		isnull;
		Numeric		atp;
		int64		version;
		Datum		v[3];

		/* no row: the general path publishes one */
		if (!locked && !keyed_row_find(&row, key))
			break;
		atp = DatumGetNumeric(keyed_row_get(&row, ATP_COL_ATP, &isnull));
		version = DatumGetInt64(keyed_row_get(&row, ATP_COL_VERSION, &isnull));
		if (num_cmp(atp, quantity) < 0)
		{
			/* as UPDATE ... WHERE atp >= q: not enough in the latest committed version */
			result->outcome = ATP_SHORT;
			result->atp_before = DatumGetNumericCopy(NumericGetDatum(atp));
			break;
		}
		result->atp_after = num_sub(atp, quantity);
		result->version = version + 1;
		v[0] = NumericGetDatum(result->atp_after);
		v[1] = Int64GetDatum(result->version);
		v[2] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
		if (keyed_row_try_update(&row, cols, v, 3))
		{
			result->outcome = ATP_TAKEN;
			result->atp_before = DatumGetNumericCopy(NumericGetDatum(atp));
			break;
		}
		if (locked)
			elog(ERROR, "inventory_sync: a locked channel ATP row changed");
		/* as UPDATE: a row changed after this transaction's snapshot cannot be promised from */
		if (IsolationUsesXactSnapshot())
			refuse_concurrent_update();
		/* wait our turn, then decide on the version the previous taker committed */
		locked = keyed_row_lock(&row, LockTupleNoKeyExclusive);
	}
	keyed_row_close(&row);
}
