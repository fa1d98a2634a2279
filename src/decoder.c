/*
 * decoder.c
 *		The output plugin inventory_sync: the change feed as JSON Lines (see decoder.h).
 *		This file holds the callbacks PostgreSQL calls, the choice of which relations are
 *		tables of the feed, and how lines become messages; options and filters are in
 *		decoder_options.c, the JSON in decoder_json.c (decoder_internal.h).
 *
 * Events are built from rows the engine INSERTs into its after-state tables, which carry
 * everything a consumer needs (keys, delta, quantity after, version): nothing is read from
 * the database per event, so the feed cannot disagree with the ledger and decoding costs
 * one pass over the row. Three rules shape the code:
 *
 *  - Flat memory. Each change is formatted in a private context reset after it, straight
 *    into the output buffer (or the batch of at most batch-events lines that goes out as
 *    one message); nothing of a transaction is kept but that batch and a few counters,
 *    however many postings it has.
 *  - Cheap skipping. A relation is classified once (by schema and table name, through the
 *    root of a partition tree) and remembered by OID until a relcache invalidation; every
 *    other table's change costs one hash lookup. Filters are checked on the raw datums
 *    before anything is formatted.
 *  - Progress without output. BEGIN (with envelopes) is sent with the first event, so a
 *    transaction whose events are all filtered out sends nothing; it still reports
 *    progress (OutputPluginUpdateProgress, as pgoutput does) so the walsender can keep the
 *    connection alive, confirm past it and measure the consumer's lag.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/htup_details.h"
#include "catalog/partition.h"
#include "catalog/pg_type.h"
#include "replication/logical.h"
#include "replication/output_plugin.h"
#include "replication/reorderbuffer.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "decoder.h"
#include "decoder_internal.h"
#include "ext_catalog.h"

/* ------------------------------------------------------------------------
 * Event types and the columns each is built from (decoder_internal.h).
 * ------------------------------------------------------------------------ */
const char *const feed_event_names[NUM_FEED_EVENTS] = {"posting", "reservation", "atp"};
const char *const feed_table_names[NUM_FEED_EVENTS] = {
	"balance_change", "reservation_change", "channel_atp_change"
};

static const FeedColSpec posting_cols[NUM_PC] = {
	{"posting_id", CT_INT8}, {"item_gtin", CT_GTIN}, {"location", CT_GLN}, {"lot", CT_STRING},
	{"bucket", CT_STRING}, {"delta", CT_NUMERIC}, {"quantity_after", CT_NUMERIC},
	{"version", CT_INT8}, {"kind", CT_ENUM}, {"source", CT_STRING},
	{"source_event_id", CT_STRING}, {"event_time", CT_TIMESTAMPTZ},
	{"recorded_at", CT_TIMESTAMPTZ}
};

static const FeedColSpec reservation_cols[NUM_RC] = {
	{"change_id", CT_INT8}, {"reservation_id", CT_INT8}, {"action", CT_ENUM},
	{"channel", CT_STRING}, {"item_gtin", CT_GTIN}, {"location", CT_GLN},
	{"order_ref", CT_STRING}, {"line_ref", CT_STRING}, {"delta", CT_NUMERIC},
	{"open_after", CT_NUMERIC}, {"atp_before", CT_NUMERIC}, {"atp_after", CT_NUMERIC},
	{"version", CT_INT8}, {"posting_id", CT_INT8}, {"changed_at", CT_TIMESTAMPTZ}
};

static const FeedColSpec atp_cols[NUM_AC] = {
	{"channel", CT_STRING}, {"item_gtin", CT_GTIN}, {"atp_before", CT_NUMERIC},
	{"atp_after", CT_NUMERIC}, {"version", CT_INT8}, {"cause", CT_STRING},
	{"posting_id", CT_INT8}, {"reservation_id", CT_INT8}, {"changed_at", CT_TIMESTAMPTZ}
};

const FeedColSpec *const feed_cols[NUM_FEED_EVENTS] = {posting_cols, reservation_cols, atp_cols};
const int	feed_ncols[NUM_FEED_EVENTS] = {NUM_PC, NUM_RC, NUM_AC};

