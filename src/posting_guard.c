/*
 * posting_guard.c
 *		The tables nobody changes by hand: the ledger (append-only; a superuser may
 *		repair it) and the tables the posting engine maintains (balance, balance_change
 *		and their like), which only the engine itself writes.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/rel.h"

#include "posting.h"

bool		is_engine_writing = false;

PG_FUNCTION_INFO_V1(refuse_change);
/*
 * Statement trigger refusing UPDATE, DELETE and TRUNCATE: of the ledger for everyone but
 * a superuser, of engine-maintained tables for everyone but the engine itself.
 */
Datum
refuse_change(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *what;
	bool		ledger;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
						errmsg("refuse_change() must be called as a trigger")));
	if (is_engine_writing)
		PG_RETURN_POINTER(NULL);
	ledger = trigdata->tg_trigger->tgnargs > 0 && strcmp(trigdata->tg_trigger->tgargs[0], "superuser") == 0;
	if (ledger && superuser())
		PG_RETURN_POINTER(NULL);

	what = TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ? "INSERT into" :
		TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? "UPDATE of" :
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ? "DELETE from" : "TRUNCATE of";
	ereport(ERROR,
			(errcode(ERRCODE_IS_IMMUTABLE),
			 errmsg("%s %s is not allowed", what, RelationGetRelationName(trigdata->tg_relation)),
			 ledger ? errdetail("The ledger is append-only.")
			 : errdetail("%s is maintained by the ledger's posting trigger.", RelationGetRelationName(trigdata->tg_relation)),
			 ledger ? errhint("Correct a posting with a counter-posting that names it (inventory_sync.correct).")
			 : errhint("Post to the ledger instead.")));
	PG_RETURN_POINTER(NULL);
}
