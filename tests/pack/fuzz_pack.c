/* Fuzz target of the packing flow's parsers (wcs/daemon/pack.h): the first byte picks one of
 * the station scan classifier (aim from the next three bytes), the persisted lines JSON and the
 * persisted totes JSON; whatever parses must print back and parse again to the same session. */
#include "base/err.h"
#include "daemon/pack.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pack_session s = {0}, t = {0};
    char buf[16384];
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0: {
        struct pack_scan sc;
        char aim[4] = "";
        if (size < 4)
            return 0;
        memcpy(aim, data + 1, 3);
        aim[3] = '\0';
        if (pack_scan_parse(aim, (const char *)data + 4, size - 4, &sc) == 0) {
            if (sc.kind == PACK_SCAN_ITEM)
                assert(strlen(sc.gtin) == PACK_GTIN_LEN);
            else
                assert(sc.tote[0] != '\0');
        }
        break;
    }
    case 1:
        if (pack_lines_from_json(&s, (const char *)data + 1, size - 1) == 0) {
            int n = pack_lines_to_json(&s, buf, sizeof(buf));
            assert(n > 0);
            assert(pack_lines_from_json(&t, buf, (size_t)n) == 0);
            assert(t.n_lines == s.n_lines);
            assert(memcmp(t.lines, s.lines, sizeof(s.lines[0]) * s.n_lines) == 0);
            (void)pack_all_verified(&s);
        }
        break;
    default:
        if (pack_totes_from_json(&s, (const char *)data + 1, size - 1) == 0) {
            int n = pack_totes_to_json(&s, buf, sizeof(buf));
            assert(n > 0);
            assert(pack_totes_from_json(&t, buf, (size_t)n) == 0);
            assert(t.n_totes == s.n_totes);
        }
        break;
    }
    return 0;
}
