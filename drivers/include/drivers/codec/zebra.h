/* Zebra ZPL printer status replies: ~HS (host status, three STX..ETX strings) and ~HQES (host
 * query, error and warning bitmasks). Pure codec; the printer driver sends the commands and
 * feeds the reply bytes here. A printer that does not answer ~HS at all (media or ribbon out,
 * head open, over temperature on some models) is an error state the driver detects by timeout. */
#ifndef DRIVERS_CODEC_ZEBRA_H
#define DRIVERS_CODEC_ZEBRA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum zebra_print_mode {
    ZEBRA_MODE_REWIND = '0',
    ZEBRA_MODE_PEEL_OFF = '1',
    ZEBRA_MODE_TEAR_OFF = '2',
    ZEBRA_MODE_CUTTER = '3',
    ZEBRA_MODE_APPLICATOR = '4',
    ZEBRA_MODE_DELAYED_CUT = '5',
    ZEBRA_MODE_LINERLESS_PEEL = '6',
    ZEBRA_MODE_LINERLESS_REWIND = '7',
    ZEBRA_MODE_PARTIAL_CUTTER = '8',
    ZEBRA_MODE_RFID = '9',
    ZEBRA_MODE_KIOSK = 'K',
    ZEBRA_MODE_STREAM = 'S',
    ZEBRA_MODE_LINERLESS_TEAR = 'A',
};

struct zebra_hs {
    /* string 1: aaa,b,c,dddd,eee,f,g,h,iii,j,k,l */
    uint16_t comm_settings;     /* aaa: bit field of the serial settings */
    bool paper_out;             /* b */
    bool paused;                /* c */
    uint32_t label_length_dots; /* dddd */
    uint32_t formats_in_buffer; /* eee */
    bool buffer_full;           /* f */
    bool comm_diag_mode;        /* g */
    bool partial_format;        /* h */
    bool corrupt_ram;           /* j */
    bool under_temperature;     /* k */
    bool over_temperature;      /* l */
    /* string 2: mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www */
    uint16_t function_settings;       /* mmm: media type, sensor profile, comm diagnostics bits */
    bool head_up;                     /* o */
    bool ribbon_out;                  /* p */
    bool thermal_transfer;            /* q */
    enum zebra_print_mode print_mode; /* r */
    uint8_t print_width_mode;         /* s */
    bool label_waiting;               /* t: label waiting to be taken in peel-off mode */
    uint32_t labels_remaining;        /* uuuuuuuu: labels left in the batch */
    bool format_while_printing;       /* v */
    uint32_t graphics_stored;         /* www */
    /* string 3: xxxx,y */
    uint16_t password;         /* xxxx */
    bool static_ram_installed; /* y */
};

/* Parses a ~HS reply: three "<STX>...<ETX><CR><LF>" strings, possibly after line noise that
 * does not contain STX. Returns the number of bytes consumed (the end of the third string),
 * -EAGAIN when the bytes so far are a valid but incomplete prefix, WCS_E_SYNTAX for a wrong
 * field count or a non-digit / non-0/1 flag, or WCS_E_RANGE for an unknown print mode. *out is
 * written only on success. */
int zebra_hs_parse(const uint8_t *buf, size_t len, struct zebra_hs *out);

/* ~HQES error flags, group 1 (the low 32 bits; group 2 is the high 32 bits). */
enum zebra_err {
    ZEBRA_ERR_MEDIA_OUT = 0x1,
    ZEBRA_ERR_RIBBON_OUT = 0x2,
    ZEBRA_ERR_HEAD_OPEN = 0x4,
    ZEBRA_ERR_CUTTER = 0x8,
    ZEBRA_ERR_HEAD_OVER_TEMP = 0x10,
    ZEBRA_ERR_MOTOR_OVER_TEMP = 0x20,
    ZEBRA_ERR_BAD_HEAD_ELEMENT = 0x40,
    ZEBRA_ERR_HEAD_DETECTION = 0x80,
    ZEBRA_ERR_INVALID_FIRMWARE_CONFIG = 0x100,
    ZEBRA_ERR_HEAD_THERMISTOR_OPEN = 0x200,
    ZEBRA_ERR_PAPER_JAM = 0x1000, /* paper jam during retract */
    ZEBRA_ERR_PRESENTER_NOT_RUNNING = 0x2000,
    ZEBRA_ERR_PAPER_FEED = 0x4000,
    ZEBRA_ERR_CLEAR_PAPER_PATH = 0x8000,
    ZEBRA_ERR_PAUSED = 0x10000,
    ZEBRA_ERR_RETRACT_TIMEOUT = 0x20000,
    ZEBRA_ERR_BLACK_MARK_CALIBRATE = 0x40000,
    ZEBRA_ERR_BLACK_MARK_NOT_FOUND = 0x80000,
};

/* ~HQES warning flags, group 1. */
enum zebra_warn {
    ZEBRA_WARN_CALIBRATE_MEDIA = 0x1,
    ZEBRA_WARN_CLEAN_HEAD = 0x2,
    ZEBRA_WARN_REPLACE_HEAD = 0x4,
    ZEBRA_WARN_PAPER_NEAR_END = 0x8,
};

struct zebra_hqes {
    uint64_t errors; /* group 2 << 32 | group 1; nonzero exactly when the flag was 1 */
    uint64_t warnings;
};

/* Parses a ~HQES reply: "PRINTER STATUS", then "ERRORS: f gggggggg gggggggg" and
 * "WARNINGS: f gggggggg gggggggg" lines (CR LF or LF), optionally framed by STX/ETX.
 * Returns the number of bytes consumed, -EAGAIN if incomplete, WCS_E_SYNTAX for a malformed
 * reply, or WCS_E_PROTOCOL when a flag disagrees with its bitmask (flag 1 with no bit set or
 * flag 0 with bits set). */
int zebra_hqes_parse(const uint8_t *buf, size_t len, struct zebra_hqes *out);

#endif
