/* Label integration: runs the real `wcs label` binary against a Zebra stand-in on 127.0.0.1
 * (written here, answering ~HS and ~HQES by hand): render to stdout, send and confirm, a
 * printer that does not answer, a printer with paper out, bad data that sends nothing, and a
 * printer taken from a site config (the demo config with its printer port patched). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "peer.h"

#include "base/clock.h"
#include "base/loop.h"
#include "tfile.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char HS_OK[] = "\x02"
                            "030,0,0,1245,000,0,0,0,000,0,0,0\x03\r\n"
                            "\x02"
                            "001,0,0,0,1,2,6,0,00000000,1,000\x03\r\n"
                            "\x02"
                            "1234,0\x03\r\n";
static const char HS_PAPER_OUT[] = "\x02"
                                   "030,1,0,1245,000,0,0,0,000,0,0,0\x03\r\n"
                                   "\x02"
                                   "001,0,0,0,1,2,6,0,00000000,1,000\x03\r\n"
                                   "\x02"
                                   "1234,0\x03\r\n";
static const char HQES[] = "\x02\r\n  PRINTER STATUS\r\n"
                           "   ERRORS:         1 00000000 00000001\r\n"
                           "   WARNINGS:       0 00000000 00000000\r\n\x03\r\n";

struct zebra {
    int mode; /* 0 ok, 1 silent, 2 paper out */
    int labels;
    char last[2048];
};

static void zebra(struct peer *p, void *arg)
{
    struct zebra *z = arg;
    for (;;) {
        long xa = peer_find(p, "^XA"), xz = peer_find(p, "^XZ"), hq = peer_find(p, "~HQES"),
             hs = peer_find(p, "~HS");
        if (xa >= 0 && xz > xa && (hs < 0 || xa < hs) && (hq < 0 || xa < hq)) {
            snprintf(z->last, sizeof(z->last), "%.*s", (int)(xz + 3 - xa),
                     (const char *)p->in + xa);
            z->labels++;
            peer_consume(p, (size_t)xz + 3);
        } else if (hq >= 0 && (hs < 0 || hq <= hs)) {
            peer_consume(p, (size_t)hq + 5);
            if (z->mode != 1)
                peer_sends(p, HQES);
        } else if (hs >= 0) {
            peer_consume(p, (size_t)hs + 3);
            if (z->mode == 0)
                peer_sends(p, HS_OK);
            else if (z->mode == 2)
                peer_sends(p, HS_PAPER_OUT);
        } else {
            return;
        }
    }
}

struct run {
    int status;
    char out[8192], err[4096];
};

static void slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
}

/* Runs `wcs label ARGS...` while the loop serves the peer; returns the exit status. */
static int wcs_label(struct loop *l, struct run *r, const char *const *args)
{
    char *argv[40];
    char out[] = "/tmp/wcs-label-out-XXXXXX", err[] = "/tmp/wcs-label-err-XXXXXX";
    int fo = mkstemp(out), fe = mkstemp(err), n = 0, st = 0;
    posix_spawn_file_actions_t fa;
    pid_t pid;

    argv[n++] = (char *)WCS_BIN;
    argv[n++] = (char *)"label";
    for (; *args; args++)
        argv[n++] = (char *)*args;
    argv[n] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fo, 1);
    posix_spawn_file_actions_adddup2(&fa, fe, 2);
    assert_int_equal(posix_spawn(&pid, WCS_BIN, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        loop_run_once(l, 5);
    }
    close(fo);
    close(fe);
    slurp(out, r->out, sizeof(r->out));
    slurp(err, r->err, sizeof(r->err));
    unlink(out);
    unlink(err);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r->status;
}

#define SSCC_ARGS                                                                                  \
    "sscc", "--sscc", "106141411234567897", "--name", "ACME Stores", "--line1", "1 Main St",       \
        "--postal", "12345", "--city", "Springfield", "--country", "US", "--carrier", "UPS",       \
        "--order", "SO-1001", "--weight-g", "1250"

static void test_render_stdout(void **state)
{
    struct loop *l;
    struct run r;
    const char *args[] = {"lpn", "--lpn", "TOTE-0001", NULL};
    const char *bad[] = {"lpn", NULL};

    assert_int_equal(loop_new(&l, clock_system()), 0);
    assert_int_equal(wcs_label(l, &r, args), 0);
    assert_non_null(strstr(r.out, "^XA"));
    assert_non_null(strstr(r.out, "^FDTOTE-0001^FS"));
    assert_non_null(strstr(r.out, "^XZ"));
    assert_int_equal(wcs_label(l, &r, bad), 1); /* missing --lpn */
    assert_string_equal(r.out, "");
    loop_free(l);
}

