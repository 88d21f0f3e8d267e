/* The scale emulator's own MT-SICS codec (Mettler Toledo Standard Interface Command Set,
 * level 0/1): parses one command line and formats the replies. Pure: no I/O, no allocation.
 * Kept apart from drivers/codec on purpose (a shared codec would hide its own bugs). */
#ifndef SIM_SICS_H
#define SIM_SICS_H

#include <stddef.h>
#include <stdint.h>

enum sics_cmd {
    SICS_S = 1, /* stable weight */
    SICS_SI,    /* weight immediately */
    SICS_Z,     /* zero (when stable) */
    SICS_ZI,    /* zero immediately */
    SICS_T,     /* tare (when stable) */
    SICS_TAC,   /* clear tare */
    SICS_I4,    /* serial number */
    SICS_RESET, /* "@": cancel, clear tare, answer like I4 */
};

/* Parses one line without its terminator (a trailing CR or LF is tolerated). Leading and
 * trailing spaces are ignored; the command is case-sensitive, as on the instrument.
 * Returns the command (> 0), WCS_E_SYNTAX for an unknown or empty command (reply "ES"), or
 * WCS_E_RANGE for a known command given parameters it does not take (reply "EL"). */
int sics_parse(const char *line, size_t len);

/* Formats a weight reply "<cmd> <status> <weight> <unit>" with the weight right-aligned in 10
 * characters: e.g. ("S", 'S', 100000, 10, "g") gives "S S     100.00 g". The value in mg is
 * rounded to resolution_mg (1, 10, 100 or 1000: 3, 2, 1 or 0 decimals in grams); unit is "g".
 * Returns the length written (without NUL), or WCS_E_EXHAUSTED / WCS_E_RANGE. */
int sics_fmt_weight(char *out, size_t cap, const char *cmd, char status, int64_t weight_mg,
                    uint32_t resolution_mg);

#endif
