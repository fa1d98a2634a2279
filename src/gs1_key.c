/*
 * gs1_key.c
 *		The GS1 numeric keys gtin, gln and sscc: one check-digit engine, three types.
 *
 * Each key is an 8-byte pass-by-value int64 holding the number its full digit string spells,
 * check digit included (see gs1.h), so comparison, hashing and sorting are the built-in int8
 * functions (wrapped in SQL, like contrib/isn) and only I/O and validation live here.
 *
 * The input path is the hot one (bulk loads of scanned codes): one pass over the bytes that
 * checks the characters, accumulates the value and the weighted check-digit sums together,
 * with no allocation.  Everything that explains a failure is on a separate cold path.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "gs1.h"

/* Widest key (SSCC) in digits; an int64 holds 18 digits without overflow. */
#define GS1_MAX_WIDTH	18

/* How many bytes of a bad input an error message quotes before cutting it off with "...". */
#define GS1_QUOTE_MAX	40

/* What each key kind accepts. */
typedef struct Gs1KeyInfo
{
	const char *typname;		/* SQL type name, for messages */
	int			width;			/* canonical number of digits */
	uint32		lengths;		/* bit n set: n digits (check digit included) accepted */
	const char *lengths_text;	/* the accepted lengths, for hints */
	const char *body_lengths_text;	/* the same without the check digit */
} Gs1KeyInfo;

static const Gs1KeyInfo gs1_keys[] = {
	[GS1_KEY_GTIN] = {"gtin", 14, (1U << 8) | (1U << 12) | (1U << 13) | (1U << 14),
	"8, 12, 13 or 14", "7, 11, 12 or 13"},
	[GS1_KEY_GLN] = {"gln", 13, 1U << 13, "13", "12"},
	[GS1_KEY_SSCC] = {"sscc", 18, 1U << 18, "18", "17"},
};

static const int64 gs1_pow10[GS1_MAX_WIDTH + 1] = {
	INT64CONST(1), INT64CONST(10), INT64CONST(100), INT64CONST(1000), INT64CONST(10000),
	INT64CONST(100000), INT64CONST(1000000), INT64CONST(10000000), INT64CONST(100000000),
	INT64CONST(1000000000), INT64CONST(10000000000), INT64CONST(100000000000),
	INT64CONST(1000000000000), INT64CONST(10000000000000), INT64CONST(100000000000000),
	INT64CONST(1000000000000000), INT64CONST(10000000000000000),
	INT64CONST(100000000000000000), INT64CONST(1000000000000000000)
};

/* Why a scan failed; GS1_SCAN_OK when it did not. */
typedef enum Gs1ScanStatus
{
	GS1_SCAN_OK,
	GS1_SCAN_EMPTY,
	GS1_SCAN_BAD_CHAR,
	GS1_SCAN_BAD_LENGTH,
	GS1_SCAN_BAD_CHECK
} Gs1ScanStatus;

/* The outcome of scanning one input: enough to build the value or explain the failure. */
typedef struct Gs1Scan
{
	Gs1ScanStatus status;
	int			begin;			/* byte offset of the first non-blank */
	int			ndigits;		/* bytes between the surrounding blanks */
	int			bad_offset;		/* byte offset of the first non-digit */
	int			found;			/* check digit written */
	int			expected;		/* check digit computed */
	uint64		value;
} Gs1Scan;

/* The description of a key kind; an out-of-range kind is a caller's bug. */
static inline const Gs1KeyInfo *
gs1_key_info(Gs1KeyKind kind)
{
	if ((int) kind < 0 || (int) kind >= (int) lengthof(gs1_keys))
		elog(ERROR, "unknown GS1 key kind %d", (int) kind);
	return &gs1_keys[kind];
}

/* The blanks that may surround a key: ASCII white space. */
static inline bool
gs1_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Whether n digits is an accepted length; mask is the kind's lengths bit set. */
static inline bool
gs1_length_ok(uint32 mask, int n)
{
	return n > 0 && n < 32 && ((mask >> n) & 1) != 0;
}

/* The GS1 mod-10 check digit for a weighted body sum. */
static inline int
gs1_check_from_sum(uint32 sum)
{
	return (10 - (int) (sum % 10)) % 10;
}

/*
 * Scan len bytes of str as a key (has_check) or as a key body still missing its check digit
 * (!has_check).  One pass: the weights run 3, 1, 3, ... leftwards from the digit next to the
 * check digit's position, so with the final width N known up front a digit at index i weighs
 * 3 exactly when N - 1 - i is odd.
 */
