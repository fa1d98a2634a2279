/*
 * posting_int.h
 *		What the files of the posting engine share; nothing outside the engine includes it.
 *
 * The engine is split by phase, as one index access method is split into build, insert
 * and scan:
 *   posting_layout.c    posting kinds, the ledger's columns by name, the extension's
 *                       types and relations the engine resolves once per backend
 *   posting_validate.c  the row trigger: one fact checked rule by rule, replays detected
 *   posting_apply.c     the statement trigger: collect, order keys, apply key by key,
 *                       then serials, lots and released lots
 *   balance_store.c     balance rows read and written directly through their key index,
 *                       and the after-states (balance_change) appended in batches
 *   posting_channels.c  channel ATP republished after a statement's keys
 *   posting_guard.c     the tables only the engine (or, for the ledger, nobody) changes
 *   posting_registry.c  the registry of events a partitioned ledger's replays are found in
 *
 * Everything a posting row passes through per row is static inline here or file-local
 * in its file: the split costs the hot path no call it did not make before.
 */
#ifndef INVENTORY_SYNC_POSTING_INT_H
#define INVENTORY_SYNC_POSTING_INT_H

#include "postgres.h"

#include "access/htup_details.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "gs1.h"
#include "heap_append.h"
#include "numeric_util.h"
#include "posting.h"

/* ------------------------------------------------------------------------
 * Posting kinds, in the order of the posting_kind enum.
 * ------------------------------------------------------------------------ */
typedef enum PostingKind
{
	PK_RECEIPT,
	PK_ISSUE,
	PK_TRANSFER_OUT,
	PK_TRANSFER_IN,
	PK_ADJUSTMENT,
	PK_MOVE,
	PK_CONSUMPTION,
	PK_PRODUCTION,
	PK_RETURN,
	PK_COUNT,
	NUM_KINDS
} PostingKind;

extern const char *const posting_kind_names[NUM_KINDS];

/* Map a posting_kind enum value to PostingKind (one syscache probe). */
extern PostingKind posting_kind_of(Oid enumval);

/* Does the kind move stock from one key to another (two effects)? */
static inline bool
kind_is_two_key(PostingKind k)
{
	return k == PK_TRANSFER_OUT || k == PK_TRANSFER_IN || k == PK_MOVE;
}

/* Sign of the effect at (location, bucket): +1, -1, or 0 for signed/absolute kinds. */
static inline int
kind_sign(PostingKind k)
{
	switch (k)
	{
		case PK_RECEIPT:
		case PK_PRODUCTION:
		case PK_RETURN:
			return 1;
		case PK_ISSUE:
		case PK_CONSUMPTION:
		case PK_TRANSFER_OUT:
		case PK_TRANSFER_IN:
		case PK_MOVE:
			return -1;
		default:
			return 0;
	}
}

/* ------------------------------------------------------------------------
 * The ledger's columns, found by name per relation (a partition's may differ).
 * ------------------------------------------------------------------------ */
typedef enum LedgerCol
{
	LC_POSTING_ID, LC_KIND, LC_SOURCE, LC_SOURCE_EVENT_ID, LC_SOURCE_SEQUENCE,
	LC_EVENT_TIME, LC_RECORDED_AT, LC_GTIN, LC_ITEM_GTIN, LC_LOCATION, LC_TO_LOCATION,
	LC_LOT, LC_SERIAL, LC_BUCKET, LC_TO_BUCKET, LC_QUANTITY, LC_UNIT, LC_BASE_QUANTITY,
	LC_EXPECTED_QUANTITY, LC_REASON, LC_REFERENCE, LC_ETA, LC_CORRECTS, LC_ACTOR,
	NUM_LEDGER_COLS
} LedgerCol;

extern const char *const ledger_col_names[NUM_LEDGER_COLS];

typedef struct LedgerLayout
{
	Oid			relid;
	int			natts;
	uint32		generation;		/* ledger_layouts_generation it was found in */
	AttrNumber	att[NUM_LEDGER_COLS];
	Oid			event_index;	/* unique index on (source, source_event_id), if known */
	bool		actor_is_name;	/* actor is of type name (a 0.1.0 catalog not yet updated
								 * under this library), else text */
} LedgerLayout;

/* Bumped by any relcache invalidation: a ledger (or partition) changed shape. */
extern uint32 ledger_layouts_generation;

