# inventory_sync: PGXS build.
#
# The version lives in one place, inventory_sync.control (default_version); the
# install script for it is assembled from the ordered parts in sql/install/.
# Upgrade scripts (sql/inventory_sync--A--B.sql) are written by hand.

EXTENSION  = inventory_sync
EXTVERSION = $(shell sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big = inventory_sync
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

INSTALL_PARTS = $(sort $(wildcard sql/install/*.sql))
DATA_built    = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA          = $(wildcard sql/$(EXTENSION)--*--*.sql)

# pg_regress stories: every sql/<name>.sql except the install scripts, in the
# order listed in sql/SCHEDULE (one name per line), so they read as a tour.
REGRESS      = $(shell grep -v '^\s*\#' sql/SCHEDULE 2>/dev/null)
REGRESS_OPTS = --load-extension=$(EXTENSION)

PG_CONFIG ?= $(shell command -v /usr/lib/postgresql/15/bin/pg_config || command -v pg_config)
PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
              -Wno-sign-compare -Wno-cast-function-type

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: $(INSTALL_PARTS) $(EXTENSION).control
	@printf '%s\n' '-- inventory_sync $(EXTVERSION): generated from sql/install/*.sql by make; do not edit' \
	  '\echo Use "CREATE EXTENSION inventory_sync" to load this file. \quit' > $@
	cat $(INSTALL_PARTS) >> $@

$(OBJS): $(wildcard src/*.h)

.PHONY: test demo bench deps
# The one command that tests everything (see test/run.sh).
test:
	@bash test/run.sh

# A throwaway cluster playing what the product can do.
demo:
	@bash demo/run.sh

bench:
	@bash bench/run.sh

deps:
	@bash test/deps.sh
