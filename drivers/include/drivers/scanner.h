/* Barcode scanner device class. Models: "line" (one read per line over a TCP or serial link,
 * CR / LF / CR LF, configured no-read and multi-read tokens, AIM prefix) and "hidpos" (USB HID
 * POS reports reassembled across the continuation flag, drivers/usb.h). Each read reaches the
 * owner on the loop as one scan_read with its AIM identifier split off. */
#ifndef DRIVERS_SCANNER_H
#define DRIVERS_SCANNER_H

#include "drivers/transport.h"
#include "drivers/usb.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct scanner;

enum scan_model { SCAN_LINE, SCAN_HIDPOS };
enum scan_term { SCAN_TERM_CR, SCAN_TERM_LF, SCAN_TERM_CRLF };

enum { SCAN_TOKEN_MAX = 32, SCAN_DATA_MAX = 4096 };

struct scan_cfg {
    enum scan_model model;
    struct tr_addr addr;              /* line */
    struct usb_match usb;             /* hidpos */
    enum scan_term term;              /* line: how reads end (CR and LF both end a line anyway) */
    char no_read[SCAN_TOKEN_MAX + 1]; /* line: the reader's no-read text, "" = none */
    char multi_read[SCAN_TOKEN_MAX + 1]; /* line: the multi-read text, "" = none */
    size_t max_len;                      /* longest read accepted, default and cap SCAN_DATA_MAX */
};

enum scan_result { SCAN_GOOD, SCAN_NOREAD, SCAN_MULTI };

struct scan_read {
    enum scan_result result;
    char aim[4];      /* "]C1", "" when the reader sent no identifier */
    size_t len;       /* data bytes after the identifier */
    const char *data; /* NUL-terminated; valid during the callback only */
};

struct scan_cbs {
    void (*on_read)(struct scanner *s, const struct scan_read *r, void *arg);
    void (*on_state)(struct scanner *s, enum link_state st, int rc, void *arg);
};

struct scan_stats {
    uint64_t reads, noreads, multireads;
    uint64_t overlong; /* reads longer than max_len, dropped */
    uint64_t bad;      /* HID reports that did not decode */
};

/* Opens the scanner on loop (usb is needed for hidpos, may be NULL for line). Returns 0,
 * WCS_E_CONFIG (bad model/tokens), -ENOMEM or an error from the transport; *out untouched on
 * failure. Never blocks. */
int scan_open(struct scanner **out, struct loop *loop, struct usb_host *usb,
              const struct scan_cfg *cfg, const struct scan_cbs *cbs, void *arg);
void scan_close(struct scanner *s); /* NULL-safe */
enum link_state scan_get_state(const struct scanner *s);
void scan_get_stats(const struct scanner *s, struct scan_stats *out);

/* ---- the pure line splitter of the line model (unit-tested and fuzzed) ---- */

struct scan_line_framer {
    size_t max_len;
    size_t len;
    bool overflow; /* skipping the rest of an over-long line */
    bool last_cr;  /* the previous byte was CR: an LF right after it ends nothing */
    uint64_t overlong;
    char buf[SCAN_DATA_MAX + 1];
};

void scan_line_init(struct scan_line_framer *f, size_t max_len);

/* Consumes bytes from data[0..len) until a line completes: returns 1 with the line (without
 * its terminator, NUL-terminated) in f->buf and its length in *line_len, 0 when all input was
 * used. *consumed is how many bytes were taken: call again with the rest. Empty lines (CR LF,
 * LF CR) are skipped; a line over max_len is dropped and counted in overlong. */
int scan_line_feed(struct scan_line_framer *f, const uint8_t *data, size_t len, size_t *consumed,
                   size_t *line_len);

/* Classifies one line: splits off the AIM identifier and matches the no-read / multi-read
 * tokens (compared with and without the identifier). Fills *out (data points into line).
 * Returns 0 or WCS_E_SYNTAX for a line with control characters other than GS (0x1D). */
int scan_line_classify(const char *line, size_t len, const char *no_read, const char *multi_read,
                       struct scan_read *out);

#endif
