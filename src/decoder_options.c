/*
 * decoder_options.c
 *		The output plugin's options and the event filters they set up (see
 *		decoder_internal.h).
 *
 * Options are parsed once, at startup, and every mistake is an error there (an unknown
 * option, one given twice, a bad value), so a consumer never decodes with a setting it did
 * not mean. Filters are checked on the raw datums of the deformed row before anything is
 * formatted, so an event filtered out costs a few comparisons: lists are sorted once and
 * compared by length first, locations found by binary search.
 *
 * Filters by channel need the channels' locations: they are read from channel_location,
 * a user_catalog_table, with the historic snapshot of the change being decoded (so a
 * location joins or leaves a channel in the feed exactly where it did in the WAL), and
 * cached until channel_location's relcache invalidation is replayed.
 */
#include "postgres.h"

#include <ctype.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "nodes/parsenodes.h"
#include "replication/walsender.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "decoder_internal.h"
#include "ext_catalog.h"
#include "gs1.h"

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

/* Bumped whenever channel_location (or everything) is invalidated; backend-wide. */
static uint64 feed_membership_generation = 1;
static Oid	feed_channel_location_relid = InvalidOid;

/* ------------------------------------------------------------------------
 * Sorted lists of strings and locations.
 * ------------------------------------------------------------------------ */
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

/* A sorted array of the int64s a list points to; returns how many. */
static int
feed_make_location_array(List *locs, int64 **out)
{
	ListCell   *lc;
	int			n = 0;

	*out = palloc(sizeof(int64) * Max(list_length(locs), 1));
	foreach(lc, locs)
		(*out)[n++] = *(int64 *) lfirst(lc);
	qsort(*out, n, sizeof(int64), feed_cmp_int64);
	return n;
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

/* Whether a text datum is one of the list's strings. */
static bool
feed_text_in(const FeedStringList *l, Datum d)
{
	text	   *t = DatumGetTextPP(d);

	return feed_list_has(l, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

/* ------------------------------------------------------------------------
 * Option values.
 * ------------------------------------------------------------------------ */
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

/* batch-events: a whole number of events per message, 1 to FEED_MAX_BATCH. */
static int
feed_option_batch_events(DefElem *elem)
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
	return (int) n;
}

/* locations: GLNs, each checked, kept sorted for binary search. */
static void
feed_option_locations(DefElem *elem, FeedData *data)
{
	List	   *items = feed_option_items(elem);
	List	   *glns = NIL;
	ListCell   *lc;

	foreach(lc, items)
	{
		const char *item = lfirst(lc);
		int64	   *gln = palloc(sizeof(int64));

		if (!gs1_key_parse(GS1_KEY_GLN, item, strlen(item), gln, false))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"locations\" of output plugin \"inventory_sync\": \"%s\" is not a valid GLN",
							item),
					 errhint("A GLN is 13 digits, the last a GS1 check digit.")));
		glns = lappend(glns, gln);
	}
	data->nlocations = feed_make_location_array(glns, &data->locations);
}

/* events: the event types to send, every other one filtered out. */
static void
feed_option_events(DefElem *elem, bool *events)
{
	List	   *items = feed_option_items(elem);
	ListCell   *lc;
	int			i;

	for (i = 0; i < NUM_FEED_EVENTS; i++)
		events[i] = false;
	foreach(lc, items)
	{
		const char *item = lfirst(lc);

		for (i = 0; i < NUM_FEED_EVENTS; i++)
			if (strcmp(item, feed_event_names[i]) == 0)
				break;
		if (i == NUM_FEED_EVENTS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"events\" of output plugin \"inventory_sync\": unknown event type \"%s\"",
							item),
					 errhint("Event types: posting, reservation, atp.")));
		events[i] = true;
	}
}

/* Apply one option to the session's settings. */
static void
feed_option_apply(FeedData *data, DefElem *elem)
{
	if (strcmp(elem->defname, "deterministic") == 0)
		data->deterministic = feed_option_bool(elem);
	else if (strcmp(elem->defname, "envelopes") == 0)
		data->envelopes = feed_option_bool(elem);
	else if (strcmp(elem->defname, "batch-events") == 0)
		data->batch_events = feed_option_batch_events(elem);
	else if (strcmp(elem->defname, "channels") == 0)
		feed_make_list(feed_option_items(elem), &data->channels);
	else if (strcmp(elem->defname, "sources") == 0)
		feed_make_list(feed_option_items(elem), &data->sources);
	else if (strcmp(elem->defname, "exclude-sources") == 0)
		feed_make_list(feed_option_items(elem), &data->exclude_sources);
	else if (strcmp(elem->defname, "locations") == 0)
		feed_option_locations(elem, data);
	else if (strcmp(elem->defname, "events") == 0)
		feed_option_events(elem, data->events);
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown option \"%s\" for output plugin \"inventory_sync\"", elem->defname),
				 errhint(FEED_OPTIONS_HINT)));
}