/* ------------------------------------------------------------------------
 * Backend-wide caches: relations by OID (here), enum labels by OID (decoder_json.c),
 * channel membership generation (decoder_options.c). Kept across decoding sessions of
 * the backend, dropped through the extension's one invalidation set-up (ext_catalog.h),
 * whose callbacks the walsender runs as it replays each transaction's invalidations.
 * ------------------------------------------------------------------------ */
static HTAB *feed_rels = NULL;

/* Mark one relation's entry (or, for InvalidOid, every entry) to be built again. */
static void
feed_rels_invalidate(Oid relid)
{
	if (feed_rels == NULL)
		return;
	if (!OidIsValid(relid))
	{
		HASH_SEQ_STATUS seq;
		FeedRel    *e;

		hash_seq_init(&seq, feed_rels);
		while ((e = hash_seq_search(&seq)) != NULL)
			e->valid = false;
	}
	else
	{
		FeedRel    *e = hash_search(feed_rels, &relid, HASH_FIND, NULL);

		if (e != NULL)
			e->valid = false;
	}
}

/*
 * The decoder's reset function (ext_catalog_on_change). A relation's entry depends on its
 * columns and on which schema is the extension's; enum labels on pg_enum.
 */
static void
feed_catalog_changed(int kind, Oid relid)
{
	if (kind == EXT_CHANGE_ENUM)
	{
		feed_enum_labels_reset();
		return;
	}
	if (kind == EXT_CHANGE_SCHEMA)
		relid = InvalidOid;
	feed_rels_invalidate(relid);
	feed_membership_invalidate(relid);
}

/* ------------------------------------------------------------------------
 * The plugin's callbacks.
 * ------------------------------------------------------------------------ */
static void feed_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt, bool is_init);
static void feed_shutdown(LogicalDecodingContext *ctx);
static void feed_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn);
static void feed_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, XLogRecPtr commit_lsn);
static void feed_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, Relation relation,
						ReorderBufferChange *change);

/* The entry point PostgreSQL looks up in the library named by the slot's plugin. */
void
_PG_output_plugin_init(OutputPluginCallbacks *cb)
{
	cb->startup_cb = feed_startup;
	cb->begin_cb = feed_begin;
	cb->change_cb = feed_change;
	cb->commit_cb = feed_commit;
	cb->shutdown_cb = feed_shutdown;
	/*
	 * No streaming or two-phase callbacks: a transaction is decoded once it has committed,
	 * so an aborted or prepared-only transaction never reaches a consumer.
	 */
}

/* The session's state with its memory contexts and buffers, before options. */
static FeedData *
feed_data_create(LogicalDecodingContext *ctx)
{
	FeedData   *data = palloc0(sizeof(FeedData));

	data->cxt = AllocSetContextCreate(ctx->context, "inventory_sync feed change",
									  ALLOCSET_DEFAULT_SIZES);
	data->map_cxt = AllocSetContextCreate(ctx->context, "inventory_sync feed channel map",
										  ALLOCSET_SMALL_SIZES);
	initStringInfo(&data->prefix);
	initStringInfo(&data->batch);
	return data;
}

static void
feed_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt, bool is_init)
{
	FeedData   *data = feed_data_create(ctx);

	feed_options_parse(data, ctx->output_plugin_options);
	opt->output_type = OUTPUT_PLUGIN_TEXTUAL_OUTPUT;
	opt->receive_rewrites = false;
	ctx->output_plugin_private = data;
	ext_catalog_on_change(feed_catalog_changed,
						  EXT_CHANGE_RELATION | EXT_CHANGE_SCHEMA | EXT_CHANGE_ENUM);
}

static void
feed_shutdown(LogicalDecodingContext *ctx)
{
	FeedData   *data = ctx->output_plugin_private;

	MemoryContextDelete(data->cxt);
	MemoryContextDelete(data->map_cxt);
}

