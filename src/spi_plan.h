/*
 * spi_plan.h
 *		A statement prepared once per backend and kept (src/spi_plan.c).
 *
 * Every SPI statement the engine runs on a hot path is prepared on first use and kept for
 * the backend's life in the callers' static slots; this is the one place that prepares,
 * keeps and reports a failure of either.
 */
#ifndef INVENTORY_SYNC_SPI_PLAN_H
#define INVENTORY_SYNC_SPI_PLAN_H

#include "postgres.h"

#include "executor/spi.h"

/*
 * sql prepared with its argument types and cursor options (0, or CURSOR_OPT_GENERIC_PLAN
 * for statements read by key whose custom plans would only cost planning), kept with
 * SPI_keepplan; ERROR when either fails. Inside SPI_connect.
 */
extern SPIPlanPtr is_prepare_kept(const char *sql, int nargs, Oid *types, int cursor_options);

#endif							/* INVENTORY_SYNC_SPI_PLAN_H */
