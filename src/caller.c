/*
 * caller.c
 *		API entry points that run their implementation with the owner's rights on behalf
 *		of the role that called them.
 *
 * fulfil() checks and closes a reservation (internal steps that must not be callable on
 * their own: a half-done fulfilment leaves the reservation and channel ATP out of step)
 * and posts the shipment, which the ledger must check against the *caller's* source
 * binding and record with the caller as actor. A SECURITY DEFINER function cannot do
 * both: inside it the caller's identity is gone. So the SQL-visible function is this
 * entry point, which runs with the caller's rights, remembers the caller, and calls the
 * implementation "_<name>" (same schema, same argument types, SECURITY DEFINER) directly
 * through fmgr; EXECUTE on the implementation is granted to no API role, and no
 * other path sets the remembered caller.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/pg_list.h"
#include "parser/parse_func.h"
#include "utils/lsyscache.h"

#include "caller.h"

/* The caller of the innermost api_entry() running in this backend, or InvalidOid. */
static Oid	entry_caller = InvalidOid;

Oid
posting_role(void)
{
	return OidIsValid(entry_caller) ? entry_caller : GetUserId();
}

/* Finds "_<name>" with the entry point's own argument types, in its schema. */
static void
entry_target(Oid entry, FmgrInfo *target, MemoryContext mcxt)
{
	char	   *name = get_func_name(entry);
	char	   *schema = get_namespace_name(get_func_namespace(entry));
	Oid		   *argtypes;
	int			nargs;
	Oid			impl;

	if (name == NULL || schema == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("API entry point %u no longer exists", entry)));
	(void) get_func_signature(entry, &argtypes, &nargs);
	impl = LookupFuncName(list_make2(makeString(schema), makeString(psprintf("_%s", name))),
						  nargs, argtypes, true);
	if (!OidIsValid(impl))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("API entry point %s.%s has no implementation %s._%s", schema, name, schema, name),
				 errhint("Reinstall the extension: ALTER EXTENSION inventory_sync UPDATE.")));
	fmgr_info_cxt(impl, target, mcxt);
}

PG_FUNCTION_INFO_V1(api_entry);

/* Calls the implementation of the API function this entry point was declared as. */
Datum
api_entry(PG_FUNCTION_ARGS)
{
	FmgrInfo   *target = (FmgrInfo *) fcinfo->flinfo->fn_extra;
	FunctionCallInfo inner;
	Oid			saved = entry_caller;
	Datum		result;
	int			i;

	if (target == NULL)
	{
		target = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(FmgrInfo));
		entry_target(fcinfo->flinfo->fn_oid, target, fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = target;
	}
	inner = palloc(SizeForFunctionCallInfo(fcinfo->nargs));
	InitFunctionCallInfoData(*inner, target, fcinfo->nargs, fcinfo->fncollation,
							 fcinfo->context, fcinfo->resultinfo);
	for (i = 0; i < fcinfo->nargs; i++)
	{
		inner->args[i] = fcinfo->args[i];
		if (fcinfo->args[i].isnull && target->fn_strict)
			PG_RETURN_NULL();
	}

	entry_caller = GetUserId();
	PG_TRY();
	{
		result = FunctionCallInvoke(inner);
	}
	PG_FINALLY();
	{
		entry_caller = saved;
	}
	PG_END_TRY();

	fcinfo->isnull = inner->isnull;
	pfree(inner);
	return result;
}
