/*
 * decoder_json.c
 *		The output plugin's JSON: the envelopes, each event's head and fields, every byte
 *		of the feed's format in one file (see decoder_internal.h; docs/reference/feed.md
 *		is the format's reference). decoder.c decides which lines are written and when.
 *
 * Decoding is per-change hot code, so writing goes straight into the output buffer with
 * no intermediate strings: literals by length, strings escaped in runs (byte for byte
 * what the server's escape_json() writes), LSNs and integers without snprintf, and the
 * two timestamps a transaction's rows mostly share formatted once. Quantities are
 * written as JSON strings, exact as numeric prints them: a consumer never sees a float.
 *
 * Every event writes the same common fields in the same order, source to version (null
 * where one does not apply), so a consumer reads any event with one schema; the fields of
 * its type follow.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/numeric.h"
#include "utils/syscache.h"

#include "decoder_internal.h"
#include "gs1.h"

/* ------------------------------------------------------------------------
 * Values.
 * ------------------------------------------------------------------------ */
#define APPEND_LIT(s, lit) appendBinaryStringInfo((s), (lit), sizeof(lit) - 1)

static inline void
json_int8(StringInfo s, int64 v)
{
	char		buf[MAXINT8LEN + 1];
	int			len = pg_lltoa(v, buf);

	appendBinaryStringInfo(s, buf, len);
}