static inline bool
gs1_scan(const Gs1KeyInfo *info, const char *str, int len, bool has_check, Gs1Scan *sc)
{
	const char *p = str;
	const char *end = str + len;
	uint32		mask = has_check ? info->lengths : info->lengths >> 1;
	uint64		value = 0;
	uint32		sum1 = 0;
	uint32		sum3 = 0;
	int			n;
	int			full;
	int			i;

	while (p < end && gs1_is_blank(*p))
		p++;
	while (end > p && gs1_is_blank(end[-1]))
		end--;
	n = (int) (end - p);
	sc->begin = (int) (p - str);
	sc->ndigits = n;

	if (n == 0)
	{
		sc->status = GS1_SCAN_EMPTY;
		return false;
	}

	full = has_check ? n : n + 1;
	for (i = 0; i < n; i++)
	{
		uint32		d = (uint32) ((unsigned char) p[i]) - '0';

		if (unlikely(d > 9))
		{
			sc->status = GS1_SCAN_BAD_CHAR;
			sc->bad_offset = sc->begin + i;
			return false;
		}
		value = value * 10 + d; /* wraps harmlessly on overlong input, rejected below */
		if ((full - 1 - i) & 1)
			sum3 += d;
		else
			sum1 += d;
	}

	if (unlikely(!gs1_length_ok(mask, n)))
	{
		sc->status = GS1_SCAN_BAD_LENGTH;
		return false;
	}

	if (has_check)
	{
		sc->found = (int) (value % 10);
		sc->expected = gs1_check_from_sum(3 * sum3 + sum1 - (uint32) sc->found);
		if (unlikely(sc->found != sc->expected))
		{
			sc->status = GS1_SCAN_BAD_CHECK;
			return false;
		}
	}
	else
	{
		sc->expected = gs1_check_from_sum(3 * sum3 + sum1);
		value = value * 10 + (uint64) sc->expected;
	}

	sc->status = GS1_SCAN_OK;
	sc->value = value;
	return true;
}

/* The check digit a stored value should end with (value assumed in range). */
static inline int
gs1_value_check_digit(int64 value)
{
	uint64		v = (uint64) value / 10;
	uint32		sum = 0;
	bool		three = true;

	while (v > 0)
	{
		sum += (uint32) (v % 10) * (three ? 3 : 1);
		three = !three;
		v /= 10;
	}
	return gs1_check_from_sum(sum);
}

/* A bounded copy of an input for quoting in a message; see gs1.h. */
char *
gs1_quote(const char *str, int len, int max)
{
	int			clip;

	if (len <= max)
		return pnstrdup(str, len);
	clip = pg_mbcliplen(str, len, max);
	return psprintf("%.*s...", clip, str);
}

/* The offending character at off, printable (control characters as hex). */
static char *
gs1_describe_char(const char *str, int len, int off)
{
	unsigned char c = (unsigned char) str[off];
	int			clen;

	if (c < 0x20 || c == 0x7f)
		return psprintf("0x%02X", c);
	if (c < 0x80)
		return psprintf("\"%c\"", c);
	clen = Min(pg_mbcharcliplen(str + off, len - off, 1), len - off);
	if (clen < 1)
		clen = 1;
	return psprintf("\"%.*s\"", clen, str + off);
}

/*
 * Explain why str is not a key (or, with body, not a body to complete), as a 22P02 error.
 * The cold half of gs1_key_parse: allocation and multibyte awareness are fine here.
 */
