/*
 * caller.h
 *		The role an API call is made for (src/caller.c).
 *
 * Some API functions must run part of their work with the extension owner's rights
 * (internal steps no API role may call) and part as the caller (postings, which the
 * ledger checks against the caller's source binding). Such a function is declared in
 * SQL as a C entry point, api_entry, in front of an internal implementation named like
 * it with a leading underscore, which runs with the owner's rights. The entry point
 * remembers who called it; the posting engine asks posting_role() whose posting it is.
 */
#ifndef INVENTORY_SYNC_CALLER_H
#define INVENTORY_SYNC_CALLER_H

#include "postgres.h"

/* The role postings are made by: the caller of the innermost API entry point, else the current user. */
extern Oid	posting_role(void);

#endif							/* INVENTORY_SYNC_CALLER_H */
