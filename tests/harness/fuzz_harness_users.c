/* Fuzz target for the harness's user list parser and ACL writer: any bytes either parse into
 * users whose names and passwords pass their checks, or are refused with a message; parsed
 * users always yield an ACL whose every line is a comment, blank, or a known directive. */
#include "base/err.h"
#include "harness/harness.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Stays on in release builds (NDEBUG), unlike assert. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct harness_user users[8];
    static char acl[8192];
    char err[256] = "";
    int n = harness_users_parse((const char *)data, size, users, 8, err, sizeof(err));
    if (n < 0) {
        CHECK(n == -EINVAL || n == WCS_E_EXHAUSTED);
        CHECK(err[0] != '\0');
        return 0;
    }
    CHECK(n >= 1 && n <= 8);
    for (int i = 0; i < n; i++) {
        CHECK(harness_name_check(users[i].name) == 0);
        CHECK(users[i].password[0] == '\0' || harness_password_check(users[i].password) == 0);
        CHECK((unsigned)users[i].role <= HARNESS_ROLE_SERVICE);
    }
    int len = harness_mqtt_acl_wcs(acl, sizeof(acl), "fz", users, (size_t)n);
    CHECK(len > 0 && (size_t)len == strlen(acl));
    for (const char *line = acl; *line;) {
        const char *end = strchr(line, '\n');
        CHECK(end);
        CHECK(line[0] == '#' || line == end || strncmp(line, "pattern ", 8) == 0 ||
              strncmp(line, "user ", 5) == 0 || strncmp(line, "topic ", 6) == 0);
        line = end + 1;
    }
    return 0;
}
