/* Private helper of the scale codecs (hidpos, mtsics, nci): exact integer conversion of a
 * decimal reading (mantissa x 10^exponent in some unit) to milligrams, rounded to nearest with
 * halves away from zero. Each unit is an exact rational number of milligrams. Not installed:
 * only the codec sources in drivers/codec include it. */
#ifndef DRIVERS_CODEC_MASSCONV_H
#define DRIVERS_CODEC_MASSCONV_H

#include <stdint.h>

struct mass_unit {
    const char *name; /* wire abbreviation, e.g. "g", "kg", "lb" */
    uint64_t mg_num;  /* one unit = mg_num / mg_den milligrams, exactly */
    uint64_t mg_den;
};

/* Exact factors (international avoirdupois pound 0.45359237 kg, troy ounce 31.1034768 g,
 * grain 64.79891 mg, metric carat 200 mg, short ton 2000 lb, Hong Kong tael 4/3 oz). */
extern const struct mass_unit MASS_MG, MASS_G, MASS_KG, MASS_CT, MASS_TAEL, MASS_GRAIN, MASS_DWT,
    MASS_TONNE, MASS_TON, MASS_OZT, MASS_OZ, MASS_LB;

/* Converts mantissa x 10^exp10 units to milligrams. Returns 0 with *mg_out set, or
 * WCS_E_RANGE when the result does not fit in int64 or |exp10| is beyond what can matter. */
int mass_to_mg(int64_t mantissa, int exp10, const struct mass_unit *u, int64_t *mg_out);

/* Parses a decimal number "[-+]digits[.digits]" of exactly len chars into mantissa and a
 * negative exponent (digits after the point). At most 18 significant digits. Returns 0 or
 * WCS_E_SYNTAX. */
int mass_parse_decimal(const char *s, size_t len, int64_t *mantissa, int *exp10);

#endif