static void
gs1_report(const Gs1KeyInfo *info, const char *str, int len, const Gs1Scan *sc, bool body)
{
	char	   *quoted = gs1_quote(str, len, GS1_QUOTE_MAX);
	char		lengths_hint[128];

	if (body)
		snprintf(lengths_hint, sizeof(lengths_hint),
				 "A body for type %s, without its check digit, has %s digits.",
				 info->typname, info->body_lengths_text);
	else
		snprintf(lengths_hint, sizeof(lengths_hint), "A value of type %s has %s digits.",
				 info->typname, info->lengths_text);

#define GS1_ERRMSG() \
	(body ? errmsg("invalid input syntax for %s_complete: \"%s\"", \
				   info->typname, quoted) \
	 : errmsg("invalid input syntax for type %s: \"%s\"", info->typname, quoted))

	switch (sc->status)
	{
		case GS1_SCAN_EMPTY:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 GS1_ERRMSG(),
					 errdetail("The input has no digits."),
					 errhint("%s", lengths_hint)));
			break;
		case GS1_SCAN_BAD_CHAR:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 GS1_ERRMSG(),
					 errdetail("Non-digit character %s at position %d.",
							   gs1_describe_char(str, len, sc->bad_offset),
							   pg_mbstrlen_with_len(str, sc->bad_offset) + 1),
					 errhint("A value of type %s is written with the digits 0 to 9 only.",
							 info->typname)));
			break;
		case GS1_SCAN_BAD_LENGTH:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 GS1_ERRMSG(),
					 errdetail("Wrong length: %d digits.", sc->ndigits),
					 errhint("%s", lengths_hint)));
			break;
		case GS1_SCAN_BAD_CHECK:
			{
				/* an accepted length is at most GS1_MAX_WIDTH digits */
				char		fixed[GS1_MAX_WIDTH + 1];

				memcpy(fixed, str + sc->begin, sc->ndigits);
				fixed[sc->ndigits] = '\0';
				fixed[sc->ndigits - 1] = (char) ('0' + sc->expected);
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 GS1_ERRMSG(),
						 errdetail("The check digit is %d, but the GS1 mod-10 check digit of %.*s is %d.",
								   sc->found, sc->ndigits - 1, fixed, sc->expected),
						 errhint("The check digit should be %d: %s.", sc->expected, fixed)));
			}
			break;
		case GS1_SCAN_OK:
			break;
	}
#undef GS1_ERRMSG
	elog(ERROR, "gs1_report called for a valid %s", info->typname);
}

/* Canonical width in digits of a key kind (14, 13, 18). */
int
gs1_key_width(Gs1KeyKind kind)
{
	return gs1_key_info(kind)->width;
}

/* SQL type name of a key kind, for messages ("gtin", "gln", "sscc"). */
const char *
gs1_key_typname(Gs1KeyKind kind)
{
	return gs1_key_info(kind)->typname;
}

/* GS1 mod-10 check digit for a body of len digits (no check digit), as an int 0..9. */
int
gs1_check_digit(const char *body, int len)
{
	uint32		sum = 0;
	int			i;

	for (i = 0; i < len; i++)
	{
		uint32		d = (uint32) ((unsigned char) body[i]) - '0';

		Assert(d <= 9);
		sum += ((len - 1 - i) & 1) ? d : 3 * d;
	}
	return gs1_check_from_sum(sum);
}

/* Parse a key; see gs1.h for the contract. */
bool
gs1_key_parse(Gs1KeyKind kind, const char *str, int len, int64 *result, bool raise)
{
	const Gs1KeyInfo *info = gs1_key_info(kind);
	Gs1Scan		sc;

	if (likely(len >= 0 && gs1_scan(info, str, len, true, &sc)))
	{
		*result = (int64) sc.value;
		return true;
	}
	if (raise)
	{
		if (len < 0)
			elog(ERROR, "negative length %d passed to gs1_key_parse", len);
		gs1_report(info, str, len, &sc, false);
	}
	return false;
}

/* Write the canonical zero-padded digits of value into buf (at least 19 bytes), NUL-ended. */
void
gs1_key_format(Gs1KeyKind kind, int64 value, char *buf)
{
	int			width = gs1_key_info(kind)->width;
	uint64		v = (uint64) value;
	int			i;

	buf[width] = '\0';
	for (i = width - 1; i >= 0; i--)
	{
		buf[i] = (char) ('0' + v % 10);
		v /= 10;
	}
}

/* Complete a body (digits without the check digit) into a key, or raise 22P02. */
static int64
gs1_key_complete(Gs1KeyKind kind, const char *str, int len)
{
	const Gs1KeyInfo *info = gs1_key_info(kind);
	Gs1Scan		sc;

	if (!gs1_scan(info, str, len, false, &sc))
		gs1_report(info, str, len, &sc, true);
	return (int64) sc.value;
}

/*
 * Validate a number as a stored key: in range for the width and ending in the right check
 * digit.  binary: it came from a binary receive (22P03) rather than a bigint cast.
 */
