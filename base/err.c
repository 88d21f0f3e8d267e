/* Names for the project error codes of base/err.h and for negative errnos. */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const names[] = {
    [-(WCS_E_CONFIG - WCS_E_BASE)] = "invalid configuration",
    [-(WCS_E_SYNTAX - WCS_E_BASE)] = "malformed input",
    [-(WCS_E_CHECK - WCS_E_BASE)] = "check digit mismatch",
    [-(WCS_E_RANGE - WCS_E_BASE)] = "value out of range",
    [-(WCS_E_UNKNOWN - WCS_E_BASE)] = "unknown reference",
    [-(WCS_E_DUPLICATE - WCS_E_BASE)] = "duplicate identifier",
    [-(WCS_E_STATE - WCS_E_BASE)] = "not allowed in this state",
    [-(WCS_E_FULL - WCS_E_BASE)] = "buffer full",
    [-(WCS_E_EXHAUSTED - WCS_E_BASE)] = "capacity exhausted",
    [-(WCS_E_DENIED - WCS_E_BASE)] = "permission denied by role",
    [-(WCS_E_PROTOCOL - WCS_E_BASE)] = "protocol violation by peer",
    [-(WCS_E_LINK - WCS_E_BASE)] = "link down",
};

const char *wcs_strerror(int rc)
{
    if (rc == 0)
        return "ok";
    if (rc < WCS_E_BASE && rc > WCS_E_LAST) {
        const char *s = names[-(rc - WCS_E_BASE)];
        return s ? s : "unknown wcs error";
    }
    if (rc < 0 && rc > WCS_E_BASE)
        return strerror(-rc); /* glibc's table is static and thread-safe for valid codes */
    return "unknown error";
}

void wcs_errf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    if (!buf || len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}
