/* Fuzz target for wcs_plan's line parsers: the first byte picks the kind of the following lines
 * (bit 0-1: stock / orders / receipts for the first block; a line "--" switches to the next
 * kind), every line goes through its parser against the fixture site, and whatever was accepted
 * is planned and written to memory. Checks: a rejected line changes no count and names a field;
 * the plan succeeds on accepted input. */
#include "fixture.h"

#include "base/err.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

static struct cfg_site *cfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    typedef int (*parse_fn)(struct plan_input *, const char *, size_t, uint32_t,
                            struct plan_line_err *);
    static const parse_fn fns[3] = {plan_parse_stock, plan_parse_order, plan_parse_receipt};
    struct plan_site *site;
    struct plan_input *in;
    struct plan_result *r;
    char msg[200];
    unsigned kind;
    uint32_t line_no = 0;
    if (size == 0 || size > 65536)
        return 0;
    if (!cfg)
        cfg = plan_fixture_cfg();
    kind = data[0] % 3;
    if (plan_site_open(&site, cfg, PLAN_FIXTURE_NOW, msg, sizeof(msg)) < 0)
        abort();
    if (plan_input_new(&in, site) < 0)
        abort();
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct plan_line_err err;
        struct plan_counts before, after;
        line_no++;
        if (len == 2 && p[0] == '-' && p[1] == '-') {
            kind = (kind + 1) % 3;
        } else {
            plan_input_counts(in, &before);
            int rc = fns[kind](in, p, len, line_no, &err);
            plan_input_counts(in, &after);
            if (rc < 0) {
                assert(memcmp(&before, &after, sizeof(before)) == 0);
                assert(err.field[0] && err.msg[0]);
            }
        }
        p += len + 1;
    }
    msg[0] = '\0';
    int rc = plan_run(&r, site, in, PLAN_ALL, msg, sizeof(msg));
    if (rc == 0) {
        char *buf;
        size_t n;
        FILE *f = open_memstream(&buf, &n);
        if (!f)
            abort();
        if (plan_write(r, NULL, f) < 0)
            abort();
        fclose(f);
        free(buf);
        plan_result_free(r);
    } else if (rc != WCS_E_RANGE) {
        abort(); /* only totals beyond the planner's limits may refuse accepted input */
    }
    plan_input_free(in);
    plan_site_close(site);
    return 0;
}
