/*
 * gs1.h
 *		The GS1 check-digit engine and numeric keys (GTIN, GLN, SSCC), shared by the
 *		identifier types (gs1_key.c, gs1_text.c) and the element-string parser (gs1_parse.c).
 *
 * A numeric key is stored as the int64 value of its full digit string, check digit
 * included: GTIN-8/12/13 are widened to GTIN-14 by leading zeros (GS1's rule for
 * databases), so every GTIN has one canonical value and int8 ordering equals the order
 * of the zero-padded 14-digit text.
 */
#ifndef INVENTORY_SYNC_GS1_H
#define INVENTORY_SYNC_GS1_H

#include "postgres.h"

typedef enum Gs1KeyKind
{
	GS1_KEY_GTIN,				/* 8, 12, 13 or 14 digits; canonical width 14 */
	GS1_KEY_GLN,				/* 13 digits */
	GS1_KEY_SSCC				/* 18 digits */
} Gs1KeyKind;

/* Canonical width in digits of a key kind (14, 13, 18). */
extern int	gs1_key_width(Gs1KeyKind kind);

/* SQL type name of a key kind, for messages ("gtin", "gln", "sscc"). */
extern const char *gs1_key_typname(Gs1KeyKind kind);

/* GS1 mod-10 check digit for a body of len digits (no check digit), as an int 0..9. */
extern int	gs1_check_digit(const char *body, int len);

/*
 * Parse len bytes of str (not necessarily NUL-terminated; surrounding blanks ignored)
 * as a key of the given kind.  On success stores the canonical value and returns true.
 * On failure: raises a 22P02 error naming the type, quoting the input and hinting at the
 * fix when raise is true; returns false when raise is false.
 */
extern bool gs1_key_parse(Gs1KeyKind kind, const char *str, int len, int64 *result,
						  bool raise);

/* Write the canonical zero-padded digits of value into buf (at least 19 bytes), NUL-ended. */
extern void gs1_key_format(Gs1KeyKind kind, int64 value, char *buf);

/*
 * A palloc'd copy of what the user typed, for quoting in an error message: the whole of
 * it when it has at most max bytes, else its first max bytes or fewer (never half a
 * character) followed by "...". A bad input may be megabytes long; its start is enough.
 */
extern char *gs1_quote(const char *str, int len, int max);

/*
 * GS1 lot and serial values (gs1_text.c): find the value in len bytes, surrounding blanks
 * dropped. Returns -1 when it is 1 to 20 characters of set 82, 0 when its length is
 * wrong, else the 1-based position of the first character outside set 82.
 */
extern int	gs1_text_check(const char *s, int len, int *start, int *end);

#endif							/* INVENTORY_SYNC_GS1_H */
