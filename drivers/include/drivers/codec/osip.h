/* OpenWMS OSIP telegrams: fixed-length ASCII telegrams over TCP, an alternative to the Modbus
 * handshake for PLCs that speak OSIP. Parse and build REQ_, RES_, UPD_, LOCU, SYSU, ERR_, SYNQ
 * and SYNC, and a stream framer that cuts whole telegrams out of arbitrary byte chunks.
 * Field widths follow the OpenWMS OSIP driver (docs/plc.md, "OSIP telegrams"). */
#ifndef DRIVERS_CODEC_OSIP_H
#define DRIVERS_CODEC_OSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    OSIP_HEADER_LEN = 23, /* "###" + length 5 + sender 5 + receiver 5 + sequence 5 */
    OSIP_TYPE_LEN = 4,
    OSIP_NODE_LEN = 5,
    OSIP_BARCODE_LEN = 20,
    OSIP_LOCATION_LEN = 20,
    OSIP_GROUP_LEN = 20,
    OSIP_ERROR_LEN = 8,
    OSIP_DATE_LEN = 14, /* yyyyMMddHHmmss */
    OSIP_DEFAULT_LEN = 160,
    OSIP_MIN_LEN = OSIP_HEADER_LEN + OSIP_TYPE_LEN,
    OSIP_MAX_LEN = 512, /* largest telegram length this codec accepts */
    OSIP_SEQ_MAX = 99999,
};

enum osip_type {
    OSIP_REQ,  /* PLC asks for a destination */
    OSIP_RES,  /* the answer to a REQ_ */
    OSIP_UPD,  /* a transport unit reached a location */
    OSIP_LOCU, /* a location changed state */
    OSIP_SYSU, /* a location group (subsystem) changed state */
    OSIP_ERR,  /* an error report */
    OSIP_SYNQ, /* time sync request */
    OSIP_SYNC, /* time sync answer */
};

/* A telegram. Text fields hold the exact wire characters (fixed width, NUL-terminated): a
 * missing barcode is 20 '?', a missing location or group 20 '*'. Which fields a type uses:
 *   REQ_: barcode, actual, target, error, date      RES_: + target_group (after target)
 *   UPD_: barcode, actual, error, date               LOCU: group, location, error, date
 *   SYSU: group, error, date                         ERR_: error, date
 *   SYNQ, SYNC: date */
struct osip_telegram {
    char sender[OSIP_NODE_LEN + 1];
    char receiver[OSIP_NODE_LEN + 1];
    uint32_t seq; /* 0..99999 */
    enum osip_type type;
    char barcode[OSIP_BARCODE_LEN + 1];
    char actual[OSIP_LOCATION_LEN + 1];
    char target[OSIP_LOCATION_LEN + 1];
    char target_group[OSIP_GROUP_LEN + 1];
    char group[OSIP_GROUP_LEN + 1];
    char location[OSIP_LOCATION_LEN + 1];
    char error[OSIP_ERROR_LEN + 1];
    char date[OSIP_DATE_LEN + 1];
};

/* Returns the 4-character wire name of a type ("REQ_", ...). */
const char *osip_type_name(enum osip_type t);

/* Parses one telegram without its CR LF (as the framer returns it). len must equal the
 * header's length field and, when telegram_len is not 0, telegram_len. Everything after the
 * type's fields must be `filler`. Returns 0, WCS_E_SYNTAX (sync, digits, length mismatch,
 * non-printable, bad filler, bad date), or WCS_E_UNKNOWN (unknown telegram type). *out is
 * written only on success. */
int osip_parse(const char *buf, size_t len, size_t telegram_len, char filler,
               struct osip_telegram *out);

/* Builds a telegram of telegram_len characters (header length = telegram_len) padded with
 * filler, plus CR LF, into buf. Fields the type uses must have their exact width, except an
 * empty barcode (written as 20 '?') and an empty location/group (20 '*'); sender/receiver must
 * be 5 printable characters, seq <= 99999, date 14 digits forming a valid date-time. Returns the
 * bytes written (telegram_len + 2), WCS_E_EXHAUSTED, or WCS_E_RANGE (bad field, or the fields
 * do not fit in telegram_len). No NUL is written. */
int osip_build(const struct osip_telegram *t, size_t telegram_len, char filler, char *buf,
               size_t cap);

/* Fills *res as the RES_ answering *req: sender/receiver swapped, seq = req seq + 1 (99999
 * wraps to 0), barcode and actual location copied, target and target group set by the caller
 * (NULL or "": none, written as '*'), error code (8 chars) and date (14 digits) given. Returns 0
 * or WCS_E_RANGE (req is not a REQ_, or a value has the wrong width). */
int osip_res_for(const struct osip_telegram *req, const char *target, const char *target_group,
                 const char *error, const char *date, struct osip_telegram *res);

/* Cuts telegrams "###<len:5>...<CR><LF>" out of a byte stream. */
struct osip_framer {
    size_t telegram_len; /* 0: accept any length OSIP_MIN_LEN..OSIP_MAX_LEN from the header */
    size_t len;
    uint64_t discarded_bytes; /* garbage skipped while resynchronising */
    uint8_t buf[2 * (OSIP_MAX_LEN + 2)];
};

/* Empties the framer; telegram_len is the configured length (0: take the header's). The struct
 * is about 1 KiB: embed it in the driver rather than on a small stack. */
void osip_framer_init(struct osip_framer *f, size_t telegram_len);

/* Appends up to len bytes. Returns how many were taken (fewer when the buffer is full: call
 * osip_framer_next to drain, then feed the rest). */
size_t osip_framer_feed(struct osip_framer *f, const uint8_t *data, size_t len);

/* Extracts the next whole telegram (without CR LF) into out (cap >= OSIP_MAX_LEN + 1; it is
 * NUL-terminated). Returns its length, or 0 when more bytes are needed. Garbage before "###",
 * a header whose length is not 5 digits in range, and a frame without CR LF where its length
 * says it ends are skipped byte by byte until the next "###" (counted in discarded_bytes). */
size_t osip_framer_next(struct osip_framer *f, char *out, size_t cap);

#endif
