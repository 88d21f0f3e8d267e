/* Label helpers of the pack station suites (packfix.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "packfix.h"

#include "daemon/pack.h"

#include <stdio.h>
#include <string.h>

unsigned labels(struct sim_printer *p)
{
    struct sim_printer_counters c;
    sim_printer_counters(p, &c);
    return (unsigned)c.labels_printed;
}

bool labels_at_least(void *arg)
{
    struct label_cond *l = arg;
    return labels(l->p) >= l->n;
}

void sscc_of(uint64_t serial, char out[19])
{
    assert_int_equal(pack_sscc(0, "0614141", serial, out), 0);
}

void assert_label_sscc(struct sim_printer *p, unsigned index, const char *sscc)
{
    struct sim_printer_label l;
    char want[32];
    bool found = false;
    assert_int_equal(sim_printer_label(p, index, &l), 0);
    /* zint's GS1 input form: the AI in square brackets. */
    snprintf(want, sizeof(want), "[00]%s", sscc);
    for (unsigned i = 0; i < l.n_barcodes; i++)
        if (strcmp(l.barcodes[i].data, want) == 0 &&
            strcmp(l.barcodes[i].symbology, "GS1-128") == 0)
            found = true;
    if (!found)
        fail_msg("label %u has no GS1-128 %s (first barcode: %s)", index, want,
                 l.n_barcodes ? l.barcodes[0].data : "none");
}

void pf_emulator_cfgs(const char *dir, struct sim_plc_cfg *pc, struct sim_scanner_cfg *sc,
                      struct sim_scale_cfg *kc, struct sim_printer_cfg *prc)
{
    sim_plc_cfg_defaults(pc);
    pc->heartbeat_ms = 250;
    pc->n_points = 1;
    pc->points[0].scanner_to_divert_mm = 1000;
    pc->points[0].actuation_ms = 100;
    pc->points[0].n_lanes = 3;
    pc->points[0].reject_lane_id = 9;
    pc->points[0].recirc_lane_id = 99;
    pc->points[0].recirc_loop_mm = 1000;
    for (int i = 0; i < 3; i++) {
        pc->points[0].lane_capacity[i] = 0;
        pc->points[0].lane_drain_per_min[i] = 0;
    }
    sim_scanner_cfg_defaults(sc);
    sim_scale_cfg_defaults(kc);
    kc->settle_ms = 200;
    kc->stable_timeout_ms = 400;
    kc->noise_mg = 0;
    sim_printer_cfg_defaults(prc);
    snprintf(prc->out_dir, sizeof(prc->out_dir), "%s", dir);
}
