/*
 * spi_plan.c
 *		A statement prepared once per backend and kept (see spi_plan.h).
 */
#include "postgres.h"

#include "spi_plan.h"

SPIPlanPtr
is_prepare_kept(const char *sql, int nargs, Oid *types, int cursor_options)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, types, cursor_options);

	if (plan == NULL)
		elog(ERROR, "inventory_sync: could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "inventory_sync: could not keep the plan of \"%s\"", sql);
	return plan;
}
