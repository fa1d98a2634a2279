/*
 * master_cache.h
 *		Backend-local cache of the master data the posting trigger reads for every row.
 *
 * Master data changes rarely and postings arrive by the million, so each backend keeps
 * what it has looked up. Every master-data table carries a statement trigger
 * (master_data_changed) that queues a relcache invalidation at commit; this cache drops
 * everything on any relcache invalidation, so a change is seen by every backend from
 * the next statement after it commits (and by its own transaction at once).
 */
#ifndef INVENTORY_SYNC_MASTER_CACHE_H
#define INVENTORY_SYNC_MASTER_CACHE_H

#define MC_NAME_LEN 80

#include "postgres.h"

#include "utils/numeric.h"

typedef struct ItemInfo
{
	bool		found;
	int64		item_gtin;		/* the base item */
	Numeric		pack_quantity;	/* base units in one of the posted GTIN; 1 for the item */
	char		base_unit[17];
	bool		lot_tracked;
	bool		serial_tracked;
	bool		whole_numbers;	/* base unit needs integral quantities */
} ItemInfo;

typedef struct LocationInfo
{
	bool		found;
	bool		in_transit;
	bool		strict;
	bool		enforce_ownership;
} LocationInfo;

typedef struct UnitInfo
{
	bool		found;			/* the unit exists and converts for this item */
	bool		unit_exists;
	Numeric		factor;
	bool		whole_numbers;
} UnitInfo;

typedef struct SourceInfo
{
	bool		found;
	Oid			role;			/* InvalidOid if the bound role does not exist */
	char		rolename[NAMEDATALEN];
} SourceInfo;

/*
 * Lookups fill the caller's struct (Numerics are copied into CurrentMemoryContext):
 * a later lookup may flush the cache, so nothing returned points into it.
 */
extern void mc_item(int64 gtin, ItemInfo *out);
extern void mc_location(int64 gln, LocationInfo *out);
extern void mc_unit(int64 item_gtin, const char *unit, UnitInfo *out);
extern void mc_source(const char *source, SourceInfo *out);
extern bool mc_bucket_exists(const char *bucket);
extern bool mc_reason_exists(const char *reason);
/* Owner of (location, bucket) into owner (NAMEDATALEN+16 bytes); false when none declared. */
extern bool mc_owner(int64 gln, const char *bucket, char *owner);

#endif							/* INVENTORY_SYNC_MASTER_CACHE_H */
