/* Label helpers shared by the pack station suites (test_pack.c, test_ship_faults.c): what the
 * emulated printers printed, and the SSCC a label must carry. Helpers that say so fail the
 * running cmocka test. */
#ifndef TESTS_PACKFIX_H
#define TESTS_PACKFIX_H

#include "sim/plc.h"
#include "sim/printer.h"
#include "sim/scale.h"
#include "sim/scanner.h"

#include <stdbool.h>
#include <stdint.h>

/* Labels printed by p so far (copies counted). */
unsigned labels(struct sim_printer *p);

/* A condition for the pump: p printed at least n labels. */
struct label_cond {
    struct sim_printer *p;
    unsigned n;
};
bool labels_at_least(void *arg);

/* The SSCC a label of serial carries: extension 0, prefix 0614141, 9-digit serial, check. */
void sscc_of(uint64_t serial, char out[19]);

/* Asserts that label index (1-based) on p has a GS1-128 barcode of (00)+sscc. */
void assert_label_sscc(struct sim_printer *p, unsigned index, const char *sscc);

/* The suites' emulated floor: one PLC scan point (1 m to the divert, 100 ms actuation, lanes 1-3
 * unbounded, reject 9, recirculation 99), a default scanner, a scale settling in 200 ms without
 * noise, printers writing their labels into dir. */
void pf_emulator_cfgs(const char *dir, struct sim_plc_cfg *pc, struct sim_scanner_cfg *sc,
                      struct sim_scale_cfg *kc, struct sim_printer_cfg *prc);

#endif
