/* Fuzz target for ZPL templates and escaping: the input is "template NUL value". The template
 * is rendered with the value as field "v"; separately the value is rendered inside a ^FH field
 * and the hex escapes are decoded back, which must give the value unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/codec/zpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char tmpl[4096], value[4096], out[16384], dec[4096];
    const uint8_t *nul = memchr(data, 0, size);
    size_t tl = nul ? (size_t)(nul - data) : size;
    size_t vl = nul ? size - tl - 1 : 0;
    if (tl >= sizeof(tmpl) || vl >= sizeof(value))
        return 0;
    memcpy(tmpl, data, tl);
    tmpl[tl] = '\0';
    memcpy(value, nul ? nul + 1 : data, vl);
    value[vl] = '\0';
    struct zpl_field f = {"v", value};
    (void)zpl_render_template(tmpl, &f, 1, out, sizeof(out));
    /* Escape round trip. */
    int n = zpl_render_template("^FH^FD{{v}}^FS", &f, 1, out, sizeof(out));
    if (n > 0) {
        size_t k = 0;
        if (strncmp(out, "^FH^FD", 6) != 0 || strcmp(out + n - 3, "^FS") != 0)
            abort();
        for (int i = 6; i < n - 3; i++) {
            if (out[i] == '^' || out[i] == '~')
                abort();
            if (out[i] == '_') {
                int hi = hexval(out[i + 1]), lo = hexval(out[i + 2]);
                if (hi < 0 || lo < 0)
                    abort();
                dec[k++] = (char)(hi * 16 + lo);
                i += 2;
            } else {
                dec[k++] = out[i];
            }
        }
        if (k != strlen(value) || memcmp(dec, value, k) != 0)
            abort();
    }
    return 0;
}
