/*
 * promise_internal.h
 *		What the files of the promise layer share (src/promise.c, promise_catalog.c,
 *		reservation_write.c, atp_take.c); promise.h is the module's public face.
 *
 * The fast path writes reservation, reservation_change and channel_atp rows itself, so
 * it must know those tables exactly: their columns by name, the indexes it finds rows
 * by, the enum values it stores. promise_catalog holds those facts for the extension's
 * current incarnation; every entry point calls promise_catalog_load() first.
 */
#ifndef INVENTORY_SYNC_PROMISE_INTERNAL_H
#define INVENTORY_SYNC_PROMISE_INTERNAL_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "datatype/timestamp.h"
#include "utils/numeric.h"

#include "keyed_row.h"

/* reserve()'s arguments */
enum
{
	ARG_CHANNEL, ARG_ORDER_REF, ARG_LINE_REF, ARG_ITEM, ARG_QUANTITY, ARG_LOCATION,
	ARG_EXPIRES_AT, ARG_DUE_DATE,
	NUM_RESERVE_ARGS
};

/* The SQL the promise layer runs, prepared once per backend (promise_catalog.c). */
typedef enum PromiseQuery
{
	PQ_FAST_TERMS,				/* may the fast path promise this item in this channel today? */
	PQ_RESERVE_GENERAL,			/* every other reservation: _reserve_general() */
	NUM_PROMISE_QUERIES
} PromiseQuery;

/* reservation's columns, as the fast path fills them (every column it has) */
typedef enum ReservationColumn
{
	RES_ID, RES_CHANNEL, RES_ORDER_REF, RES_LINE_REF, RES_ITEM, RES_LOCATION, RES_ANYWHERE,
	RES_QUANTITY, RES_OPEN, RES_FULFILLED, RES_STATUS, RES_EXPIRES_AT, RES_DUE_DATE,
	RES_PROMISED_DATE, RES_CREATED_AT, RES_RESOLVED_AT, RES_FULFILLING,
	NUM_RES_COLUMNS
} ReservationColumn;

/* reservation_change's columns (every column it has) */
typedef enum ReservationChangeColumn
{
	CHG_ID, CHG_RESERVATION, CHG_ACTION, CHG_CHANNEL, CHG_ITEM, CHG_LOCATION, CHG_ORDER_REF,
	CHG_LINE_REF, CHG_DELTA, CHG_OPEN_AFTER, CHG_ATP_BEFORE, CHG_ATP_AFTER, CHG_VERSION,
	CHG_POSTING, CHG_CHANGED_AT,
	NUM_CHG_COLUMNS
} ReservationChangeColumn;

/* channel_atp's columns the fast path reads and writes, as channel_atp_table names them */
typedef enum AtpColumn
{
	ATP_COL_ATP, ATP_COL_VERSION, ATP_COL_UPDATED_AT,
	NUM_ATP_COLUMNS
} AtpColumn;

typedef struct PromiseCatalog
{
	Oid			channel_atp;	/* the key: all below belong to this incarnation */
	KeyedTable	channel_atp_table;	/* found by (channel, item_gtin); columns: AtpColumn */
	Oid			channel;		/* the table membership changes lock (see promise.c) */
	Oid			reservation;
	Oid			reservation_key;	/* unique (channel, order_ref, line_ref) */
	Oid			reservation_seq;
	AttrNumber	reservation_att[NUM_RES_COLUMNS];
	int			reservation_natts;	/* with dropped columns */
	Oid			reservation_change;
	Oid			change_seq;
	AttrNumber	change_att[NUM_CHG_COLUMNS];
	int			change_natts;	/* with dropped columns */
	Oid			status_open;	/* reservation_status 'open' */
	Oid			action_reserve; /* reservation_action 'reserve' */
	Oid			gtin_type;
	Oid			gln_type;
	SPIPlanPtr	plans[NUM_PROMISE_QUERIES];
} PromiseCatalog;

extern PromiseCatalog promise_catalog;

/* Fills promise_catalog for the extension as it is now (a no-op when it is current). */
extern void promise_catalog_load(void);

/* Runs a query (inside the caller's SPI connection); an error unless it returns SPI_OK_SELECT. */
extern void promise_query_run(PromiseQuery which, Datum *values, const char *nulls);

/* The catalog changes the promise layer's caches depend on (promise_catalog.c dispatches). */
extern void reservation_indexes_invalidate(Oid relid);
extern void fast_terms_invalidate(void);

/* reservation_write.c */
extern bool reservation_insert(Datum *values, bool *nulls);

/* promise.c: what reserve()'s C paths share */
struct HeapAppend;
extern bool reserve_args_sane(FunctionCallInfo fcinfo);
extern int64 reservation_row_fill(FunctionCallInfo fcinfo, const Interval *ttl, int64 location, Datum *values,
								  bool *nulls);
extern void reservation_change_append(struct HeapAppend *writer, FunctionCallInfo fcinfo, int64 change_id,
									  int64 reservation_id, int64 location, Numeric atp_before,
									  Numeric atp_after, int64 version);

/* reserve_placed.c: a reservation held at one location, in C; false when the SQL must decide it */
extern bool reserve_placed(FunctionCallInfo fcinfo, Datum **values, bool **nulls);

/* ------------------------------------------------------------------------
 * Taking ATP from a channel (atp_take.c): the one place C moves a channel's published ATP.
 * ------------------------------------------------------------------------ */
typedef enum AtpTakeOutcome
{
	ATP_TAKEN,					/* taken: atp_before, atp_after, version are set */
	ATP_SHORT,					/* not enough: atp_before is what the latest version has */
	ATP_NO_ROW					/* the channel has no published ATP for the item */
} AtpTakeOutcome;

typedef struct AtpTake
{
	AtpTakeOutcome outcome;
	Numeric		atp_before;
	Numeric		atp_after;
	int64		version;		/* the row's version after the take */
} AtpTake;

/*
 * Takes quantity (> 0) from channel_atp.atp of (channel, item) if, and only if, the
 * latest committed version of the row holds at least that much, exactly as
 * "UPDATE channel_atp SET atp = atp - q, version = version + 1, updated_at = now()
 *  WHERE (channel, item_gtin) = (...) AND atp >= q" would under READ COMMITTED: a
 * concurrent taker is waited for in the row lock's queue and the condition re-checked on
 * the version it committed; under REPEATABLE READ or SERIALIZABLE a row changed since
 * the snapshot is a serialization failure (40001).
 *
 * Guarantees on ATP_TAKEN: the row is locked (FOR NO KEY UPDATE) to the end of the
 * transaction and its index entries are current; nothing else is written (the caller
 * records the move: a reservation_change row with atp_before, or channel_atp_change).
 * The caller must take this lock last in the global lock order (docs/reference/
 * promises.md): it is the row every promise of the item in the channel queues on.
 */
extern void channel_atp_take(Datum channel, Datum item, Numeric quantity, AtpTake *result);

#endif							/* INVENTORY_SYNC_PROMISE_INTERNAL_H */
