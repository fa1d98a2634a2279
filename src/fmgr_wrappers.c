/*
 * fmgr_wrappers.c
 *		C-language entry points for the built-in functions the GS1 types share with
 *		bigint and bytea (comparison, hashing).
 *
 * Declaring the types' support functions LANGUAGE internal would be simpler, but
 * PostgreSQL finds an internal function whose OID is not a built-in one by a linear
 * search of all built-in function names (fmgr_lookupByName), every time an executor
 * starts, an index scan key is built or a plan is initialised: thousands of string
 * comparisons for each "gtin = gtin" in every query. A C-language function is found
 * through a hash table of loaded functions instead. Each wrapper passes its call to
 * the built-in unchanged, so results (hash values included) are identical.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "fmgr.h"
#include "utils/fmgrprotos.h"

#define WRAP(builtin) \
	PG_FUNCTION_INFO_V1(is_##builtin); \
	Datum is_##builtin(PG_FUNCTION_ARGS); \
	Datum \
	is_##builtin(PG_FUNCTION_ARGS) \
	{ \
		return builtin(fcinfo); \
	}

WRAP(btint8cmp)
WRAP(byteacmp)
WRAP(byteaeq)
WRAP(byteage)
WRAP(byteagt)
WRAP(byteale)
WRAP(bytealt)
WRAP(byteane)
WRAP(hashint8)
WRAP(hashint8extended)
WRAP(hashvarlena)
WRAP(hashvarlenaextended)
WRAP(int8eq)
WRAP(int8ge)
WRAP(int8gt)
WRAP(int8le)
WRAP(int8lt)
WRAP(int8ne)

/*
 * A lot or serial number as text: the same varlena, as text stores it. A cast through
 * this function rather than a binary-coercible one keeps the planner from matching a
 * text operator (LIKE's prefix search) to the type's own index, whose collation is none:
 * PostgreSQL 18 fails such a match ("cache lookup failed for collation 0").
 */
PG_FUNCTION_INFO_V1(is_gs1_text_as_text);
Datum		is_gs1_text_as_text(PG_FUNCTION_ARGS);
Datum
is_gs1_text_as_text(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(PG_GETARG_DATUM(0));
}
