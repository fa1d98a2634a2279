/*
 * promise_catalog.c
 *		The promise layer's catalog facts and SQL, found once per backend (see
 *		promise_internal.h).
 *
 * The fast path writes its tables' rows itself, so it checks here that each table is
 * the table it knows how to write: every column it fills is found by name and there are
 * no others (a column it did not fill would be left NULL, or miss its default), and
 * reservation has no trigger, CHECK constraint or generated column that an INSERT would
 * run. A table that is not so is an error, never a silently wrong row. The facts belong
 * to one incarnation of the extension (keyed by channel_atp's OID): after DROP and
 * CREATE EXTENSION in a running backend they are found again and the plans prepared anew.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/genam.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/rel.h"

#include "ext_catalog.h"
#include "keyed_row.h"
#include "promise_internal.h"
#include "spi_plan.h"

PromiseCatalog promise_catalog;

/* Schema-qualified throughout: reserve() runs as its owner with the caller's search_path. */
static const char *const promise_query_sql[NUM_PROMISE_QUERIES] = {
	/* a row only when the fast path applies: see channel_atp_state */
	"SELECT c.reservation_ttl, s.computed_on"
	"  FROM inventory_sync.channel c"
	"  JOIN inventory_sync.channel_atp_state s ON s.channel OPERATOR(pg_catalog.=) c.channel"
	"   AND s.item_gtin OPERATOR(inventory_sync.=) $2"
	" WHERE c.channel OPERATOR(pg_catalog.=) $1 AND NOT c.allow_backorder"
	"   AND s.computed_on OPERATOR(pg_catalog.=) CURRENT_DATE AND s.dedicated",
	"SELECT * FROM inventory_sync._reserve_general($1, $2, $3, $4, $5, $6, $7, $8)",
};

static const char *const reservation_columns[NUM_RES_COLUMNS] = {
	"reservation_id", "channel", "order_ref", "line_ref", "item_gtin", "location", "anywhere",
	"quantity", "open_quantity", "fulfilled_quantity", "status", "expires_at", "due_date",
	"promised_date", "created_at", "resolved_at", "fulfilling"
};

static const char *const change_columns[NUM_CHG_COLUMNS] = {
	"change_id", "reservation_id", "action", "channel", "item_gtin", "location", "order_ref",
	"line_ref", "delta", "open_after", "atp_before", "atp_after", "version", "posting_id",
	"changed_at"
};

/*
 * The terms cache empties on any relcache invalidation (the tables its answers come
 * from send one on every change); the index descriptions go stale with their table or
 * one of its indexes. reservation_change and its identity sequence are found again when
 * either changes (partition_ledger() replaces both with a partitioned table and its own).
 */
static void
promise_relation_changed(int kind, Oid relid)
{
	fast_terms_invalidate();
	reservation_indexes_invalidate(relid);
	if (!OidIsValid(relid) || relid == promise_catalog.reservation_change || relid == promise_catalog.change_seq)
		promise_catalog.channel_atp = InvalidOid;
}

/* The attribute numbers of names in rel, which must be all its columns; false if it has others. */
static bool
table_columns(Relation rel, const char *const *names, int n, AttrNumber *atts)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			live = 0;
	int			i;

	for (i = 0; i < n; i++)
		atts[i] = ext_catalog_column(rel, names[i]);
	for (i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped)
			live++;
	return live == n;
}

/* channel_atp: the row the fast path takes from, by its unique (channel, item_gtin) key */
static void
load_channel_atp(void)
{
	static const char *const keycols[] = {"channel", "item_gtin"};
	static const char *const cols[NUM_ATP_COLUMNS] = {"atp", "version", "updated_at"};

	keyed_table_load(&promise_catalog.channel_atp_table, "channel_atp", NULL, keycols, 2, cols, NUM_ATP_COLUMNS);
}

