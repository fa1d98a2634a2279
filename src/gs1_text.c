/*
 * gs1_text.c
 *		lot_number (GS1 AI 10) and serial_number (AI 21): 1 to 20 characters of GS1's
 *		AI encodable character set 82, case-sensitive.
 *
 * Stored as a varlena like text and compared byte-wise (the SQL script reuses bytea's
 * comparison and hash functions), so ordering is the same in every collation.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#include "gs1.h"

#define GS1_TEXT_MAX 20

/* GS1 General Specifications, figure 7.11-1: the 82 characters of set 82. */
static inline bool
gs1_cset82(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
		return true;
	switch (c)
	{
		case '!': case '"': case '%': case '&': case '\'': case '(': case ')':
		case '*': case '+': case ',': case '-': case '.': case '/': case ':':
		case ';': case '<': case '=': case '>': case '?': case '_':
			return true;
		default:
			return false;
	}
}

/* How many bytes of a bad input an error message quotes (gs1_quote). */
#define GS1_TEXT_QUOTE_MAX 40

/*
 * Find the value in len bytes (surrounding blanks dropped: a blank is not in set 82).
 * Returns -1 when it is valid, 0 when its length is wrong, else the 1-based position
 * of the first character outside set 82.
 */
int
gs1_text_check(const char *s, int len, int *start, int *end)
{
	int			i;

	*start = 0;
	*end = len;
	while (*start < *end && (s[*start] == ' ' || s[*start] == '\t'))
		(*start)++;
	while (*end > *start && (s[*end - 1] == ' ' || s[*end - 1] == '\t'))
		(*end)--;
	if (*end - *start == 0 || *end - *start > GS1_TEXT_MAX)
		return 0;
	for (i = *start; i < *end; i++)
		if (!gs1_cset82((unsigned char) s[i]))
			return i + 1;
	return -1;
}

/* Validate and return the value as a new varlena; raise 22P02 naming the type otherwise. */
static text *
gs1_text_make(const char *typname, const char *ai, const char *s, int len)
{
	int			start;
	int			end;
	int			bad = gs1_text_check(s, len, &start, &end);

	if (bad == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"",
						typname, gs1_quote(s, len, GS1_TEXT_QUOTE_MAX)),
				 errdetail("It has %d characters.", end - start),
				 errhint("A GS1 AI (%s) value has 1 to %d characters.", ai, GS1_TEXT_MAX)));
	if (bad > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"",
						typname, gs1_quote(s, len, GS1_TEXT_QUOTE_MAX)),
				 errdetail("Character 0x%02x at position %d is not in GS1 character set 82.",
						   (unsigned char) s[bad - 1], bad),
				 errhint("Allowed: A-Z a-z 0-9 and ! \" %% & ' ( ) * + , - . / : ; < = > ? _")));
	return cstring_to_text_with_len(s + start, end - start);
}

#define GS1_TEXT_FUNCS(prefix, typname, ai) \
PG_FUNCTION_INFO_V1(prefix##_in); \
/* Text input: validate against set 82 and the length limit. */ \
Datum \
prefix##_in(PG_FUNCTION_ARGS) \
{ \
	char	   *s = PG_GETARG_CSTRING(0); \
	PG_RETURN_TEXT_P(gs1_text_make(typname, ai, s, strlen(s))); \
} \
PG_FUNCTION_INFO_V1(prefix##_out); \
/* Text output: the stored characters as they are. */ \
Datum \
prefix##_out(PG_FUNCTION_ARGS) \
{ \
	PG_RETURN_CSTRING(text_to_cstring(PG_GETARG_TEXT_PP(0))); \
} \
PG_FUNCTION_INFO_V1(prefix##_recv); \
/* Binary input: the characters, validated like text input. */ \
Datum \
prefix##_recv(PG_FUNCTION_ARGS) \
{ \
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0); \
	int			len = buf->len - buf->cursor; \
	const char *s = pq_getmsgbytes(buf, len); \
	PG_RETURN_TEXT_P(gs1_text_make(typname, ai, s, len)); \
} \
PG_FUNCTION_INFO_V1(prefix##_send); \
/* Binary output: the characters. */ \
Datum \
prefix##_send(PG_FUNCTION_ARGS) \
{ \
	text	   *t = PG_GETARG_TEXT_PP(0); \
	StringInfoData buf; \
	pq_begintypsend(&buf); \
	pq_sendbytes(&buf, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)); \
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf)); \
} \
PG_FUNCTION_INFO_V1(prefix##_from_text); \
/* Cast from text, validated. */ \
Datum \
prefix##_from_text(PG_FUNCTION_ARGS) \
{ \
	text	   *t = PG_GETARG_TEXT_PP(0); \
	PG_RETURN_TEXT_P(gs1_text_make(typname, ai, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t))); \
} \
PG_FUNCTION_INFO_V1(prefix##_is_valid); \
/* Would the text be accepted? Never raises. */ \
Datum \
prefix##_is_valid(PG_FUNCTION_ARGS) \
{ \
	text	   *t = PG_GETARG_TEXT_PP(0); \
	int			start, end; \
	PG_RETURN_BOOL(gs1_text_check(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &start, &end) < 0); \
}

GS1_TEXT_FUNCS(lot_number, "lot_number", "10")
GS1_TEXT_FUNCS(serial_number, "serial_number", "21")
