/* `wcs acl CONFIG`: writes the mosquitto ACL for a site from its users and roles (wcs/bus/acl.h,
 * docs/mqtt.md "Topic and ACL"), or with --users the broker user names one per line (for
 * mosquitto_passwd). Validates the config first, exactly as `wcs check` does. */
#include "cmds.h"

#include "bus/acl.h"
#include "config/config.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: wcs acl [--users] [--out FILE] CONFIG\n"
            "\n"
            "Write the mosquitto acl_file for the site's users and roles: each user may publish\n"
            "commands only under wcs/v1/<site>/cmd/<user>/, read its own replies, the status\n"
            "topic and the topic filters its roles list under `read`; the wcs service user\n"
            "(mqtt.user) reads and writes the whole site tree. Load it with mosquitto's\n"
            "acl_file option (deploy/mosquitto.conf); docs/mqtt.md describes the rules.\n"
            "\n"
            "options:\n"
            "  --users     print the broker user names instead (service user first), one per\n"
            "              line, e.g. for `mosquitto_passwd -b FILE USER PASSWORD`\n"
            "  --out FILE  write to FILE (mode 0640, replaced atomically) instead of stdout\n"
            "  -h, --help  show this help\n"
            "\n"
            "exit status: 0 written, 1 invalid config or write error, 2 usage error\n");
}

/* Writes text to path through a temporary file in the same directory and a rename. */
static int write_atomic(const char *path, const char *text, size_t len)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    int fd, rc = 0;
    if (!tmp)
        return -ENOMEM;
    snprintf(tmp, n + 16, "%s.tmp%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        rc = -errno;
        free(tmp);
        return rc;
    }
    for (size_t off = 0; off < len && rc == 0;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno != EINTR)
            rc = -errno;
        else if (w > 0)
            off += (size_t)w;
    }
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

int cmd_acl(int argc, char **argv)
{
    const char *path = NULL, *out_path = NULL, *why = "";
    bool users_only = false;
    struct cfg_errors errs;
    struct cfg_site *site;
    char *text = NULL;
    size_t len = 0;
    int rc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--users") == 0) {
            users_only = true;
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out_path = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "wcs acl: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (path) {
            fprintf(stderr, "wcs acl: one CONFIG only\n");
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    cfg_errors_init(&errs);
    if (cfg_load(&site, path, &errs) < 0) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "%s\n", errs.lines[i]);
        if (errs.count == 0)
            fprintf(stderr, "%s: cannot be loaded\n", path);
        cfg_errors_fini(&errs);
        return 1;
    }
    cfg_errors_fini(&errs);
    if (users_only) {
        size_t cap = 64;
        text = malloc(cap);
        for (uint32_t i = 0; text && i <= site->n_users; i++) {
            const char *u = i == 0 ? site->mqtt.user : site->users[i - 1].name;
            size_t n = u ? strlen(u) : 0;
            char *np;
            if (!u)
                continue;
            while (len + n + 2 > cap)
                cap *= 2;
            np = realloc(text, cap);
            if (!np) {
                free(text);
                text = NULL;
                break;
            }
            text = np;
            memcpy(text + len, u, n);
            len += n;
            text[len++] = '\n';
            text[len] = '\0';
        }
        rc = text ? 0 : -ENOMEM;
    } else {
        rc = acl_render(site, path, &text, &len, &why);
    }
    if (rc < 0) {
        fprintf(stderr, "wcs acl: %s: %s\n", path, rc == -EINVAL ? why : strerror(-rc));
        cfg_free(site);
        return 1;
    }
    if (out_path) {
        rc = write_atomic(out_path, text, len);
        if (rc < 0)
            fprintf(stderr, "wcs acl: %s: %s\n", out_path, strerror(-rc));
    } else if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
        fprintf(stderr, "wcs acl: writing stdout: %s\n", strerror(errno));
        rc = -EIO;
    }
    free(text);
    cfg_free(site);
    return rc < 0 ? 1 : 0;
}
