/*
 * decoder.c
 *		The output plugin inventory_sync: the change feed as JSON Lines (see decoder.h).
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
 *    progress (PostgreSQL 15's OutputPluginUpdateProgress protocol, as pgoutput does) so
 *    the walsender can keep the connection alive and confirm past it.
 *
 * Filters by channel need the channels' locations: they are read from channel_location,
 * a user_catalog_table, with the historic snapshot of the change being decoded (so a
 * location joins or leaves a channel in the feed exactly where it did in the WAL), and
 * cached until channel_location's relcache invalidation is replayed.
 */
#include "postgres.h"
#include "pg_compat.h"

#include <ctype.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xlogdefs.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "replication/logical.h"
#include "replication/output_plugin.h"
#include "replication/reorderbuffer.h"
#include "replication/walsender.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "decoder.h"
#include "gs1.h"

/* ------------------------------------------------------------------------
 * Event types and the columns each is built from.
 * ------------------------------------------------------------------------ */
typedef enum FeedEventType
{
	FE_POSTING,					/* balance_change */
	FE_RESERVATION,				/* reservation_change */
	FE_ATP,						/* channel_atp_change */
	NUM_FEED_EVENTS
} FeedEventType;

static const char *const feed_event_names[NUM_FEED_EVENTS] = {"posting", "reservation", "atp"};
static const char *const feed_table_names[NUM_FEED_EVENTS] = {
	"balance_change", "reservation_change", "channel_atp_change"
};

/* How a column is read and written. */
typedef enum FeedColType
{
	CT_INT8,
	CT_GTIN,					/* 8-byte GS1 key, printed as 14 digits */
	CT_GLN,						/* 8-byte GS1 key, printed as 13 digits */
	CT_STRING,					/* text or lot_number: a varlena of characters */
	CT_NUMERIC,					/* printed as a JSON string: exact, never a float */
	CT_TIMESTAMPTZ,				/* ISO 8601 in UTC, as a JSON string */
	CT_ENUM						/* the label, as a JSON string */
} FeedColType;

typedef struct FeedColSpec
{
	const char *name;
	FeedColType type;
} FeedColSpec;

#define FEED_MAX_COLS 16

enum
{
	PC_POSTING_ID, PC_ITEM, PC_LOCATION, PC_LOT, PC_BUCKET, PC_DELTA, PC_QUANTITY_AFTER,
	PC_VERSION, PC_KIND, PC_SOURCE, PC_SOURCE_EVENT_ID, PC_EVENT_TIME, PC_RECORDED_AT,
	NUM_PC
};
static const FeedColSpec posting_cols[NUM_PC] = {
	{"posting_id", CT_INT8}, {"item_gtin", CT_GTIN}, {"location", CT_GLN}, {"lot", CT_STRING},
	{"bucket", CT_STRING}, {"delta", CT_NUMERIC}, {"quantity_after", CT_NUMERIC},
	{"version", CT_INT8}, {"kind", CT_ENUM}, {"source", CT_STRING},
	{"source_event_id", CT_STRING}, {"event_time", CT_TIMESTAMPTZ},
	{"recorded_at", CT_TIMESTAMPTZ}
};

enum
{
	RC_CHANGE_ID, RC_RESERVATION_ID, RC_ACTION, RC_CHANNEL, RC_ITEM, RC_LOCATION,
	RC_ORDER_REF, RC_LINE_REF, RC_DELTA, RC_OPEN_AFTER, RC_ATP_BEFORE, RC_ATP_AFTER, RC_VERSION,
	RC_POSTING_ID, RC_CHANGED_AT,
	NUM_RC
};
static const FeedColSpec reservation_cols[NUM_RC] = {
	{"change_id", CT_INT8}, {"reservation_id", CT_INT8}, {"action", CT_ENUM},
	{"channel", CT_STRING}, {"item_gtin", CT_GTIN}, {"location", CT_GLN},
	{"order_ref", CT_STRING}, {"line_ref", CT_STRING}, {"delta", CT_NUMERIC},
	{"open_after", CT_NUMERIC}, {"atp_before", CT_NUMERIC}, {"atp_after", CT_NUMERIC},
	{"version", CT_INT8}, {"posting_id", CT_INT8}, {"changed_at", CT_TIMESTAMPTZ}
};

enum
{
	AC_CHANNEL, AC_ITEM, AC_ATP_BEFORE, AC_ATP_AFTER, AC_VERSION, AC_CAUSE, AC_POSTING_ID,
	AC_RESERVATION_ID, AC_CHANGED_AT,
	NUM_AC
};
static const FeedColSpec atp_cols[NUM_AC] = {
	{"channel", CT_STRING}, {"item_gtin", CT_GTIN}, {"atp_before", CT_NUMERIC},
	{"atp_after", CT_NUMERIC}, {"version", CT_INT8}, {"cause", CT_STRING},
	{"posting_id", CT_INT8}, {"reservation_id", CT_INT8}, {"changed_at", CT_TIMESTAMPTZ}
};

static const FeedColSpec *const feed_cols[NUM_FEED_EVENTS] = {posting_cols, reservation_cols, atp_cols};
static const int feed_ncols[NUM_FEED_EVENTS] = {NUM_PC, NUM_RC, NUM_AC};

