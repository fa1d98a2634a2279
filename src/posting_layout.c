/*
 * posting_layout.c
 *		The shapes the posting engine relies on: posting kinds, the ledger's columns by
 *		name, and the extension's types and relations the apply step uses.
 *
 * Nothing here is looked up per row once found: the ledger layout is kept per relation
 * and found again when a relcache invalidation says a ledger (or partition) may have
 * changed shape; the types and the posting_kind values are resolved on the first
 * statement and again after any pg_type or relcache invalidation (the extension dropped
 * and created again in a running backend gives them new OIDs). The lookups and the
 * invalidations go through ext_catalog.h, as every module's do.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "utils/syscache.h"

#include "ext_catalog.h"
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

/* Layouts are found again after any relcache invalidation: a ledger may have changed shape. */
static void
layouts_reset(int kind, Oid relid)
{
	ledger_layouts_generation++;
}

void
ledger_layout_find(Relation rel, LedgerLayout *layout)
{
	static bool watching = false;
	int			c;

	if (!watching)
	{
		ext_catalog_on_change(layouts_reset, EXT_CHANGE_RELATION);
		watching = true;
	}
	for (c = 0; c < NUM_LEDGER_COLS; c++)
		layout->att[c] = ext_catalog_column(rel, ledger_col_names[c]);

	/*
	 * The ledger sets actor itself, as text; a 0.1.0 ledger's name column is written as
	 * name until ALTER EXTENSION UPDATE changes it (the library serves both meanwhile).
	 */
	layout->actor_is_name =
		TupleDescAttr(RelationGetDescr(rel), layout->att[LC_ACTOR] - 1)->atttypid == NAMEOID;
	if (!layout->actor_is_name)
		(void) ext_catalog_column_typed(rel, "actor", TEXTOID);
	layout->relid = RelationGetRelid(rel);
	layout->natts = RelationGetDescr(rel)->natts;
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

static void
catalog_reset(int kind, Oid relid)
{
	catalog_checked = false;
}

bool
posting_catalog_resolve(void)
{
	static bool watching = false;
	Oid			lot;
	Oid			serial;
	bool		moved;
	int			i;

	if (catalog_checked)
		return false;
	if (!watching)
	{
		ext_catalog_on_change(catalog_reset, EXT_CHANGE_RELATION | EXT_CHANGE_TYPE);
		watching = true;
	}
	posting_catalog.nsp = ext_catalog_schema(false);
	lot = ext_catalog_type("lot_number", false);
	serial = ext_catalog_type("serial_number", false);
	moved = lot != posting_catalog.lot_type || serial != posting_catalog.serial_type;
	if (moved)
	{
		Oid			kind_type = ext_catalog_type("posting_kind", false);

		posting_catalog.lot_type = InvalidOid;	/* until everything below is found */
		for (i = 0; i < NUM_KINDS; i++)
			posting_catalog.kind_value[i] = ext_catalog_enum_value(kind_type, posting_kind_names[i]);
		posting_catalog.gtin_type = ext_catalog_type("gtin", false);
		posting_catalog.gln_type = ext_catalog_type("gln", false);
	}
	balance_store_load();
	posting_catalog.serial_type = serial;
	posting_catalog.lot_type = lot;
	catalog_checked = true;
	return moved;
}