static inline int64
gs1_key_check_value(Gs1KeyKind kind, int64 value, bool binary)
{
	const Gs1KeyInfo *info = gs1_key_info(kind);
	int			expected;

	if (unlikely(value < 0 || value >= gs1_pow10[info->width]))
		ereport(ERROR,
				(errcode(binary ? ERRCODE_INVALID_BINARY_REPRESENTATION
						 : ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 binary ? errmsg("invalid external value " INT64_FORMAT " for type %s",
								 value, info->typname)
				 : errmsg("bigint " INT64_FORMAT " is out of range for type %s",
						  value, info->typname),
				 errdetail("A value of type %s is a number of at most %d digits, check digit included.",
						   info->typname, info->width)));

	expected = gs1_value_check_digit(value);
	if (unlikely(value % 10 != expected))
		ereport(ERROR,
				(errcode(binary ? ERRCODE_INVALID_BINARY_REPRESENTATION
						 : ERRCODE_INVALID_TEXT_REPRESENTATION),
				 binary ? errmsg("invalid external value " INT64_FORMAT " for type %s",
								 value, info->typname)
				 : errmsg("bigint " INT64_FORMAT " is not a valid %s", value, info->typname),
				 errdetail("The check digit is %d, but the GS1 mod-10 check digit of " INT64_FORMAT " is %d.",
						   (int) (value % 10), value / 10, expected),
				 errhint("The check digit should be %d: " INT64_FORMAT ".",
						 expected, value - value % 10 + expected)));
	return value;
}

/* Input of a key from a NUL-terminated string. */
static inline Datum
gs1_key_in_cstring(Gs1KeyKind kind, const char *str)
{
	int64		result;

	(void) gs1_key_parse(kind, str, (int) strlen(str), &result, true);
	return Int64GetDatum(result);
}

/* Canonical text output of a key as a palloc'd C string. */
static inline char *
gs1_key_out_cstring(Gs1KeyKind kind, int64 value)
{
	char	   *buf = palloc(GS1_MAX_WIDTH + 1);

	gs1_key_format(kind, value, buf);
	return buf;
}

/* A key parsed from a text datum. */
static inline Datum
gs1_key_from_text(Gs1KeyKind kind, text *txt)
{
	int64		result;

	(void) gs1_key_parse(kind, VARDATA_ANY(txt), (int) VARSIZE_ANY_EXHDR(txt), &result, true);
	return Int64GetDatum(result);
}

/* The canonical digits of a key as a text datum. */
static inline Datum
gs1_key_to_text(Gs1KeyKind kind, int64 value)
{
	char		buf[GS1_MAX_WIDTH + 1];

	gs1_key_format(kind, value, buf);
	return PointerGetDatum(cstring_to_text_with_len(buf, gs1_key_info(kind)->width));
}

/* Whether a text datum is a valid key; never raises. */
static inline Datum
gs1_key_text_is_valid(Gs1KeyKind kind, text *txt)
{
	int64		ignored;

	return BoolGetDatum(gs1_key_parse(kind, VARDATA_ANY(txt), (int) VARSIZE_ANY_EXHDR(txt),
									  &ignored, false));
}

/* A key completed from a text datum holding its body. */
static inline Datum
gs1_key_text_complete(Gs1KeyKind kind, text *txt)
{
	return Int64GetDatum(gs1_key_complete(kind, VARDATA_ANY(txt),
										  (int) VARSIZE_ANY_EXHDR(txt)));
}

/* A key from binary input, validated. */
static inline Datum
gs1_key_recv_buf(Gs1KeyKind kind, StringInfo buf)
{
	return Int64GetDatum(gs1_key_check_value(kind, pq_getmsgint64(buf), true));
}

/* Binary output of a key: its int64, network byte order. */
static inline Datum
gs1_key_send_value(int64 value)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, value);
	return PointerGetDatum(pq_endtypsend(&buf));
}

/* ---------------------------------------------------------------------------------------
 * gtin
 * ---------------------------------------------------------------------------------------
 */

/* gtin input: GTIN-8, -12, -13 or -14 digits, check digit verified, widened to 14. */
PG_FUNCTION_INFO_V1(gtin_in);
Datum
gtin_in(PG_FUNCTION_ARGS)
{
	return gs1_key_in_cstring(GS1_KEY_GTIN, PG_GETARG_CSTRING(0));
}

/* gtin output: the 14-digit canonical form. */
PG_FUNCTION_INFO_V1(gtin_out);
Datum
gtin_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(gs1_key_out_cstring(GS1_KEY_GTIN, PG_GETARG_INT64(0)));
}