/* ------------------------------------------------------------------------
 * Backend-wide caches: relations by OID, enum labels by OID, channel membership
 * generation. Kept across decoding sessions of the backend, dropped by invalidations.
 * ------------------------------------------------------------------------ */
typedef struct FeedRel
{
	Oid			relid;			/* hash key */
	bool		valid;
	int			type;			/* FeedEventType, or -1: not a table of the feed */
	int			natts;
	int16		col[FEED_MAX_COLS]; /* 0-based attribute index of each column */
} FeedRel;

static HTAB *feed_rels = NULL;

typedef struct FeedEnumLabel
{
	Oid			oid;
	char		label[NAMEDATALEN];
} FeedEnumLabel;

#define FEED_MAX_ENUMS 64
static FeedEnumLabel feed_enums[FEED_MAX_ENUMS];
static int	feed_nenums = 0;

/* Bumped whenever channel_location (or everything) is invalidated. */
static uint64 feed_membership_generation = 1;
static Oid	feed_channel_location_relid = InvalidOid;
static bool feed_callbacks_registered = false;

static void
feed_relcache_callback(Datum arg, Oid relid)
{
	if (feed_rels != NULL)
	{
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
	if (!OidIsValid(relid) || relid == feed_channel_location_relid)
		feed_membership_generation++;
}

static void
feed_syscache_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	feed_nenums = 0;
}

static void
feed_register_callbacks(void)
{
	if (feed_callbacks_registered)
		return;
	CacheRegisterRelcacheCallback(feed_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(ENUMOID, feed_syscache_callback, (Datum) 0);
	feed_callbacks_registered = true;
}

/* ------------------------------------------------------------------------
 * Options and per-session state.
 * ------------------------------------------------------------------------ */
typedef struct FeedStringList
{
	int			n;
	char	  **items;
	int		   *lens;
} FeedStringList;

typedef struct FeedData
{
	MemoryContext cxt;			/* per change: reset after each */
	MemoryContext map_cxt;		/* the channel membership map */

	/* options */
	bool		deterministic;
	bool		envelopes;
	bool		events[NUM_FEED_EVENTS];
	FeedStringList channels;
	FeedStringList sources;
	FeedStringList exclude_sources;
	int			nlocations;
	int64	   *locations;		/* sorted */

	/* channel membership as of the change being decoded (when a filter needs it) */
	uint64		map_generation;
	int			nmap_locations;
	int64	   *map_locations;	/* sorted: locations of the channels filter */
	FeedStringList map_channels;	/* channels selling from the locations filter */

	/* events per message (option batch-events); above 1 they gather in batch */
	int			batch_events;
	StringInfoData batch;
	int			batched;

	/* the transaction being decoded */
	bool		sent_begin;
	int64		nevents;		/* events written */
	int64		seq;			/* rows of the feed's tables seen, before filtering */
	ReorderBufferTXN *txn;
	StringInfoData prefix;		/* ,"lsn":..,"xid":..,"commit_time":.. (empty if deterministic),
								 * built with the transaction's first event */

	/* deformed row */
	int			maxatts;
	Datum	   *values;
	bool	   *nulls;

	/* the last two timestamps formatted (a transaction's rows often share them) */
	TimestampTz ts_value[2];
	bool		ts_valid[2];
	int			ts_next;
	char		ts_text[2][MAXDATELEN + 1];
} FeedData;

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

#define FEED_OPTIONS_HINT "Options: channels, locations, sources, exclude-sources, events, envelopes, batch-events, deterministic."

/* Most events gathered into one message (option batch-events). */
#define FEED_MAX_BATCH 10000

/*
 * The default of batch-events. Over the replication protocol every message costs the
 * walsender a send() and the consumer a wake-up: for a large transaction that is most of
 * the decoding time, so lines go out FEED_PROTOCOL_BATCH to a message (a few tens of kB).
 * Through the SQL functions a message is a row, cheap either way, and one event per row
 * is what a person reading pg_logical_slot_get_changes() expects.
 */
#define FEED_PROTOCOL_BATCH 64

static bool
feed_option_bool(DefElem *elem)
{
	bool		result;

	/* a bare option (no value) means true, as for test_decoding's options */
	if (elem->arg == NULL)
		return true;
	if (!parse_bool(strVal(elem->arg), &result))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" of output plugin \"inventory_sync\" needs a boolean value, not \"%s\"",
						elem->defname, strVal(elem->arg))));
	return result;
}

/* Split a comma-separated option value into trimmed, non-empty items. */
static List *
feed_option_items(DefElem *elem)
{
	List	   *items = NIL;
	const char *p;

	if (elem->arg == NULL || strVal(elem->arg)[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" of output plugin \"inventory_sync\" needs a value", elem->defname),
				 errhint("Give a comma-separated list, e.g. %s=a,b.", elem->defname)));
	p = strVal(elem->arg);
	for (;;)
	{
		const char *end = strchr(p, ',');
		const char *stop = end ? end : p + strlen(p);
		const char *b = p;
		const char *e = stop;

		while (b < e && isspace((unsigned char) *b))
			b++;
		while (e > b && isspace((unsigned char) e[-1]))
			e--;
		if (b == e)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" of output plugin \"inventory_sync\" has an empty item: \"%s\"",
							elem->defname, strVal(elem->arg))));
		items = lappend(items, pnstrdup(b, e - b));
		if (end == NULL)
			break;
		p = end + 1;
	}
	return items;
}

