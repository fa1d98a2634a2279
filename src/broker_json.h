/*
 * broker_json.h
 *		Reading the jsonb the brokering SQL hands to its C steps (src/broker_plan.c,
 *		src/broker_hold.c), and building what they hand back.
 */
#ifndef INVENTORY_SYNC_BROKER_JSON_H
#define INVENTORY_SYNC_BROKER_JSON_H

#include "postgres.h"

#include "utils/jsonb.h"
#include "utils/numeric.h"

/* A string member of a JSON object, copied; NULL when missing or not a string. */
static inline char *
broker_json_string(JsonbContainer *obj, const char *key)
{
	JsonbValue	v;

	if (getKeyJsonValueFromContainer(obj, key, strlen(key), &v) == NULL || v.type != jbvString)
		return NULL;
	return pnstrdup(v.val.string.val, v.val.string.len);
}

/* A key of the object being built. */
static inline void
broker_json_push_key(JsonbParseState **st, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &k);
}

/* A string member of the object being built; null when value is NULL. */
static inline void
broker_json_push_string(JsonbParseState **st, const char *key, const char *value)
{
	JsonbValue	v;

	broker_json_push_key(st, key);
	if (value == NULL)
		v.type = jbvNull;
	else
	{
		v.type = jbvString;
		v.val.string.val = (char *) value;
		v.val.string.len = strlen(value);
	}
	pushJsonbValue(st, WJB_VALUE, &v);
}

/* A number member of the object being built; null when value is NULL. */
static inline void
broker_json_push_numeric(JsonbParseState **st, const char *key, Numeric value)
{
	JsonbValue	v;

	broker_json_push_key(st, key);
	if (value == NULL)
		v.type = jbvNull;
	else
	{
		v.type = jbvNumeric;
		v.val.numeric = value;
	}
	pushJsonbValue(st, WJB_VALUE, &v);
}

#endif							/* INVENTORY_SYNC_BROKER_JSON_H */