/*
 * Report progress as pgoutput does. At each commit, on every major, saying whether the
 * transaction sent nothing: the walsender then does not hold synchronous replication up
 * for transactions the consumer never sees, and its lag tracker notes the commit's
 * position and time, from which pg_stat_replication's lag columns (and kpi_feed_delay)
 * tell how long after its commit the consumer confirmed it. Every 100 changes too, before
 * 16, so the connection stays alive through long filtered stretches; from 16 on the
 * decoding machinery does that itself.
 */
static inline void
feed_progress(LogicalDecodingContext *ctx, bool skipped_xact)
{
#if PG_VERSION_NUM < 160000
	static int	changes = 0;

	if (ctx->end_xact || ++changes >= 100)
	{
		OutputPluginUpdateProgress(ctx, skipped_xact);
		changes = 0;
	}
#else
	if (ctx->end_xact)
		OutputPluginUpdateProgress(ctx, skipped_xact);
#endif
}

/* ------------------------------------------------------------------------
 * Relations: which table of the feed (if any) a relation is.
 * ------------------------------------------------------------------------ */
static bool
feed_col_type_ok(Form_pg_attribute attr, FeedColType type)
{
	switch (type)
	{
		case CT_INT8:
			return attr->atttypid == INT8OID;
		case CT_GTIN:
		case CT_GLN:
			return attr->attlen == 8 && attr->attbyval;
		case CT_STRING:
			return attr->attlen == -1 && attr->atttypid != NUMERICOID;
		case CT_NUMERIC:
			return attr->atttypid == NUMERICOID;
		case CT_TIMESTAMPTZ:
			return attr->atttypid == TIMESTAMPTZOID;
		case CT_ENUM:
			return get_typtype(attr->atttypid) == TYPTYPE_ENUM;
	}
	return false;
}

/*
 * The event type whose table rel is, or -1; a partition publishes as its partitioned
 * table. *relname is set to the table's name (for messages).
 */
static int
feed_rel_event_type(Relation rel, const char **relname)
{
	Oid			nsp = RelationGetNamespace(rel);
	int			t;

	*relname = RelationGetRelationName(rel);
	if (rel->rd_rel->relispartition)
	{
		List	   *ancestors = get_partition_ancestors(RelationGetRelid(rel));

		if (ancestors != NIL)
		{
			Oid			root = llast_oid(ancestors);

			nsp = get_rel_namespace(root);
			*relname = get_rel_name(root);
		}
	}
	if (*relname == NULL || !OidIsValid(nsp) || nsp != ext_catalog_schema(true))
		return -1;
	for (t = 0; t < NUM_FEED_EVENTS; t++)
		if (strcmp(*relname, feed_table_names[t]) == 0)
			return t;
	return -1;
}

/* Find each column of event type t's layout in rel's descriptor; raise if one is missing. */
static void
feed_rel_map_columns(FeedRel *e, Relation rel, int t, const char *relname)
{
	TupleDesc	desc = RelationGetDescr(rel);
	const FeedColSpec *cols = feed_cols[t];
	int			c;

	for (c = 0; c < feed_ncols[t]; c++)
	{
		int			a;

		e->col[c] = -1;
		for (a = 0; a < desc->natts; a++)
		{
			Form_pg_attribute attr = TupleDescAttr(desc, a);

			if (!attr->attisdropped && strcmp(NameStr(attr->attname), cols[c].name) == 0)
			{
				if (feed_col_type_ok(attr, cols[c].type))
					e->col[c] = a;
				break;
			}
		}
		if (e->col[c] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("inventory_sync feed: table inventory_sync.%s has no column \"%s\" of the type the feed reads",
							relname, cols[c].name),
					 errhint("The feed decodes the after-state tables as the extension defines them.")));
	}
}

static void
feed_rel_build(FeedRel *e, Relation rel)
{
	const char *relname;
	int			t = feed_rel_event_type(rel, &relname);

	e->type = -1;
	e->natts = RelationGetDescr(rel)->natts;
	if (t >= 0)
	{
		feed_rel_map_columns(e, rel, t, relname);
		e->type = t;
	}
	e->valid = true;
}

