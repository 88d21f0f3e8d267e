/* The runner's derived site config (sim/siteconf.c): the redis and mqtt sections point at the
 * run's servers, and of the site's own mqtt section the QoS is kept (a site set to QoS 0 ran its
 * simulation at QoS 1 before). */
#include "siteconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[64];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Derives site text and returns the derived file's text (malloc'd). */
static char *derive(const char *site_text)
{
    char in[128], out[128], err[256] = "";
    static const struct siteconf_opts o = {.redis_host = "127.0.0.1",
                                           .redis_port = 7001,
                                           .redis_user = "wcs",
                                           .redis_password_file = "/tmp/r.pass",
                                           .mqtt_uri = "tcp://127.0.0.1:7002",
                                           .mqtt_user = "wcs",
                                           .mqtt_password_file = "/tmp/m.pass",
                                           .mqtt_client_id = "wcs-sim"};
    snprintf(in, sizeof(in), "%s/site.yaml", dir);
    snprintf(out, sizeof(out), "%s/derived.yaml", dir);
    write_file(in, site_text);
    if (siteconf_derive(in, out, &o, err, sizeof(err)) != 0)
        fail_msg("siteconf_derive: %s", err);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char *buf = calloc(1, 65536);
    assert_non_null(buf);
    size_t n = fread(buf, 1, 65535, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* The lines of top-level section name (up to the next top-level key), or "" (static). */
static const char *section(const char *text, const char *name)
{
    static char out[4096];
    char head[64];
    const char *p, *e;
    snprintf(head, sizeof(head), "\n%s:\n", name);
    p = strstr(text, head);
    if (!p && strncmp(text, head + 1, strlen(head + 1)) == 0)
        p = text - 1;
    if (!p)
        return "";
    p += strlen(head);
    for (e = p; *e && !(e[0] == '\n' && e[1] && e[1] != ' ' && e[1] != '-'); e++)
        ;
    snprintf(out, sizeof(out), "%.*s", (int)(e - p), p);
    return out;
}

static void test_qos_kept(void **state)
{
    (void)state;
    char *t = derive("id: s1\n"
                     "redis:\n  host: 10.0.0.1\n  port: 6380\n"
                     "mqtt:\n  uri: tcp://10.0.0.2:1883\n  client_id: site\n  qos: 0\n"
                     "  keepalive_s: 60\n");
    const char *m = section(t, "mqtt");
    assert_non_null(strstr(m, "uri: tcp://127.0.0.1:7002"));
    assert_non_null(strstr(m, "qos: 0"));
    assert_null(strstr(m, "10.0.0.2"));
    assert_null(strstr(m, "keepalive_s: 60")); /* the run's own keepalive */
    const char *r = section(t, "redis");
    assert_non_null(strstr(r, "port: 7001"));
    assert_null(strstr(r, "qos"));
    assert_null(strstr(r, "10.0.0.1"));
    free(t);
}

/* A qos the config loader refuses is carried as it is (the loader reports it), not dropped. */
static void test_bad_qos_kept(void **state)
{
    (void)state;
    char *t = derive("id: s1\nmqtt:\n  uri: tcp://10.0.0.2:1883\n  qos: 7\n");
    assert_non_null(strstr(section(t, "mqtt"), "qos: 7"));
    free(t);
    t = derive("id: s1\nmqtt:\n  qos: [1, 2]\n");
    const char *m = section(t, "mqtt");
    assert_non_null(strstr(m, "qos:"));
    assert_non_null(strstr(m, "- 1"));
    free(t);
}

static void test_no_qos_no_section(void **state)
{
    (void)state;
    char *t = derive("id: s1\nmqtt:\n  uri: tcp://10.0.0.2:1883\n");
    assert_null(strstr(section(t, "mqtt"), "qos"));
    assert_non_null(strstr(section(t, "mqtt"), "uri: tcp://127.0.0.1:7002"));
    free(t);
    /* A site without the sections gets both, pointed at the run's servers. */
    t = derive("id: s1\n");
    assert_non_null(strstr(section(t, "mqtt"), "uri: tcp://127.0.0.1:7002"));
    assert_null(strstr(section(t, "mqtt"), "qos"));
    assert_non_null(strstr(section(t, "redis"), "port: 7001"));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qos_kept),
        cmocka_unit_test(test_no_qos_no_section),
        cmocka_unit_test(test_bad_qos_kept),
    };
    snprintf(dir, sizeof(dir), "/tmp/test_siteconf-XXXXXX"); /* mkdtemp's template */
    if (!mkdtemp(dir))
        return 1;
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char path[128];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, i ? "derived.yaml" : "site.yaml");
        unlink(path);
    }
    if (rmdir(dir) != 0)
        rc = rc ? rc : 1;
    return rc;
}
