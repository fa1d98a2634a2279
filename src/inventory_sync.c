/*
 * inventory_sync.c
 *		Module entry: the magic block and module-wide initialisation.
 *
 * Each concern lives in its own file (src/gs1_key.c, src/gs1_text.c, ...); this file only
 * holds what PostgreSQL requires once per shared library.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "fmgr.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Called once when the library is loaded into a backend. */
void
_PG_init(void)
{
}
