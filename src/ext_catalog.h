/*
 * ext_catalog.h
 *		The extension's catalog facts, looked up in one place (src/ext_catalog.c).
 *
 * Everything the C code knows about the extension's own objects it finds by name in the
 * schema inventory_sync: tables, sequences, types, enum labels, columns, indexes. The
 * OIDs change when the extension is dropped and created again in a running backend, and
 * columns move when a table is altered, so every cache built from these lookups must be
 * reset by an invalidation. The server allows a backend only a few relcache callbacks
 * (ten on PostgreSQL 15, for every library loaded), so the extension registers ONE
 * relcache callback and one syscache callback per catalog it cares about, and each
 * module hands it a reset function with the kinds of change it depends on.
 *
 * Nothing here uses SPI or writes: the lookups are syscache and relcache reads, which
 * also work in a walsender decoding with a historic snapshot (the output plugin uses them).
 */
#ifndef INVENTORY_SYNC_EXT_CATALOG_H
#define INVENTORY_SYNC_EXT_CATALOG_H

#include "postgres.h"

#include "utils/relcache.h"

/* The kinds of catalog change a reset function can ask to hear about. */
#define EXT_CHANGE_RELATION		0x01	/* a relation's relcache entry (relid; InvalidOid: all) */
#define EXT_CHANGE_TYPE			0x02	/* pg_type */
#define EXT_CHANGE_ENUM			0x04	/* pg_enum */
#define EXT_CHANGE_ROLE			0x08	/* pg_authid (a role renamed or dropped) */
#define EXT_CHANGE_SCHEMA		0x10	/* pg_namespace */

/*
 * Called from the invalidation machinery, with the kind of change and, for a relation,
 * its OID (InvalidOid: every relation). It may only mark caches stale or free memory it
 * owns: no catalog access, no errors.
 */
typedef void (*ExtCatalogReset) (int kind, Oid relid);

/* Calls reset on every change of the kinds given; registering the same function again is a no-op. */
extern void ext_catalog_on_change(ExtCatalogReset reset, int kinds);

/*
 * Whether a change a reset function hears may concern a cache built from the relations
 * relids[0..n-1]: any change but one of a single relation outside them.
 */
extern bool ext_catalog_change_concerns(int kind, Oid relid, const Oid *relids, int n);

/* The schema inventory_sync; InvalidOid if missing_ok and there is none. Cached. */
extern Oid	ext_catalog_schema(bool missing_ok);

/* A table, index or sequence of the schema, by name; InvalidOid if missing_ok and none. */
extern Oid	ext_catalog_relid(const char *relname, bool missing_ok);

/* A type of the schema, by name; InvalidOid if missing_ok and none. */
extern Oid	ext_catalog_type(const char *typname, bool missing_ok);

/* The OID of an enum label: of a type given by OID, or of the schema's type by name. */
extern Oid	ext_catalog_enum_value(Oid enumtype, const char *label);
extern Oid	ext_catalog_enum_value_by_name(const char *typname, const char *label);

/* A column of rel by name; an error naming the table and column when it is missing. */
extern AttrNumber ext_catalog_column(Relation rel, const char *colname);

/* The same, and an error when the column is not of type typid. */
extern AttrNumber ext_catalog_column_typed(Relation rel, const char *colname, Oid typid);

/*
 * The first valid btree index of rel whose leading key columns are keys[0..nkeys-1]
 * (exactly those when unique is asked for: then only a unique index), or InvalidOid.
 */
extern Oid	ext_catalog_index_on(Relation rel, const AttrNumber *keys, int nkeys, bool unique);

/*
 * The equality procedure and collation of each of the first ncols key columns of an open
 * index, from its operator families: what a ScanKey on that index needs.
 */
extern void ext_catalog_index_key_eq(Relation index, int ncols, RegProcedure *eqprocs,
									 Oid *collations);

#endif							/* INVENTORY_SYNC_EXT_CATALOG_H */
