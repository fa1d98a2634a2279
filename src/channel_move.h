/*
 * channel_move.h
 *		Channel ATP moved in C (src/channel_move.c): what the posting engine and reserve()
 *		share of it.
 */
#ifndef INVENTORY_SYNC_CHANNEL_MOVE_H
#define INVENTORY_SYNC_CHANNEL_MOVE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "storage/itemptr.h"
#include "utils/numeric.h"

#include "posting_int.h"

/* A channel's terms, as the channel table says them (read once, again after a change). */
typedef struct ChannelTerms
{
	char		channel[72];	/* hash key; channel names are 1 to 64 characters */
	bool		allow_backorder;
	Interval	ttl;			/* reservation_ttl */
	int32		shelf;			/* min_shelf_life_days */
	int64		nlocations;
	int64		location;		/* the lowest of its locations (its only one, when it has one) */
	int64	   *locations;		/* all of them, in (priority, location) order */
	int32	   *priorities;
	int32	   *by_location;	/* indexes into locations, in location order (a search by location) */
} ChannelTerms;

/* The topology and the tables, up to date (inside the caller's SPI connection). */
extern void channel_topology_load(void);

/*
 * The statement is a reservation (it writes reservation and promise_key): the tables of
 * both are read in ROW EXCLUSIVE mode, the one it writes them in, until a posting starts.
 */
extern void channel_move_for_reservation(void);

/*
 * The tables channel_move.c reads by key, as loaded by channel_topology_load():
 * promise_key (column 0: reserved) and channel_atp (0: atp, 1: version, 2: updated_at).
 */
typedef enum ChannelTable
{
	CHANNEL_TABLE_PROMISE_KEY, CHANNEL_TABLE_ATP
} ChannelTable;
struct KeyedTable;
extern const struct KeyedTable *channel_move_table(ChannelTable which);

/* A channel's terms; NULL when it is unknown (or its name too long to cache). */
extern const ChannelTerms *channel_terms(const char *channel);

/* Whether another channel sells from one of the channel's locations (it does not pool). */
extern bool channel_shares_location(const ChannelTerms *terms);

/* The channels selling from a location, as (name, shelf-life rule) pairs: how many, and each. */
extern int	channel_location_channels(int64 location, text ***channels, int32 **shelves);

/*
 * The channel's locations for an item in the order a line anywhere in it is placed: most
 * stored ATP first (as the channel sees it), then priority, then location; into ordered
 * (terms->nlocations of them).
 */
extern void channel_location_order(const ChannelTerms *terms, int64 item, int64 *ordered);

/* The first location of that order, and what its stored ATP row says. */
typedef struct LocationBest
{
	int64		location;
	bool		found;			/* it has a stored ATP row for the channel's shelf-life rule */
	bool		today;			/* computed today */
	Numeric		atp;			/* its stored ATP (0 without a row) */
} LocationBest;

/*
 * The other channels selling from any of the channel's locations (terms, of channel), each
 * once, in the order of its locations, into *others (the topology's: do not free), and
 * whether the channel sells from each of them, into *member.
 */
extern int	channel_location_others(const ChannelTerms *terms, text *channel, text ***others, bool *member);

/*
 * The first location of channel_location_order() alone, into *best: a line placed there
 * needs the rest of the order only when it does not fit.
 */
extern void channel_location_first(const ChannelTerms *terms, int64 item, LocationBest *best);

/* Whether a backorder is held at the location for the item (C leaves such a location to the SQL). */
extern bool location_backorder_held(int64 item, int64 location);

/*
 * The ATP of an item at a location as channels with the given shelf-life rule see it, read
 * now (the caller holds its promise key); false when C cannot compute it (a backorder held
 * there, a bucket not in the cache): the SQL must.
 */
extern bool location_atp_now(int64 item, int64 location, int32 shelf, Numeric *atp);

/* The channel's published ATP for the item, read now; false when it has none. */
extern bool channel_atp_now(text *channel, int64 item, Numeric *atp);

/*
 * Whether the channel's ATP for the item can be moved in C: its channel_atp and
 * channel_atp_state rows exist, no pooled reservation of it is being fulfilled, and (when
 * today is asked) its sum is today's. When it can and atp is not NULL, the published ATP
 * read with them into *atp.
 */
extern bool channel_rows_ready(text *channel, int64 item, bool today, Numeric *atp);

/*
 * Moves the channels selling from these pairs (their promise keys held) by the change of
 * their location ATP, recording each change with cause, posting_id and reservation_id
 * (0: none); false, having written nothing, when the SQL must do it.
 */
extern bool channel_move_run(ChannelPair *pairs, int npairs, const char *cause, int64 posting_id,
							 int64 reservation_id);

/*
 * A line of a reservation held at one location: what it asks, and what its location has
 * (stored, read under the location's promise key, which the caller holds).
 */
#define HOLD_MAX_SHELVES 8
typedef struct LineHold
{
	int64		item;
	int64		location;
	text	   *channel;		/* the reserving channel, selling from the location */
	int32		shelf;			/* its shelf-life rule */
	Numeric		quantity;
	Numeric		location_atp;	/* read: the location's ATP as the channel sees it */
	Numeric		channel_atp;	/* read: the channel's published ATP; held: after the line (refused: as found) */
	int64		version;		/* held: its version (-1: not moved here) */
	int			nrows;			/* the location's stored ATP, one row per shelf-life rule */
	int32		shelves[HOLD_MAX_SHELVES];
	Numeric		atps[HOLD_MAX_SHELVES];
	ItemPointerData tids[HOLD_MAX_SHELVES];
} LineHold;

/*
 * Every table a hold from the stored location ATP reads or writes, locked ahead of the
 * line's row locks: the hold then finds its relation locks held and waits on no lock
 * manager while it holds the rows. (What only a recomputation of the location's ATP
 * reads, balances, lots and safety stock, that route locks itself.)
 */
extern void channel_hold_prelock(void);

/*
 * Reads the location's stored ATP for the line and the channel's published ATP (h->
 * location_atp, h->channel_atp); false when C cannot move it from there (a backorder held
 * there, a row not computed today, a channel without its row): the caller takes the route
 * that recomputes the location.
 */
extern bool channel_hold_read(LineHold *h);

typedef enum HoldResult
{
	HOLD_DONE,					/* location and channels moved, the line's channel's after-state in h */
	HOLD_REFUSED,				/* the channel's ATP fell below the line meanwhile: refuse, writes undone */
	HOLD_SLOW					/* nothing written: channel_move_run() or the SQL must move them */
} HoldResult;

/*
 * After the promise key's reserved quantity grew by the line: the location's stored ATP
 * falls by it and every channel there moves by the change of its contribution, in
 * (channel, item) order; the line's channel must still have the quantity.
 */
extern HoldResult channel_hold_write(LineHold *h, int64 reservation_id);

#endif							/* INVENTORY_SYNC_CHANNEL_MOVE_H */
