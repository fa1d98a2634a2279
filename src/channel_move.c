/*
 * channel_move.c
 *		Channel ATP moved by a posting statement without planning a statement per row.
 *
 * What _channel_atp_move() (sql/install/212_channel_atp_publish.sql) does for a posting,
 * for the statements it is made for: no key at an in-transit location, every row it
 * needs already there, no backorder held at the locations, no pooled reservation being
 * fulfilled. Everything else, and any of these the moment one does not hold, goes to the
 * SQL, which handles every case; verify_promises() recomputes both from scratch.
 *
 *   before the balances: the promise keys of the statement's pairs at channels'
 *     locations whose stock is sellable, in (item, location) order (the lock order);
 *   after them: each pair's location ATP for each shelf-life rule of the channels there,
 *     computed as _location_atp_of() computes it (eligible sellable on-hand beyond
 *     safety stock, less reservations held there), stored in location_atp; then, in
 *     (channel, item) order, each channel's ATP row locked and moved by the change of
 *     the location's contribution, its running sum with it, the change recorded.
 *
 * Which channels sell from a location, which buckets are sellable and which locations
 * are routed in transit are read once and again after a change of channel,
 * channel_location, bucket or transit_route (their triggers send invalidations).
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/varlena.h"
#include "utils/date.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "ext_catalog.h"
#include "heap_append.h"
#include "keyed_row.h"
#include "numeric_util.h"
#include "channel_move.h"
#include "posting_int.h"

/* ------------------------------------------------------------------------
 * The topology, per backend.
 * ------------------------------------------------------------------------ */
typedef struct ChannelAt
{
	text	   *channel;
	int32		shelf;			/* channel.min_shelf_life_days */
	Numeric		safety;			/* channel.safety_stock */
} ChannelAt;

typedef struct LocationEntry
{
	int64		location;		/* hash key */
	bool		in_transit;		/* routed in transit (transit_route.in_transit) */
	int			nchannels;
	ChannelAt  *channels;
} LocationEntry;

typedef struct BucketEntry
{
	char		bucket[NAMEDATALEN];	/* hash key; bucket names are short */
	bool		sellable;
} BucketEntry;

static MemoryContext topo_cxt = NULL;
static HTAB *topo_locations = NULL;
static HTAB *topo_channels = NULL;
static HTAB *topo_buckets = NULL;
static HTAB *topo_limited = NULL;	/* items with a protection or a cap; NULL: none */
static HTAB *topo_safety = NULL;	/* items with a safety_stock row; NULL: none */
static HTAB *topo_channel_safety = NULL;	/* items with a channel_safety_stock row; NULL: none */
static bool topo_safety_all = false;	/* too many to list: every item is looked up */
static bool topo_valid = false;

/* The tables the fast path reads and writes, for one incarnation of the extension. */
enum
{
	T_PROMISE_KEY, T_LOCATION_ATP, T_CHANNEL_ATP, T_STATE, T_SAFETY, T_CHANNEL_SAFETY, T_LOT,
	T_BALANCE, T_BACKORDER, T_FULFILLING,
	NUM_TABLES
};
static KeyedTable tables[NUM_TABLES];
static Oid	change_relid;
static AttrNumber change_att[9];
static int	change_natts;
static bool tables_valid = false;

/*
 * A reservation writes reservation and promise_key (ROW EXCLUSIVE) in any case: while
 * one runs, the tables read here are opened in that mode too, so each relation is locked
 * in one mode, not two (every lock beyond a backend's fast-path slots goes through the
 * lock manager's shared partitions, which concurrent reservations of one item contend on).
 * Set by channel_move_for_reservation(), cleared by the next posting statement's start.
 */
static bool reads_as_reservation = false;

/* Counts the resets: what a backend keeps of the tables' rows was read under one generation. */
static uint64 topo_generation = 0;

static void
channel_move_reset(int kind, Oid relid)
{
	topo_valid = false;
	tables_valid = false;
	topo_generation++;
}

static void
tables_load(void)
{
	static const char *const item_location[] = {"item_gtin", "location", "min_shelf_life_days"};
	static const char *const channel_item[] = {"channel", "item_gtin"};
	static const char *const item_lot[] = {"item_gtin", "lot"};
	static const char *const reserved[] = {"reserved"};
	static const char *const latp[] = {"atp", "computed_on", "location", "min_shelf_life_days"};
	static const char *const catp[] = {"atp", "version", "updated_at"};
	static const char *const stock[] = {"stock", "computed_on"};
	static const char *const quantity[] = {"quantity"};
	static const char *const expiry[] = {"expiry"};
	static const char *const bal[] = {"lot", "bucket", "quantity"};
	static const char *const bal_key[] = {"item_gtin", "location", "lot", "bucket"};
	static const char *const change_cols[] = {"channel", "item_gtin", "atp_before", "atp_after", "version",
	"cause", "posting_id", "reservation_id", "changed_at"};
	Relation	rel;
	int			i;

	keyed_table_load(&tables[T_PROMISE_KEY], "promise_key", NULL, item_location, 2, reserved, 1);
	keyed_table_load(&tables[T_LOCATION_ATP], "location_atp", NULL, item_location, 3, latp, 4);
	keyed_table_load(&tables[T_CHANNEL_ATP], "channel_atp", NULL, channel_item, 2, catp, 3);
	keyed_table_load(&tables[T_STATE], "channel_atp_state", NULL, channel_item, 2, stock, 2);
	keyed_table_load(&tables[T_SAFETY], "safety_stock", NULL, item_location, 2, quantity, 1);
	keyed_table_load(&tables[T_CHANNEL_SAFETY], "channel_safety_stock", NULL, channel_item, 2, quantity, 1);
	keyed_table_load(&tables[T_LOT], "lot", NULL, item_lot, 2, expiry, 1);
	keyed_table_load(&tables[T_BALANCE], "balance", NULL, bal_key, 4, bal, 3);
	tables[T_BALANCE].nkeys = 2;	/* searched by (item, location) */
	keyed_table_load(&tables[T_BACKORDER], "reservation", "reservation_open_backorder", item_location, 2, NULL, 0);
	keyed_table_load(&tables[T_FULFILLING], "reservation", "reservation_fulfilling", channel_item, 2, NULL, 0);
	change_relid = ext_catalog_relid("channel_atp_change", false);
	rel = table_open(change_relid, AccessShareLock);
	for (i = 0; i < 9; i++)
		change_att[i] = ext_catalog_column(rel, change_cols[i]);
	change_natts = RelationGetDescr(rel)->natts;
	table_close(rel, AccessShareLock);
	tables_valid = true;
}

/*
 * Runs a query of the topology (inside the caller's SPI connection), under a snapshot
 * of its own: the statement's may be older than the membership change it waited for on
 * channel's lock. SPI returns in its own procedure context: what is kept from the rows is
 * copied into topo_cxt after it.
 */
static void
topo_query(const char *sql)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc != SPI_OK_SELECT)
		elog(ERROR, "inventory_sync: could not read \"%s\": %s", sql, SPI_result_code_string(rc));
	MemoryContextSwitchTo(topo_cxt);
}

static LocationEntry *
topo_location(int64 location, bool create)
{
	bool		found;
	LocationEntry *e = hash_search(topo_locations, &location, create ? HASH_ENTER : HASH_FIND, &found);

	if (create && !found)
	{
		e->in_transit = false;
		e->nchannels = 0;
		e->channels = NULL;
	}
	return e;
}

static int
by_location_cmp(const void *a, const void *b, void *arg)
{
	const int64 *locations = arg;
	int64		x = locations[*(const int32 *) a];
	int64		y = locations[*(const int32 *) b];

	return x < y ? -1 : (x > y ? 1 : 0);
}

/* Each channel's locations indexed by location, for channel_location_order()'s one pass. */
static void
channels_index_locations(void)
{
	HASH_SEQ_STATUS seq;
	ChannelTerms *t;

	hash_seq_init(&seq, topo_channels);
	while ((t = hash_seq_search(&seq)) != NULL)
	{
		int64		i;

		if (t->locations == NULL)
			continue;
		t->by_location = palloc(sizeof(int32) * t->nlocations);
		for (i = 0; i < t->nlocations; i++)
			t->by_location[i] = (int32) i;
		qsort_arg(t->by_location, t->nlocations, sizeof(int32), by_location_cmp, t->locations);
	}
}

