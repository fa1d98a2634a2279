/*
 * gs1_parse.c
 *		gs1_parse(text): a scanned GS1 element string (GS1-128, DataMatrix, QR) into typed
 *		fields.
 *
 * Two forms are read:
 *   bracketed  (01)09506000134352(17)261231(10)ABC123
 *   raw        01095060001343521726123110ABC123, variable-length fields ended by FNC1
 *              (ASCII 29, GS) unless last, optionally prefixed by a symbology
 *              identifier (]C1 GS1-128, ]d2 DataMatrix, ]Q3 QR, ]e0 DataBar).
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/htup_details.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"

#include "gs1.h"

#define GS 0x1D

typedef enum AiKind
{
	AI_SSCC, AI_GTIN, AI_CONTENT, AI_LOT, AI_PROD_DATE, AI_PACK_DATE, AI_BEST_BEFORE,
	AI_SELL_BY, AI_EXPIRY, AI_VARIANT, AI_SERIAL, AI_VAR_COUNT, AI_COUNT, AI_SHIP_TO,
	AI_LOCATION,
	NUM_AI
} AiKind;

typedef enum AiFormat
{
	F_KEY,						/* GS1 key with check digit (gs1_key_parse) */
	F_DATE,						/* YYMMDD */
	F_DIGITS,					/* numeric */
	F_CSET82					/* GS1 set 82 */
} AiFormat;

typedef struct AiDef
{
	const char *ai;
	AiKind		kind;
	bool		fixed;			/* fixed length: no FNC1 needed after it */
	int			length;			/* the length, or the maximum when variable */
	AiFormat	format;
	Gs1KeyKind	key;
	const char *title;
} AiDef;

/* Column order of gs1_element_string follows AiKind. */
static const AiDef ai_defs[NUM_AI] = {
	{"00", AI_SSCC, true, 18, F_KEY, GS1_KEY_SSCC, "SSCC"},
	{"01", AI_GTIN, true, 14, F_KEY, GS1_KEY_GTIN, "GTIN"},
	{"02", AI_CONTENT, true, 14, F_KEY, GS1_KEY_GTIN, "CONTENT"},
	{"10", AI_LOT, false, 20, F_CSET82, 0, "BATCH/LOT"},
	{"11", AI_PROD_DATE, true, 6, F_DATE, 0, "PROD DATE"},
	{"13", AI_PACK_DATE, true, 6, F_DATE, 0, "PACK DATE"},
	{"15", AI_BEST_BEFORE, true, 6, F_DATE, 0, "BEST BEFORE"},
	{"16", AI_SELL_BY, true, 6, F_DATE, 0, "SELL BY"},
	{"17", AI_EXPIRY, true, 6, F_DATE, 0, "USE BY/EXPIRY"},
	{"20", AI_VARIANT, true, 2, F_DIGITS, 0, "VARIANT"},
	{"21", AI_SERIAL, false, 20, F_CSET82, 0, "SERIAL"},
	{"30", AI_VAR_COUNT, false, 8, F_DIGITS, 0, "VAR. COUNT"},
	{"37", AI_COUNT, false, 8, F_DIGITS, 0, "COUNT"},
	{"410", AI_SHIP_TO, true, 13, F_KEY, GS1_KEY_GLN, "SHIP TO LOC"},
	{"414", AI_LOCATION, true, 13, F_KEY, GS1_KEY_GLN, "LOC No."},
};

typedef struct ParseState
{
	const char *input;			/* the whole text, for messages */
	int			inlen;
	int			ref_year;		/* year of the reference date (century rule) */
	Datum		values[NUM_AI];
	bool		present[NUM_AI];
	char	   *raw[NUM_AI];	/* the value as scanned, to compare repeats */
} ParseState;

/* How many bytes of a bad element string (or field) an error message quotes. */
#define GS1_PARSE_QUOTE_MAX 60

/* A bounded copy of (part of) the input for a message; see gs1_quote. */
static inline char *
shown(const char *s, int len)
{
	return gs1_quote(s, len, GS1_PARSE_QUOTE_MAX);
}

pg_noreturn static void
parse_error(ParseState *st, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid GS1 element string: \"%s\"", shown(st->input, st->inlen)),
			 errdetail_internal("%s", detail),
			 hint ? errhint("%s", hint) : 0));
}

/* The AI at s, among those we read; NULL when unknown. */
static const AiDef *
find_ai(const char *s, int len)
{
	int			i;

	for (i = 0; i < NUM_AI; i++)
	{
		int			n = strlen(ai_defs[i].ai);

		if (len >= n && memcmp(s, ai_defs[i].ai, n) == 0)
			return &ai_defs[i];
	}
	return NULL;
}