static FeedRel *
feed_rel_lookup(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	FeedRel    *e;
	bool		found;

	if (feed_rels == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(FeedRel);
		ctl.hcxt = CacheMemoryContext;
		feed_rels = hash_create("inventory_sync feed relations", 64, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	e = hash_search(feed_rels, &relid, HASH_ENTER, &found);
	if (!found)
		e->valid = false;
	if (!e->valid || e->natts != RelationGetDescr(rel)->natts)
		feed_rel_build(e, rel);
	return e;
}

/* ------------------------------------------------------------------------
 * Transactions and events.
 * ------------------------------------------------------------------------ */
static void
feed_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	FeedData   *data = ctx->output_plugin_private;
	StringInfo	p = &data->prefix;

	data->sent_begin = false;
	data->nevents = 0;
	data->seq = 0;
	resetStringInfo(&data->batch);
	data->batched = 0;
	/* built with the first event (feed_prefix_json): a transaction with none needs none */
	resetStringInfo(p);
	data->txn = txn;
}

/*
 * Where the next line of output goes. With batch-events=1 (the default through the SQL
 * functions): straight into the output buffer, a message of its own. Above 1 (the
 * default over the replication protocol), lines gather in the batch buffer, separated by
 * newlines, and go out batch-events at a time (and the rest at the commit): fewer, larger
 * messages for large transactions. A message never spans two transactions, and the
 * buffer holds at most batch-events lines.
 */
static StringInfo
feed_line_start(LogicalDecodingContext *ctx, FeedData *data, bool last_write)
{
	if (data->batch_events == 1)
	{
		OutputPluginPrepareWrite(ctx, last_write);
		return ctx->out;
	}
	if (data->batch.len > 0)
		appendStringInfoChar(&data->batch, '\n');
	return &data->batch;
}

/* Send the gathered lines as one message. */
static void
feed_batch_flush(LogicalDecodingContext *ctx, FeedData *data)
{
	if (data->batch.len == 0)
		return;
	OutputPluginPrepareWrite(ctx, true);
	appendBinaryStringInfo(ctx->out, data->batch.data, data->batch.len);
	OutputPluginWrite(ctx, true);
	resetStringInfo(&data->batch);
	data->batched = 0;
}

static void
feed_line_end(LogicalDecodingContext *ctx, FeedData *data, bool last_write)
{
	if (data->batch_events == 1)
		OutputPluginWrite(ctx, last_write);
	else if (++data->batched >= data->batch_events)
		feed_batch_flush(ctx, data);
}

/* Before the first event of a transaction: its BEGIN object, when envelopes are on. */
static void
feed_emit_begin(LogicalDecodingContext *ctx, FeedData *data)
{
	StringInfo	s;

	if (data->sent_begin)
		return;
	data->sent_begin = true;
	feed_prefix_json(data);
	if (!data->envelopes)
		return;
	s = feed_line_start(ctx, data, false);
	feed_begin_json(data, s);
	if (data->batch_events == 1)
		OutputPluginWrite(ctx, false);
}

static void
feed_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, XLogRecPtr commit_lsn)
{
	FeedData   *data = ctx->output_plugin_private;
	StringInfo	s;

	feed_progress(ctx, !data->sent_begin);
	if (!data->sent_begin)
		return;
	if (!data->envelopes)
	{
		/* the last lines go out from here: their message's position is the commit's end */
		feed_batch_flush(ctx, data);
		return;
	}
	s = feed_line_start(ctx, data, true);
	feed_commit_json(data, s, txn);
	if (data->batch_events == 1)
		OutputPluginWrite(ctx, true);
	else
		feed_batch_flush(ctx, data);
}

/* Opens an event's line (after the transaction's BEGIN) and writes the event's head. */
static StringInfo
feed_event_start(LogicalDecodingContext *ctx, FeedData *data, FeedEventType type)
{
	StringInfo	s;

	feed_emit_begin(ctx, data);
	s = feed_line_start(ctx, data, true);
	feed_event_head_json(data, s, type);
	return s;
}

