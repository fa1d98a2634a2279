/*
 * broker_json.h
 *		Reading the jsonb the brokering SQL hands to its C steps (src/broker_plan.c,
 *		src/broker_hold.c).
 */
#ifndef INVENTORY_SYNC_BROKER_JSON_H
#define INVENTORY_SYNC_BROKER_JSON_H

#include "postgres.h"

#include "utils/jsonb.h"

/* A string member of a JSON object, copied; NULL when missing or not a string. */
static inline char *
broker_json_string(JsonbContainer *obj, const char *key)
{
	JsonbValue	v;

	if (getKeyJsonValueFromContainer(obj, key, strlen(key), &v) == NULL || v.type != jbvString)
		return NULL;
	return pnstrdup(v.val.string.val, v.val.string.len);
}

#endif							/* INVENTORY_SYNC_BROKER_JSON_H */
