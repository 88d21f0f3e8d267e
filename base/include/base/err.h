/* Error codes shared by every wcs module.
 * Functions return 0 on success and a negative value on an expected failure: a negative errno,
 * or one of the project codes below (all under -1000). wcs_strerror() names either kind. */
#ifndef BASE_ERR_H
#define BASE_ERR_H

#include <stddef.h>

enum wcs_err {
    WCS_E_BASE = -1000,
    WCS_E_CONFIG = -1001,    /* configuration is invalid (see the error list) */
    WCS_E_SYNTAX = -1002,    /* input bytes are malformed */
    WCS_E_CHECK = -1003,     /* a check digit or checksum does not match */
    WCS_E_RANGE = -1004,     /* a value is outside its allowed range */
    WCS_E_UNKNOWN = -1005,   /* a reference names something that does not exist */
    WCS_E_DUPLICATE = -1006, /* an identifier is used twice */
    WCS_E_STATE = -1007,     /* the operation is not allowed in the current state */
    WCS_E_FULL = -1008,      /* a bounded buffer is full; the item was not taken */
    WCS_E_EXHAUSTED = -1009, /* a capacity passed in by the caller is too small */
    WCS_E_DENIED = -1010,    /* the actor's role does not allow it */
    WCS_E_PROTOCOL = -1011,  /* the peer broke its protocol (exception, wrong sequence) */
    WCS_E_LINK = -1012,      /* the link to a device or server is down */
    WCS_E_LAST = -1013,
};

/* Formats a one-line reason into a caller's error buffer (truncating; NUL-terminated). A NULL
 * buffer or zero length is ignored, so callers may pass optional buffers straight through. */
void wcs_errf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Returns a static string naming rc: a project code, a negative errno, or 0 ("ok").
 * Never returns NULL; unknown codes yield a generic text. Thread-safe. */
const char *wcs_strerror(int rc);

#endif
