/* NCI / Avery Weigh-Tronix SCP-01 scale protocol: W (weight), S (status) and Z (zero)
 * commands, reply parsing with the status bytes, and a framer that cuts replies at ETX.
 * Pure codec; the serial/TCP scale driver owns the link. */
#ifndef DRIVERS_CODEC_NCI_H
#define DRIVERS_CODEC_NCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum nci_cmd {
    NCI_CMD_WEIGHT, /* "W\r" */
    NCI_CMD_STATUS, /* "S\r" */
    NCI_CMD_ZERO,   /* "Z\r" */
};

/* Status flags from the 2 to 4 status bytes. */
enum nci_status_bit {
    NCI_ST_MOTION = 1u << 0,              /* byte 1 bit 0 */
    NCI_ST_AT_ZERO = 1u << 1,             /* byte 1 bit 1 */
    NCI_ST_RAM_ERROR = 1u << 2,           /* byte 1 bit 2 */
    NCI_ST_EEPROM_ERROR = 1u << 3,        /* byte 1 bit 3 */
    NCI_ST_UNDER_CAPACITY = 1u << 4,      /* byte 2 bit 0 */
    NCI_ST_OVER_CAPACITY = 1u << 5,       /* byte 2 bit 1 */
    NCI_ST_ROM_ERROR = 1u << 6,           /* byte 2 bit 2 */
    NCI_ST_BAD_CALIBRATION = 1u << 7,     /* byte 2 bit 3 */
    NCI_ST_HIGH_RANGE = 1u << 8,          /* byte 3 bits 0-1 = 11 */
    NCI_ST_NET = 1u << 9,                 /* byte 3 bit 2 */
    NCI_ST_INITIAL_ZERO_ERROR = 1u << 10, /* byte 3 bit 3 */
    NCI_ST_WEIGHT_CHANGED = 1u << 11,     /* byte 4 bit 0 */
    NCI_ST_ZERO_SEEN = 1u << 12,          /* byte 4 bit 1 */
    NCI_ST_METRIC = 1u << 13,             /* byte 4 bit 2 */
};

enum nci_reply_kind {
    NCI_REPLY_WEIGHT,       /* weight line + status */
    NCI_REPLY_STATUS,       /* status only (S and Z) */
    NCI_REPLY_UNRECOGNISED, /* "?": the scale did not understand the command */
};

enum { NCI_FRAME_MAX = 64 };

struct nci_reply {
    enum nci_reply_kind kind;
    bool has_weight;   /* false for status replies and for a dashed/over/under weight field */
    int64_t weight_mg; /* rounded to nearest, halves away from zero */
    char unit[4];      /* lb, kg, oz, g */
    uint32_t status;   /* NCI_ST_* */
    int status_bytes;  /* 2..4 */
};

/* Writes the command (ending in CR) into buf. Returns its length or WCS_E_EXHAUSTED. */
int nci_build(enum nci_cmd cmd, char *buf, size_t cap);

/* Parses one reply frame "<LF>...<CR><ETX>" as cut by the framer (ETX included). Returns 0,
 * WCS_E_SYNTAX (layout, status byte without its fixed bits, bad number), or WCS_E_RANGE
 * (unknown unit, weight too large). A weight field made only of '^', '_' or '-' (shown by some
 * scales over or under capacity) gives has_weight false; the status bits say why. */
int nci_parse(const uint8_t *frame, size_t len, struct nci_reply *out);

/* Cuts a byte stream into frames ending with ETX (0x03). */
struct nci_framer {
    size_t len;
    bool overflow;
    uint64_t dropped_frames;
    uint8_t buf[NCI_FRAME_MAX];
};

/* Empties the framer and zeroes its counter. */
void nci_framer_init(struct nci_framer *f);

/* Consumes bytes until a frame completes. Returns 1 with the frame (ETX included) in
 * frame[0..*frame_len) (frame must hold NCI_FRAME_MAX bytes), or 0 when all input was used.
 * *consumed is the number of bytes used. Frames over NCI_FRAME_MAX bytes are dropped up to
 * their ETX and counted. */
int nci_framer_feed(struct nci_framer *f, const uint8_t *data, size_t len, size_t *consumed,
                    uint8_t *frame, size_t *frame_len);

#endif