static inline bool
all_digits(const char *s, int len)
{
	int			i;

	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/*
 * GS1 General Specifications 7.12: a two-digit year is placed within 49 years before and
 * 50 years after the reference year.
 */
static int
gs1_full_year(int yy, int ref_year)
{
	int			century = ref_year - ref_year % 100;
	int			diff = yy - ref_year % 100;

	if (diff >= 51)
		century -= 100;
	else if (diff <= -50)
		century += 100;
	return century + yy;
}

static Datum
parse_date(ParseState *st, const AiDef *def, const char *v)
{
	int			yy = (v[0] - '0') * 10 + (v[1] - '0');
	int			mm = (v[2] - '0') * 10 + (v[3] - '0');
	int			dd = (v[4] - '0') * 10 + (v[5] - '0');
	int			year = gs1_full_year(yy, st->ref_year);
	int			last;

	if (mm < 1 || mm > 12)
		parse_error(st, psprintf("AI (%s) %s: month %02d in \"%.6s\" is not 01 to 12.",
								 def->ai, def->title, mm, v), "Dates are YYMMDD.");
	last = day_tab[isleap(year)][mm - 1];
	if (dd == 0)
		dd = last;				/* GS1: day 00 means the last day of the month */
	else if (dd > last)
		parse_error(st, psprintf("AI (%s) %s: day %02d in \"%.6s\" does not exist in %04d-%02d.",
								 def->ai, def->title, dd, v, year, mm),
					"Day 00 stands for the last day of the month.");
	return DateADTGetDatum(date2j(year, mm, dd) - POSTGRES_EPOCH_JDATE);
}

/* Check and convert one field; value is v[0..len). */
static void
take_field(ParseState *st, const AiDef *def, const char *v, int len)
{
	Datum		d = (Datum) 0;

	if (def->fixed ? len != def->length : (len < 1 || len > def->length))
		parse_error(st, def->fixed
					? psprintf("AI (%s) %s needs exactly %d characters, \"%s\" has %d.",
							   def->ai, def->title, def->length, shown(v, len), len)
					: psprintf("AI (%s) %s takes 1 to %d characters, \"%s\" has %d.",
							   def->ai, def->title, def->length, shown(v, len), len),
					def->fixed ? NULL
					: "In the raw form, a variable-length field ends with FNC1 (ASCII 29) unless it is last.");

	switch (def->format)
	{
		case F_KEY:
			{
				int64		key;

				if (!all_digits(v, len))
					parse_error(st, psprintf("AI (%s) %s \"%s\" is not all digits.",
											 def->ai, def->title, shown(v, len)), NULL);
				if (!gs1_key_parse(def->key, v, len, &key, false))
					parse_error(st, psprintf("AI (%s) %s \"%.*s\" has a wrong check digit.",
											 def->ai, def->title, len, v),
								psprintf("The check digit should be %d.", gs1_check_digit(v, len - 1)));
				d = Int64GetDatum(key);
				break;
			}
		case F_DATE:
			if (!all_digits(v, len))
				parse_error(st, psprintf("AI (%s) %s \"%s\" is not a YYMMDD date.",
										 def->ai, def->title, shown(v, len)), NULL);
			d = parse_date(st, def, v);
			break;
		case F_DIGITS:
			if (!all_digits(v, len))
				parse_error(st, psprintf("AI (%s) %s \"%s\" is not all digits.",
										 def->ai, def->title, shown(v, len)), NULL);
			d = def->kind == AI_VARIANT ? CStringGetTextDatum(pnstrdup(v, len))
				: Int64GetDatum(pg_strtoint64(pnstrdup(v, len)));
			break;
		case F_CSET82:
			{
				int			start;
				int			end;
				int			bad = gs1_text_check(v, len, &start, &end);

				if (bad != -1 || start != 0 || end != len)
					parse_error(st, psprintf("AI (%s) %s \"%s\" has a character outside GS1 character set 82.",
											 def->ai, def->title, shown(v, len)),
								"Allowed: A-Z a-z 0-9 and ! \" % & ' ( ) * + , - . / : ; < = > ? _");
				d = PointerGetDatum(cstring_to_text_with_len(v, len));
				break;
			}
	}

	if (st->present[def->kind])
	{
		if (strlen(st->raw[def->kind]) != len || memcmp(st->raw[def->kind], v, len) != 0)
			parse_error(st, psprintf("AI (%s) %s appears twice with different values \"%s\" and \"%s\".",
									 def->ai, def->title, st->raw[def->kind], shown(v, len)), NULL);
		return;
	}
	st->present[def->kind] = true;
	st->raw[def->kind] = pnstrdup(v, len);
	st->values[def->kind] = d;
}

pg_noreturn static void
unknown_ai(ParseState *st, const char *at, int len)
{
	int			n = 0;

	while (n < len && n < 4 && at[n] >= '0' && at[n] <= '9')
		n++;
	parse_error(st, n >= 2 ? psprintf("Application identifier (%.*s) is not supported.", n, at)
				: psprintf("Expected an application identifier at \"%s\".", shown(at, len)),
				"Supported AIs: 00 01 02 10 11 13 15 16 17 20 21 30 37 410 414.");
}

/* (AI)value(AI)value... ; a value runs to the next "(digits)" or the end. */
static void
parse_bracketed(ParseState *st, const char *s, int len)
{
	int			pos = 0;

	while (pos < len)
	{
		int			close;
		const AiDef *def;
		int			vstart;
		int			vend;

		if (s[pos] != '(')
			parse_error(st, psprintf("Expected \"(\" at position %d.", pos + 1), NULL);
		close = pos + 1;
		while (close < len && s[close] != ')')
			close++;
		if (close >= len)
			parse_error(st, psprintf("Unclosed \"(\" at position %d.", pos + 1), NULL);
		def = find_ai(s + pos + 1, close - pos - 1);
		if (def == NULL || (int) strlen(def->ai) != close - pos - 1)
			unknown_ai(st, s + pos + 1, close - pos - 1);
		vstart = close + 1;
		vend = vstart;
		while (vend < len)
		{
			if (s[vend] == '(')
			{
				int			k = vend + 1;

				while (k < len && s[k] >= '0' && s[k] <= '9')
					k++;
				if (k < len && s[k] == ')' && k - vend - 1 >= 2 && k - vend - 1 <= 4)
					break;
			}
			vend++;
		}
		take_field(st, def, s + vstart, vend - vstart);
		pos = vend;
	}
}

/* AI value [GS] AI value ... ; fixed-length fields need no separator. */
static void
parse_raw(ParseState *st, const char *s, int len)
{
	int			pos = 0;

	while (pos < len)
	{
		const AiDef *def;
		int			ailen;
		int			vend;

		if (s[pos] == GS)
		{
			pos++;
			continue;
		}
		def = find_ai(s + pos, len - pos);
		if (def == NULL)
			unknown_ai(st, s + pos, len - pos);
		ailen = strlen(def->ai);
		pos += ailen;
		if (def->fixed)
			vend = Min(pos + def->length, len);
		else
		{
			vend = pos;
			while (vend < len && s[vend] != GS)
				vend++;
		}
		take_field(st, def, s + pos, vend - pos);
		pos = vend;
	}
}

static Datum
gs1_parse_internal(FunctionCallInfo fcinfo, text *input, int ref_year)
{
	ParseState	st;
	const char *s = VARDATA_ANY(input);
	int			len = VARSIZE_ANY_EXHDR(input);
	TupleDesc	desc;
	bool		nulls[NUM_AI];
	int			i;

	memset(&st, 0, sizeof(st));
	st.input = s;
	st.inlen = len;
	st.ref_year = ref_year;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "gs1_parse must return a composite type");
	desc = BlessTupleDesc(desc);
	if (desc->natts != NUM_AI)
		elog(ERROR, "gs1_element_string has %d columns, expected %d", desc->natts, NUM_AI);

	/* surrounding blanks and line ends from a scanner in keyboard mode */
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\r' || s[len - 1] == '\n' || s[len - 1] == '\t'))
		len--;
	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;

	if (len >= 3 && s[0] == ']')
	{
		static const char *const ids[] = {"]C1", "]d2", "]Q3", "]e0"};
		bool		ok = false;

		for (i = 0; i < lengthof(ids); i++)
			if (memcmp(s, ids[i], 3) == 0)
				ok = true;
		if (!ok)
			parse_error(&st, psprintf("Symbology identifier \"%.3s\" is not a GS1 one.", s),
						"GS1 element strings start with ]C1, ]d2, ]Q3 or ]e0, or with no identifier.");
		s += 3;
		len -= 3;
	}
	if (len == 0)
		parse_error(&st, "It holds no element.", "Scan a GS1 barcode: e.g. (01)09506000134352(10)ABC123.");

	if (s[0] == '(')
		parse_bracketed(&st, s, len);
	else
		parse_raw(&st, s, len);

	for (i = 0; i < NUM_AI; i++)
		nulls[i] = !st.present[i];
	return HeapTupleGetDatum(heap_form_tuple(desc, st.values, nulls));
}

PG_FUNCTION_INFO_V1(gs1_parse);
/* gs1_parse(text): two-digit years placed around the current year. */
Datum
gs1_parse(PG_FUNCTION_ARGS)
{
	struct pg_tm tm;

	GetCurrentDateTime(&tm);
	return gs1_parse_internal(fcinfo, PG_GETARG_TEXT_PP(0), tm.tm_year);
}

PG_FUNCTION_INFO_V1(gs1_parse_as_of);
/* gs1_parse(text, reference date): two-digit years placed around the reference year. */
Datum
gs1_parse_as_of(PG_FUNCTION_ARGS)
{
	DateADT		ref = PG_GETARG_DATEADT(1);
	int			y,
				m,
				d;

	if (DATE_NOT_FINITE(ref))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reference date must be finite")));
	j2date(ref + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	return gs1_parse_internal(fcinfo, PG_GETARG_TEXT_PP(0), y);
}
