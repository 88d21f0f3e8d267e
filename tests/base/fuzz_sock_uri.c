/* Fuzz target: sock_uri_port on arbitrary bytes (an MQTT URI of a site config). It must never
 * crash or read past the string, and a port it finds is the digits after the authority's last
 * colon (after "]" for a bracketed IPv6 address). */
#include "base/sock.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    uint16_t p;
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    p = sock_uri_port(s);
    if (p != 0) {
        /* the port's digits appear in the text */
        char digits[8];
        size_t n = 0;
        for (uint16_t v = p; v; v /= 10)
            digits[n++] = (char)('0' + v % 10);
        for (size_t i = 0; i < n / 2; i++) {
            char t = digits[i];
            digits[i] = digits[n - 1 - i];
            digits[n - 1 - i] = t;
        }
        digits[n] = '\0';
        assert(strstr(s, digits) != NULL);
    }
    free(s);
    return 0;
}
