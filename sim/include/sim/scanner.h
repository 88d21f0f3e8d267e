/* Barcode scanner emulator in line mode: each read is one line `<AIM id><data><terminator>`
 * sent to every connected TCP client and to a pty standing in for its serial port. No-reads
 * and multi-reads send the configured tokens; a misread sends the barcode with one character
 * changed. Outcomes are drawn from a seeded generator: the same seed and the same calls give
 * the same lines. Runs its own thread (accepting clients); every function is thread-safe. */
#ifndef SIM_SCANNER_H
#define SIM_SCANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_scanner_cfg {
    bool tcp;              /* serve TCP on 127.0.0.1:port */
    uint16_t port;         /* 0: a free port */
    bool serial;           /* open a pty pair; the driver opens sim_scanner_pty_path() */
    char aim[4];           /* default AIM symbology id, e.g. "]C1" ("" sends no prefix) */
    char terminator[4];    /* "\r\n", "\r" or "\n" */
    char noread_token[24]; /* sent as is, no AIM prefix */
    char multiread_token[24];
    double noread_rate, multiread_rate, misread_rate; /* per read; sum <= 1 */
    uint64_t seed;
};

/* tcp on a free port, no pty, "]C1", CR LF, "NOREAD", "MULTIREAD", all rates 0, seed 1. */
void sim_scanner_cfg_defaults(struct sim_scanner_cfg *cfg);

enum sim_scan_outcome { SIM_SCAN_GOOD = 1, SIM_SCAN_NOREAD, SIM_SCAN_MULTI, SIM_SCAN_MISREAD };

struct sim_scanner;

/* Starts the emulator. Returns 0, WCS_E_CONFIG (no transport, rates out of range, empty or
 * CR/LF-bearing tokens, a terminator other than the three above), -ENOMEM or a negative errno. */
int sim_scanner_open(struct sim_scanner **out, const struct sim_scanner_cfg *cfg);
/* Stops the thread, closes every client and the pty, frees. NULL-safe. */
void sim_scanner_close(struct sim_scanner *s);

/* The TCP port (0 without tcp). */
uint16_t sim_scanner_port(const struct sim_scanner *s);
/* The pty slave path ("" without serial). Owned by s. */
const char *sim_scanner_pty_path(const struct sim_scanner *s);
/* Clients connected over TCP right now. */
unsigned sim_scanner_clients(struct sim_scanner *s);

/* Reads `barcode` (printable ASCII or GS, 1..512 bytes) as the symbology `aim` (NULL: the
 * default) and sends the resulting line. *outcome (may be NULL) tells what was sent; *line
 * (may be NULL, cap bytes) gets the line without terminator. Blocks at most ~100 ms per slow
 * client. Returns 0 or WCS_E_RANGE for a bad barcode or aim. */
int sim_scanner_read(struct sim_scanner *s, const char *barcode, const char *aim,
                     enum sim_scan_outcome *outcome, char *line, size_t cap);

struct sim_scanner_counters {
    uint64_t reads, good, noread, multiread, misread;
    uint64_t tcp_lines, tcp_dropped, pty_lines, pty_dropped;
};
/* Copies a snapshot of the counters. */
void sim_scanner_counters(struct sim_scanner *s, struct sim_scanner_counters *out);

#endif