static void test_send_confirmed(void **state)
{
    struct loop *l;
    struct peer p;
    struct zebra z = {0};
    struct run r;
    char to[64];

    assert_int_equal(loop_new(&l, clock_system()), 0);
    assert_int_equal(peer_tcp(&p, l, zebra, &z), 0);
    snprintf(to, sizeof(to), "tcp://127.0.0.1:%u", p.port);
    const char *args[] = {SSCC_ARGS, "--to", to, NULL};
    assert_int_equal(wcs_label(l, &r, args), 0);
    assert_int_equal(z.labels, 1);
    assert_non_null(strstr(z.last, "106141411234567897"));
    assert_non_null(strstr(z.last, "SO-1001"));
    assert_string_equal(r.out, "");
    peer_close(&p);
    loop_free(l);
}

static void test_send_failures(void **state)
{
    struct loop *l;
    struct peer p;
    struct zebra z = {.mode = 1};
    struct run r;
    char to[64];
    uint64_t t0;

    assert_int_equal(loop_new(&l, clock_system()), 0);
    assert_int_equal(peer_tcp(&p, l, zebra, &z), 0);
    snprintf(to, sizeof(to), "tcp://127.0.0.1:%u", p.port);
    /* Silent printer: no status answer is an error state, the run ends with exit 1. */
    const char *silent[] = {"lpn", "--lpn", "T1", "--to", to, "--timeout-ms", "1000", NULL};
    t0 = clock_real_mono_us();
    assert_int_equal(wcs_label(l, &r, silent), 1);
    assert_true(clock_real_mono_us() - t0 < 3000000);
    assert_non_null(strstr(r.err, "did not answer"));
    assert_int_equal(z.labels, 0);
    /* Paper out: exit 1 naming it; the label was not sent. */
    z.mode = 2;
    const char *paper[] = {"lpn", "--lpn", "T2", "--to", to, NULL};
    assert_int_equal(wcs_label(l, &r, paper), 1);
    assert_non_null(strstr(r.err, "paper-out"));
    assert_int_equal(z.labels, 0);
    /* Invalid data: nothing is sent at all. */
    z.mode = 0;
    const char *bad[] = {"sscc",    "--sscc",    "106141411234567890",
                         "--name",  "A",         "--line1",
                         "B",       "--postal",  "1",
                         "--city",  "C",         "--country",
                         "US",      "--carrier", "X",
                         "--order", "Y",         "--to",
                         to,        NULL};
    assert_int_equal(wcs_label(l, &r, bad), 1);
    assert_int_equal(z.labels, 0);
    assert_int_equal(p.in_len, 0);
    /* Nobody listening: exit 1 within the timeout. */
    peer_close(&p);
    const char *gone[] = {"lpn", "--lpn", "T3", "--to", to, "--timeout-ms", "500", NULL};
    assert_int_equal(wcs_label(l, &r, gone), 1);
    assert_non_null(strstr(r.err, "not reachable"));
    loop_free(l);
}

static void test_send_from_config(void **state)
{
    struct loop *l;
    struct peer p;
    struct zebra z = {0};
    struct run r;
    char dir[] = "/tmp/wcs-label-cfg-XXXXXX", cmd[1024], cfg[512];

    assert_non_null(mkdtemp(dir));
    assert_int_equal(loop_new(&l, clock_system()), 0);
    assert_int_equal(peer_tcp(&p, l, zebra, &z), 0);
    /* The demo site, with prn-pack1 moved to our port. */
    snprintf(cmd, sizeof(cmd),
             "cp -r %s/config/examples/demo/. %s/ && sed -i 's|tcp://127.0.0.1:9100|"
             "tcp://127.0.0.1:%u|' %s/site.yaml",
             SOURCE_DIR, dir, p.port, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cfg, sizeof(cfg), "%s/site.yaml", dir);
    const char *args[] = {"location", "--location", "WH1/Stock/A/01/02", "--config",
                          cfg,        "--printer",  "prn-pack1",         NULL};
    assert_int_equal(wcs_label(l, &r, args), 0);
    assert_int_equal(z.labels, 1);
    assert_non_null(strstr(z.last, "WH1/Stock/A/01/02"));
    /* A device that is not a printer is refused before anything is sent. */
    const char *notprn[] = {"location", "--location", "X",           "--config",
                            cfg,        "--printer",  "scale-pack1", NULL};
    assert_int_equal(wcs_label(l, &r, notprn), 1);
    assert_non_null(strstr(r.err, "no printer"));
    assert_int_equal(tfile_remove_tree(dir), 0);
    peer_close(&p);
    loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_stdout),
        cmocka_unit_test(test_send_confirmed),
        cmocka_unit_test(test_send_failures),
        cmocka_unit_test(test_send_from_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
