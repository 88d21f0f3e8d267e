/* Fuzz target for the config loader: arbitrary bytes as a site YAML, loaded from memory (no
 * includes or side files), then freed. Crashes, leaks and UB surface through the sanitizers. */
#include "config/config.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg_errors errs;
    struct cfg_site *site = NULL;
    cfg_errors_init(&errs);
    if (cfg_load_mem(&site, "fuzz.yaml", (const char *)data, size, &errs) == 0)
        cfg_free(site);
    cfg_errors_fini(&errs);
    return 0;
}