/* gtin binary input: an int64, validated like text input. */
PG_FUNCTION_INFO_V1(gtin_recv);
Datum
gtin_recv(PG_FUNCTION_ARGS)
{
	return gs1_key_recv_buf(GS1_KEY_GTIN, (StringInfo) PG_GETARG_POINTER(0));
}

/* gtin binary output: the int64 value. */
PG_FUNCTION_INFO_V1(gtin_send);
Datum
gtin_send(PG_FUNCTION_ARGS)
{
	return gs1_key_send_value(PG_GETARG_INT64(0));
}

/* Cast text to gtin, validated like input. */
PG_FUNCTION_INFO_V1(gtin_from_text);
Datum
gtin_from_text(PG_FUNCTION_ARGS)
{
	return gs1_key_from_text(GS1_KEY_GTIN, PG_GETARG_TEXT_PP(0));
}

/* Cast gtin to text: the 14-digit canonical form. */
PG_FUNCTION_INFO_V1(gtin_to_text);
Datum
gtin_to_text(PG_FUNCTION_ARGS)
{
	return gs1_key_to_text(GS1_KEY_GTIN, PG_GETARG_INT64(0));
}

/* Cast bigint to gtin: the full number, check digit included, validated. */
PG_FUNCTION_INFO_V1(gtin_from_int8);
Datum
gtin_from_int8(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(gs1_key_check_value(GS1_KEY_GTIN, PG_GETARG_INT64(0), false));
}

/* Whether a text is a valid gtin; never raises. */
PG_FUNCTION_INFO_V1(gtin_is_valid);
Datum
gtin_is_valid(PG_FUNCTION_ARGS)
{
	return gs1_key_text_is_valid(GS1_KEY_GTIN, PG_GETARG_TEXT_PP(0));
}

/* The gtin a body of 7, 11, 12 or 13 digits makes once its check digit is appended. */
PG_FUNCTION_INFO_V1(gtin_complete);
Datum
gtin_complete(PG_FUNCTION_ARGS)
{
	return gs1_key_text_complete(GS1_KEY_GTIN, PG_GETARG_TEXT_PP(0));
}

/* The indicator digit: the first of the 14 (0 for GTIN-8/12/13). */
PG_FUNCTION_INFO_V1(gtin_indicator);
Datum
gtin_indicator(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32((int32) (PG_GETARG_INT64(0) / gs1_pow10[13]));
}

/*
 * The shortest display form: GTIN-8 when the 14 digits start with 6 zeros, else GTIN-12
 * with 2, else GTIN-13 with 1, else all 14.
 */
PG_FUNCTION_INFO_V1(gtin_display);
Datum
gtin_display(PG_FUNCTION_ARGS)
{
	int64		value = PG_GETARG_INT64(0);
	char		buf[GS1_MAX_WIDTH + 1];
	int			keep;

	if (value < gs1_pow10[8])
		keep = 8;
	else if (value < gs1_pow10[12])
		keep = 12;
	else if (value < gs1_pow10[13])
		keep = 13;
	else
		keep = 14;
	gs1_key_format(GS1_KEY_GTIN, value, buf);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf + 14 - keep, keep));
}

/* ---------------------------------------------------------------------------------------
 * gln
 * ---------------------------------------------------------------------------------------
 */

/* gln input: 13 digits, check digit verified. */
PG_FUNCTION_INFO_V1(gln_in);
Datum
gln_in(PG_FUNCTION_ARGS)
{
	return gs1_key_in_cstring(GS1_KEY_GLN, PG_GETARG_CSTRING(0));
}

/* gln output: 13 digits. */
PG_FUNCTION_INFO_V1(gln_out);
Datum
gln_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(gs1_key_out_cstring(GS1_KEY_GLN, PG_GETARG_INT64(0)));
}

/* gln binary input: an int64, validated like text input. */
PG_FUNCTION_INFO_V1(gln_recv);
Datum
gln_recv(PG_FUNCTION_ARGS)
{
	return gs1_key_recv_buf(GS1_KEY_GLN, (StringInfo) PG_GETARG_POINTER(0));
}

/* gln binary output: the int64 value. */
PG_FUNCTION_INFO_V1(gln_send);
Datum
gln_send(PG_FUNCTION_ARGS)
{
	return gs1_key_send_value(PG_GETARG_INT64(0));
}