/*
 * The items a safety-stock table has rows for (the statement's first column), into a set
 * in topo_cxt; NULL when it has none, or more than SAFETY_ITEMS_MAX rows (then *all is
 * set and every item is looked up, as without the cache).
 */
#define SAFETY_ITEMS_MAX 100000
static HTAB *
topo_items(const char *sql, const char *name, bool *all)
{
	HASHCTL		ctl;
	HTAB	   *items;
	bool		isnull;
	uint64		i;

	topo_query(sql);
	if (SPI_processed == 0)
		return NULL;
	if (SPI_processed > SAFETY_ITEMS_MAX)
	{
		*all = true;
		return NULL;
	}
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(int64);
	ctl.hcxt = topo_cxt;
	items = hash_create(name, 32, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (i = 0; i < SPI_processed; i++)
	{
		int64		item = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));

		(void) hash_search(items, &item, HASH_ENTER, NULL);
	}
	return items;
}

/*
 * Whether the item may have a row in the safety-stock table whose item set is given: the
 * sets are loaded with the topology, which the tables' statement triggers invalidate, so
 * an item in neither has no row to look up (nor its table to lock).
 */
static inline bool
item_has_safety(HTAB *set, int64 item)
{
	return !topo_valid || topo_safety_all ||
		(set != NULL && hash_search(set, &item, HASH_FIND, NULL) != NULL);
}

/* Every channel of every location, in channel order; the in-transit locations; the buckets. */
static void
topo_load_rows(void)
{
	uint64		i;
	bool		isnull;
	HTAB	   *safety;
	HTAB	   *channel_safety;
	bool		safety_all = false;

	topo_query("SELECT cl.location::int8, cl.channel, c.min_shelf_life_days, c.safety_stock"
			   "  FROM inventory_sync.channel_location cl"
			   "  JOIN inventory_sync.channel c ON c.channel OPERATOR(pg_catalog.=) cl.channel"
			   " ORDER BY 1, 2");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		LocationEntry *e = topo_location(DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull)), true);
		ChannelAt  *c;

		e->channels = e->channels == NULL ? palloc(sizeof(ChannelAt) * 4)
			: (e->nchannels % 4 == 0 ? repalloc(e->channels, sizeof(ChannelAt) * (e->nchannels + 4)) : e->channels);
		c = &e->channels[e->nchannels++];
		c->channel = DatumGetTextPCopy(SPI_getbinval(row, desc, 2, &isnull));
		c->shelf = DatumGetInt32(SPI_getbinval(row, desc, 3, &isnull));
		c->safety = DatumGetNumericCopy(SPI_getbinval(row, desc, 4, &isnull));
	}
	topo_query("SELECT c.channel, c.allow_backorder, c.reservation_ttl, c.min_shelf_life_days,"
			   "       count(cl.location), min(cl.location::int8)"
			   "  FROM inventory_sync.channel c"
			   "  LEFT JOIN inventory_sync.channel_location cl ON cl.channel OPERATOR(pg_catalog.=) c.channel"
			   " GROUP BY 1, 2, 3, 4");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *name = SPI_getvalue(row, desc, 1);
		ChannelTerms *t;

		if (strlen(name) >= sizeof(t->channel))
			continue;			/* not cached: its promises go to the SQL */
		t = hash_search(topo_channels, name, HASH_ENTER, NULL);
		t->allow_backorder = DatumGetBool(SPI_getbinval(row, desc, 2, &isnull));
		t->ttl = *DatumGetIntervalP(SPI_getbinval(row, desc, 3, &isnull));
		t->shelf = DatumGetInt32(SPI_getbinval(row, desc, 4, &isnull));
		t->nlocations = DatumGetInt64(SPI_getbinval(row, desc, 5, &isnull));
		t->location = t->nlocations > 0 ? DatumGetInt64(SPI_getbinval(row, desc, 6, &isnull)) : 0;
		t->locations = NULL;
		t->priorities = NULL;
		t->by_location = NULL;
	}
	topo_query("SELECT cl.channel, cl.location::int8, cl.priority FROM inventory_sync.channel_location cl"
			   " ORDER BY cl.channel, cl.priority, cl.location");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		ChannelTerms *t = hash_search(topo_channels, SPI_getvalue(row, desc, 1), HASH_FIND, NULL);
		int			n;

		if (t == NULL)
			continue;
		if (t->locations == NULL)
		{
			t->locations = palloc(sizeof(int64) * t->nlocations);
			t->priorities = palloc(sizeof(int32) * t->nlocations);
			t->nlocations = 0;	/* counted again as they come */
		}
		n = t->nlocations++;
		t->locations[n] = DatumGetInt64(SPI_getbinval(row, desc, 2, &isnull));
		t->priorities[n] = DatumGetInt32(SPI_getbinval(row, desc, 3, &isnull));
	}
	channels_index_locations();
	topo_query("SELECT in_transit::int8 FROM inventory_sync.transit_route");
	for (i = 0; i < SPI_processed; i++)
		topo_location(DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)),
					  true)->in_transit = true;
	topo_query("SELECT item_gtin::int8 FROM inventory_sync.channel_protection"
			   " UNION SELECT item_gtin::int8 FROM inventory_sync.channel_cap");
	topo_limited = NULL;
	if (SPI_processed > 0)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(int64);
		ctl.hcxt = topo_cxt;
		topo_limited = hash_create("inventory_sync limited items", 32, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	for (i = 0; i < SPI_processed; i++)
	{
		int64		item = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));

		(void) hash_search(topo_limited, &item, HASH_ENTER, NULL);
	}
	safety = topo_items("SELECT item_gtin::int8 FROM inventory_sync.safety_stock"
						" LIMIT " CppAsString2(SAFETY_ITEMS_MAX) " + 1",
						"inventory_sync safety stock items", &safety_all);
	channel_safety = topo_items("SELECT item_gtin::int8 FROM inventory_sync.channel_safety_stock"
								" LIMIT " CppAsString2(SAFETY_ITEMS_MAX) " + 1",
								"inventory_sync channel safety stock items", &safety_all);
	/* set together, once both are known (until then every item is looked up) */
	topo_safety = safety;
	topo_channel_safety = channel_safety;
	topo_safety_all = safety_all;
	topo_query("SELECT bucket, sellable FROM inventory_sync.bucket");
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		BucketEntry *b;

		if (strlen(name) >= NAMEDATALEN)
			continue;			/* not cached: such a key goes to the SQL */
		b = hash_search(topo_buckets, name, HASH_ENTER, NULL);
		b->sellable = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
}

