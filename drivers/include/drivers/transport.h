/* Byte-stream transports of the device layer: a `struct link` is a TCP client or a serial port
 * (termios raw mode) driven by the event loop, never blocking it, reconnecting by itself with
 * bounded exponential backoff; a fault link wraps another to drop, delay, truncate or corrupt
 * bytes in tests; a USB printer-class device is a link too (drivers/usb.h opens it).
 * Device classes (plc, scanner, scale, printer) sit on top and run the pure codecs. */
#ifndef DRIVERS_TRANSPORT_H
#define DRIVERS_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct link;

enum tr_kind {
    TR_TCP,    /* host:port */
    TR_SERIAL, /* device path with baud, parity, data and stop bits */
};

enum { TR_HOST_MAX = 253, TR_DEVICE_MAX = 255 };

/* Where a transport connects. The daemon fills it from a config URI (wcs/devmap.c);
 * drivers never parse config. */
struct tr_addr {
    enum tr_kind kind;
    char host[TR_HOST_MAX + 1]; /* tcp: numeric IPv4/IPv6 or a name (resolved at each connect) */
    uint16_t port;              /* tcp */
    char device[TR_DEVICE_MAX + 1]; /* serial: /dev/ttyS1 ... */
    uint32_t baud;                  /* serial: 1200..115200 standard rates */
    char parity;                    /* serial: 'N', 'E' or 'O' */
    uint8_t data_bits;              /* serial: 7 or 8 */
    uint8_t stop_bits;              /* serial: 1 or 2 */
};

/* Fills a TCP address. Returns 0 or -EINVAL (host too long or empty, port 0). */
int tr_addr_tcp(struct tr_addr *a, const char *host, uint16_t port);
/* Fills a serial address. Returns 0 or -EINVAL (path too long, unsupported baud, parity not
 * N/E/O, data bits not 7/8, stop bits not 1/2). */
int tr_addr_serial(struct tr_addr *a, const char *device, uint32_t baud, char parity,
                   uint8_t data_bits, uint8_t stop_bits);

enum link_state {
    LINK_DOWN,       /* not connected; a reconnect is scheduled */
    LINK_CONNECTING, /* a connect attempt is in progress */
    LINK_UP,         /* bytes flow */
};

/* Called on the loop. on_data gets the bytes received (valid during the call only).
 * on_state reports every transition; rc is 0 for UP/CONNECTING and the reason (negative errno
 * or WCS_E_*) for DOWN. Neither may call link_close on their own link (mark and close later). */
struct link_cbs {
    void (*on_data)(struct link *k, const uint8_t *data, size_t len, void *arg);
    void (*on_state)(struct link *k, enum link_state st, int rc, void *arg);
};

struct link_opts {
    uint32_t backoff_min_ms; /* first reconnect delay (default 100) */
    uint32_t backoff_max_ms; /* cap of the doubling delay (default 5000) */
    uint32_t
        connect_timeout_ms; /* a TCP connect not done by then (real time) fails (default 2000) */
    size_t out_cap;         /* bytes of output buffering (default 65536) */
};

/* Link counters, for the device's state report. */
struct link_stats {
    uint64_t bytes_in, bytes_out;
    uint64_t connects;    /* successful connects */
    uint64_t failures;    /* failed attempts and drops */
    uint64_t refused_out; /* link_write calls refused (down or buffer full) */
};

/* Opens a link on loop and starts connecting at once (the first attempt runs before return
 * for serial; TCP connects asynchronously). opts may be NULL for the defaults. The link stays
 * open across disconnects and reconnects by itself until link_close. Returns 0, -EINVAL (bad
 * address or options) or -ENOMEM; *out untouched on failure. Never blocks, except that a TCP
 * host name that is not a numeric address is resolved with getaddrinfo (use numeric addresses
 * on the floor). */
int link_open(struct link **out, struct loop *loop, const struct tr_addr *addr,
              const struct link_opts *opts, const struct link_cbs *cbs, void *arg);

/* What a fault link does to the bytes passing through it, in both directions unless the
 * field says otherwise. Probabilities are in parts per million of chunks (one read or one
 * write call); the generator is seeded, so a run is reproducible. */
struct tr_fault {
    uint32_t drop_ppm;     /* the chunk vanishes */
    uint32_t truncate_ppm; /* only the first half of the chunk passes */
    uint32_t corrupt_ppm;  /* one byte of the chunk is XORed with 0xFF */
    uint32_t delay_ms;     /* every received chunk is delivered this much later (loop timer) */
    uint32_t seed;
};

struct tr_fault_stats {
    uint64_t dropped, truncated, corrupted, delayed;
};

/* Opens a fault link around a new link to addr (the fault:// transport of tests). The inner
 * link's state is passed through unchanged. Same contract as link_open. */
int link_open_fault(struct link **out, struct loop *loop, const struct tr_addr *addr,
                    const struct tr_fault *fault, const struct link_opts *opts,
                    const struct link_cbs *cbs, void *arg);
/* Fault counters of a fault link (zeros for other links). */
void link_fault_stats(const struct link *k, struct tr_fault_stats *out);

/* Closes the link and frees it. NULL-safe. No callback runs after it returns. */
void link_close(struct link *k);

/* Queues len bytes for sending; they are written as soon as the fd accepts them. All or
 * nothing: returns 0, WCS_E_LINK when the link is not up, or WCS_E_FULL when the output buffer
 * cannot take them all (nothing queued; both counted in refused_out). Never blocks. */
int link_write(struct link *k, const void *data, size_t len);

/* Drops the connection now and reconnects after the backoff (e.g. after a protocol
 * violation or a reply timeout seen by the device class). rc is reported to on_state. */
void link_reset(struct link *k, int rc);

enum link_state link_get_state(const struct link *k);
/* Bytes queued and not yet written. */
size_t link_get_pending(const struct link *k);
void link_get_stats(const struct link *k, struct link_stats *out);
/* "tcp", "serial", "usb-printer" or "fault". */
const char *link_get_kind(const struct link *k);

#endif
