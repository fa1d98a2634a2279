/*
 * decoder_internal.h
 *		What the three parts of the output plugin share (decoder.h is its public face).
 *
 * The plugin is split by responsibility, and each part depends only on this header:
 *   decoder.c          the callbacks PostgreSQL calls (startup, begin, change, commit,
 *                      shutdown), which relations are tables of the feed, and how lines
 *                      become messages (envelopes, batches, progress);
 *   decoder_options.c  the plugin options, parsed and validated once at startup, and the
 *                      event filters they set up (including channel membership, read from
 *                      channel_location with the historic snapshot);
 *   decoder_json.c     the feed's JSON: envelopes, event heads and the event encoders,
 *                      straight from the deformed row into the output buffer.
 *
 * The column layouts live here, once, because the relation check (decoder.c), the
 * filters (decoder_options.c) and the encoders (decoder_json.c) all read a row by them.
 */
#ifndef INVENTORY_SYNC_DECODER_INTERNAL_H
#define INVENTORY_SYNC_DECODER_INTERNAL_H

#include "postgres.h"

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "replication/reorderbuffer.h"
#include "utils/datetime.h"

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

/* The "type" of each event in the feed, and the after-state table it is decoded from. */
extern const char *const feed_event_names[NUM_FEED_EVENTS];
extern const char *const feed_table_names[NUM_FEED_EVENTS];

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

/* balance_change */
enum
{
	PC_POSTING_ID, PC_ITEM, PC_LOCATION, PC_LOT, PC_BUCKET, PC_DELTA, PC_QUANTITY_AFTER,
	PC_VERSION, PC_KIND, PC_SOURCE, PC_SOURCE_EVENT_ID, PC_EVENT_TIME, PC_RECORDED_AT,
	NUM_PC
};

/* reservation_change */
enum
{
	RC_CHANGE_ID, RC_RESERVATION_ID, RC_ACTION, RC_CHANNEL, RC_ITEM, RC_LOCATION,
	RC_ORDER_REF, RC_LINE_REF, RC_DELTA, RC_OPEN_AFTER, RC_ATP_BEFORE, RC_ATP_AFTER, RC_VERSION,
	RC_POSTING_ID, RC_CHANGED_AT,
	NUM_RC
};

/* channel_atp_change */
enum
{
	AC_CHANNEL, AC_ITEM, AC_ATP_BEFORE, AC_ATP_AFTER, AC_VERSION, AC_CAUSE, AC_POSTING_ID,
	AC_RESERVATION_ID, AC_CHANGED_AT,
	NUM_AC
};

/* The columns of each event type's table, indexed by the enums above. */
extern const FeedColSpec *const feed_cols[NUM_FEED_EVENTS];
extern const int feed_ncols[NUM_FEED_EVENTS];

/*
 * A relation as the feed sees it: which table of the feed it is (or none), and where each
 * column of that table's layout sits in its tuple descriptor. Cached by OID in decoder.c.
 */
typedef struct FeedRel
{
	Oid			relid;			/* hash key */
	bool		valid;
	int			type;			/* FeedEventType, or -1: not a table of the feed */
	int			natts;
	int16		col[FEED_MAX_COLS]; /* 0-based attribute index of each column */
} FeedRel;

/* ------------------------------------------------------------------------
 * Per-session state.
 * ------------------------------------------------------------------------ */

/* A sorted, duplicate-free list of strings, with their lengths for varlena comparison. */
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

/* Column c of the row being decoded, by the layout of its FeedRel fr. */
#define FEED_DATUM(data, fr, c) ((data)->values[(fr)->col[c]])
#define FEED_ISNULL(data, fr, c) ((data)->nulls[(fr)->col[c]])

/*
 * An atp event: a channel's ATP for an item changed. Built from a channel_atp_change row
 * or from a reservation_change row that records its channel's move itself: the same
 * event either way.
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

/* ------------------------------------------------------------------------
 * decoder_options.c: options and filters.
 * ------------------------------------------------------------------------ */

/* Set the options' defaults and apply the plugin options given (raises on a bad one). */
extern void feed_options_parse(FeedData *data, List *options);

/* Whether an event passes the filters the options set up. */
extern bool feed_posting_wanted(FeedData *data, const FeedRel *fr);
extern bool feed_reservation_wanted(FeedData *data, const FeedRel *fr);
extern bool feed_atp_wanted(FeedData *data, const FeedAtpChange *c);

/* Channel membership must be read again (channel_location or everything was invalidated). */
extern void feed_membership_invalidate(Oid relid);

/* ------------------------------------------------------------------------
 * decoder_json.c: JSON writing.
 * ------------------------------------------------------------------------ */
/*
 * The transaction's commit fields, which every line of it carries, into data->prefix
 * (empty when deterministic): written once, with the transaction's first event.
 */
extern void feed_prefix_json(FeedData *data);

/* The envelopes: a transaction's BEGIN and COMMIT objects. */
extern void feed_begin_json(FeedData *data, StringInfo s);
extern void feed_commit_json(FeedData *data, StringInfo s, ReorderBufferTXN *txn);

/* Opens an event's object: type, commit fields, sequence number in the transaction. */
extern void feed_event_head_json(FeedData *data, StringInfo s, FeedEventType type);

/* The fields of each event after its head; each closes the object. */
extern void feed_posting_json(FeedData *data, StringInfo s, const FeedRel *fr);
extern void feed_reservation_json(FeedData *data, StringInfo s, const FeedRel *fr);
extern void feed_atp_json(FeedData *data, StringInfo s, const FeedAtpChange *c);

/* The atp event a channel_atp_change row, or a reservation_change row with atp_before, is. */
extern void feed_atp_from_atp_row(FeedData *data, const FeedRel *fr, FeedAtpChange *c);
extern void feed_atp_from_reservation_row(FeedData *data, const FeedRel *fr, FeedAtpChange *c);

/* Forget the enum labels cached (pg_enum was invalidated). */
extern void feed_enum_labels_reset(void);

#endif							/* INVENTORY_SYNC_DECODER_INTERNAL_H */
