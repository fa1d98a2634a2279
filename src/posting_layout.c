/*
 * posting_layout.c
 *		The shapes the posting engine relies on: posting kinds, the ledger's columns by
 *		name, and the extension's types and relations the apply step uses.
 *
 * Nothing here is looked up per row once found: the ledger layout is kept per relation
 * and found again when a relcache invalidation says a ledger (or partition) may have
 * changed shape; the types and the posting_kind values are resolved on the first
 * statement and again after any pg_type or relcache invalidation (the extension dropped
 * and created again in a running backend gives them new OIDs).
 */
#include "postgres.h"
#include "pg_compat.h"

#include "catalog/namespace.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "posting_int.h"

const char *const posting_kind_names[NUM_KINDS] = {
	"receipt", "issue", "transfer_out", "transfer_in", "adjustment", "move",
	"consumption", "production", "return", "count"
};

const char *const ledger_col_names[NUM_LEDGER_COLS] = {
	"posting_id", "kind", "source", "source_event_id", "source_sequence",
	"event_time", "recorded_at", "gtin", "item_gtin", "location", "to_location",
	"lot", "serial", "bucket", "to_bucket", "quantity", "unit", "base_quantity",
	"expected_quantity", "reason", "reference", "eta", "corrects", "actor"
};

uint32		ledger_layouts_generation = 1;	/* a zeroed layout is never current */

PostingCatalog posting_catalog;

/*
 * Map a posting_kind enum OID to PostingKind by its label: the row trigger reads the
 * kind before the apply step has resolved the enum's values.
 */
PostingKind
posting_kind_of(Oid enumval)
{
	HeapTuple	tup = SearchSysCache1(ENUMOID, ObjectIdGetDatum(enumval));
	const char *label;
	int			i;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "inventory_sync: unknown posting_kind value %u", enumval);
	label = NameStr(((Form_pg_enum) GETSTRUCT(tup))->enumlabel);
	for (i = 0; i < NUM_KINDS; i++)
	{
		if (strcmp(label, posting_kind_names[i]) == 0)
		{
			ReleaseSysCache(tup);
			return (PostingKind) i;
		}
	}
	ReleaseSysCache(tup);
	elog(ERROR, "inventory_sync: unknown posting_kind \"%s\"", label);
	return NUM_KINDS;			/* keep compiler quiet */
}

void
ledger_layout_find(TupleDesc desc, Oid relid, LedgerLayout *layout)
{
	int			c;

	for (c = 0; c < NUM_LEDGER_COLS; c++)
	{
		int			a;

		layout->att[c] = InvalidAttrNumber;
		for (a = 0; a < desc->natts; a++)
		{
			Form_pg_attribute attr = TupleDescAttr(desc, a);

			if (!attr->attisdropped && strcmp(NameStr(attr->attname), ledger_col_names[c]) == 0)
			{
				layout->att[c] = a + 1;
				break;
			}
		}
		if (layout->att[c] == InvalidAttrNumber)
			elog(ERROR, "inventory_sync: ledger column \"%s\" is missing", ledger_col_names[c]);
	}
	layout->relid = relid;
	layout->natts = desc->natts;
	layout->generation = ledger_layouts_generation;
	layout->event_index = InvalidOid;
}

char *
posting_key_desc(const char *source, const char *event_id, int64 gtin, int64 gln)
{
	return psprintf("Source \"%s\", event \"%s\", gtin %s, location %s",
					source, event_id, key_text(gtin, GS1_KEY_GTIN), key_text(gln, GS1_KEY_GLN));
}

/* ------------------------------------------------------------------------
 * The catalog objects of the apply step.
 * ------------------------------------------------------------------------ */
static bool catalog_checked = false;	/* reset by any pg_type or relcache invalidation */
static bool callbacks_registered = false;

static void
catalog_type_inval(Datum arg, int cacheid, uint32 hashvalue)
{
	catalog_checked = false;
}

static void
catalog_rel_inval(Datum arg, Oid relid)
{
	catalog_checked = false;
	ledger_layouts_generation++;
	channel_atp_forget();
}

static Oid
extension_type(const char *name, Oid nsp)
{
	return GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum(name),
						   ObjectIdGetDatum(nsp));
}

/* The posting_kind enum's values, in PostingKind order. */
static void
resolve_kind_values(Oid nsp)
{
	Oid			kind_type = extension_type("posting_kind", nsp);
	int			i;

	if (!OidIsValid(kind_type))
		elog(ERROR, "inventory_sync: type posting_kind is missing");
	for (i = 0; i < NUM_KINDS; i++)
	{
		HeapTuple	et = SearchSysCache2(ENUMTYPOIDNAME, ObjectIdGetDatum(kind_type),
										 CStringGetDatum(posting_kind_names[i]));

		if (!HeapTupleIsValid(et))
			elog(ERROR, "inventory_sync: posting_kind %s not found", posting_kind_names[i]);
		posting_catalog.kind_value[i] = ((Form_pg_enum) GETSTRUCT(et))->oid;
		ReleaseSysCache(et);
	}
}

bool
posting_catalog_resolve(void)
{
	Oid			nsp;
	Oid			lot;
	Oid			serial;
	bool		moved;

	if (catalog_checked)
		return false;
	if (!callbacks_registered)
	{
		CacheRegisterSyscacheCallback(TYPEOID, catalog_type_inval, (Datum) 0);
		CacheRegisterRelcacheCallback(catalog_rel_inval, (Datum) 0);
		callbacks_registered = true;
	}
	nsp = get_namespace_oid("inventory_sync", false);
	lot = extension_type("lot_number", nsp);
	serial = extension_type("serial_number", nsp);
	if (!OidIsValid(lot) || !OidIsValid(serial))
		elog(ERROR, "inventory_sync: types lot_number and serial_number are missing");

	posting_catalog.nsp = nsp;
	moved = lot != posting_catalog.lot_type || serial != posting_catalog.serial_type;
	if (moved)
	{
		posting_catalog.lot_type = InvalidOid;	/* until everything below is found */
		resolve_kind_values(nsp);
		posting_catalog.gtin_type = extension_type("gtin", nsp);
		posting_catalog.gln_type = extension_type("gln", nsp);
	}
	balance_store_load(nsp);
	posting_catalog.serial_type = serial;
	posting_catalog.lot_type = lot;
	catalog_checked = true;
	return moved;
}
