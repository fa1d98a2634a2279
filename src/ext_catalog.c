/*
 * ext_catalog.c
 *		The extension's catalog facts and its one invalidation set-up (see ext_catalog.h).
 *
 * Lookup failures of the extension's own objects are errors with a hint: they mean the
 * installed SQL objects and the loaded library disagree (an object dropped or altered by
 * hand, or a library newer than the installed version), never bad input.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "nodes/pg_list.h"
#include "parser/parse_relation.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "ext_catalog.h"

#define EXT_SCHEMA "inventory_sync"
#define EXT_REPAIR_HINT "The extension's objects do not match its library: ALTER EXTENSION inventory_sync UPDATE, or drop and create the extension again."

/* ------------------------------------------------------------------------
 * Invalidation: one relcache callback and one syscache callback per catalog, for
 * every module (the registrations are a per-backend resource the server bounds).
 * ------------------------------------------------------------------------ */
#define MAX_RESETS 16

typedef struct ResetEntry
{
	ExtCatalogReset reset;
	int			kinds;
} ResetEntry;

static ResetEntry resets[MAX_RESETS];
static int	nresets = 0;
static bool callbacks_registered = false;

static Oid	schema_oid = InvalidOid;	/* cached by ext_catalog_schema */

static void
dispatch(int kind, Oid relid)
{
	int			i;

	if (kind == EXT_CHANGE_SCHEMA)
		schema_oid = InvalidOid;
	for (i = 0; i < nresets; i++)
		if (resets[i].kinds & kind)
			resets[i].reset(kind, relid);
}

static void
relcache_changed(Datum arg, Oid relid)
{
	dispatch(EXT_CHANGE_RELATION, relid);
}

static void
syscache_changed(Datum arg, int cacheid, uint32 hashvalue)
{
	dispatch(DatumGetInt32(arg), InvalidOid);
}

static void
register_callbacks(void)
{
	if (callbacks_registered)
		return;
	CacheRegisterRelcacheCallback(relcache_changed, (Datum) 0);
	CacheRegisterSyscacheCallback(TYPEOID, syscache_changed, Int32GetDatum(EXT_CHANGE_TYPE));
	CacheRegisterSyscacheCallback(ENUMOID, syscache_changed, Int32GetDatum(EXT_CHANGE_ENUM));
	CacheRegisterSyscacheCallback(AUTHOID, syscache_changed, Int32GetDatum(EXT_CHANGE_ROLE));
	CacheRegisterSyscacheCallback(NAMESPACEOID, syscache_changed, Int32GetDatum(EXT_CHANGE_SCHEMA));
	callbacks_registered = true;
}

bool
ext_catalog_change_concerns(int kind, Oid relid, const Oid *relids, int n)
{
	int			i;

	if (kind != EXT_CHANGE_RELATION || !OidIsValid(relid))
		return true;
	for (i = 0; i < n; i++)
		if (relids[i] == relid)
			return true;
	return false;
}

void
ext_catalog_on_change(ExtCatalogReset reset, int kinds)
{
	int			i;

	register_callbacks();
	for (i = 0; i < nresets; i++)
		if (resets[i].reset == reset)
		{
			resets[i].kinds |= kinds;
			return;
		}
	if (nresets == MAX_RESETS)
		elog(ERROR, "inventory_sync: more than %d catalog reset functions", MAX_RESETS);
	resets[nresets].reset = reset;
	resets[nresets].kinds = kinds;
	nresets++;
}

/* ------------------------------------------------------------------------
 * Lookups by name.
 * ------------------------------------------------------------------------ */
Oid
ext_catalog_schema(bool missing_ok)
{
	Oid			nsp;

	if (OidIsValid(schema_oid))
		return schema_oid;
	/* registered before the lookup, so a change after it is not missed */
	register_callbacks();
	nsp = get_namespace_oid(EXT_SCHEMA, true);
	if (!OidIsValid(nsp) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_SCHEMA),
				 errmsg("schema \"%s\" does not exist", EXT_SCHEMA),
				 errhint("CREATE EXTENSION inventory_sync;")));
	schema_oid = nsp;
	return nsp;
}

