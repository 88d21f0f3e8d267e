/* Fuzz target: the scenario parser (sim/scenario.h) on arbitrary bytes. A parse either gives a
 * scenario or error lines, never both, and never neither. */
#include "base/err.h"
#include "sim/scenario.h"

#include <assert.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sim_scenario *s = NULL;
    struct sim_errors e = {0};
    int rc = sim_scenario_parse(&s, "fuzz", (const char *)data, size, &e);
    if (rc == 0)
        assert(s && e.count == 0);
    else if (rc == WCS_E_CONFIG)
        assert(!s && e.count > 0);
    sim_scenario_free(s);
    sim_errors_fini(&e);
    return 0;
}