extern void ledger_layout_find(Relation rel, LedgerLayout *layout);

/* The layout of rel's ledger columns, found again only when the relation changed. */
static inline void
ledger_layout_for(Relation rel, LedgerLayout *layout)
{
	if (layout->relid == RelationGetRelid(rel) && layout->natts == RelationGetDescr(rel)->natts &&
		layout->generation == ledger_layouts_generation)
		return;
	ledger_layout_find(rel, layout);
}

static inline Datum
ledger_col(HeapTuple tup, TupleDesc desc, const LedgerLayout *l, LedgerCol c, bool *isnull)
{
	return heap_getattr(tup, l->att[c], desc, isnull);
}

static inline char *
ledger_text_col(HeapTuple tup, TupleDesc desc, const LedgerLayout *l, LedgerCol c)
{
	bool		isnull;
	Datum		d = ledger_col(tup, desc, l, c, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* ------------------------------------------------------------------------
 * The extension's catalog objects the apply step uses, resolved once per backend and
 * again after any pg_type or relcache invalidation.
 * ------------------------------------------------------------------------ */
typedef struct PostingCatalog
{
	Oid			nsp;			/* schema inventory_sync */
	Oid			lot_type;
	Oid			serial_type;
	Oid			gtin_type;
	Oid			gln_type;
	Oid			kind_value[NUM_KINDS];	/* posting_kind enum values */
} PostingCatalog;

extern PostingCatalog posting_catalog;

/*
 * Resolve posting_catalog and the balance store's relations; true when the types moved
 * (the extension was created again): plans that take them must be prepared again.
 */
extern bool posting_catalog_resolve(void);

/* ------------------------------------------------------------------------
 * Keys in messages (numbers: numeric_util.h).
 * ------------------------------------------------------------------------ */
static inline char *
key_text(int64 v, Gs1KeyKind kind)
{
	char	   *buf = palloc(24);

	gs1_key_format(kind, v, buf);
	return buf;
}

/* "Source ..., event ..., gtin ..., location ...": the key a posting is about, for details. */
extern char *posting_key_desc(const char *source, const char *event_id, int64 gtin, int64 gln);

/* ------------------------------------------------------------------------
 * The balance store (balance_store.c).
 * ------------------------------------------------------------------------ */

/* A balance key; fixed-size and zero-padded so it can be hashed and compared as bytes. */
typedef struct BalanceKey
{
	int64		item;
	int64		location;
	bool		has_lot;
	char		lot[21];
	char		bucket[33];
} BalanceKey;

/* What a balance row holds that the key loop changes. */
typedef struct BalanceState
{
	Numeric		quantity;
	int64		version;
	int64		last_posting;
	bool		has_count_at;
	TimestampTz last_count_at;
} BalanceState;

/* A balance row as balance_find found it. */
typedef struct BalanceRow
{
	ItemPointerData tid;
	int64		balance_id;
	BalanceState state;			/* last_posting is not read: 0 */
} BalanceRow;

/* The open balance table of one statement. */
typedef struct BalanceAccess
{
	Relation	rel;
	Relation	keyidx;
	TupleTableSlot *found;		/* the row balance_find returned */
	TupleTableSlot *newrow;
	struct EState *estate;		/* only for index entries of a non-HOT update */
	struct ResultRelInfo *rri;
} BalanceAccess;

/* Load what direct access needs of balance and balance_change. */
extern void balance_store_load(void);
extern void balance_open(BalanceAccess *ba);
extern void balance_close(BalanceAccess *ba);
extern bool balance_find(BalanceAccess *ba, const BalanceKey *key, Datum lot, bool lock,
						 BalanceRow *row);
extern bool balance_write(BalanceAccess *ba, const BalanceRow *row, bool locked,
						  const BalanceState *state);
extern Numeric sum_after(int64 balance_id, TimestampTz after);

/* One effect's after-state: one row of balance_change. */
typedef struct AfterState
{
	int64		posting_id;
	int64		balance_id;
	int64		item;
	int64		location;
	Datum		lot;			/* lot_number, or 0 for none */
	Datum		bucket;			/* text */
	Numeric		delta;
	Numeric		quantity;
	int64		version;
	PostingKind kind;
	Datum		source;			/* text */
	Datum		event_id;		/* text */
	TimestampTz event_time;
	TimestampTz recorded_at;
} AfterState;

#define AFTER_STATE_BATCH 1000	/* balance_change rows per heap_multi_insert */

/*
 * The statement's after-states, appended as the key loop produces them (see
 * balance_store.c): after_states_begin, after_state_append for each, after_states_finish.
 */
extern void after_states_begin(HeapAppend *w);
extern void after_state_append(HeapAppend *w, const AfterState *a);
extern void after_states_finish(HeapAppend *w);

/* ------------------------------------------------------------------------
 * The event registry of a partitioned ledger (posting_registry.c).
 * ------------------------------------------------------------------------ */
#define EVENT_PAYLOAD_COLS 10

/* The columns a replay must repeat exactly: kind, keys, buckets, quantity and unit. */
extern const LedgerCol event_payload_cols[EVENT_PAYLOAD_COLS];

typedef struct RegisteredEvent
{
	int64		posting_id;
	TimestampTz recorded_at;
	int64		fingerprint;	/* of the original's payload */
} RegisteredEvent;

/*
 * Replays are found in the registry when the ledger is partitioned: the row trigger then
 * fires on a partition, the statement trigger on the partitioned table.
 */
static inline bool
registry_applies(Relation rel)
{
	return rel->rd_rel->relispartition || rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE;
}

extern bool registry_find(Datum source, Datum event_id, RegisteredEvent *ev);
extern int64 event_fingerprint(HeapTuple tup, TupleDesc desc, const LedgerLayout *l);
extern int64 event_fingerprint_slot(TupleTableSlot *slot, const LedgerLayout *l);
/* A statement's new events: registry_begin, registry_add for each, heap_append_finish. */
extern void registry_begin(HeapAppend *w, int nrows);
extern void registry_add(HeapAppend *w, Datum source, Datum event_id, int64 posting_id,
						 TimestampTz recorded_at, int64 fingerprint);

/* ------------------------------------------------------------------------
 * Channel ATP (posting_channels.c).
 * ------------------------------------------------------------------------ */

/* A statement's balance keys as arrays: (item, location, bucket), one per key. */
typedef struct StatementPairs
{
	Datum	   *items;
	Datum	   *locations;
	Datum	   *buckets;
	int			n;
} StatementPairs;

/* A pair whose ATP a statement can change at a channel's location. */
typedef struct ChannelPair
{
	int64		item;
	int64		location;
	Numeric		reserved;		/* its promise key's, as locked (NULL: not read) */
} ChannelPair;

/* What the statement decided about channels before its balances (posting_channels.c). */
typedef enum ChannelKeys
{
	CHANNEL_KEYS_NONE,			/* no pair at a channel's location: nothing to move */
	CHANNEL_KEYS_FAST,			/* channel_move.c took the promise keys and may move the channels */
	CHANNEL_KEYS_CREATE,		/* the same, once the SQL has created the missing keys */
	CHANNEL_KEYS_SQL			/* the SQL takes the keys and moves the channels */
} ChannelKeys;

typedef struct ChannelStatement
{
	ChannelKeys keys;
	ChannelPair *pairs;			/* sorted, distinct */
	int			npairs;
} ChannelStatement;

/* channel_move.c: the statement's pairs and their promise keys, then the channels' move. */
extern ChannelKeys channel_keys_lock_fast(const StatementPairs *pairs, ChannelStatement *cs);
extern bool channel_move_fast(const ChannelStatement *cs, int64 posting_id);

/*
 * First of all (every posting statement): a ROW SHARE lock on channel, held to the end of
 * the transaction, then whether any channel exists (no: nothing more to do about them).
 */
extern bool channels_in_play(void);

/*
 * Before a statement's balance rows, when channels are in play: the promise keys of
 * the (item, location) pairs whose location ATP its keys can change at locations channels
 * sell from; true when there were any (publish_channel_atp must then run after the
 * balances).
 */
extern bool lock_channel_keys(const StatementPairs *pairs, ChannelStatement *cs);

/* Move the ATP of the channels selling from where these keys changed stock. */
extern void publish_channel_atp(const StatementPairs *pairs, const ChannelStatement *cs, int64 last_posting);

/* Whether any channel exists (read once, again after an invalidation); inside SPI. */
extern bool channels_exist(void);

#endif							/* INVENTORY_SYNC_POSTING_INT_H */