static int
feed_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
feed_cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* A sorted, duplicate-free string list from a list of palloc'd strings. */
static void
feed_make_list(List *items, FeedStringList *out)
{
	ListCell   *lc;
	int			n = 0;
	int			i;

	out->items = palloc(sizeof(char *) * Max(list_length(items), 1));
	foreach(lc, items)
		out->items[n++] = lfirst(lc);
	qsort(out->items, n, sizeof(char *), feed_cmp_str);
	out->n = 0;
	for (i = 0; i < n; i++)
		if (out->n == 0 || strcmp(out->items[out->n - 1], out->items[i]) != 0)
			out->items[out->n++] = out->items[i];
	out->lens = palloc(sizeof(int) * Max(out->n, 1));
	for (i = 0; i < out->n; i++)
		out->lens[i] = strlen(out->items[i]);
}

static bool
feed_list_has(const FeedStringList *l, const char *s, int len)
{
	int			i;

	for (i = 0; i < l->n; i++)
		if (l->lens[i] == len && memcmp(l->items[i], s, len) == 0)
			return true;
	return false;
}

static bool
feed_has_location(const int64 *locs, int n, int64 gln)
{
	return n > 0 && bsearch(&gln, locs, n, sizeof(int64), feed_cmp_int64) != NULL;
}

static void
feed_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt, bool is_init)
{
	FeedData   *data = palloc0(sizeof(FeedData));
	ListCell   *lc;
	List	   *seen = NIL;
	int			i;

	data->cxt = AllocSetContextCreate(ctx->context, "inventory_sync feed change",
									  ALLOCSET_DEFAULT_SIZES);
	data->map_cxt = AllocSetContextCreate(ctx->context, "inventory_sync feed channel map",
										  ALLOCSET_SMALL_SIZES);
	for (i = 0; i < NUM_FEED_EVENTS; i++)
		data->events[i] = true;
	data->batch_events = am_walsender ? FEED_PROTOCOL_BATCH : 1;
	initStringInfo(&data->prefix);
	initStringInfo(&data->batch);

	foreach(lc, ctx->output_plugin_options)
	{
		DefElem    *elem = lfirst(lc);
		ListCell   *lc2;

		Assert(elem->arg == NULL || IsA(elem->arg, String));
		foreach(lc2, seen)
		{
			if (strcmp(lfirst(lc2), elem->defname) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"%s\" of output plugin \"inventory_sync\" is given more than once",
								elem->defname),
						 errhint("Give a list as one comma-separated value.")));
		}
		seen = lappend(seen, elem->defname);

		if (strcmp(elem->defname, "deterministic") == 0)
			data->deterministic = feed_option_bool(elem);
		else if (strcmp(elem->defname, "envelopes") == 0)
			data->envelopes = feed_option_bool(elem);
		else if (strcmp(elem->defname, "batch-events") == 0)
		{
			const char *v = elem->arg ? strVal(elem->arg) : "";
			char	   *end;
			long		n;

			errno = 0;
			n = strtol(v, &end, 10);
			if (*v == '\0' || *end != '\0' || errno != 0 || n < 1 || n > FEED_MAX_BATCH)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"batch-events\" of output plugin \"inventory_sync\" needs a whole number from 1 to %d, not \"%s\"",
								FEED_MAX_BATCH, v)));
			data->batch_events = (int) n;
		}
		else if (strcmp(elem->defname, "channels") == 0)
			feed_make_list(feed_option_items(elem), &data->channels);
		else if (strcmp(elem->defname, "sources") == 0)
			feed_make_list(feed_option_items(elem), &data->sources);
		else if (strcmp(elem->defname, "exclude-sources") == 0)
			feed_make_list(feed_option_items(elem), &data->exclude_sources);
		else if (strcmp(elem->defname, "locations") == 0)
		{
			List	   *items = feed_option_items(elem);
			ListCell   *lc3;
			int			n = 0;

			data->locations = palloc(sizeof(int64) * list_length(items));
			foreach(lc3, items)
			{
				const char *item = lfirst(lc3);
				int64		gln;

				if (!gs1_key_parse(GS1_KEY_GLN, item, strlen(item), &gln, false))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("option \"locations\" of output plugin \"inventory_sync\": \"%s\" is not a valid GLN",
									item),
							 errhint("A GLN is 13 digits, the last a GS1 check digit.")));
				data->locations[n++] = gln;
			}
			qsort(data->locations, n, sizeof(int64), feed_cmp_int64);
			data->nlocations = n;
		}
		else if (strcmp(elem->defname, "events") == 0)
		{
			List	   *items = feed_option_items(elem);
			ListCell   *lc3;

			for (i = 0; i < NUM_FEED_EVENTS; i++)
				data->events[i] = false;
			foreach(lc3, items)
			{
				const char *item = lfirst(lc3);

				for (i = 0; i < NUM_FEED_EVENTS; i++)
					if (strcmp(item, feed_event_names[i]) == 0)
						break;
				if (i == NUM_FEED_EVENTS)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("option \"events\" of output plugin \"inventory_sync\": unknown event type \"%s\"",
									item),
							 errhint("Event types: posting, reservation, atp.")));
				data->events[i] = true;
			}
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\" for output plugin \"inventory_sync\"", elem->defname),
					 errhint(FEED_OPTIONS_HINT)));
	}
	list_free(seen);

	opt->output_type = OUTPUT_PLUGIN_TEXTUAL_OUTPUT;
	opt->receive_rewrites = false;
	ctx->output_plugin_private = data;
	feed_register_callbacks();
}