static void
topo_load(void)
{
	HASHCTL		ctl;
	MemoryContext old;

	if (topo_cxt == NULL)
		topo_cxt = AllocSetContextCreate(CacheMemoryContext, "inventory_sync channel topology",
										 ALLOCSET_SMALL_SIZES);
	/* until the sets are loaded again, every item's safety stock is looked up */
	topo_safety = topo_channel_safety = NULL;
	topo_safety_all = true;
	MemoryContextReset(topo_cxt);
	old = MemoryContextSwitchTo(topo_cxt);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(LocationEntry);
	ctl.hcxt = topo_cxt;
	topo_locations = hash_create("inventory_sync channel locations", 256, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(BucketEntry);
	topo_buckets = hash_create("inventory_sync buckets", 32, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	ctl.keysize = sizeof(((ChannelTerms *) NULL)->channel);
	ctl.entrysize = sizeof(ChannelTerms);
	topo_channels = hash_create("inventory_sync channel terms", 32, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	/* marked valid first: an invalidation while loading marks it stale again */
	topo_valid = true;
	topo_load_rows();
	MemoryContextSwitchTo(old);
}

/* ------------------------------------------------------------------------
 * Before the balances: the pairs and their promise keys.
 * ------------------------------------------------------------------------ */

static int
pair_cmp(const void *a, const void *b)
{
	const ChannelPair *x = a;
	const ChannelPair *y = b;

	if (x->item != y->item)
		return x->item < y->item ? -1 : 1;
	if (x->location != y->location)
		return x->location < y->location ? -1 : 1;
	return 0;
}

/*
 * Whether a protection or a cap exists for the item (channel_protection, channel_cap,
 * cached with the topology, which their statement triggers invalidate): the channels
 * it limits are computed again from their inputs by the SQL, so the fast paths leave
 * the item to it. No protection and no cap anywhere: nothing to look up.
 */
static bool
item_limited(int64 item)
{
	return !topo_valid || (topo_limited != NULL && hash_search(topo_limited, &item, HASH_FIND, NULL) != NULL);
}

/*
 * The statement's pairs whose ATP it can change at channels' locations, sorted and
 * distinct, into cs; false when the fast path cannot decide them (a key at an in-transit
 * location, a bucket not in the cache).
 */
static bool
statement_channel_pairs(const StatementPairs *pairs, ChannelStatement *cs)
{
	int			i;
	int			n = 0;

	cs->pairs = palloc(sizeof(ChannelPair) * Max(pairs->n, 1));
	for (i = 0; i < pairs->n; i++)
	{
		int64		location = DatumGetInt64(pairs->locations[i]);
		LocationEntry *e = topo_location(location, false);
		char	   *bucket = TextDatumGetCString(pairs->buckets[i]);
		BucketEntry *b = strlen(bucket) < NAMEDATALEN ? hash_search(topo_buckets, bucket, HASH_FIND, NULL) : NULL;

		if (e != NULL && e->in_transit)
			return false;
		if (b == NULL)
			return false;
		if (e == NULL || e->nchannels == 0 || !b->sellable)
			continue;
		cs->pairs[n].item = DatumGetInt64(pairs->items[i]);
		cs->pairs[n].location = location;
		cs->pairs[n].reserved = NULL;
		n++;
	}
	qsort(cs->pairs, n, sizeof(ChannelPair), pair_cmp);
	cs->npairs = 0;
	for (i = 0; i < n; i++)
		if (cs->npairs == 0 || pair_cmp(&cs->pairs[cs->npairs - 1], &cs->pairs[i]) != 0)
			cs->pairs[cs->npairs++] = cs->pairs[i];
	return true;
}

/* Locks the promise keys of cs's pairs in order; false at the first one missing. */
static bool
lock_promise_keys(ChannelStatement *cs)
{
	KeyedRow	r;
	bool		all = true;
	int			i;

	keyed_row_open(&r, &tables[T_PROMISE_KEY], RowExclusiveLock);
	for (i = 0; i < cs->npairs && all; i++)
	{
		Datum		key[2] = {Int64GetDatum(cs->pairs[i].item), Int64GetDatum(cs->pairs[i].location)};
		bool		isnull;

		all = keyed_row_find(&r, key) && keyed_row_lock(&r, LockTupleExclusive);
		/* held to the end of the transaction: what it reserves changes only here */
		if (all)
			cs->pairs[i].reserved = DatumGetNumericCopy(keyed_row_get(&r, 0, &isnull));
	}
	keyed_row_close(&r);
	return all;
}

void
channel_topology_load(void)
{
	static bool watching = false;

	if (!watching)
	{
		ext_catalog_on_change(channel_move_reset, EXT_CHANGE_RELATION | EXT_CHANGE_TYPE);
		watching = true;
	}
	if (!topo_valid)
		topo_load();
	if (!tables_valid)
		tables_load();
}

const KeyedTable *
channel_move_table(ChannelTable which)
{
	return &tables[which == CHANNEL_TABLE_PROMISE_KEY ? T_PROMISE_KEY : T_CHANNEL_ATP];
}

const ChannelTerms *
channel_terms(const char *channel)
{
	if (strlen(channel) >= sizeof(((ChannelTerms *) NULL)->channel))
		return NULL;
	return hash_search(topo_channels, channel, HASH_FIND, NULL);
}

bool
channel_shares_location(const ChannelTerms *terms)
{
	int64		i;

	for (i = 0; i < terms->nlocations && terms->locations != NULL; i++)
	{
		LocationEntry *e = topo_location(terms->locations[i], false);

		if (e != NULL && e->nchannels > 1)
			return true;
	}
	return false;
}

int
channel_location_channels(int64 location, text ***channels, int32 **shelves)
{
	LocationEntry *e = topo_location(location, false);
	int			i;

	if (e == NULL || e->nchannels == 0)
		return 0;
	*channels = palloc(sizeof(text *) * e->nchannels);
	*shelves = palloc(sizeof(int32) * e->nchannels);
	for (i = 0; i < e->nchannels; i++)
	{
		(*channels)[i] = e->channels[i].channel;
		(*shelves)[i] = e->channels[i].shelf;
	}
	return e->nchannels;
}

ChannelKeys
channel_keys_lock_fast(const StatementPairs *pairs, ChannelStatement *cs)
{
	memset(cs, 0, sizeof(*cs));
	reads_as_reservation = false;
	if (IsolationUsesXactSnapshot())
		return CHANNEL_KEYS_SQL;
	channel_topology_load();
	if (!statement_channel_pairs(pairs, cs))
		return CHANNEL_KEYS_SQL;
	if (cs->npairs == 0)
		return CHANNEL_KEYS_NONE;
	/* a missing key is created by the SQL, which takes every key again in order */
	return lock_promise_keys(cs) ? CHANNEL_KEYS_FAST : CHANNEL_KEYS_CREATE;
}

/* ------------------------------------------------------------------------
 * After the balances: location ATP, then the channels.
 * ------------------------------------------------------------------------ */

/* A channel's move for an item, summed over the statement's locations. */
typedef struct ChannelDelta
{
	text	   *channel;
	int64		item;
	Numeric		delta;
	Numeric		safety;			/* the channel's default */
	ItemPointerData atp_tid;	/* its channel_atp and channel_atp_state rows, as found */
	ItemPointerData state_tid;
} ChannelDelta;

/* A location ATP row to rewrite. */
typedef struct LocationWrite
{
	int64		item;
	int64		location;
	int32		shelf;
	Numeric		atp;
	ItemPointerData tid;		/* the row as found (its promise key keeps it so) */
} LocationWrite;

/* Sellable stock of a pair by lot expiry (a shelf-life rule sums the lines that live long enough). */
typedef struct StockLine
{
	Numeric		quantity;
	bool		has_expiry;
	DateADT		expiry;
} StockLine;

typedef struct MoveWork
{
	KeyedRow	rows[NUM_TABLES];	/* opened on first use */
	bool		open[NUM_TABLES];
	Snapshot	snapshot;		/* for the location phase: taken after the statement's writes */
	ChannelDelta *deltas;
	int			ndeltas;
	int			maxdeltas;
	LocationWrite *writes;
	int			nwrites;
	int			maxwrites;
	DateADT		today;
	const char *cause;			/* what the changes record: posting or reservation */
	int64		posting_id;		/* 0: none */
	int64		reservation_id; /* 0: none */
} MoveWork;

/* What each table is opened with: the ones written take ROW EXCLUSIVE, as UPDATE would. */
static const bool table_written[NUM_TABLES] = {
	[T_LOCATION_ATP] = true, [T_CHANNEL_ATP] = true, [T_STATE] = true,
};


void
channel_move_for_reservation(void)
{
	reads_as_reservation = true;
}

static LOCKMODE
table_mode(int table)
{
	if (table_written[table])
		return RowExclusiveLock;
	if (reads_as_reservation &&
		(table == T_PROMISE_KEY || table == T_BACKORDER || table == T_FULFILLING))
		return RowExclusiveLock;
	return AccessShareLock;
}

static KeyedRow *
row_of(MoveWork *w, int table)
{
	if (!w->open[table])
	{
		/*
		 * A posting's move comes after its balances: balance and its key index are held
		 * in ROW EXCLUSIVE already (balance_open()), and reading them in that mode finds
		 * the lock held instead of taking a second one (a posting at a channel's location
		 * locks more relations than the backend's fast-path slots hold, so each further
		 * lock goes through the shared lock table, once taken and again at commit).
		 */
		LOCKMODE	mode = table == T_BALANCE && w->posting_id != 0 ? RowExclusiveLock : table_mode(table);

		keyed_row_open(&w->rows[table], &tables[table], mode);
		/* a reservation's rows are the ones many backends rewrite in turn (keyed_row_find) */
		w->rows[table].follow_seen = reads_as_reservation;
		w->open[table] = true;
	}
	return &w->rows[table];
}

static void
work_close(MoveWork *w)
{
	int			i;

	for (i = 0; i < NUM_TABLES; i++)
		if (w->open[i])
			keyed_row_close(&w->rows[i]);
	if (w->snapshot != NULL)
		UnregisterSnapshot(w->snapshot);
}

static inline Numeric
num_max0(Numeric x)
{
	return num_sign(x) > 0 ? x : num_zero();
}

/* The row of table keyed so, read under the location phase's snapshot; false: none. */
static bool
find_row(MoveWork *w, int table, const Datum *key)
{
	KeyedRow   *r = row_of(w, table);

	r->snapshot = w->snapshot;
	return keyed_row_find(r, key);
}

/* The first numeric column of the row keyed so; fallback when there is none. */
static Numeric
find_numeric(MoveWork *w, int table, const Datum *key, Numeric fallback)
{
	bool		isnull;

	if (!find_row(w, table, key))
		return fallback;
	return DatumGetNumericCopy(keyed_row_get(row_of(w, table), 0, &isnull));
}

/*
 * The pair's sellable balance lines; false when the fast path cannot judge one (a bucket
 * not in the cache).
 */
static bool
pair_stock(MoveWork *w, const ChannelPair *p, StockLine **lines, int *nlines)
{
	KeyedRow   *b = row_of(w, T_BALANCE);
	Datum		key[2] = {Int64GetDatum(p->item), Int64GetDatum(p->location)};
	int			max = 8;
	bool		ok = true;
	bool		isnull;

	*lines = palloc(sizeof(StockLine) * max);
	*nlines = 0;
	b->snapshot = w->snapshot;
	keyed_scan_begin(b, key, 2);
	while (keyed_scan_next(b))
	{
		Datum		lotnum = keyed_row_get(b, 0, &isnull);
		bool		nolot = isnull;
		char	   *bucket = TextDatumGetCString(keyed_row_get(b, 1, &isnull));
		BucketEntry *be = strlen(bucket) < NAMEDATALEN ? hash_search(topo_buckets, bucket, HASH_FIND, NULL) : NULL;
		StockLine  *l;

		if (be == NULL)
		{
			ok = false;
			break;
		}
		if (!be->sellable)
			continue;
		if (*nlines == max)
			*lines = repalloc(*lines, sizeof(StockLine) * (max *= 2));
		l = &(*lines)[(*nlines)++];
		l->quantity = DatumGetNumericCopy(keyed_row_get(b, 2, &isnull));
		l->has_expiry = false;
		if (!nolot)
		{
			Datum		lkey[2] = {Int64GetDatum(p->item), datumCopy(lotnum, false, -1)};

			if (find_row(w, T_LOT, lkey))
			{
				Datum		e = keyed_row_get(row_of(w, T_LOT), 0, &isnull);

				l->has_expiry = !isnull;
				l->expiry = isnull ? 0 : DatumGetDateADT(e);
			}
		}
	}
	keyed_scan_end(b);
	return ok;
}

static void
add_delta(MoveWork *w, const ChannelAt *c, int64 item, Numeric delta)
{
	ChannelDelta *d;

	if (w->ndeltas == w->maxdeltas)
		w->deltas = repalloc(w->deltas, sizeof(ChannelDelta) * (w->maxdeltas *= 2));
	d = &w->deltas[w->ndeltas++];
	d->channel = c->channel;
	d->item = item;
	d->delta = delta;
	d->safety = c->safety;
}

static void
add_write(MoveWork *w, const ChannelPair *p, int32 shelf, Numeric atp, ItemPointer tid)
{
	LocationWrite *lw;

	if (w->nwrites == w->maxwrites)
		w->writes = repalloc(w->writes, sizeof(LocationWrite) * (w->maxwrites *= 2));
	lw = &w->writes[w->nwrites++];
	lw->item = p->item;
	lw->location = p->location;
	lw->shelf = shelf;
	lw->atp = atp;
	lw->tid = *tid;
}

/* Eligible on-hand for a shelf-life rule: the lines whose lot lives long enough. */
static Numeric
eligible_for(const StockLine *lines, int nlines, DateADT today, int32 shelf)
{
	Numeric		eligible = num_zero();
	int			i;

	for (i = 0; i < nlines; i++)
		if (!lines[i].has_expiry || lines[i].expiry >= today + shelf)
			eligible = num_add(eligible, lines[i].quantity);
	return eligible;
}

/*
 * One pair: its location ATP for each shelf-life rule of the channels there, compared
 * with the stored one; the rows to rewrite and the channels' deltas into w. False when
 * the SQL must do the statement (a row missing, a backorder held there, ...).
 */
static bool
pair_move(MoveWork *w, const ChannelPair *p)
{
	LocationEntry *e = topo_location(p->location, false);
	Datum		key[3] = {Int64GetDatum(p->item), Int64GetDatum(p->location), 0};
	StockLine  *lines;
	int			nlines;
	Numeric		safety;
	Numeric		reserved;
	int			c;

	if (e == NULL || find_row(w, T_BACKORDER, key) || item_limited(p->item) ||
		!pair_stock(w, p, &lines, &nlines))
		return false;
	safety = item_has_safety(topo_safety, p->item) ? find_numeric(w, T_SAFETY, key, num_zero()) : num_zero();
	reserved = p->reserved ? p->reserved : find_numeric(w, T_PROMISE_KEY, key, num_zero());
	for (c = 0; c < e->nchannels; c++)
	{
		int32		shelf = e->channels[c].shelf;
		Numeric		atp;
		Numeric		old_atp;
		DateADT		old_day;
		bool		isnull;
		int			k;

		/* one row per shelf-life rule: the first channel with it compares and writes it */
		for (k = 0; k < c && e->channels[k].shelf != shelf; k++)
			;
		atp = num_sub(num_max0(num_sub(eligible_for(lines, nlines, w->today, shelf), safety)), reserved);
		key[2] = Int32GetDatum(shelf);
		if (!find_row(w, T_LOCATION_ATP, key))
			return false;
		old_atp = DatumGetNumericCopy(keyed_row_get(row_of(w, T_LOCATION_ATP), 0, &isnull));
		old_day = DatumGetDateADT(keyed_row_get(row_of(w, T_LOCATION_ATP), 1, &isnull));
		if (k == c && (num_cmp(atp, old_atp) != 0 || old_day != w->today))
			add_write(w, p, shelf, atp, &row_of(w, T_LOCATION_ATP)->slot->tts_tid);
		if (num_cmp(num_max0(atp), num_max0(old_atp)) != 0)
			add_delta(w, &e->channels[c], p->item, num_sub(num_max0(atp), num_max0(old_atp)));
	}
	return true;
}

static int
delta_cmp(const void *a, const void *b)
{
	const ChannelDelta *x = a;
	const ChannelDelta *y = b;
	int			c = varstr_cmp(VARDATA_ANY(x->channel), VARSIZE_ANY_EXHDR(x->channel),
							   VARDATA_ANY(y->channel), VARSIZE_ANY_EXHDR(y->channel), DEFAULT_COLLATION_OID);

	if (c != 0)
		return c;
	return x->item < y->item ? -1 : (x->item > y->item ? 1 : 0);
}

/* The deltas in (channel, item) order, one per pair; false when a channel cannot be moved here. */
static bool
deltas_merge(MoveWork *w)
{
	int			n = 0;
	int			i;

	qsort(w->deltas, w->ndeltas, sizeof(ChannelDelta), delta_cmp);
	for (i = 0; i < w->ndeltas; i++)
	{
		if (n > 0 && delta_cmp(&w->deltas[n - 1], &w->deltas[i]) == 0)
			w->deltas[n - 1].delta = num_add(w->deltas[n - 1].delta, w->deltas[i].delta);
		else
			w->deltas[n++] = w->deltas[i];
	}
	w->ndeltas = n;
	for (i = 0; i < n; i++)
	{
		Datum		key[2] = {PointerGetDatum(w->deltas[i].channel), Int64GetDatum(w->deltas[i].item)};

		/* summed again by the SQL: a pooled reservation being fulfilled, or no row yet */
		if (find_row(w, T_FULFILLING, key) || !find_row(w, T_CHANNEL_ATP, key))
			return false;
		w->deltas[i].atp_tid = row_of(w, T_CHANNEL_ATP)->slot->tts_tid;
		if (!find_row(w, T_STATE, key))
			return false;
		w->deltas[i].state_tid = row_of(w, T_STATE)->slot->tts_tid;
	}
	return true;
}

static void
write_locations(MoveWork *w)
{
	KeyedRow   *r = row_of(w, T_LOCATION_ATP);
	int			i;
	static const int cols[2] = {0, 1};

	for (i = 0; i < w->nwrites; i++)
	{
		LocationWrite *lw = &w->writes[i];
		Datum		key[3] = {Int64GetDatum(lw->item), Int64GetDatum(lw->location), Int32GetDatum(lw->shelf)};
		Datum		values[2] = {NumericGetDatum(lw->atp), DateADTGetDatum(w->today)};

		if (!keyed_row_fetch(r, &lw->tid, w->snapshot) && !find_row(w, T_LOCATION_ATP, key))
			elog(ERROR, "inventory_sync: a location ATP row vanished under its promise key");
		keyed_row_update(r, cols, values, 2);
	}
}

static void
append_change(MoveWork *w, HeapAppend *changes, const ChannelDelta *d, Numeric before, Numeric after,
			  int64 version)
{
	Datum		row[64];
	bool		nulls[64];
	int			i;

	for (i = 0; i < change_natts; i++)
		nulls[i] = true;
#define SET(c, val) (row[change_att[c] - 1] = (val), nulls[change_att[c] - 1] = false)
	SET(0, PointerGetDatum(d->channel));
	SET(1, Int64GetDatum(d->item));
	SET(2, NumericGetDatum(before));
	SET(3, NumericGetDatum(after));
	SET(4, Int64GetDatum(version));
	SET(5, CStringGetTextDatum(w->cause));
	if (w->posting_id != 0)
		SET(6, Int64GetDatum(w->posting_id));
	if (w->reservation_id != 0)
		SET(7, Int64GetDatum(w->reservation_id));
	SET(8, TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()));
#undef SET
	heap_append_row(changes, row, nulls);
}

/* What a channel's move left (and, for a line, the ATP it needs before it). */
typedef struct ChannelMoved
{
	Numeric		need;			/* NULL: no check */
	Numeric		atp;			/* after the move; when refused, as found */
	int64		version;
} ChannelMoved;

/*
 * One channel's move. Its ATP row is read and rewritten as UPDATE would: when another
 * mover or promise changed it after the snapshot the row and the running sum were read
 * under, the rewrite waits for that one and fails, and the move is read again; once the
 * rewrite succeeded the row is this transaction's, and the running sum read with it is
 * the one the previous mover left (they change together under the row). With moved->need
 * set (a line's quantity), a channel found with less ATP than that is not moved: false.
 */
static bool
move_channel(MoveWork *w, const ChannelDelta *d, HeapAppend *changes, ChannelMoved *moved)
{
	Datum		key[2] = {PointerGetDatum(d->channel), Int64GetDatum(d->item)};
	KeyedRow   *atp_row = row_of(w, T_CHANNEL_ATP);
	KeyedRow   *state_row = row_of(w, T_STATE);
	Numeric		safety = item_has_safety(topo_channel_safety, d->item) ?
		find_numeric(w, T_CHANNEL_SAFETY, key, d->safety) : d->safety;
	static const int stock_col[1] = {0};
	static const int atp_cols[3] = {0, 1, 2};
	bool		locked = false;

	for (int attempt = 0;; attempt++)
	{
		/* the first look under the snapshot the move was decided with; after a wait, a fresh one */
		Snapshot	snap = attempt == 0 && w->snapshot != NULL ? w->snapshot : keyed_snapshot();
		Numeric		atp;
		Numeric		stock;
		Numeric		after;
		int64		version;
		bool		isnull;
		Datum		v[3];

		atp_row->snapshot = state_row->snapshot = snap;
		/* the versions found deciding, when they still are the latest; else searched (locked: as locked) */
		if (!locked && !(attempt == 0 && keyed_row_fetch(atp_row, (ItemPointer) &d->atp_tid, snap)) &&
			!keyed_row_find(atp_row, key))
			elog(ERROR, "inventory_sync: a channel ATP row vanished");
		if (!(attempt == 0 && keyed_row_fetch(state_row, (ItemPointer) &d->state_tid, snap)) &&
			!keyed_row_find(state_row, key))
			elog(ERROR, "inventory_sync: a channel ATP state row vanished");
		if (snap != w->snapshot)
			UnregisterSnapshot(snap);
		atp = DatumGetNumericCopy(keyed_row_get(atp_row, 0, &isnull));
		version = DatumGetInt64(keyed_row_get(atp_row, 1, &isnull));
		stock = DatumGetNumericCopy(keyed_row_get(state_row, 0, &isnull));
		/* a line taking what the channel no longer has: nothing written, the caller refuses */
		if (moved != NULL && moved->need != NULL && num_cmp(atp, moved->need) < 0)
		{
			moved->atp = atp;
			return false;
		}
		after = num_add(atp, num_sub(num_max0(num_sub(num_add(stock, d->delta), safety)),
									 num_max0(num_sub(stock, safety))));
		/* the ATP row first: it is the lock every writer of the channel's ATP queues on */
		v[0] = NumericGetDatum(num_cmp(after, atp) != 0 ? after : atp);
		v[1] = Int64GetDatum(num_cmp(after, atp) != 0 ? version + 1 : version);
		v[2] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
		if (locked)
			keyed_row_update(atp_row, atp_cols, v, num_cmp(after, atp) != 0 ? 3 : 2);
		else if (!keyed_row_try_update(atp_row, atp_cols, v, num_cmp(after, atp) != 0 ? 3 : 2))
		{
			/* as UPDATE: a row changed after this transaction's snapshot cannot be moved from it */
			if (IsolationUsesXactSnapshot())
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to concurrent update")));
			/*
			 * Wait in the row's queue and lock its latest version, then decide on what the
			 * previous mover committed: searching again and retrying the rewrite instead
			 * would let every waiter fail again each time the row changes hands.
			 */
			locked = keyed_row_lock(atp_row, LockTupleNoKeyExclusive);
			continue;
		}
		v[0] = NumericGetDatum(num_add(stock, d->delta));
		keyed_row_update(state_row, stock_col, v, 1);
		if (num_cmp(after, atp) != 0)
			append_change(w, changes, d, atp, after, version + 1);
		if (moved != NULL)
		{
			moved->atp = after;
			moved->version = num_cmp(after, atp) != 0 ? version + 1 : version;
		}
		return true;
	}
}

/* Phase one, deciding without writing; false: the SQL takes the statement. */
static bool
decide(MoveWork *w, ChannelPair *pairs, int npairs)
{
	int			i;

	/* a channel's rules may have changed while this statement waited for a promise key */
	AcceptInvalidationMessages();
	if (!topo_valid || !tables_valid || change_natts > 64)
		return false;
	w->snapshot = keyed_snapshot();
	for (i = 0; i < npairs; i++)
		if (!pair_move(w, &pairs[i]))
			return false;
	return deltas_merge(w);
}

/* CURRENT_DATE, which is the transaction's: computed once per transaction. */
static DateADT
today(void)
{
	static TimestampTz computed_for = 0;
	static DateADT day;

	if (GetCurrentTransactionStartTimestamp() != computed_for)
	{
		day = GetSQLCurrentDate();
		computed_for = GetCurrentTransactionStartTimestamp();
	}
	return day;
}

static void
work_init(MoveWork *w)
{
	memset(w, 0, sizeof(*w));
	w->today = today();
	w->maxdeltas = w->maxwrites = 8;
	w->deltas = palloc(sizeof(ChannelDelta) * w->maxdeltas);
	w->writes = palloc(sizeof(LocationWrite) * w->maxwrites);
}

bool
channel_move_run(ChannelPair *pairs, int npairs, const char *cause, int64 posting_id, int64 reservation_id)
{
	MoveWork	w;
	HeapAppend	changes;
	int			i;

	work_init(&w);
	w.cause = cause;
	w.posting_id = posting_id;
	w.reservation_id = reservation_id;
	/* a protection or a cap committed while the statement waited for its locks */
	AcceptInvalidationMessages();
	/* everything decided before anything is written: the SQL can still take over */
	if (!topo_valid || !decide(&w, pairs, npairs))
	{
		work_close(&w);
		return false;
	}
	write_locations(&w);
	if (w.ndeltas > 0)
	{
		heap_append_init(&changes, change_relid, change_natts, Min(w.ndeltas, 100));
		heap_append_open(&changes);
		for (i = 0; i < w.ndeltas; i++)
			if (num_sign(w.deltas[i].delta) != 0)
				(void) move_channel(&w, &w.deltas[i], &changes, NULL);
		heap_append_finish(&changes, false);
	}
	work_close(&w);
	return true;
}

bool
channel_move_fast(const ChannelStatement *cs, int64 posting_id)
{
	return channel_move_run(cs->pairs, cs->npairs, "posting", posting_id, 0);
}

bool
location_atp_now(int64 item, int64 location, int32 shelf, Numeric *atp)
{
	MoveWork	w;
	ChannelPair p = {item, location, NULL};
	Datum		key[2] = {Int64GetDatum(item), Int64GetDatum(location)};
	StockLine  *lines;
	int			nlines;
	bool		ok;

	work_init(&w);
	w.snapshot = keyed_snapshot();
	ok = !find_row(&w, T_BACKORDER, key) && pair_stock(&w, &p, &lines, &nlines);
	if (ok)
		*atp = num_sub(num_max0(num_sub(eligible_for(lines, nlines, w.today, shelf),
										find_numeric(&w, T_SAFETY, key, num_zero()))),
					   find_numeric(&w, T_PROMISE_KEY, key, num_zero()));
	work_close(&w);
	return ok;
}

bool
channel_rows_ready(text *channel, int64 item, bool today, Numeric *atp)
{
	MoveWork	w;
	Datum		key[2] = {PointerGetDatum(channel), Int64GetDatum(item)};
	bool		isnull;
	bool		ok;

	work_init(&w);
	w.snapshot = keyed_snapshot();
	ok = find_row(&w, T_CHANNEL_ATP, key);
	if (ok && atp != NULL)
		*atp = DatumGetNumericCopy(keyed_row_get(row_of(&w, T_CHANNEL_ATP), 0, &isnull));
	ok = ok && !find_row(&w, T_FULFILLING, key) && !item_limited(item) &&
		find_row(&w, T_STATE, key) &&
		(!today || DatumGetDateADT(keyed_row_get(row_of(&w, T_STATE), 1, &isnull)) == w.today);
	work_close(&w);
	return ok;
}

typedef struct OrderedLocation
{
	int64		location;
	int32		priority;
	Numeric		atp;
	bool		found;			/* a stored row for the channel's rule */
	bool		today;			/* computed today */
} OrderedLocation;

static int
ordered_cmp(const void *a, const void *b)
{
	const OrderedLocation *x = a;
	const OrderedLocation *y = b;
	int			c = num_cmp(y->atp, x->atp);

	if (c != 0)
		return c;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return x->location < y->location ? -1 : (x->location > y->location ? 1 : 0);
}

/* The position of location among the channel's locations; -1: not one of them. */
static int64
terms_position(const ChannelTerms *terms, int64 location)
{
	int64		lo = 0;
	int64		hi = terms->nlocations - 1;

	while (lo <= hi)
	{
		int64		mid = lo + (hi - lo) / 2;
		int64		at = terms->locations[terms->by_location[mid]];

		if (at == location)
			return terms->by_location[mid];
		if (at < location)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/*
 * Every reservation anywhere in a channel reads the item's stored ATP at each of its
 * locations, and each reservation rewrites one of those rows, so between two reads by one
 * backend most rows have not changed. Each backend keeps, per channel and item, what it
 * read of each location's row last: the version (keyed_row_fetch_seen()) and its ATP and
 * day. A row whose version had settled when it was read (committed, neither updated nor
 * locked) and whose page has not changed since (keyed_seen_unchanged()) is still that
 * version for any later snapshot: its values are taken as kept, one page pin and no
 * tuple read. A row that changed is followed from the version seen, not from the start
 * of its chain of versions (which the snapshots of the reservations queued on it keep).
 * What is read is the same as the index range gives: the version the snapshot sees.
 */
typedef struct SeenLocation
{
	KeyedSeen	seen;			/* the version read (tid invalid: none found) */
	bool		kept;			/* atp and day are that version's */
	DateADT		day;
	Numeric		atp;			/* in seen_cxt */
} SeenLocation;

typedef struct SeenItemKey
{
	char		channel[72];	/* as ChannelTerms.channel */
	int64		item;
} SeenItemKey;

typedef struct SeenItem
{
	SeenItemKey key;			/* hash key */
	uint64		generation;		/* the topology's it was read under */
	int64		nlocations;
	bool		complete;		/* every location has its version remembered */
	SeenLocation *locations;	/* as the channel's terms->locations */
} SeenItem;

#define SEEN_ITEMS_MAX 1024		/* beyond this many (channel, item) pairs the cache starts again */

static HTAB *seen_items = NULL;
static MemoryContext seen_cxt = NULL;

/*
 * A hash table this backend keeps in a memory context of its own, emptied (the context
 * with it) when reset says so: created where there is none.
 */
static void
backend_table(HTAB **table, MemoryContext *cxt, bool reset, const char *name, Size keysize, Size entrysize,
			  int flags)
{
	HASHCTL		ctl;

	if (*table != NULL && reset)
	{
		hash_destroy(*table);
		*table = NULL;
		MemoryContextReset(*cxt);
	}
	if (*table != NULL)
		return;
	/* (name is a string constant of the callers': the context keeps the pointer) */
	if (*cxt == NULL)
		*cxt = AllocSetContextCreateInternal(TopMemoryContext, name, ALLOCSET_SMALL_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = keysize;
	ctl.entrysize = entrysize;
	ctl.hcxt = *cxt;
	*table = hash_create(name, 64, &ctl, HASH_ELEM | HASH_CONTEXT | flags);
}

/* The pair's entry, empty where it is new or from another topology. */
static SeenItem *
seen_item(const ChannelTerms *terms, int64 item)
{
	SeenItemKey k;
	SeenItem   *e;
	bool		found;

	backend_table(&seen_items, &seen_cxt,
				  seen_items != NULL && hash_get_num_entries(seen_items) >= SEEN_ITEMS_MAX,
				  "inventory_sync location ATP seen", sizeof(SeenItemKey), sizeof(SeenItem), HASH_BLOBS);
	memset(&k, 0, sizeof(k));
	strlcpy(k.channel, terms->channel, sizeof(k.channel));
	k.item = item;
	e = hash_search(seen_items, &k, HASH_ENTER, &found);
	if (!found || e->generation != topo_generation || e->nlocations != terms->nlocations)
	{
		if (found && e->locations != NULL)
		{
			int64		i;

			for (i = 0; i < e->nlocations; i++)
				if (e->locations[i].kept)
					pfree(e->locations[i].atp);
			pfree(e->locations);
		}
		e->generation = topo_generation;
		e->nlocations = terms->nlocations;
		e->complete = false;
		e->locations = MemoryContextAllocZero(seen_cxt, sizeof(SeenLocation) * Max(terms->nlocations, 1));
	}
	return e;
}

/* The row just read (in r) as the one remembered at l, its version at tid. */
static void
seen_keep(SeenLocation *l, KeyedRow *r, const KeyedSeen *seen)
{
	MemoryContext old = MemoryContextSwitchTo(seen_cxt);
	bool		isnull;

	if (l->kept)
		pfree(l->atp);
	l->seen = *seen;
	l->atp = DatumGetNumericCopy(keyed_row_get(r, 0, &isnull));
	l->day = DatumGetDateADT(keyed_row_get(r, 1, &isnull));
	l->kept = true;
	MemoryContextSwitchTo(old);
}

static void
ordered_set(OrderedLocation *o, KeyedRow *r, DateADT day)
{
	bool		isnull;

	o->atp = DatumGetNumericCopy(keyed_row_get(r, 0, &isnull));
	o->found = true;
	o->today = DatumGetDateADT(keyed_row_get(r, 1, &isnull)) == day;
}

/* Location i's row, from what was read of it last (all of them have a version remembered). */
static void
location_read_seen(const ChannelTerms *terms, int64 item, SeenItem *e, int64 i, KeyedRow *r,
				   BlockNumber nblocks, Snapshot snapshot, DateADT day, OrderedLocation *o)
{
	SeenLocation *l = &e->locations[i];
	Datum		key[3] = {Int64GetDatum(item), Int64GetDatum(terms->locations[i]), Int32GetDatum(terms->shelf)};
	KeyedSeen	seen = l->seen;

	if (l->kept && keyed_seen_unchanged(r, &l->seen, nblocks, snapshot))
	{
		o->atp = l->atp;
		o->found = true;
		o->today = l->day == day;
		return;
	}
	if (keyed_row_fetch_seen(r, &seen, nblocks, snapshot, key))
		;
	else if (keyed_row_find(r, key))
	{
		seen.tid = r->slot->tts_tid;
		seen.lsn = InvalidXLogRecPtr;
		seen.xmin = InvalidTransactionId;
		seen.buffer = InvalidBuffer;
	}
	else
	{
		/* gone: the next read takes the index range */
		if (l->kept)
			pfree(l->atp);
		memset(l, 0, sizeof(*l));
		e->complete = false;
		return;
	}
	ordered_set(o, r, day);
	seen_keep(l, r, &seen);
}

/*
 * Each of the channel's locations with its stored ATP of the item as the channel sees it
 * (0 where none). The ATP may be the one kept for the channel and item (valid until the
 * next call).
 */
static OrderedLocation *
locations_read(const ChannelTerms *terms, int64 item)
{
	MoveWork	w;
	KeyedRow   *r;
	SeenItem   *e = seen_item(terms, item);
	OrderedLocation *o = palloc(sizeof(OrderedLocation) * Max(terms->nlocations, 1));
	Datum		key[1] = {Int64GetDatum(item)};
	DateADT		day;
	bool		isnull;
	int64		i;

	for (i = 0; i < terms->nlocations; i++)
	{
		o[i].location = terms->locations[i];
		o[i].priority = terms->priorities[i];
		o[i].atp = num_zero();
		o[i].found = false;
		o[i].today = false;
	}
	work_init(&w);
	day = w.today;
	w.snapshot = keyed_snapshot();
	r = row_of(&w, T_LOCATION_ATP);
	r->snapshot = w.snapshot;
	if (e->complete)
	{
		BlockNumber nblocks = RelationGetNumberOfBlocks(r->rel);

		for (i = 0; i < terms->nlocations; i++)
			location_read_seen(terms, item, e, i, r, nblocks, w.snapshot, day, &o[i]);
		work_close(&w);
		return o;
	}
	/* one range of the index: every stored location ATP of the item */
	keyed_scan_begin(r, key, 1);
	while (keyed_scan_next(r))
	{
		int64		location;
		int32		shelf = DatumGetInt32(keyed_row_get(r, 3, &isnull));
		KeyedSeen	seen;

		if (shelf != terms->shelf)
			continue;
		location = DatumGetInt64(keyed_row_get(r, 2, &isnull));
		if (terms->by_location != NULL)
			i = terms_position(terms, location);
		else
			for (i = 0; i < terms->nlocations && o[i].location != location; i++)
				;
		if (i < 0 || i >= terms->nlocations)
			continue;
		ordered_set(&o[i], r, day);
		/* where the index found it: whether it has settled is for the next read to see */
		seen.tid = r->slot->tts_tid;
		seen.lsn = InvalidXLogRecPtr;
		seen.xmin = InvalidTransactionId;
		seen.buffer = InvalidBuffer;
		seen_keep(&e->locations[i], r, &seen);
	}
	keyed_scan_end(r);
	work_close(&w);
	e->complete = true;
	for (i = 0; i < terms->nlocations && e->complete; i++)
		e->complete = e->locations[i].kept;
	return o;
}

/*
 * The other channels selling from any of a channel's locations, each once, in the order
 * of its locations, and whether the channel is among those selling from each of them:
 * what a line anywhere in the channel checks before its locks, the same for every line
 * of one topology, so worked out once per channel and topology. The channels point into
 * the topology (valid while it is).
 */
typedef struct OtherChannels
{
	char		channel[72];	/* hash key, as ChannelTerms.channel */
	bool		member;
	int			n;
	text	  **others;
} OtherChannels;

static HTAB *others_table = NULL;
static MemoryContext others_cxt = NULL;
static uint64 others_generation = 0;

static bool
text_equal(const text *x, const text *y)
{
	return VARSIZE_ANY_EXHDR(x) == VARSIZE_ANY_EXHDR(y) &&
		memcmp(VARDATA_ANY(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(x)) == 0;
}

int
channel_location_others(const ChannelTerms *terms, text *channel, text ***others, bool *member)
{
	OtherChannels *e;
	bool		found;
	int64		i;

	backend_table(&others_table, &others_cxt, others_table != NULL && others_generation != topo_generation,
				  "inventory_sync other channels", sizeof(((OtherChannels *) NULL)->channel), sizeof(OtherChannels),
				  HASH_STRINGS);
	others_generation = topo_generation;
	e = hash_search(others_table, terms->channel, HASH_ENTER, &found);
	if (!found)
	{
		int			max = 8;

		e->member = true;
		e->n = 0;
		e->others = MemoryContextAlloc(others_cxt, sizeof(text *) * max);
		for (i = 0; i < terms->nlocations; i++)
		{
			LocationEntry *l = topo_location(terms->locations[i], false);
			bool		in = false;
			int			c;

			for (c = 0; l != NULL && c < l->nchannels; c++)
			{
				text	   *other = l->channels[c].channel;
				int			k;

				if (text_equal(other, channel))
				{
					in = true;
					continue;
				}
				for (k = 0; k < e->n && !text_equal(e->others[k], other); k++)
					;
				if (k < e->n)
					continue;
				if (e->n == max)
				{
					max *= 2;
					e->others = repalloc(e->others, sizeof(text *) * max);
				}
				e->others[e->n++] = other;
			}
			e->member &= in;
		}
	}
	*others = e->others;
	*member = e->member;
	return e->n;
}

void
channel_location_order(const ChannelTerms *terms, int64 item, int64 *ordered)
{
	OrderedLocation *o = locations_read(terms, item);
	int64		i;

	qsort(o, terms->nlocations, sizeof(OrderedLocation), ordered_cmp);
	for (i = 0; i < terms->nlocations; i++)
		ordered[i] = o[i].location;
	pfree(o);
}

void
channel_location_first(const ChannelTerms *terms, int64 item, LocationBest *best)
{
	OrderedLocation *o = locations_read(terms, item);
	int64		b = 0;
	int64		i;

	/* the least of the order: what a sort would put first */
	for (i = 1; i < terms->nlocations; i++)
		if (ordered_cmp(&o[i], &o[b]) < 0)
			b = i;
	best->location = o[b].location;
	best->found = o[b].found;
	best->today = o[b].today;
	best->atp = DatumGetNumericCopy(NumericGetDatum(o[b].atp));
	pfree(o);
}

bool
location_backorder_held(int64 item, int64 location)
{
	MoveWork	w;
	Datum		key[2] = {Int64GetDatum(item), Int64GetDatum(location)};
	bool		held;

	work_init(&w);
	w.snapshot = keyed_snapshot();
	held = find_row(&w, T_BACKORDER, key);
	work_close(&w);
	return held;
}

bool
channel_atp_now(text *channel, int64 item, Numeric *atp)
{
	MoveWork	w;
	Datum		key[2] = {PointerGetDatum(channel), Int64GetDatum(item)};
	bool		found;

	work_init(&w);
	w.snapshot = keyed_snapshot();
	found = find_row(&w, T_CHANNEL_ATP, key);
	if (found)
		*atp = find_numeric(&w, T_CHANNEL_ATP, key, num_zero());
	work_close(&w);
	return found;
}

/* ------------------------------------------------------------------------
 * A line held at a location: the stored location ATP moved by its quantity.
 *
 * A reservation changes only what is reserved at the location, so every stored ATP of
 * the location (one per shelf-life rule) falls by exactly its quantity when the rows are
 * today's: the balances, lots and safety stock need not be read. The channels there move
 * by the change of their contribution, as for a posting.
 * ------------------------------------------------------------------------ */

/* A table and every index of it locked in mode (held to the end of the transaction). */
static void
lock_table_and_indexes(Oid relid, LOCKMODE mode)
{
	Relation	rel = table_open(relid, mode);
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;

	foreach(lc, indexes)
		LockRelationOid(lfirst_oid(lc), mode);
	list_free(indexes);
	table_close(rel, NoLock);
}

void
channel_hold_prelock(void)
{
	int			i;

	if (!tables_valid)
		return;
	for (i = 0; i < NUM_TABLES; i++)
	{
		LOCKMODE	mode = table_mode(i);

		/* what only a location's ATP computed again reads: locked by that (rare) route itself */
		if (i == T_BALANCE || i == T_LOT || i == T_SAFETY)
			continue;
		LockRelationOid(tables[i].relid, mode);
		LockRelationOid(tables[i].indexid, mode);
	}
	lock_table_and_indexes(change_relid, RowExclusiveLock);
}

/*
 * The location's stored ATP for the line, read under its promise key from the version
 * this backend read before the locks (where the line's channel's locations were put in
 * order), when every channel there has the line's shelf-life rule: the location's rows
 * are then that one row (rows of a rule no channel there has are deleted with the
 * membership that had it), and the version the key's holders left is on the chain from
 * the one read a moment ago, not at the end of the chain the index points to. True when
 * read (*ok: it is today's); false: read the index range.
 */
static bool
hold_read_seen(LineHold *h, LocationEntry *e, KeyedRow *r, Snapshot snapshot, DateADT today, bool *ok)
{
	char	   *name = text_to_cstring(h->channel);
	const ChannelTerms *terms = channel_terms(name);
	SeenItemKey k;
	SeenItem   *item;
	KeyedSeen	seen;
	Datum		key[3] = {Int64GetDatum(h->item), Int64GetDatum(h->location), Int32GetDatum(h->shelf)};
	bool		isnull;
	int64		i;
	int			c;

	pfree(name);
	if (terms == NULL || seen_items == NULL)
		return false;
	for (c = 0; c < e->nchannels; c++)
		if (e->channels[c].shelf != h->shelf)
			return false;
	memset(&k, 0, sizeof(k));
	strlcpy(k.channel, terms->channel, sizeof(k.channel));
	k.item = h->item;
	item = hash_search(seen_items, &k, HASH_FIND, NULL);
	if (item == NULL || item->generation != topo_generation || item->nlocations != terms->nlocations)
		return false;
	if (terms->by_location != NULL)
		i = terms_position(terms, h->location);
	else
		for (i = 0; i < terms->nlocations && terms->locations[i] != h->location; i++)
			;
	if (i < 0 || i >= terms->nlocations || !item->locations[i].kept)
		return false;
	seen = item->locations[i].seen;
	if (!keyed_row_fetch_seen(r, &seen, RelationGetNumberOfBlocks(r->rel), snapshot, key))
		return false;
	/* a row computed on an earlier day may have lots that left ATP since: recomputed */
	*ok = DatumGetDateADT(keyed_row_get(r, 1, &isnull)) == today;
	if (*ok)
	{
		h->atps[0] = DatumGetNumericCopy(keyed_row_get(r, 0, &isnull));
		h->shelves[0] = h->shelf;
		h->tids[0] = seen.tid;
		h->nrows = 1;
	}
	return true;
}

bool
channel_hold_read(LineHold *h)
{
	MoveWork	w;
	LocationEntry *e;
	KeyedRow   *r;
	Datum		key[2] = {Int64GetDatum(h->item), Int64GetDatum(h->location)};
	Datum		channel_key[2] = {PointerGetDatum(h->channel), Int64GetDatum(h->item)};
	bool		ok;
	bool		isnull;
	int			c;

	AcceptInvalidationMessages();
	if (!topo_valid || !tables_valid || change_natts > 64 ||
		(e = topo_location(h->location, false)) == NULL || e->nchannels == 0)
		return false;
	work_init(&w);
	w.snapshot = keyed_snapshot();
	h->nrows = 0;
	ok = !find_row(&w, T_BACKORDER, key) && !item_limited(h->item);
	r = row_of(&w, T_LOCATION_ATP);
	r->snapshot = w.snapshot;
	if (!ok || !hold_read_seen(h, e, r, w.snapshot, w.today, &ok))
	{
		keyed_scan_begin(r, key, 2);
		while (ok && keyed_scan_next(r))
		{
			/* a row computed on an earlier day may have lots that left ATP since: recomputed */
			ok = h->nrows < HOLD_MAX_SHELVES && DatumGetDateADT(keyed_row_get(r, 1, &isnull)) == w.today;
			if (!ok)
				break;
			h->atps[h->nrows] = DatumGetNumericCopy(keyed_row_get(r, 0, &isnull));
			h->shelves[h->nrows] = DatumGetInt32(keyed_row_get(r, 3, &isnull));
			h->tids[h->nrows] = r->slot->tts_tid;
			h->nrows++;
		}
		keyed_scan_end(r);
	}
	if (ok)
		ok = find_row(&w, T_CHANNEL_ATP, channel_key);
	if (ok)
		h->channel_atp = DatumGetNumericCopy(keyed_row_get(row_of(&w, T_CHANNEL_ATP), 0, &isnull));
	work_close(&w);
	/* every channel there needs its rule's row; the line's channel is one of them */
	h->location_atp = NULL;
	for (c = 0; ok && c < e->nchannels; c++)
	{
		int			k = 0;

		while (k < h->nrows && h->shelves[k] != e->channels[c].shelf)
			k++;
		ok = k < h->nrows;
		if (ok && e->channels[c].shelf == h->shelf)
			h->location_atp = h->atps[k];
	}
	return ok && h->location_atp != NULL;
}

HoldResult
channel_hold_write(LineHold *h, int64 reservation_id)
{
	MoveWork	w;
	HeapAppend	changes;
	LocationEntry *e = topo_location(h->location, false);
	ChannelPair p = {h->item, h->location, NULL};
	HoldResult	result = HOLD_DONE;
	int			i;
	int			c;

	work_init(&w);
	w.cause = "reservation";
	w.reservation_id = reservation_id;
	w.snapshot = keyed_snapshot();
	h->version = -1;
	for (i = 0; i < h->nrows; i++)
		add_write(&w, &p, h->shelves[i], num_sub(h->atps[i], h->quantity), &h->tids[i]);
	for (c = 0; c < e->nchannels; c++)
		for (i = 0; i < h->nrows; i++)
			if (h->shelves[i] == e->channels[c].shelf &&
				num_cmp(num_max0(h->atps[i]), num_max0(w.writes[i].atp)) != 0)
				add_delta(&w, &e->channels[c], h->item,
						  num_sub(num_max0(w.writes[i].atp), num_max0(h->atps[i])));
	/* decided before anything is written, as for a posting */
	if (!deltas_merge(&w))
	{
		work_close(&w);
		return HOLD_SLOW;
	}
	write_locations(&w);
	heap_append_init(&changes, change_relid, change_natts, 1);
	heap_append_open(&changes);
	for (i = 0; i < w.ndeltas && result == HOLD_DONE; i++)
	{
		ChannelDelta *d = &w.deltas[i];
		bool		own = VARSIZE_ANY(d->channel) == VARSIZE_ANY(h->channel) &&
			memcmp(VARDATA_ANY(d->channel), VARDATA_ANY(h->channel), VARSIZE_ANY_EXHDR(h->channel)) == 0;
		ChannelMoved moved = {own ? h->quantity : NULL};

		if (!move_channel(&w, d, &changes, &moved))
			result = HOLD_REFUSED;
		if (own)
		{
			h->channel_atp = moved.atp;
			h->version = moved.version;
		}
	}
	heap_append_finish(&changes, false);
	work_close(&w);
	return result;
}
