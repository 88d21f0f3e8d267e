/* Fuzz target of the audit's journal bookkeeping (wcs/audit.c): the input is split at the first
 * two NUL bytes into op, before and after (the journal entry's fields, subject "T1"), applied
 * to an audit, then as a quant, a tote's contents and a shipment's items, and the report.
 * Nothing may crash, leak or read out of bounds. */
#include "audit.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 3);
    const char *parts[3] = {"", "", ""};
    struct audit *a;
    const struct audit_row *rows;
    const struct audit_issue *is;
    size_t n, ni, k = 0, nk;
    uint64_t bad;
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = buf[size + 2] = '\0';
    parts[0] = buf;
    for (size_t i = 0; i < size && k < 2; i++)
        if (buf[i] == '\0')
            parts[++k] = buf + i + 1;
    if (audit_new(&a, NULL, NULL) == 0) {
        (void)audit_entry(a, parts[0], "T1", parts[1], parts[2]);
        (void)audit_entry(a, "move", parts[0], parts[2], parts[1]);
        (void)audit_entry(a, "pack", parts[0], parts[1], parts[2]);
        (void)audit_quant(a, parts[1], 3, 1, 1, 0);
        (void)audit_tote(a, "T1", parts[0], 2);
        (void)audit_shipment(a, "SH-1", "packed", parts[2]);
        (void)audit_journal_holders(a, AUDIT_QUANT, &nk);
        (void)audit_journal_holders(a, AUDIT_TOTE, &nk);
        (void)audit_report(a, &rows, &n, &is, &ni, &bad);
        audit_free(a);
    }
    free(buf);
    return 0;
}