static void
feed_shutdown(LogicalDecodingContext *ctx)
{
	FeedData   *data = ctx->output_plugin_private;

	MemoryContextDelete(data->cxt);
	MemoryContextDelete(data->map_cxt);
}

/*
 * Report progress the way PostgreSQL 15 expects of a plugin (pgoutput does the same):
 * every 100 changes and at each commit, saying whether the transaction sent nothing, so
 * the walsender keeps the connection alive through long filtered stretches and does not
 * hold synchronous replication up for transactions the consumer never sees. From 16 on,
 * the decoding machinery does this itself.
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
#endif
}

/* ------------------------------------------------------------------------
 * JSON writing: straight into the output buffer, strings through escape_json().
 * ------------------------------------------------------------------------ */
#define APPEND_LIT(s, lit) appendBinaryStringInfo((s), (lit), sizeof(lit) - 1)

static inline void
json_int8(StringInfo s, int64 v)
{
	char		buf[MAXINT8LEN + 1];
	int			len = pg_lltoa(v, buf);

	appendBinaryStringInfo(s, buf, len);
}

/* Upper-case hex of v without leading zeros ("0" for zero), as %X prints it. */
static inline int
json_hex32(char *out, uint32 v)
{
	static const char digits[] = "0123456789ABCDEF";
	char		tmp[8];
	int			n = 0;
	int			i;

	do
	{
		tmp[n++] = digits[v & 0xF];
		v >>= 4;
	} while (v != 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/* An LSN as "X/X" (what pg_lsn prints), without going through snprintf. */
static inline void
json_lsn(StringInfo s, XLogRecPtr lsn)
{
	char		buf[24];
	int			len = 0;

	buf[len++] = '"';
	len += json_hex32(buf + len, (uint32) (lsn >> 32));
	buf[len++] = '/';
	len += json_hex32(buf + len, (uint32) lsn);
	buf[len++] = '"';
	appendBinaryStringInfo(s, buf, len);
}

/*
 * A string of len bytes as a JSON string, byte for byte what escape_json() writes for
 * the same characters, without copying the value into a C string first: runs of
 * characters that need no escape are appended in one piece.
 */
static void
json_string_len(StringInfo s, const char *p, int len)
{
	const char *end = p + len;
	const char *run = p;

	enlargeStringInfo(s, len + 2);
	s->data[s->len++] = '"';
	for (; p < end; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (p > run)
			appendBinaryStringInfo(s, run, p - run);
		run = p + 1;
		switch (c)
		{
			case '\b':
				APPEND_LIT(s, "\\b");
				break;
			case '\f':
				APPEND_LIT(s, "\\f");
				break;
			case '\n':
				APPEND_LIT(s, "\\n");
				break;
			case '\r':
				APPEND_LIT(s, "\\r");
				break;
			case '\t':
				APPEND_LIT(s, "\\t");
				break;
			case '"':
				APPEND_LIT(s, "\\\"");
				break;
			case '\\':
				APPEND_LIT(s, "\\\\");
				break;
			default:
				appendStringInfo(s, "\\u%04x", (int) c);
				break;
		}
	}
	if (p > run)
		appendBinaryStringInfo(s, run, p - run);
	appendStringInfoCharMacro(s, '"');
}

static inline void
json_timestamptz(StringInfo s, TimestampTz ts)
{
	static const int utc = 0;
	char		buf[MAXDATELEN + 1];

	appendStringInfoChar(s, '"');
	appendStringInfoString(s, JsonEncodeDateTime(buf, TimestampTzGetDatum(ts), TIMESTAMPTZOID, &utc));
	appendStringInfoChar(s, '"');
}

/*
 * A timestamp through a two-entry cache: a transaction's rows mostly share their event
 * and recorded times (both default to the transaction's start), so each is formatted once.
 */
static inline void
json_timestamptz_cached(FeedData *data, StringInfo s, TimestampTz ts)
{
	static const int utc = 0;
	int			slot;

	if (data->ts_valid[0] && data->ts_value[0] == ts)
		slot = 0;
	else if (data->ts_valid[1] && data->ts_value[1] == ts)
		slot = 1;
	else
	{
		slot = data->ts_next;
		data->ts_next = 1 - slot;
		JsonEncodeDateTime(data->ts_text[slot], TimestampTzGetDatum(ts), TIMESTAMPTZOID, &utc);
		data->ts_value[slot] = ts;
		data->ts_valid[slot] = true;
	}
	appendStringInfoChar(s, '"');
	appendStringInfoString(s, data->ts_text[slot]);
	appendStringInfoChar(s, '"');
}

static const char *
feed_enum_label(Oid oid)
{
	int			i;
	HeapTuple	tup;

	for (i = 0; i < feed_nenums; i++)
		if (feed_enums[i].oid == oid)
			return feed_enums[i].label;
	tup = SearchSysCache1(ENUMOID, ObjectIdGetDatum(oid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "inventory_sync feed: unknown enum value %u", oid);
	if (feed_nenums == FEED_MAX_ENUMS)
		feed_nenums = 0;
	feed_enums[feed_nenums].oid = oid;
	strlcpy(feed_enums[feed_nenums].label, NameStr(((Form_pg_enum) GETSTRUCT(tup))->enumlabel), NAMEDATALEN);
	ReleaseSysCache(tup);
	return feed_enums[feed_nenums++].label;
}

/* Write column c of the deformed row as a JSON value (null when NULL). */
static void
json_col(FeedData *data, StringInfo s, const FeedRel *fr, int c)
{
	int			a = fr->col[c];
	Datum		d = data->values[a];
	char		buf[24];

	if (data->nulls[a])
	{
		APPEND_LIT(s, "null");
		return;
	}
	switch (feed_cols[fr->type][c].type)
	{
		case CT_INT8:
			json_int8(s, DatumGetInt64(d));
			break;
		case CT_GTIN:
		case CT_GLN:
			gs1_key_format(feed_cols[fr->type][c].type == CT_GTIN ? GS1_KEY_GTIN : GS1_KEY_GLN,
						   DatumGetInt64(d), buf);
			appendStringInfoChar(s, '"');
			appendStringInfoString(s, buf);
			appendStringInfoChar(s, '"');
			break;
		case CT_STRING:
			{
				text	   *t = DatumGetTextPP(d);

				json_string_len(s, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			}
			break;
		case CT_NUMERIC:
			appendStringInfoChar(s, '"');
			appendStringInfoString(s, DatumGetCString(DirectFunctionCall1(numeric_out, d)));
			appendStringInfoChar(s, '"');
			break;
		case CT_TIMESTAMPTZ:
			json_timestamptz(s, DatumGetTimestampTz(d));
			break;
		case CT_ENUM:
			escape_json(s, feed_enum_label(DatumGetObjectId(d)));
			break;
	}
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

static void
feed_rel_build(FeedRel *e, Relation rel)
{
	Oid			nsp = RelationGetNamespace(rel);
	const char *relname = RelationGetRelationName(rel);
	char	   *nspname;
	TupleDesc	desc = RelationGetDescr(rel);
	int			t;

	e->type = -1;
	e->natts = desc->natts;
	if (rel->rd_rel->relispartition)
	{
		/* a partition publishes as its partitioned table */
		List	   *ancestors = get_partition_ancestors(RelationGetRelid(rel));

		if (ancestors != NIL)
		{
			Oid			root = llast_oid(ancestors);

			nsp = get_rel_namespace(root);
			relname = get_rel_name(root);
		}
	}
	nspname = get_namespace_name(nsp);
	if (nspname != NULL && relname != NULL && strcmp(nspname, "inventory_sync") == 0)
	{
		for (t = 0; t < NUM_FEED_EVENTS; t++)
			if (strcmp(relname, feed_table_names[t]) == 0)
				break;
		if (t < NUM_FEED_EVENTS)
		{
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
			e->type = t;
		}
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
 * Channel membership (channel_location), read with the historic snapshot.
 * ------------------------------------------------------------------------ */
static void
feed_membership_refresh(FeedData *data)
{
	uint64		generation = feed_membership_generation;
	Oid			nsp;
	Oid			relid;
	List	   *locs = NIL;
	List	   *chans = NIL;
	MemoryContext old;

	if (data->map_generation == generation)
		return;
	MemoryContextReset(data->map_cxt);
	old = MemoryContextSwitchTo(data->map_cxt);
	data->nmap_locations = 0;
	data->map_locations = NULL;
	memset(&data->map_channels, 0, sizeof(data->map_channels));

	nsp = get_namespace_oid("inventory_sync", true);
	relid = OidIsValid(nsp) ? get_relname_relid("channel_location", nsp) : InvalidOid;
	feed_channel_location_relid = relid;
	if (OidIsValid(relid))
	{
		Relation	rel = table_open(relid, AccessShareLock);
		TupleDesc	desc = RelationGetDescr(rel);
		AttrNumber	att_channel = InvalidAttrNumber;
		AttrNumber	att_location = InvalidAttrNumber;
		SysScanDesc scan;
		HeapTuple	tup;
		int			a;

		if (!RelationIsUsedAsCatalogTable(rel))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("inventory_sync feed: channel_location must be a user catalog table to filter by channel or location"),
					 errhint("ALTER TABLE inventory_sync.channel_location SET (user_catalog_table = true);")));
		for (a = 0; a < desc->natts; a++)
		{
			Form_pg_attribute attr = TupleDescAttr(desc, a);

			if (attr->attisdropped)
				continue;
			if (strcmp(NameStr(attr->attname), "channel") == 0 && attr->atttypid == TEXTOID)
				att_channel = a + 1;
			else if (strcmp(NameStr(attr->attname), "location") == 0 && attr->attlen == 8)
				att_location = a + 1;
		}
		if (att_channel == InvalidAttrNumber || att_location == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("inventory_sync feed: channel_location has no columns channel (text) and location (gln)")));

		/* no snapshot given: the catalog snapshot, which during decoding is the historic one */
		scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
		while ((tup = systable_getnext(scan)) != NULL)
		{
			bool		cnull,
						lnull;
			Datum		cd = heap_getattr(tup, att_channel, desc, &cnull);
			Datum		ld = heap_getattr(tup, att_location, desc, &lnull);
			char	   *channel;
			int64		location;

			if (cnull || lnull)
				continue;
			channel = TextDatumGetCString(cd);
			location = DatumGetInt64(ld);
			if (data->channels.n > 0 && feed_list_has(&data->channels, channel, strlen(channel)))
			{
				int64	   *p = palloc(sizeof(int64));

				*p = location;
				locs = lappend(locs, p);
			}
			if (data->nlocations > 0 && feed_has_location(data->locations, data->nlocations, location))
				chans = lappend(chans, channel);
		}
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
	}

	{
		ListCell   *lc;
		int			n = 0;

		data->map_locations = palloc(sizeof(int64) * Max(list_length(locs), 1));
		foreach(lc, locs)
			data->map_locations[n++] = *(int64 *) lfirst(lc);
		qsort(data->map_locations, n, sizeof(int64), feed_cmp_int64);
		data->nmap_locations = n;
	}
	feed_make_list(chans, &data->map_channels);
	MemoryContextSwitchTo(old);
	/* an invalidation that arrived while reading leaves the generation behind: read again */
	data->map_generation = generation;
}

/* Does the location belong to one of the channels of the channels filter? */
static bool
feed_location_in_channels(FeedData *data, int64 location)
{
	feed_membership_refresh(data);
	return feed_has_location(data->map_locations, data->nmap_locations, location);
}

/* Does the channel sell from one of the locations of the locations filter? */
static bool
feed_channel_at_locations(FeedData *data, Datum channel)
{
	text	   *t = DatumGetTextPP(channel);

	feed_membership_refresh(data);
	return feed_list_has(&data->map_channels, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

static bool
feed_text_in(const FeedStringList *l, Datum d)
{
	text	   *t = DatumGetTextPP(d);

	return feed_list_has(l, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
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
	/* built with the first event (feed_prefix_build): a transaction with none needs none */
	resetStringInfo(p);
	data->txn = txn;
}

/* The commit fields every line of the transaction carries. */
static void
feed_prefix_build(FeedData *data)
{
	StringInfo	p = &data->prefix;
	ReorderBufferTXN *txn = data->txn;

	resetStringInfo(p);
	if (!data->deterministic)
	{
		/* the whole transaction is known here: every event carries its commit */
		APPEND_LIT(p, ",\"lsn\":");
		json_lsn(p, txn->final_lsn);
		APPEND_LIT(p, ",\"xid\":");
		json_int8(p, txn->xid);
		APPEND_LIT(p, ",\"commit_time\":");
		json_timestamptz(p, txn->xact_time.commit_time);
	}
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
	feed_prefix_build(data);
	if (!data->envelopes)
		return;
	s = feed_line_start(ctx, data, false);
	APPEND_LIT(s, "{\"type\":\"begin\"");
	appendBinaryStringInfo(s, data->prefix.data, data->prefix.len);
	appendStringInfoChar(s, '}');
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
	APPEND_LIT(s, "{\"type\":\"commit\"");
	appendBinaryStringInfo(s, data->prefix.data, data->prefix.len);
	if (!data->deterministic)
	{
		/* confirming this position means the transaction is never sent again */
		APPEND_LIT(s, ",\"end_lsn\":");
		json_lsn(s, txn->end_lsn);
	}
	APPEND_LIT(s, ",\"events\":");
	json_int8(s, data->nevents);
	appendStringInfoChar(s, '}');
	if (data->batch_events == 1)
		OutputPluginWrite(ctx, true);
	else
		feed_batch_flush(ctx, data);
}

/* Opens an event object: type, commit, sequence number in the transaction. */
static StringInfo
feed_event_start(LogicalDecodingContext *ctx, FeedData *data, FeedEventType type)
{
	StringInfo	s;

	feed_emit_begin(ctx, data);
	s = feed_line_start(ctx, data, true);
	APPEND_LIT(s, "{\"type\":\"");
	appendStringInfoString(s, feed_event_names[type]);
	appendStringInfoChar(s, '"');
	appendBinaryStringInfo(s, data->prefix.data, data->prefix.len);
	APPEND_LIT(s, ",\"seq\":");
	json_int8(s, data->seq);
	return s;
}

static void
feed_event_end(LogicalDecodingContext *ctx, FeedData *data, StringInfo s)
{
	appendStringInfoChar(s, '}');
	feed_line_end(ctx, data, true);
	data->nevents++;
}

#define DATUM(c) data->values[fr->col[c]]
#define ISNULL(c) data->nulls[fr->col[c]]

/* balance_change: one effect of a posting on one balance key. */
static void
feed_posting(LogicalDecodingContext *ctx, FeedData *data, const FeedRel *fr)
{
	StringInfo	s;

	if (data->sources.n > 0 && (ISNULL(PC_SOURCE) || !feed_text_in(&data->sources, DATUM(PC_SOURCE))))
		return;
	if (data->exclude_sources.n > 0 && !ISNULL(PC_SOURCE) &&
		feed_text_in(&data->exclude_sources, DATUM(PC_SOURCE)))
		return;
	if (data->nlocations > 0 &&
		(ISNULL(PC_LOCATION) ||
		 !feed_has_location(data->locations, data->nlocations, DatumGetInt64(DATUM(PC_LOCATION)))))
		return;
	if (data->channels.n > 0 &&
		(ISNULL(PC_LOCATION) || !feed_location_in_channels(data, DatumGetInt64(DATUM(PC_LOCATION)))))
		return;

	s = feed_event_start(ctx, data, FE_POSTING);
	APPEND_LIT(s, ",\"source\":");
	json_col(data, s, fr, PC_SOURCE);
	APPEND_LIT(s, ",\"source_event_id\":");
	json_col(data, s, fr, PC_SOURCE_EVENT_ID);
	APPEND_LIT(s, ",\"gtin\":");
	json_col(data, s, fr, PC_ITEM);
	APPEND_LIT(s, ",\"gln\":");
	json_col(data, s, fr, PC_LOCATION);
	APPEND_LIT(s, ",\"lot\":");
	json_col(data, s, fr, PC_LOT);
	APPEND_LIT(s, ",\"bucket\":");
	json_col(data, s, fr, PC_BUCKET);
	APPEND_LIT(s, ",\"channel\":null,\"delta\":");
	json_col(data, s, fr, PC_DELTA);
	APPEND_LIT(s, ",\"quantity_after\":");
	json_col(data, s, fr, PC_QUANTITY_AFTER);
	APPEND_LIT(s, ",\"atp\":null,\"version\":");
	json_col(data, s, fr, PC_VERSION);
	APPEND_LIT(s, ",\"posting_id\":");
	json_col(data, s, fr, PC_POSTING_ID);
	APPEND_LIT(s, ",\"kind\":");
	json_col(data, s, fr, PC_KIND);
	APPEND_LIT(s, ",\"event_time\":");
	if (ISNULL(PC_EVENT_TIME))
		APPEND_LIT(s, "null");
	else
		json_timestamptz_cached(data, s, DatumGetTimestampTz(DATUM(PC_EVENT_TIME)));
	if (!data->deterministic)
	{
		APPEND_LIT(s, ",\"recorded_at\":");
		if (ISNULL(PC_RECORDED_AT))
			APPEND_LIT(s, "null");
		else
			json_timestamptz_cached(data, s, DatumGetTimestampTz(DATUM(PC_RECORDED_AT)));
	}
	feed_event_end(ctx, data, s);
}

/* reservation_change: a reservation reserved, fulfilled, cancelled or expired. */
static void
feed_reservation(LogicalDecodingContext *ctx, FeedData *data, const FeedRel *fr)
{
	StringInfo	s;

	if (data->channels.n > 0 && (ISNULL(RC_CHANNEL) || !feed_text_in(&data->channels, DATUM(RC_CHANNEL))))
		return;
	if (data->nlocations > 0)
	{
		if (!ISNULL(RC_LOCATION))
		{
			if (!feed_has_location(data->locations, data->nlocations, DatumGetInt64(DATUM(RC_LOCATION))))
				return;
		}
		else if (ISNULL(RC_CHANNEL) || !feed_channel_at_locations(data, DATUM(RC_CHANNEL)))
			return;
	}

	s = feed_event_start(ctx, data, FE_RESERVATION);
	APPEND_LIT(s, ",\"source\":null,\"source_event_id\":null,\"gtin\":");
	json_col(data, s, fr, RC_ITEM);
	APPEND_LIT(s, ",\"gln\":");
	json_col(data, s, fr, RC_LOCATION);
	APPEND_LIT(s, ",\"lot\":null,\"bucket\":null,\"channel\":");
	json_col(data, s, fr, RC_CHANNEL);
	APPEND_LIT(s, ",\"delta\":");
	json_col(data, s, fr, RC_DELTA);
	APPEND_LIT(s, ",\"quantity_after\":");
	json_col(data, s, fr, RC_OPEN_AFTER);
	APPEND_LIT(s, ",\"atp\":");
	json_col(data, s, fr, RC_ATP_AFTER);
	APPEND_LIT(s, ",\"version\":");
	json_col(data, s, fr, RC_VERSION);
	APPEND_LIT(s, ",\"reservation_id\":");
	json_col(data, s, fr, RC_RESERVATION_ID);
	APPEND_LIT(s, ",\"change_id\":");
	json_col(data, s, fr, RC_CHANGE_ID);
	APPEND_LIT(s, ",\"action\":");
	json_col(data, s, fr, RC_ACTION);
	APPEND_LIT(s, ",\"order_ref\":");
	json_col(data, s, fr, RC_ORDER_REF);
	APPEND_LIT(s, ",\"line_ref\":");
	json_col(data, s, fr, RC_LINE_REF);
	APPEND_LIT(s, ",\"posting_id\":");
	json_col(data, s, fr, RC_POSTING_ID);
	if (!data->deterministic)
	{
		APPEND_LIT(s, ",\"changed_at\":");
		json_col(data, s, fr, RC_CHANGED_AT);
	}
	feed_event_end(ctx, data, s);
}

/*
 * An atp event: a channel's ATP for an item changed. Written from a channel_atp_change
 * row (feed_atp) or from a reservation_change row that records its channel's move itself
 * (feed_reservation_atp): the same event either way.
 */
typedef struct FeedAtpChange
{
	Datum		channel;
	Datum		item;
	Datum		atp_before;
	Datum		atp_after;
	int64		version;
	const char *cause;			/* NULL: the cause column's value (below) */
	const FeedRel *fr;			/* the channel_atp_change row, when from one */
	bool		has_posting;
	int64		posting_id;
	bool		has_reservation;
	int64		reservation_id;
	Datum		changed_at;
} FeedAtpChange;

static void
feed_atp_write(LogicalDecodingContext *ctx, FeedData *data, const FeedAtpChange *c)
{
	StringInfo	s;
	char		gtin[24];
	Datum		delta;

	if (data->channels.n > 0 && !feed_text_in(&data->channels, c->channel))
		return;
	if (data->nlocations > 0 && !feed_channel_at_locations(data, c->channel))
		return;

	s = feed_event_start(ctx, data, FE_ATP);
	APPEND_LIT(s, ",\"source\":null,\"source_event_id\":null,\"gtin\":\"");
	gs1_key_format(GS1_KEY_GTIN, DatumGetInt64(c->item), gtin);
	appendStringInfoString(s, gtin);
	APPEND_LIT(s, "\",\"gln\":null,\"lot\":null,\"bucket\":null,\"channel\":");
	{
		text	   *t = DatumGetTextPP(c->channel);

		json_string_len(s, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	}
	delta = DirectFunctionCall2(numeric_sub, c->atp_after, c->atp_before);
	APPEND_LIT(s, ",\"delta\":\"");
	appendStringInfoString(s, DatumGetCString(DirectFunctionCall1(numeric_out, delta)));
	APPEND_LIT(s, "\",\"quantity_after\":null,\"atp\":\"");
	appendStringInfoString(s, DatumGetCString(DirectFunctionCall1(numeric_out, c->atp_after)));
	APPEND_LIT(s, "\",\"version\":");
	json_int8(s, c->version);
	APPEND_LIT(s, ",\"atp_before\":\"");
	appendStringInfoString(s, DatumGetCString(DirectFunctionCall1(numeric_out, c->atp_before)));
	APPEND_LIT(s, "\",\"cause\":");
	if (c->cause != NULL)
		escape_json(s, c->cause);
	else
		json_col(data, s, c->fr, AC_CAUSE);
	APPEND_LIT(s, ",\"posting_id\":");
	if (c->has_posting)
		json_int8(s, c->posting_id);
	else
		APPEND_LIT(s, "null");
	APPEND_LIT(s, ",\"reservation_id\":");
	if (c->has_reservation)
		json_int8(s, c->reservation_id);
	else
		APPEND_LIT(s, "null");
	if (!data->deterministic)
	{
		APPEND_LIT(s, ",\"changed_at\":");
		json_timestamptz(s, DatumGetTimestampTz(c->changed_at));
	}
	feed_event_end(ctx, data, s);
}

/* channel_atp_change: a channel's ATP for an item changed (every column is NOT NULL but the ids). */
static void
feed_atp(LogicalDecodingContext *ctx, FeedData *data, const FeedRel *fr)
{
	FeedAtpChange c;

	c.channel = DATUM(AC_CHANNEL);
	c.item = DATUM(AC_ITEM);
	c.atp_before = DATUM(AC_ATP_BEFORE);
	c.atp_after = DATUM(AC_ATP_AFTER);
	c.version = DatumGetInt64(DATUM(AC_VERSION));
	c.cause = NULL;
	c.fr = fr;
	c.has_posting = !ISNULL(AC_POSTING_ID);
	c.posting_id = c.has_posting ? DatumGetInt64(DATUM(AC_POSTING_ID)) : 0;
	c.has_reservation = !ISNULL(AC_RESERVATION_ID);
	c.reservation_id = c.has_reservation ? DatumGetInt64(DATUM(AC_RESERVATION_ID)) : 0;
	c.changed_at = DATUM(AC_CHANGED_AT);
	feed_atp_write(ctx, data, &c);
}

/*
 * A reservation_change row with atp_before records its channel's ATP move itself
 * (channel_atp_change has no row for it): the atp event that row would have been.
 */
static void
feed_reservation_atp(LogicalDecodingContext *ctx, FeedData *data, const FeedRel *fr)
{
	FeedAtpChange c;

	c.channel = DATUM(RC_CHANNEL);
	c.item = DATUM(RC_ITEM);
	c.atp_before = DATUM(RC_ATP_BEFORE);
	c.atp_after = DATUM(RC_ATP_AFTER);
	c.version = DatumGetInt64(DATUM(RC_VERSION));
	c.cause = "reservation";
	c.fr = NULL;
	c.has_posting = false;
	c.posting_id = 0;
	c.has_reservation = true;
	c.reservation_id = DatumGetInt64(DATUM(RC_RESERVATION_ID));
	c.changed_at = DATUM(RC_CHANGED_AT);
	feed_atp_write(ctx, data, &c);
}

#undef DATUM
#undef ISNULL

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
		heap_deform_tuple(tuple, RelationGetDescr(relation), data->values, data->nulls);
		switch ((FeedEventType) fr->type)
		{
			case FE_POSTING:
				feed_posting(ctx, data, fr);
				break;
			case FE_RESERVATION:
				if (data->events[FE_RESERVATION])
					feed_reservation(ctx, data, fr);
				if (atp_too)
				{
					data->seq++;
					if (data->events[FE_ATP])
						feed_reservation_atp(ctx, data, fr);
				}
				break;
			case FE_ATP:
				feed_atp(ctx, data, fr);
				break;
			default:
				break;
		}
	}
	else if (atp_too)
		data->seq++;
	MemoryContextSwitchTo(old);
	MemoryContextReset(data->cxt);
}
