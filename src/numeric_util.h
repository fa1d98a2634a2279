/*
 * numeric_util.h
 *		Arithmetic on PostgreSQL numerics, as plain functions.
 *
 * Quantities are numeric everywhere (a fraction of a kilogram, a case of 12): these
 * wrappers keep the fmgr calls out of the rules that use them, so a rule reads as the
 * arithmetic it is. Results are palloc'd in CurrentMemoryContext; NaN and infinity
 * behave as numeric's own operators make them (callers refuse them before arithmetic).
 */
#ifndef INVENTORY_SYNC_NUMERIC_UTIL_H
#define INVENTORY_SYNC_NUMERIC_UTIL_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"

static inline Numeric
num_zero(void)
{
	return int64_to_numeric(0);
}

static inline Numeric
num_mul(Numeric a, Numeric b)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_mul, NumericGetDatum(a), NumericGetDatum(b)));
}

static inline Numeric
num_add(Numeric a, Numeric b)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_add, NumericGetDatum(a), NumericGetDatum(b)));
}

static inline Numeric
num_sub(Numeric a, Numeric b)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_sub, NumericGetDatum(a), NumericGetDatum(b)));
}

static inline Numeric
num_neg(Numeric a)
{
	return DatumGetNumeric(DirectFunctionCall1(numeric_uminus, NumericGetDatum(a)));
}

/* -1, 0 or 1, as numeric's btree order has it (NaN sorts above every number) */
static inline int
num_cmp(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(a), NumericGetDatum(b)));
}

static inline int
num_sign(Numeric a)
{
	return num_cmp(a, num_zero());
}

static inline bool
num_is_integral(Numeric a)
{
	Numeric		t = DatumGetNumeric(DirectFunctionCall2(numeric_trunc, NumericGetDatum(a),
														Int32GetDatum(0)));

	return num_cmp(a, t) == 0;
}

/* a quantity that can be promised or moved: a number, finite, above zero */
static inline bool
num_is_positive_finite(Numeric a)
{
	return !numeric_is_nan(a) && !numeric_is_inf(a) && num_sign(a) > 0;
}

/* the text numeric_out gives, for messages */
static inline char *
num_text(Numeric a)
{
	return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(a)));
}

#endif							/* INVENTORY_SYNC_NUMERIC_UTIL_H */