/* Upper-case hex of v without leading zeros ("0" for zero), as %X prints it. */
static inline int
json_hex32(char *out, uint32 v)
{
	static const char digits[] = "0123456789ABCDEF";
	char		tmp[8];
	int			n = 0;
	int			i;

	do
	{
		tmp[n++] = digits[v & 0xF];
		v >>= 4;
	} while (v != 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/* An LSN as "X/X" (what pg_lsn prints), without going through snprintf. */
static inline void
json_lsn(StringInfo s, XLogRecPtr lsn)
{
	char		buf[24];
	int			len = 0;

	buf[len++] = '"';
	len += json_hex32(buf + len, (uint32) (lsn >> 32));
	buf[len++] = '/';
	len += json_hex32(buf + len, (uint32) lsn);
	buf[len++] = '"';
	appendBinaryStringInfo(s, buf, len);
}

/*
 * A string of len bytes as a JSON string, byte for byte what escape_json() writes for
 * the same characters, without copying the value into a C string first: runs of
 * characters that need no escape are appended in one piece.
 */
static void
json_string_len(StringInfo s, const char *p, int len)
{
	const char *end = p + len;
	const char *run = p;

	enlargeStringInfo(s, len + 2);
	s->data[s->len++] = '"';
	for (; p < end; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (p > run)
			appendBinaryStringInfo(s, run, p - run);
		run = p + 1;
		switch (c)
		{
			case '\b':
				APPEND_LIT(s, "\\b");
				break;
			case '\f':
				APPEND_LIT(s, "\\f");
				break;
			case '\n':
				APPEND_LIT(s, "\\n");
				break;
			case '\r':
				APPEND_LIT(s, "\\r");
				break;
			case '\t':
				APPEND_LIT(s, "\\t");
				break;
			case '"':
				APPEND_LIT(s, "\\\"");
				break;
			case '\\':
				APPEND_LIT(s, "\\\\");
				break;
			default:
				appendStringInfo(s, "\\u%04x", (int) c);
				break;
		}
	}
	if (p > run)
		appendBinaryStringInfo(s, run, p - run);
	appendStringInfoCharMacro(s, '"');
}

/* A text datum as a JSON string. */
static inline void
json_text(StringInfo s, Datum d)
{
	text	   *t = DatumGetTextPP(d);

	json_string_len(s, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

/* A numeric datum as a JSON string: exact, never a float. */
static inline void
json_numeric(StringInfo s, Datum d)
{
	appendStringInfoChar(s, '"');
	appendStringInfoString(s, DatumGetCString(DirectFunctionCall1(numeric_out, d)));
	appendStringInfoChar(s, '"');
}

/* A GS1 key as a JSON string of its canonical digits. */
static inline void
json_gs1_key(StringInfo s, Gs1KeyKind kind, int64 value)
{
	char		buf[24];

	gs1_key_format(kind, value, buf);
	appendStringInfoChar(s, '"');
	appendStringInfoString(s, buf);
	appendStringInfoChar(s, '"');
}

static inline void
json_timestamptz(StringInfo s, TimestampTz ts)
{
	static const int utc = 0;
	char		buf[MAXDATELEN + 1];

	appendStringInfoChar(s, '"');
	appendStringInfoString(s, JsonEncodeDateTime(buf, TimestampTzGetDatum(ts), TIMESTAMPTZOID, &utc));
	appendStringInfoChar(s, '"');
}

/*
 * A timestamp through a two-entry cache: a transaction's rows mostly share their event
 * and recorded times (both default to the transaction's start), so each is formatted once.
 */
static inline void
json_timestamptz_cached(FeedData *data, StringInfo s, TimestampTz ts)
{
	static const int utc = 0;
	int			slot;

	if (data->ts_valid[0] && data->ts_value[0] == ts)
		slot = 0;
	else if (data->ts_valid[1] && data->ts_value[1] == ts)
		slot = 1;
	else
	{
		slot = data->ts_next;
		data->ts_next = 1 - slot;
		JsonEncodeDateTime(data->ts_text[slot], TimestampTzGetDatum(ts), TIMESTAMPTZOID, &utc);
		data->ts_value[slot] = ts;
		data->ts_valid[slot] = true;
	}
	appendStringInfoChar(s, '"');
	appendStringInfoString(s, data->ts_text[slot]);
	appendStringInfoChar(s, '"');
}

/* ------------------------------------------------------------------------
 * Enum labels, cached backend-wide by OID until pg_enum is invalidated: the feed's enum
 * columns (kind, action) have a handful of values, so a small array beats a hash.
 * ------------------------------------------------------------------------ */
typedef struct FeedEnumLabel
{
	Oid			oid;
	char		label[NAMEDATALEN];
} FeedEnumLabel;

#define FEED_MAX_ENUMS 64
static FeedEnumLabel feed_enums[FEED_MAX_ENUMS];
static int	feed_nenums = 0;

void
feed_enum_labels_reset(void)
{
	feed_nenums = 0;
}

static const char *
feed_enum_label(Oid oid)
{
	int			i;
	HeapTuple	tup;

	for (i = 0; i < feed_nenums; i++)
		if (feed_enums[i].oid == oid)
			return feed_enums[i].label;
	tup = SearchSysCache1(ENUMOID, ObjectIdGetDatum(oid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "inventory_sync feed: unknown enum value %u", oid);
	if (feed_nenums == FEED_MAX_ENUMS)
		feed_nenums = 0;
	feed_enums[feed_nenums].oid = oid;
	strlcpy(feed_enums[feed_nenums].label, NameStr(((Form_pg_enum) GETSTRUCT(tup))->enumlabel), NAMEDATALEN);
	ReleaseSysCache(tup);
	return feed_enums[feed_nenums++].label;
}

/* ------------------------------------------------------------------------
 * Envelopes and the head every event line starts with.
 * ------------------------------------------------------------------------ */
void
feed_prefix_json(FeedData *data)
{
	StringInfo	p = &data->prefix;
	ReorderBufferTXN *txn = data->txn;

	resetStringInfo(p);
	if (!data->deterministic)
	{
		/* the whole transaction is known here: every event carries its commit */
		APPEND_LIT(p, ",\"lsn\":");
		json_lsn(p, txn->final_lsn);
		APPEND_LIT(p, ",\"xid\":");
		json_int8(p, txn->xid);
		APPEND_LIT(p, ",\"commit_time\":");
		json_timestamptz(p, txn->xact_time.commit_time);
	}
}

void
feed_begin_json(FeedData *data, StringInfo s)
{
	APPEND_LIT(s, "{\"type\":\"begin\"");
	appendBinaryStringInfo(s, data->prefix.data, data->prefix.len);
	appendStringInfoChar(s, '}');
}

void
feed_commit_json(FeedData *data, StringInfo s, ReorderBufferTXN *txn)
{
	APPEND_LIT(s, "{\"type\":\"commit\"");
	appendBinaryStringInfo(s, data->prefix.data, data->prefix.len);
	if (!data->deterministic)
	{
		/* confirming this position means the transaction is never sent again */
		APPEND_LIT(s, ",\"end_lsn\":");
		json_lsn(s, txn->end_lsn);
	}
	APPEND_LIT(s, ",\"events\":");
	json_int8(s, data->nevents);
	appendStringInfoChar(s, '}');
}

void
feed_event_head_json(FeedData *data, StringInfo s, FeedEventType type)
{
	APPEND_LIT(s, "{\"type\":\"");
	appendStringInfoString(s, feed_event_names[type]);
	appendStringInfoChar(s, '"');
	appendBinaryStringInfo(s, data->prefix.data, data->prefix.len);
	APPEND_LIT(s, ",\"seq\":");
	json_int8(s, data->seq);
}

/* ------------------------------------------------------------------------
 * Columns and events.
 * ------------------------------------------------------------------------ */

/* Write column c of the deformed row as a JSON value (null when NULL). */
static void
json_col(FeedData *data, StringInfo s, const FeedRel *fr, int c)
{
	Datum		d = FEED_DATUM(data, fr, c);

	if (FEED_ISNULL(data, fr, c))
	{
		APPEND_LIT(s, "null");
		return;
	}
	switch (feed_cols[fr->type][c].type)
	{
		case CT_INT8:
			json_int8(s, DatumGetInt64(d));
			break;
		case CT_GTIN:
			json_gs1_key(s, GS1_KEY_GTIN, DatumGetInt64(d));
			break;
		case CT_GLN:
			json_gs1_key(s, GS1_KEY_GLN, DatumGetInt64(d));
			break;
		case CT_STRING:
			json_text(s, d);
			break;
		case CT_NUMERIC:
			json_numeric(s, d);
			break;
		case CT_TIMESTAMPTZ:
			json_timestamptz(s, DatumGetTimestampTz(d));
			break;
		case CT_ENUM:
			escape_json(s, feed_enum_label(DatumGetObjectId(d)));
			break;
	}
}

/* A timestamp column through the two-entry cache (null when NULL). */
static inline void
json_col_timestamptz_cached(FeedData *data, StringInfo s, const FeedRel *fr, int c)
{
	if (FEED_ISNULL(data, fr, c))
		APPEND_LIT(s, "null");
	else
		json_timestamptz_cached(data, s, DatumGetTimestampTz(FEED_DATUM(data, fr, c)));
}

/* balance_change: one effect of a posting on one balance key. */
void
feed_posting_json(FeedData *data, StringInfo s, const FeedRel *fr)
{
	APPEND_LIT(s, ",\"source\":");
	json_col(data, s, fr, PC_SOURCE);
	APPEND_LIT(s, ",\"source_event_id\":");
	json_col(data, s, fr, PC_SOURCE_EVENT_ID);
	APPEND_LIT(s, ",\"gtin\":");
	json_col(data, s, fr, PC_ITEM);
	APPEND_LIT(s, ",\"gln\":");
	json_col(data, s, fr, PC_LOCATION);
	APPEND_LIT(s, ",\"lot\":");
	json_col(data, s, fr, PC_LOT);
	APPEND_LIT(s, ",\"bucket\":");
	json_col(data, s, fr, PC_BUCKET);
	APPEND_LIT(s, ",\"channel\":null,\"delta\":");
	json_col(data, s, fr, PC_DELTA);
	APPEND_LIT(s, ",\"quantity_after\":");
	json_col(data, s, fr, PC_QUANTITY_AFTER);
	APPEND_LIT(s, ",\"atp\":null,\"version\":");
	json_col(data, s, fr, PC_VERSION);
	APPEND_LIT(s, ",\"posting_id\":");
	json_col(data, s, fr, PC_POSTING_ID);
	APPEND_LIT(s, ",\"kind\":");
	json_col(data, s, fr, PC_KIND);
	APPEND_LIT(s, ",\"event_time\":");
	json_col_timestamptz_cached(data, s, fr, PC_EVENT_TIME);
	if (!data->deterministic)
	{
		APPEND_LIT(s, ",\"recorded_at\":");
		json_col_timestamptz_cached(data, s, fr, PC_RECORDED_AT);
	}
	appendStringInfoChar(s, '}');
}

/* reservation_change: a reservation reserved, fulfilled, cancelled or expired. */
void
feed_reservation_json(FeedData *data, StringInfo s, const FeedRel *fr)
{
	APPEND_LIT(s, ",\"source\":null,\"source_event_id\":null,\"gtin\":");
	json_col(data, s, fr, RC_ITEM);
	APPEND_LIT(s, ",\"gln\":");
	json_col(data, s, fr, RC_LOCATION);
	APPEND_LIT(s, ",\"lot\":null,\"bucket\":null,\"channel\":");
	json_col(data, s, fr, RC_CHANNEL);
	APPEND_LIT(s, ",\"delta\":");
	json_col(data, s, fr, RC_DELTA);
	APPEND_LIT(s, ",\"quantity_after\":");
	json_col(data, s, fr, RC_OPEN_AFTER);
	APPEND_LIT(s, ",\"atp\":");
	json_col(data, s, fr, RC_ATP_AFTER);
	APPEND_LIT(s, ",\"version\":");
	json_col(data, s, fr, RC_VERSION);
	APPEND_LIT(s, ",\"reservation_id\":");
	json_col(data, s, fr, RC_RESERVATION_ID);
	APPEND_LIT(s, ",\"change_id\":");
	json_col(data, s, fr, RC_CHANGE_ID);
	APPEND_LIT(s, ",\"action\":");
	json_col(data, s, fr, RC_ACTION);
	APPEND_LIT(s, ",\"order_ref\":");
	json_col(data, s, fr, RC_ORDER_REF);
	APPEND_LIT(s, ",\"line_ref\":");
	json_col(data, s, fr, RC_LINE_REF);
	APPEND_LIT(s, ",\"posting_id\":");
	json_col(data, s, fr, RC_POSTING_ID);
	if (!data->deterministic)
	{
		APPEND_LIT(s, ",\"changed_at\":");
		json_col(data, s, fr, RC_CHANGED_AT);
	}
	appendStringInfoChar(s, '}');
}

/* A bigint that may be absent: the number, or null. */
static inline void
json_int8_or_null(StringInfo s, bool present, int64 v)
{
	if (present)
		json_int8(s, v);
	else
		APPEND_LIT(s, "null");
}

/* An atp event, from either kind of row (FeedAtpChange). */
void
feed_atp_json(FeedData *data, StringInfo s, const FeedAtpChange *c)
{
	APPEND_LIT(s, ",\"source\":null,\"source_event_id\":null,\"gtin\":");
	json_gs1_key(s, GS1_KEY_GTIN, DatumGetInt64(c->item));
	APPEND_LIT(s, ",\"gln\":null,\"lot\":null,\"bucket\":null,\"channel\":");
	json_text(s, c->channel);
	APPEND_LIT(s, ",\"delta\":");
	json_numeric(s, DirectFunctionCall2(numeric_sub, c->atp_after, c->atp_before));
	APPEND_LIT(s, ",\"quantity_after\":null,\"atp\":");
	json_numeric(s, c->atp_after);
	APPEND_LIT(s, ",\"version\":");
	json_int8(s, c->version);
	APPEND_LIT(s, ",\"atp_before\":");
	json_numeric(s, c->atp_before);
	APPEND_LIT(s, ",\"cause\":");
	if (c->cause != NULL)
		escape_json(s, c->cause);
	else
		json_col(data, s, c->fr, AC_CAUSE);
	APPEND_LIT(s, ",\"posting_id\":");
	json_int8_or_null(s, c->has_posting, c->posting_id);
	APPEND_LIT(s, ",\"reservation_id\":");
	json_int8_or_null(s, c->has_reservation, c->reservation_id);
	if (!data->deterministic)
	{
		APPEND_LIT(s, ",\"changed_at\":");
		json_timestamptz(s, DatumGetTimestampTz(c->changed_at));
	}
	appendStringInfoChar(s, '}');
}

#define DATUM(c) FEED_DATUM(data, fr, c)
#define ISNULL(c) FEED_ISNULL(data, fr, c)

/* channel_atp_change: a channel's ATP for an item changed (every column is NOT NULL but the ids). */
void
feed_atp_from_atp_row(FeedData *data, const FeedRel *fr, FeedAtpChange *c)
{
	c->channel = DATUM(AC_CHANNEL);
	c->item = DATUM(AC_ITEM);
	c->atp_before = DATUM(AC_ATP_BEFORE);
	c->atp_after = DATUM(AC_ATP_AFTER);
	c->version = DatumGetInt64(DATUM(AC_VERSION));
	c->cause = NULL;
	c->fr = fr;
	c->has_posting = !ISNULL(AC_POSTING_ID);
	c->posting_id = c->has_posting ? DatumGetInt64(DATUM(AC_POSTING_ID)) : 0;
	c->has_reservation = !ISNULL(AC_RESERVATION_ID);
	c->reservation_id = c->has_reservation ? DatumGetInt64(DATUM(AC_RESERVATION_ID)) : 0;
	c->changed_at = DATUM(AC_CHANGED_AT);
}

/*
 * A reservation_change row with atp_before records its channel's ATP move itself
 * (channel_atp_change has no row for it): the atp event that row would have been.
 */
void
feed_atp_from_reservation_row(FeedData *data, const FeedRel *fr, FeedAtpChange *c)
{
	c->channel = DATUM(RC_CHANNEL);
	c->item = DATUM(RC_ITEM);
	c->atp_before = DATUM(RC_ATP_BEFORE);
	c->atp_after = DATUM(RC_ATP_AFTER);
	c->version = DatumGetInt64(DATUM(RC_VERSION));
	c->cause = "reservation";
	c->fr = NULL;
	c->has_posting = false;
	c->posting_id = 0;
	c->has_reservation = true;
	c->reservation_id = DatumGetInt64(DATUM(RC_RESERVATION_ID));
	c->changed_at = DATUM(RC_CHANGED_AT);
}

#undef DATUM
#undef ISNULL
