/* Zebra-style label printer emulator on raw TCP (port 9100 or a free one). It reads the ZPL it
 * receives with its own parser (sim/zpl.h), keeps every format as label-NNNNNN.zpl and renders
 * label-NNNNNN.png with real barcodes (libzint: Code 128, GS1-128 for ^BC mode D), answers ~HS
 * and ~HQES, and can be put into paper-out, head-open or pause. In paper-out or head-open it
 * does not answer ~HS at all (like the real printer) and holds formats until the fault clears.
 * Runs its own thread; every function is thread-safe. */
#ifndef SIM_PRINTER_H
#define SIM_PRINTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_printer_cfg {
    uint16_t port;        /* 0: a free port; 9100 for the real thing */
    char out_dir[200];    /* where labels are written; must exist */
    int32_t width_dots;   /* print width when a format has no ^PW (812 = 4 in at 203 dpi) */
    int32_t length_dots;  /* label length when a format has no ^LL (1218 = 6 in) */
    bool hs_when_faulted; /* answer ~HS (flags set) in paper-out/head-open; real: false */
    unsigned held_max;    /* formats held while faulted or paused (default 64) */
    unsigned png_max;     /* PNG previews for the first png_max labels only; 0: every label
                           * (the barcodes of every label are encoded and kept either way) */
};

/* Free port, out_dir ".", 812 x 1218 dots, silent when faulted, 64 held formats. */
void sim_printer_cfg_defaults(struct sim_printer_cfg *cfg);

struct sim_printer;

/* Returns 0, WCS_E_CONFIG (out_dir missing or not a directory, sizes out of 2..32000),
 * -ENOMEM or a negative errno. */
int sim_printer_open(struct sim_printer **out, const struct sim_printer_cfg *cfg);
/* Stops the thread, closes the clients, drops held formats (files stay), frees. NULL-safe. */
void sim_printer_close(struct sim_printer *p);
/* The TCP port the printer listens on. */
uint16_t sim_printer_port(const struct sim_printer *p);

/* Fault states. Clearing the last of paper-out, head-open and pause prints the held formats. */
void sim_printer_set_paper_out(struct sim_printer *p, bool on);
void sim_printer_set_head_open(struct sim_printer *p, bool on);
void sim_printer_set_pause(struct sim_printer *p, bool on);

enum { SIM_PRN_BARCODES_MAX = 8 };

struct sim_printer_barcode {
    char symbology[16]; /* "GS1-128" or "Code 128" */
    char data[520];     /* what was given to zint (GS1: bracketed element string) */
    char text[200];     /* zint's human-readable text, e.g. "(00)106141411234567897" */
    int32_t x, y, width_dots, height_dots;
};

struct sim_printer_label {
    unsigned index; /* 1, 2, ... in printing order */
    char zpl_path[256], png_path[256];
    int32_t width_dots, height_dots;
    uint32_t copies; /* ^PQ */
    unsigned n_fields, n_barcodes, errors;
    struct sim_printer_barcode barcodes[SIM_PRN_BARCODES_MAX];
};

/* Copies label `index` (1-based). Returns 0 or WCS_E_UNKNOWN. */
int sim_printer_label(struct sim_printer *p, unsigned index, struct sim_printer_label *out);

struct sim_printer_counters {
    uint64_t bytes, formats, labels_printed, format_errors, render_errors, held, held_dropped,
        hs_answered, hs_ignored, hqes_answered, skipped, overflows;
};
/* Copies a snapshot of the counters. */
void sim_printer_counters(struct sim_printer *p, struct sim_printer_counters *out);

#endif
