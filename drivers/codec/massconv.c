/* Exact mass unit conversion for the scale codecs (see massconv.h). Uses 128-bit intermediate
 * arithmetic so that every supported unit converts without rounding before the final step. */
#include <stddef.h>

#include "massconv.h"

#include <assert.h>
#include <stdbool.h>

#include "base/err.h"

const struct mass_unit MASS_MG = {"mg", 1, 1};
const struct mass_unit MASS_G = {"g", 1000, 1};
const struct mass_unit MASS_KG = {"kg", 1000000, 1};
const struct mass_unit MASS_CT = {"ct", 200, 1};
/* Hong Kong tael: 1 1/3 oz avoirdupois = 37.799364166... g. */
const struct mass_unit MASS_TAEL = {"tael", 113398092500ull, 3000000ull};
const struct mass_unit MASS_GRAIN = {"gr", 6479891, 100000};
const struct mass_unit MASS_DWT = {"dwt", 155517384, 100000}; /* 24 grains */
const struct mass_unit MASS_TONNE = {"t", 1000000000ull, 1};
const struct mass_unit MASS_TON = {"ton", 907184740ull, 1}; /* short ton, 2000 lb */
const struct mass_unit MASS_OZT = {"ozt", 311034768, 10000};
const struct mass_unit MASS_OZ = {"oz", 28349523125ull, 1000000};
const struct mass_unit MASS_LB = {"lb", 45359237, 100};

__extension__ typedef unsigned __int128 u128;

int mass_to_mg(int64_t mantissa, int exp10, const struct mass_unit *u, int64_t *mg_out)
{
    u128 num, den, q, r;
    uint64_t mag;
    assert(u && mg_out && u->mg_den > 0);
    mag = mantissa < 0 ? (uint64_t)0 - (uint64_t)mantissa : (uint64_t)mantissa;
    if (mag == 0) {
        *mg_out = 0;
        return 0;
    }
    /* mag < 2^63, mg_num < 2^37: the product fits in 100 bits; 10^exp must keep it < 2^127. */
    num = (u128)mag * u->mg_num;
    den = u->mg_den;
    if (exp10 > 0) {
        if (exp10 > 24)
            return WCS_E_RANGE;
        for (int i = 0; i < exp10; i++) {
            num *= 10;
            if (num >> 126)
                return WCS_E_RANGE;
        }
    } else if (exp10 < 0) {
        if (exp10 < -40) {
            /* 10^40 exceeds any numerator we can hold: the value rounds to zero. */
            *mg_out = 0;
            return 0;
        }
        for (int i = 0; i < -exp10; i++)
            den *= 10;
    }
    q = num / den;
    r = num % den;
    if (2 * r >= den)
        q++;
    if (q > (u128)INT64_MAX)
        return WCS_E_RANGE;
    *mg_out = mantissa < 0 ? -(int64_t)q : (int64_t)q;
    return 0;
}

int mass_parse_decimal(const char *s, size_t len, int64_t *mantissa, int *exp10)
{
    size_t i = 0;
    int digits = 0, frac = 0;
    bool neg = false, point = false, seen = false;
    int64_t m = 0;
    if (i < len && (s[i] == '-' || s[i] == '+')) {
        neg = s[i] == '-';
        i++;
    }
    for (; i < len; i++) {
        if (s[i] == '.') {
            if (point)
                return WCS_E_SYNTAX;
            point = true;
            continue;
        }
        if (s[i] < '0' || s[i] > '9')
            return WCS_E_SYNTAX;
        /* Leading zeros do not count towards the 18 significant digits. */
        if ((m > 0 || s[i] != '0') && ++digits > 18)
            return WCS_E_SYNTAX;
        seen = true;
        m = m * 10 + (s[i] - '0');
        if (point)
            frac++;
    }
    if (!seen)
        return WCS_E_SYNTAX;
    *mantissa = neg ? -m : m;
    *exp10 = -frac;
    return 0;
}