Oid
ext_catalog_relid(const char *relname, bool missing_ok)
{
	Oid			nsp = ext_catalog_schema(missing_ok);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;

	if (!OidIsValid(relid) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" does not exist", EXT_SCHEMA, relname),
				 errhint(EXT_REPAIR_HINT)));
	return relid;
}

Oid
ext_catalog_type(const char *typname, bool missing_ok)
{
	Oid			nsp = ext_catalog_schema(missing_ok);
	Oid			typid = InvalidOid;

	if (OidIsValid(nsp))
		typid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum(typname),
								ObjectIdGetDatum(nsp));
	if (!OidIsValid(typid) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("type \"%s.%s\" does not exist", EXT_SCHEMA, typname),
				 errhint(EXT_REPAIR_HINT)));
	return typid;
}

Oid
ext_catalog_enum_value(Oid enumtype, const char *label)
{
	HeapTuple	tup = SearchSysCache2(ENUMTYPOIDNAME, ObjectIdGetDatum(enumtype), CStringGetDatum(label));
	Oid			value;

	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("enum type %s has no label \"%s\"", format_type_be(enumtype), label),
				 errhint(EXT_REPAIR_HINT)));
	value = ((Form_pg_enum) GETSTRUCT(tup))->oid;
	ReleaseSysCache(tup);
	return value;
}

Oid
ext_catalog_enum_value_by_name(const char *typname, const char *label)
{
	return ext_catalog_enum_value(ext_catalog_type(typname, false), label);
}

AttrNumber
ext_catalog_column(Relation rel, const char *colname)
{
	AttrNumber	att = attnameAttNum(rel, colname, false);

	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", colname,
						RelationGetRelationName(rel)),
				 errhint(EXT_REPAIR_HINT)));
	return att;
}

/*
 * A column the library writes as a given type: a column of another type (the catalog of an
 * older version under a newer library) is refused, never written with the wrong layout.
 */
AttrNumber
ext_catalog_column_typed(Relation rel, const char *colname, Oid typid)
{
	AttrNumber	att = ext_catalog_column(rel, colname);
	Oid			actual = TupleDescAttr(RelationGetDescr(rel), att - 1)->atttypid;

	if (actual != typid)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" is of type %s, not %s", colname,
						RelationGetRelationName(rel), format_type_be(actual), format_type_be(typid)),
				 errhint(EXT_REPAIR_HINT)));
	return att;
}

/* ------------------------------------------------------------------------
 * Indexes: the ones the engine reads and writes rows through directly.
 * ------------------------------------------------------------------------ */
static bool
index_matches(Relation idx, const AttrNumber *keys, int nkeys, bool unique)
{
	int			i;

	if (!idx->rd_index->indisvalid || idx->rd_rel->relam != BTREE_AM_OID)
		return false;
	if (unique && (!idx->rd_index->indisunique || IndexRelationGetNumberOfKeyAttributes(idx) != nkeys))
		return false;
	if (IndexRelationGetNumberOfKeyAttributes(idx) < nkeys)
		return false;
	for (i = 0; i < nkeys; i++)
		if (idx->rd_index->indkey.values[i] != keys[i])
			return false;
	return true;
}

Oid
ext_catalog_index_on(Relation rel, const AttrNumber *keys, int nkeys, bool unique)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			found = InvalidOid;

	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);
		bool		match = index_matches(idx, keys, nkeys, unique);

		index_close(idx, AccessShareLock);
		if (match)
		{
			found = lfirst_oid(lc);
			break;
		}
	}
	list_free(indexes);
	return found;
}

void
ext_catalog_index_key_eq(Relation index, int ncols, RegProcedure *eqprocs, Oid *collations)
{
	int			i;

	for (i = 0; i < ncols; i++)
	{
		Oid			optype = index->rd_opcintype[i];
		Oid			op = get_opfamily_member(index->rd_opfamily[i], optype, optype, BTEqualStrategyNumber);

		if (!OidIsValid(op))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("index \"%s\" has no equality operator for key column %d",
							RelationGetRelationName(index), i + 1),
					 errhint(EXT_REPAIR_HINT)));
		eqprocs[i] = get_opcode(op);
		collations[i] = index->rd_indcollation[i];
	}
}
