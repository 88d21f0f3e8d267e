/* Mettler Toledo MT-SICS (Standard Interface Command Set), level 0/1 subset: command lines,
 * reply parsing, and a line framer over byte chunks. Pure codec; the serial/TCP scale driver
 * sends what mtsics_build writes and feeds received bytes to the framer. */
#ifndef DRIVERS_CODEC_MTSICS_H
#define DRIVERS_CODEC_MTSICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mtsics_cmd {
    MTSICS_CMD_NONE = 0, /* replies not tied to a command: ES, ET, EL */
    MTSICS_CMD_S,        /* stable weight */
    MTSICS_CMD_SI,       /* weight immediately (replies with "S S" or "S D") */
    MTSICS_CMD_Z,        /* zero */
    MTSICS_CMD_T,        /* tare */
    MTSICS_CMD_TA,       /* query the tare value ("TA") */
    MTSICS_CMD_I4,       /* serial number */
};

enum mtsics_status {
    MTSICS_ST_STABLE,       /* S S / T S: stable weight (T S: the tare taken) */
    MTSICS_ST_DYNAMIC,      /* S D: non-stable weight */
    MTSICS_ST_DONE,         /* Z A / TA A / I4 A: command executed (TA A, I4 A carry a value) */
    MTSICS_ST_BUSY,         /* x I: cannot be executed now */
    MTSICS_ST_OVERLOAD,     /* x +: upper limit exceeded */
    MTSICS_ST_UNDERLOAD,    /* x -: lower limit exceeded */
    MTSICS_ST_LOGICAL,      /* x L: command understood but not executable (parameter) */
    MTSICS_ST_ERR_SYNTAX,   /* ES: command not recognised */
    MTSICS_ST_ERR_TRANSMIT, /* ET: transmission error (parity, line too long) */
    MTSICS_ST_ERR_LOGICAL,  /* EL: command understood, cannot be executed */
};

enum { MTSICS_LINE_MAX = 128, MTSICS_SERIAL_MAX = 32 };

struct mtsics_reply {
    enum mtsics_cmd cmd; /* whose reply this is; S covers both S and SI */
    enum mtsics_status status;
    bool has_weight;                    /* S S, S D, T S, TA A */
    int64_t weight_mg;                  /* rounded to nearest, halves away from zero */
    char unit[4];                       /* as sent: g, kg, mg, lb, oz */
    char serial[MTSICS_SERIAL_MAX + 1]; /* I4 A, without the quotes */
};

/* Writes the command line (with CR LF) for cmd into buf. Returns its length,
 * WCS_E_EXHAUSTED, or WCS_E_RANGE for MTSICS_CMD_NONE. No NUL is written. */
int mtsics_build(enum mtsics_cmd cmd, char *buf, size_t cap);

/* Parses one reply line (without CR LF; a trailing CR is tolerated). Returns 0, WCS_E_SYNTAX
 * (unknown command or status, malformed weight, missing quotes), or WCS_E_RANGE (unknown unit,
 * weight too large). *out is written only on success. */
int mtsics_parse(const char *line, size_t len, struct mtsics_reply *out);

/* Splits a byte stream into lines ended by LF (a CR before it is dropped). */
struct mtsics_framer {
    size_t len;
    bool overflow; /* discarding an over-long line up to its LF */
    uint64_t dropped_lines;
    char buf[MTSICS_LINE_MAX];
};

/* Empties the framer and zeroes its counter. */
void mtsics_framer_init(struct mtsics_framer *f);

/* Consumes bytes from data[0..len) until a line completes. Returns 1 with the line (no CR LF,
 * NUL-terminated) in line[] and its length in *line_len; 0 when all bytes were consumed without
 * completing a line. *consumed tells how many bytes were used: call again with the rest.
 * Lines longer than MTSICS_LINE_MAX-1 are dropped and counted. line must hold
 * MTSICS_LINE_MAX bytes. */
int mtsics_framer_feed(struct mtsics_framer *f, const uint8_t *data, size_t len, size_t *consumed,
                       char *line, size_t *line_len);

#endif
