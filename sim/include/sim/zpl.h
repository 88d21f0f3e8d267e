/* The label printer emulator's own ZPL II reader: splits a raw 9100 byte stream into formats
 * (^XA..^XZ) and immediate tilde commands, and parses a format into fields enough to render a
 * shipping label (^FO ^A ^CF ^FD ^FS ^FH ^BC ^BY ^PW ^LL ^LH ^PQ ^GB ^FX; others are counted
 * and ignored). Pure: no I/O, no allocation. Written for the simulator only: it must never
 * share code with drivers/codec/zpl.c, which generates the labels it reads. */
#ifndef SIM_ZPL_H
#define SIM_ZPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum zpl_event {
    ZPL_EV_NEED_MORE = 0, /* nothing complete yet; keep the bytes and read more */
    ZPL_EV_FORMAT,        /* a format ^XA...^XZ: [start, end) in the buffer */
    ZPL_EV_HS,            /* ~HS host status */
    ZPL_EV_HQES,          /* ~HQES error and warning status */
    ZPL_EV_PAUSE,         /* ~PP */
    ZPL_EV_RESUME,        /* ~PS */
    ZPL_EV_CANCEL_ALL,    /* ~JA */
    ZPL_EV_SKIPPED,       /* bytes outside a format, or a command this reader ignores */
};

/* Looks at buf[0..len) and reports the first event. *consumed is how many bytes the caller
 * drops after handling it (0 with ZPL_EV_NEED_MORE). For ZPL_EV_FORMAT, *start and *end delimit
 * the format including ^XA and ^XZ. Never reads past len. */
enum zpl_event zpl_next(const uint8_t *buf, size_t len, size_t *consumed, size_t *start,
                        size_t *end);

enum { ZPL_FIELDS_MAX = 96, ZPL_DATA_MAX = 512 };

enum zpl_kind { ZPL_TEXT = 1, ZPL_CODE128, ZPL_BOX };

struct zpl_field {
    enum zpl_kind kind;
    int32_t x, y;                /* dots, label home included */
    int32_t font_h, font_w;      /* text (font_w 0: proportional to height) */
    char font;                   /* font name after ^A or ^CF */
    int32_t bar_h;               /* Code 128 bar height in dots */
    int32_t module_w;            /* Code 128 narrow bar in dots (^BY) */
    bool hr_line, hr_above;      /* interpretation line and its position */
    char mode;                   /* ^BC mode: N, U, A or D (GS1-128) */
    int32_t box_w, box_h, box_t; /* ^GB */
    char box_color;              /* 'B' or 'W' */
    char data[ZPL_DATA_MAX + 1]; /* ^FD data after ^FH decoding, NUL-terminated */
    size_t data_len;
};

struct zpl_label {
    int32_t pw, ll; /* print width and label length in dots; 0 when not given */
    uint32_t pq;    /* copies (^PQ), 1 when not given */
    unsigned n_fields;
    struct zpl_field f[ZPL_FIELDS_MAX];
    unsigned ignored; /* commands read but not modelled (^CI, ^MM, ...) */
};

/* Parses one format (as delimited by zpl_next). Returns 0, or WCS_E_SYNTAX (no ^XA/^XZ, a bad
 * number, ^FD without ^FS, a bad ^FH escape, ^BC mode not N/U/A/D), WCS_E_RANGE (a value out
 * of its ZPL range, data longer than ZPL_DATA_MAX), or WCS_E_EXHAUSTED (more than
 * ZPL_FIELDS_MAX fields). On failure *out is left zeroed. err (may be NULL, cap bytes) gets a
 * one-line reason naming the command on failure. */
int zpl_parse(const char *fmt, size_t len, struct zpl_label *out, char *err, size_t cap);

/* For ^BC mode D data such as "(00)10614141123456789": removes spaces, and appends the check
 * digit to AI (00), (01) and (02) values given one digit short, as the printer does. Writes the
 * bracketed element string to out. Returns its length, or WCS_E_SYNTAX / WCS_E_EXHAUSTED. */
int zpl_gs1_normalize(const char *data, size_t len, char *out, size_t cap);

#endif