/* Set the options' defaults and apply the plugin options given; see decoder_internal.h. */
void
feed_options_parse(FeedData *data, List *options)
{
	List	   *seen = NIL;
	ListCell   *lc;
	int			i;

	for (i = 0; i < NUM_FEED_EVENTS; i++)
		data->events[i] = true;
	data->batch_events = am_walsender ? FEED_PROTOCOL_BATCH : 1;

	foreach(lc, options)
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
		feed_option_apply(data, elem);
	}
	list_free(seen);
}

/* ------------------------------------------------------------------------
 * Channel membership (channel_location), read with the historic snapshot.
 * ------------------------------------------------------------------------ */

/* See decoder_internal.h; relid InvalidOid means everything was invalidated. */
void
feed_membership_invalidate(Oid relid)
{
	if (!OidIsValid(relid) || relid == feed_channel_location_relid)
		feed_membership_generation++;
}

/* The attribute numbers of channel_location's channel and location columns, checked. */
static void
feed_channel_location_columns(Relation rel, AttrNumber *att_channel, AttrNumber *att_location)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			a;

	if (!RelationIsUsedAsCatalogTable(rel))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("inventory_sync feed: channel_location must be a user catalog table to filter by channel or location"),
				 errhint("ALTER TABLE inventory_sync.channel_location SET (user_catalog_table = true);")));
	*att_channel = InvalidAttrNumber;
	*att_location = InvalidAttrNumber;
	for (a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, a);

		if (attr->attisdropped)
			continue;
		if (strcmp(NameStr(attr->attname), "channel") == 0 && attr->atttypid == TEXTOID)
			*att_channel = a + 1;
		else if (strcmp(NameStr(attr->attname), "location") == 0 && attr->attlen == 8)
			*att_location = a + 1;
	}
	if (*att_channel == InvalidAttrNumber || *att_location == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("inventory_sync feed: channel_location has no columns channel (text) and location (gln)")));
}

/*
 * Read channel_location: the locations of the channels filter's channels (into *locs,
 * palloc'd int64s) and the channels selling from the locations filter's locations (*chans).
 */
static void
feed_channel_location_read(FeedData *data, Oid relid, List **locs, List **chans)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	att_channel;
	AttrNumber	att_location;
	SysScanDesc scan;
	HeapTuple	tup;

	feed_channel_location_columns(rel, &att_channel, &att_location);

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
			*locs = lappend(*locs, p);
		}
		if (data->nlocations > 0 && feed_has_location(data->locations, data->nlocations, location))
			*chans = lappend(*chans, channel);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

/* Rebuild the membership map when an invalidation has been replayed since it was read. */
static void
feed_membership_refresh(FeedData *data)
{
	uint64		generation = feed_membership_generation;
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

	/* as of the change being decoded; InvalidOid when there is none */
	relid = ext_catalog_relid("channel_location", true);
	feed_channel_location_relid = relid;
	if (OidIsValid(relid))
		feed_channel_location_read(data, relid, &locs, &chans);

	data->nmap_locations = feed_make_location_array(locs, &data->map_locations);
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

/* ------------------------------------------------------------------------
 * The event filters.
 * ------------------------------------------------------------------------ */
#define DATUM(c) FEED_DATUM(data, fr, c)
#define ISNULL(c) FEED_ISNULL(data, fr, c)

/* A posting passes when its source and location pass every filter given. */
bool
feed_posting_wanted(FeedData *data, const FeedRel *fr)
{
	if (data->sources.n > 0 && (ISNULL(PC_SOURCE) || !feed_text_in(&data->sources, DATUM(PC_SOURCE))))
		return false;
	if (data->exclude_sources.n > 0 && !ISNULL(PC_SOURCE) &&
		feed_text_in(&data->exclude_sources, DATUM(PC_SOURCE)))
		return false;
	if (data->nlocations > 0 &&
		(ISNULL(PC_LOCATION) ||
		 !feed_has_location(data->locations, data->nlocations, DatumGetInt64(DATUM(PC_LOCATION)))))
		return false;
	if (data->channels.n > 0 &&
		(ISNULL(PC_LOCATION) || !feed_location_in_channels(data, DatumGetInt64(DATUM(PC_LOCATION)))))
		return false;
	return true;
}

/*
 * A reservation passes by its channel; by its location when it has one, else by whether
 * its channel sells from a location of the filter.
 */
bool
feed_reservation_wanted(FeedData *data, const FeedRel *fr)
{
	if (data->channels.n > 0 && (ISNULL(RC_CHANNEL) || !feed_text_in(&data->channels, DATUM(RC_CHANNEL))))
		return false;
	if (data->nlocations > 0)
	{
		if (!ISNULL(RC_LOCATION))
		{
			if (!feed_has_location(data->locations, data->nlocations, DatumGetInt64(DATUM(RC_LOCATION))))
				return false;
		}
		else if (ISNULL(RC_CHANNEL) || !feed_channel_at_locations(data, DATUM(RC_CHANNEL)))
			return false;
	}
	return true;
}

#undef DATUM
#undef ISNULL

/* An atp event passes by its channel (which is never NULL). */
bool
feed_atp_wanted(FeedData *data, const FeedAtpChange *c)
{
	if (data->channels.n > 0 && !feed_text_in(&data->channels, c->channel))
		return false;
	if (data->nlocations > 0 && !feed_channel_at_locations(data, c->channel))
		return false;
	return true;
}
