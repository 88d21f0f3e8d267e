/* mosquitto ACL text from a site's users and roles (acl.h). mosquitto's acl_file grants
 * nothing that is not listed, so a user is confined to exactly the lines written here; the
 * broker, not wcs, then enforces who may publish a command under which name and who may see
 * which events. */
#include "bus/acl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void put(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (b->oom)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if (!b->p || b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *np;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

/* True when filter f was already written for this user (roles may repeat a filter). */
static bool seen_before(const struct cfg_site *s, const struct cfg_user *u, uint32_t role_i,
                        uint32_t read_i)
{
    const char *f = s->roles[u->roles[role_i]].read[read_i];
    if (strcmp(f, "status") == 0)
        return true; /* always granted */
    for (uint32_t r = 0; r <= role_i; r++) {
        const struct cfg_role *ro = &s->roles[u->roles[r]];
        uint32_t end = r == role_i ? read_i : ro->n_read;
        for (uint32_t k = 0; k < end; k++)
            if (strcmp(ro->read[k], f) == 0)
                return true;
    }
    return false;
}

int acl_render(const struct cfg_site *s, const char *source, char **out, size_t *len,
               const char **why)
{
    struct sbuf b = {0};
    const char *svc = s->mqtt.user;
    for (uint32_t i = 0; svc && i < s->n_users; i++)
        if (strcmp(s->users[i].name, svc) == 0) {
            if (why)
                *why = "a configured user has the name of the wcs service user (mqtt.user); "
                       "give wcs its own broker user";
            return -EINVAL;
        }
    put(&b,
        "# mosquitto acl_file for wcs site %s, written by `wcs acl`%s%s (docs/mqtt.md).\n"
        "# A user may do only what is listed under its name: publish commands under its own\n"
        "# cmd/<user>/, read its replies, the status and what its roles list under `read`.\n",
        s->id, source ? " from " : "", source ? source : "");
    if (svc)
        put(&b, "\n# the wcs service (mqtt.user)\nuser %s\ntopic readwrite wcs/v1/%s/#\n", svc,
            s->id);
    for (uint32_t i = 0; i < s->n_users; i++) {
        const struct cfg_user *u = &s->users[i];
        put(&b, "\n# roles:");
        for (uint32_t r = 0; r < u->n_roles; r++)
            put(&b, " %s", s->roles[u->roles[r]].name);
        put(&b,
            "\nuser %s\ntopic write wcs/v1/%s/cmd/%s/#\ntopic read wcs/v1/%s/reply/%s/#\n"
            "topic read wcs/v1/%s/status\n",
            u->name, s->id, u->name, s->id, u->name, s->id);
        for (uint32_t r = 0; r < u->n_roles; r++) {
            const struct cfg_role *ro = &s->roles[u->roles[r]];
            for (uint32_t k = 0; k < ro->n_read; k++)
                if (!seen_before(s, u, r, k))
                    put(&b, "topic read wcs/v1/%s/%s\n", s->id, ro->read[k]);
        }
    }
    if (b.oom) {
        free(b.p);
        return -ENOMEM;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