/* Cast text to gln, validated like input. */
PG_FUNCTION_INFO_V1(gln_from_text);
Datum
gln_from_text(PG_FUNCTION_ARGS)
{
	return gs1_key_from_text(GS1_KEY_GLN, PG_GETARG_TEXT_PP(0));
}

/* Cast gln to text: 13 digits. */
PG_FUNCTION_INFO_V1(gln_to_text);
Datum
gln_to_text(PG_FUNCTION_ARGS)
{
	return gs1_key_to_text(GS1_KEY_GLN, PG_GETARG_INT64(0));
}

/* Cast bigint to gln: the full number, check digit included, validated. */
PG_FUNCTION_INFO_V1(gln_from_int8);
Datum
gln_from_int8(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(gs1_key_check_value(GS1_KEY_GLN, PG_GETARG_INT64(0), false));
}

/* Whether a text is a valid gln; never raises. */
PG_FUNCTION_INFO_V1(gln_is_valid);
Datum
gln_is_valid(PG_FUNCTION_ARGS)
{
	return gs1_key_text_is_valid(GS1_KEY_GLN, PG_GETARG_TEXT_PP(0));
}

/* The gln a 12-digit body makes once its check digit is appended. */
PG_FUNCTION_INFO_V1(gln_complete);
Datum
gln_complete(PG_FUNCTION_ARGS)
{
	return gs1_key_text_complete(GS1_KEY_GLN, PG_GETARG_TEXT_PP(0));
}

/* ---------------------------------------------------------------------------------------
 * sscc
 * ---------------------------------------------------------------------------------------
 */

/* sscc input: 18 digits, check digit verified. */
PG_FUNCTION_INFO_V1(sscc_in);
Datum
sscc_in(PG_FUNCTION_ARGS)
{
	return gs1_key_in_cstring(GS1_KEY_SSCC, PG_GETARG_CSTRING(0));
}

/* sscc output: 18 digits. */
PG_FUNCTION_INFO_V1(sscc_out);
Datum
sscc_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(gs1_key_out_cstring(GS1_KEY_SSCC, PG_GETARG_INT64(0)));
}

/* sscc binary input: an int64, validated like text input. */
PG_FUNCTION_INFO_V1(sscc_recv);
Datum
sscc_recv(PG_FUNCTION_ARGS)
{
	return gs1_key_recv_buf(GS1_KEY_SSCC, (StringInfo) PG_GETARG_POINTER(0));
}

/* sscc binary output: the int64 value. */
PG_FUNCTION_INFO_V1(sscc_send);
Datum
sscc_send(PG_FUNCTION_ARGS)
{
	return gs1_key_send_value(PG_GETARG_INT64(0));
}

/* Cast text to sscc, validated like input. */
PG_FUNCTION_INFO_V1(sscc_from_text);
Datum
sscc_from_text(PG_FUNCTION_ARGS)
{
	return gs1_key_from_text(GS1_KEY_SSCC, PG_GETARG_TEXT_PP(0));
}

/* Cast sscc to text: 18 digits. */
PG_FUNCTION_INFO_V1(sscc_to_text);
Datum
sscc_to_text(PG_FUNCTION_ARGS)
{
	return gs1_key_to_text(GS1_KEY_SSCC, PG_GETARG_INT64(0));
}

/* Cast bigint to sscc: the full number, check digit included, validated. */
PG_FUNCTION_INFO_V1(sscc_from_int8);
Datum
sscc_from_int8(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(gs1_key_check_value(GS1_KEY_SSCC, PG_GETARG_INT64(0), false));
}

/* Whether a text is a valid sscc; never raises. */
PG_FUNCTION_INFO_V1(sscc_is_valid);
Datum
sscc_is_valid(PG_FUNCTION_ARGS)
{
	return gs1_key_text_is_valid(GS1_KEY_SSCC, PG_GETARG_TEXT_PP(0));
}

/* The sscc a 17-digit body makes once its check digit is appended. */
PG_FUNCTION_INFO_V1(sscc_complete);
Datum
sscc_complete(PG_FUNCTION_ARGS)
{
	return gs1_key_text_complete(GS1_KEY_SSCC, PG_GETARG_TEXT_PP(0));
}

/* The extension digit: the first of the 18, chosen freely by the company that assigns it. */
PG_FUNCTION_INFO_V1(sscc_extension_digit);
Datum
sscc_extension_digit(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32((int32) (PG_GETARG_INT64(0) / gs1_pow10[17]));
}
