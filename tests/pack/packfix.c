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