/* Ends an event's line, whose encoder has closed its object. */
static void
feed_event_end(LogicalDecodingContext *ctx, FeedData *data)
{
	feed_line_end(ctx, data, true);
	data->nevents++;
}

/* The atp event a row records, unless the filters drop it. */
static void
feed_write_atp(LogicalDecodingContext *ctx, FeedData *data, const FeedAtpChange *c)
{
	StringInfo	s;

	if (!feed_atp_wanted(data, c))
		return;
	s = feed_event_start(ctx, data, FE_ATP);
	feed_atp_json(data, s, c);
	feed_event_end(ctx, data);
}

/* The events of one row of the feed's tables, deformed into data->values/nulls. */
static void
feed_row_events(LogicalDecodingContext *ctx, FeedData *data, const FeedRel *fr, bool atp_too)
{
	FeedAtpChange c;
	StringInfo	s;

	switch ((FeedEventType) fr->type)
	{
		case FE_POSTING:
			if (feed_posting_wanted(data, fr))
			{
				s = feed_event_start(ctx, data, FE_POSTING);
				feed_posting_json(data, s, fr);
				feed_event_end(ctx, data);
			}
			break;
		case FE_RESERVATION:
			if (data->events[FE_RESERVATION] && feed_reservation_wanted(data, fr))
			{
				s = feed_event_start(ctx, data, FE_RESERVATION);
				feed_reservation_json(data, s, fr);
				feed_event_end(ctx, data);
			}
			if (atp_too)
			{
				data->seq++;
				if (data->events[FE_ATP])
				{
					feed_atp_from_reservation_row(data, fr, &c);
					feed_write_atp(ctx, data, &c);
				}
			}
			break;
		case FE_ATP:
			feed_atp_from_atp_row(data, fr, &c);
			feed_write_atp(ctx, data, &c);
			break;
		default:
			break;
	}
}

/* Deform the tuple into the session's arrays, grown (in the plugin's context) when short. */
static void
feed_row_deform(LogicalDecodingContext *ctx, FeedData *data, const FeedRel *fr,
				HeapTuple tuple, TupleDesc desc)
{
	if (data->maxatts < fr->natts)
	{
		if (data->values != NULL)
		{
			pfree(data->values);
			pfree(data->nulls);
		}
		data->values = MemoryContextAlloc(ctx->context, sizeof(Datum) * fr->natts);
		data->nulls = MemoryContextAlloc(ctx->context, sizeof(bool) * fr->natts);
		data->maxatts = fr->natts;
	}
	heap_deform_tuple(tuple, desc, data->values, data->nulls);
}

static void
feed_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, Relation relation,
			ReorderBufferChange *change)
{
	FeedData   *data = ctx->output_plugin_private;
	FeedRel    *fr;
	HeapTuple	tuple;
	bool		atp_too;
	MemoryContext old;

	feed_progress(ctx, false);
	/* the feed's tables are append-only: their INSERTs are the events */
	if (change->action != REORDER_BUFFER_CHANGE_INSERT || change->data.tp.newtuple == NULL)
		return;

	old = MemoryContextSwitchTo(data->cxt);
	fr = feed_rel_lookup(relation);
	if (fr->type < 0)
	{
		MemoryContextSwitchTo(old);
		MemoryContextReset(data->cxt);
		return;
	}
	tuple = compat_change_newtuple(change);
	data->seq++;
	/* a reservation change that records its channel's ATP move: two events, two numbers */
	atp_too = fr->type == FE_RESERVATION &&
		!heap_attisnull(tuple, fr->col[RC_ATP_BEFORE] + 1, RelationGetDescr(relation));
	if (data->events[fr->type] || (atp_too && data->events[FE_ATP]))
	{
		feed_row_deform(ctx, data, fr, tuple, RelationGetDescr(relation));
		feed_row_events(ctx, data, fr, atp_too);
	}
	else if (atp_too)
		data->seq++;
	MemoryContextSwitchTo(old);
	MemoryContextReset(data->cxt);
}
