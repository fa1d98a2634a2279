/*
 * errcodes.h
 *		The extension's own SQLSTATEs (class IS: inventory_sync), each defined once.
 *
 * The codes are part of the API: integrations branch on them (docs/reference/errors.md
 * lists when each is raised and what a caller should do), and the SQL side raises the
 * same codes by their text ('IS040'), so a code never changes meaning. The name says the
 * rule that was broken. Unknown master data is not here: it is the standard 23503
 * foreign_key_violation, since the fact names a key the master data does not have.
 *
 * The definitions are token-for-token those of any older header that still defines one
 * of them, so including both is harmless while code moves here.
 */
#ifndef INVENTORY_SYNC_ERRCODES_H
#define INVENTORY_SYNC_ERRCODES_H

#include "postgres.h"

/* Postings (the ledger's triggers) */
#define ERRCODE_IS_NOT_SYSTEM_OF_RECORD		MAKE_SQLSTATE('I','S','0','0','1')
#define ERRCODE_IS_CONFLICTING_REPLAY		MAKE_SQLSTATE('I','S','0','0','2')
#define ERRCODE_IS_STALE_EXPECTED_QUANTITY	MAKE_SQLSTATE('I','S','0','0','3')
#define ERRCODE_IS_INSUFFICIENT_STOCK		MAKE_SQLSTATE('I','S','0','0','4')
#define ERRCODE_IS_INVALID_QUANTITY			MAKE_SQLSTATE('I','S','0','2','0')
#define ERRCODE_IS_LOT_RULE					MAKE_SQLSTATE('I','S','0','2','1')
#define ERRCODE_IS_SERIAL_RULE				MAKE_SQLSTATE('I','S','0','2','2')
#define ERRCODE_IS_INVALID_POSTING			MAKE_SQLSTATE('I','S','0','2','3')
#define ERRCODE_IS_IMMUTABLE				MAKE_SQLSTATE('I','S','0','3','0')

/* Promises (reservations and ATP) */
#define ERRCODE_IS_BEYOND_ATP				MAKE_SQLSTATE('I','S','0','4','0')
#define ERRCODE_IS_RESERVATION_RESOLVED		MAKE_SQLSTATE('I','S','0','4','1')
#define ERRCODE_IS_FULFIL_EXCEEDS_RESERVATION MAKE_SQLSTATE('I','S','0','4','2')
#define ERRCODE_IS_LOCATION_NOT_IN_CHANNEL	MAKE_SQLSTATE('I','S','0','4','3')
#define ERRCODE_IS_RESERVATION_KEY_CONFLICT	MAKE_SQLSTATE('I','S','0','4','4')
#define ERRCODE_IS_EXPIRY_NOT_FUTURE		MAKE_SQLSTATE('I','S','0','4','5')
#define ERRCODE_IS_POOL_CANNOT_BE_PLACED	MAKE_SQLSTATE('I','S','0','4','6')

/* Traceability (raised by the SQL of 510_genealogy.sql to 550_serial.sql; IS053 by the
 * apply step, for a production order's consumption of a lot that is not there) */
#define ERRCODE_IS_UNKNOWN_LOT				MAKE_SQLSTATE('I','S','0','5','0')
#define ERRCODE_IS_RECALL_BUCKET			MAKE_SQLSTATE('I','S','0','5','1')
#define ERRCODE_IS_UNKNOWN_SERIAL			MAKE_SQLSTATE('I','S','0','5','2')
#define ERRCODE_IS_LOT_NOT_AVAILABLE		MAKE_SQLSTATE('I','S','0','5','3')

/* Logistic units (SSCC): raised by the unit functions (sql/install/540_logistic_unit.sql) */
#define ERRCODE_IS_UNKNOWN_LOGISTIC_UNIT	MAKE_SQLSTATE('I','S','0','5','4')
#define ERRCODE_IS_LOGISTIC_UNIT_STATE		MAKE_SQLSTATE('I','S','0','5','5')

/* Kits and bundles: raised by the SQL of sql/install/235_kit.sql */
#define ERRCODE_IS_KIT_GTIN_TAKEN			MAKE_SQLSTATE('I','S','0','6','0')
#define ERRCODE_IS_KIT_RULE					MAKE_SQLSTATE('I','S','0','6','1')

/* Reconciliation (snapshot feeds) */
#define ERRCODE_IS_SNAPSHOT_FEED_REFUSED	MAKE_SQLSTATE('I','S','0','8','0')
#define ERRCODE_IS_SNAPSHOT_IN_FUTURE		MAKE_SQLSTATE('I','S','0','8','1')

/* The partitioned ledger (raised by the SQL of 165_ledger_partitioning.sql) */
#define ERRCODE_IS_PARTITIONING_REFUSED		MAKE_SQLSTATE('I','S','0','9','0')
#define ERRCODE_IS_ARCHIVE_REFUSED			MAKE_SQLSTATE('I','S','0','9','1')
/* a count as of a time older than the retained after-states of its key (src/balance_store.c) */
#define ERRCODE_IS_BEFORE_RETAINED_HISTORY	MAKE_SQLSTATE('I','S','0','9','2')

#endif							/* INVENTORY_SYNC_ERRCODES_H */
