/* MT-SICS command parser and reply formatter for the scale emulator (sim/include/sim/sics.h).
 * Reply shapes from the MT-SICS reference manual: "S S <w> <u>" stable, "S D <w> <u>" dynamic,
 * "S I" not executable (busy or no stability within the timeout), "S +" / "S -" overload and
 * underload; errors "ES" (syntax) and "EL" (logical). */
#include "sim/sics.h"

#include "base/err.h"

#include <stdio.h>
#include <string.h>

int sics_parse(const char *line, size_t len)
{
    static const struct {
        const char *name;
        enum sics_cmd cmd;
    } tab[] = {{"S", SICS_S}, {"SI", SICS_SI},   {"Z", SICS_Z},   {"ZI", SICS_ZI},
               {"T", SICS_T}, {"TAC", SICS_TAC}, {"I4", SICS_I4}, {"@", SICS_RESET}};
    size_t b = 0, e = len, w;
    while (e > b && (line[e - 1] == '\r' || line[e - 1] == '\n' || line[e - 1] == ' '))
        e--;
    while (b < e && line[b] == ' ')
        b++;
    w = b;
    while (w < e && line[w] != ' ')
        w++;
    if (w == b)
        return WCS_E_SYNTAX;
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        if (strlen(tab[i].name) == w - b && memcmp(tab[i].name, line + b, w - b) == 0)
            return w == e ? (int)tab[i].cmd : WCS_E_RANGE;
    }
    return WCS_E_SYNTAX;
}

int sics_fmt_weight(char *out, size_t cap, const char *cmd, char status, int64_t weight_mg,
                    uint32_t resolution_mg)
{
    char num[32];
    int dec, n;
    int64_t r, whole, frac, scale;
    switch (resolution_mg) {
    case 1:
        dec = 3;
        break;
    case 10:
        dec = 2;
        break;
    case 100:
        dec = 1;
        break;
    case 1000:
        dec = 0;
        break;
    default:
        return WCS_E_RANGE;
    }
    if (weight_mg > 99999999999LL || weight_mg < -99999999999LL)
        return WCS_E_RANGE;
    /* Round half away from zero to the display step. */
    r = weight_mg >= 0 ? (weight_mg + resolution_mg / 2) / resolution_mg
                       : -((-weight_mg + resolution_mg / 2) / resolution_mg);
    scale = 1000 / resolution_mg; /* steps per gram */
    whole = (r < 0 ? -r : r) / scale;
    frac = (r < 0 ? -r : r) % scale;
    if (dec == 0)
        n = snprintf(num, sizeof(num), "%s%lld", r < 0 ? "-" : "", (long long)whole);
    else
        n = snprintf(num, sizeof(num), "%s%lld.%0*lld", r < 0 ? "-" : "", (long long)whole, dec,
                     (long long)frac);
    if (n < 0 || n > 10)
        return WCS_E_RANGE;
    n = snprintf(out, cap, "%s %c %10s g", cmd, status, num);
    if (n < 0 || (size_t)n >= cap)
        return WCS_E_EXHAUSTED;
    return n;
}