/* reservation: every column the fast path writes, and the index its key is unique in */
static void
load_reservation(void)
{
	PromiseCatalog *pc = &promise_catalog;
	Relation	rel;
	TupleDesc	desc;
	AttrNumber	key[3];

	pc->reservation = ext_catalog_relid("reservation", false);
	pc->reservation_seq = ext_catalog_relid("reservation_reservation_id_seq", false);
	pc->status_open = ext_catalog_enum_value_by_name("reservation_status", "open");
	rel = table_open(pc->reservation, AccessShareLock);
	desc = RelationGetDescr(rel);
	if (!table_columns(rel, reservation_columns, NUM_RES_COLUMNS, pc->reservation_att) ||
		(rel->trigdesc != NULL && (rel->trigdesc->trig_insert_before_row || rel->trigdesc->trig_insert_after_row ||
								   rel->trigdesc->trig_insert_before_statement ||
								   rel->trigdesc->trig_insert_after_statement)) ||
		(desc->constr != NULL && (desc->constr->num_check > 0 || desc->constr->has_generated_stored)))
		elog(ERROR, "inventory_sync: reservation is not the table reserve() knows how to write");
	pc->reservation_natts = desc->natts;
	key[0] = pc->reservation_att[RES_CHANNEL];
	key[1] = pc->reservation_att[RES_ORDER_REF];
	key[2] = pc->reservation_att[RES_LINE_REF];
	pc->reservation_key = ext_catalog_index_on(rel, key, 3, true);
	table_close(rel, AccessShareLock);
	if (!OidIsValid(pc->reservation_key))
		elog(ERROR, "inventory_sync: reservation has lost its unique key (channel, order_ref, line_ref)");
}

/* reservation_change: the after-state row every fast reservation appends */
static void
load_reservation_change(void)
{
	PromiseCatalog *pc = &promise_catalog;
	Relation	rel;

	pc->reservation_change = ext_catalog_relid("reservation_change", false);
	pc->change_seq = ext_catalog_relid("reservation_change_change_id_seq", false);
	pc->action_reserve = ext_catalog_enum_value_by_name("reservation_action", "reserve");
	rel = table_open(pc->reservation_change, AccessShareLock);
	if (!table_columns(rel, change_columns, NUM_CHG_COLUMNS, pc->change_att))
		elog(ERROR, "inventory_sync: reservation_change is not the table reserve() knows how to write");
	pc->change_natts = RelationGetDescr(rel)->natts;
	table_close(rel, AccessShareLock);
}

void
promise_catalog_load(void)
{
	PromiseCatalog *pc = &promise_catalog;
	Oid			atp = ext_catalog_relid("channel_atp", false);
	int			i;

	ext_catalog_on_change(promise_relation_changed, EXT_CHANGE_RELATION);
	if (atp == pc->channel_atp)
		return;
	for (i = 0; i < NUM_PROMISE_QUERIES; i++)
	{
		if (pc->plans[i] != NULL)
			SPI_freeplan(pc->plans[i]);
		pc->plans[i] = NULL;
	}
	/* until every fact below is found, nothing is current */
	pc->channel_atp = InvalidOid;
	pc->channel = ext_catalog_relid("channel", false);
	pc->gtin_type = ext_catalog_type("gtin", false);
	pc->gln_type = ext_catalog_type("gln", false);
	load_channel_atp();
	load_reservation();
	load_reservation_change();
	pc->channel_atp = atp;
}

static SPIPlanPtr
promise_query_plan(PromiseQuery which)
{
	PromiseCatalog *pc = &promise_catalog;
	Oid			types[8];
	int			nargs;
	SPIPlanPtr	p;

	if (pc->plans[which] != NULL)
		return pc->plans[which];
	if (which == PQ_FAST_TERMS)
	{
		/* (channel, item) */
		types[0] = TEXTOID;
		types[1] = pc->gtin_type;
		nargs = 2;
	}
	else
	{
		/* reserve()'s own arguments */
		types[0] = TEXTOID;
		types[1] = TEXTOID;
		types[2] = TEXTOID;
		types[3] = pc->gtin_type;
		types[4] = NUMERICOID;
		types[5] = pc->gln_type;
		types[6] = TIMESTAMPTZOID;
		types[7] = DATEOID;
		nargs = 8;
	}
	p = is_prepare_kept(promise_query_sql[which], nargs, types, 0);
	pc->plans[which] = p;
	return p;
}

void
promise_query_run(PromiseQuery which, Datum *values, const char *nulls)
{
	int			r = SPI_execute_plan(promise_query_plan(which), values, nulls, false, 1);

	if (r != SPI_OK_SELECT)
		elog(ERROR, "inventory_sync: \"%s\" failed: %s", promise_query_sql[which], SPI_result_code_string(r));
}
