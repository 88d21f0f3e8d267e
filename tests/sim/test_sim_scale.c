/* Integration tests of the MT-SICS scale emulator over TCP and a pty, on a virtual clock:
 * settling (SI dynamic, S held until stable, S I on timeout), noise statistics over many SI
 * readings, drift, zero and tare, overload and underload, and error replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "sim/scale.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

struct fx {
    struct clock_virtual vc;
    struct sim_scale *s;
    int fd;
    char in[4096];
    size_t len;
};

static void start(struct fx *f, struct sim_scale_cfg *cfg)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    memset(f, 0, sizeof(*f));
    clock_virtual_init(&f->vc, 1700000000000);
    cfg->clock = &f->vc.base;
    assert_int_equal(sim_scale_open(&f->s, cfg), 0);
    if (!cfg->tcp)
        return;
    sa.sin_port = htons(sim_scale_port(f->s));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

static void stop(struct fx *f)
{
    close(f->fd);
    sim_scale_close(f->s);
}

static void adv_ms(struct fx *f, uint32_t ms)
{
    clock_virtual_advance(&f->vc, (uint64_t)ms * 1000u);
}

/* How long to wait for something that must happen (a reply, a command taken): the emulator
 * answers within milliseconds and the wait ends as soon as it does; only a loaded machine (ASan, a
 * busy 2-core CI runner) needs more than a second. Windows in which nothing may arrive stay short
 * (they are in clock time the emulator has not reached, so a slow machine cannot fill them). */
#define WAIT_MS 10000

/* Sends a command and waits until the emulator has taken it, so a clock advance after this
 * call happens after the command's arrival (as it would on a live line). */
static void cmd(struct fx *f, const char *c)
{
    struct sim_scale_counters before, now;
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "%s\r\n", c);
    sim_scale_counters(f->s, &before);
    assert_int_equal(write(f->fd, buf, (size_t)n), n);
    for (int i = 0; i < WAIT_MS * 2; i++) {
        sim_scale_counters(f->s, &now);
        if (now.commands > before.commands)
            return;
        usleep(500);
    }
    fail_msg("scale did not take command %s", c);
}

/* One reply line without CR LF, or "" when none comes within timeout_ms (real time). */
static const char *reply(struct fx *f, char *out, size_t cap, int timeout_ms)
{
    for (;;) {
        char *nl = memchr(f->in, '\n', f->len);
        struct pollfd p = {.fd = f->fd, .events = POLLIN};
        ssize_t r;
        if (nl) {
            size_t l = (size_t)(nl - f->in) + 1;
            assert_true(l >= 2 && f->in[l - 2] == '\r');
            assert_true(l - 2 < cap);
            memcpy(out, f->in, l - 2);
            out[l - 2] = '\0';
            memmove(f->in, f->in + l, f->len - l);
            f->len -= l;
            return out;
        }
        if (poll(&p, 1, timeout_ms) <= 0) {
            out[0] = '\0';
            return out;
        }
        r = read(f->fd, f->in + f->len, sizeof(f->in) - f->len);
        assert_true(r > 0);
        f->len += (size_t)r;
    }
}

/* Parses "S S     100.00 g" into mg; returns the status letter. */
static char weight(const char *line, const char *prefix, long *mg)
{
    char st, unit[4];
    double g;
    size_t pl = strlen(prefix);
    assert_memory_equal(line, prefix, pl);
    assert_int_equal(sscanf(line + pl, " %c %lf %3s", &st, &g, unit), 3);
    assert_string_equal(unit, "g");
    assert_int_equal(strlen(line), pl + 15); /* " S " + 10-char field + " g" */
    *mg = lround(g * 1000.0);
    return st;
}

static void test_settling(void **state)
{
    struct sim_scale_cfg cfg;
    struct fx f;
    char buf[64];
    long mg;
    (void)state;
    sim_scale_cfg_defaults(&cfg);
    start(&f, &cfg);
    adv_ms(&f, 2000);
    sim_scale_set_load(f.s, 1000000); /* 1 kg */
    adv_ms(&f, 400);
    cmd(&f, "SI");
    assert_int_equal(weight(reply(&f, buf, sizeof(buf), WAIT_MS), "S", &mg), 'D');
    assert_in_range(mg, 400000, 600000); /* half way up the ramp */
    cmd(&f, "S");
    assert_string_equal(reply(&f, buf, sizeof(buf), 100), ""); /* waits for stability */
    adv_ms(&f, 450);
    assert_int_equal(weight(reply(&f, buf, sizeof(buf), WAIT_MS), "S", &mg), 'S');
    assert_in_range(mg, 1000000 - 30, 1000000 + 30);
    /* Vibration: S gives up after the stability timeout with "S I". */
    sim_scale_set_unstable(f.s, true);
    cmd(&f, "S");
    adv_ms(&f, 2900);
    assert_string_equal(reply(&f, buf, sizeof(buf), 100), "");
    adv_ms(&f, 200);
    assert_string_equal(reply(&f, buf, sizeof(buf), WAIT_MS), "S I");
    cmd(&f, "SI");
    assert_int_equal(weight(reply(&f, buf, sizeof(buf), WAIT_MS), "S", &mg), 'D');
    stop(&f);
}

static void test_noise_statistics(void **state)
{
    struct sim_scale_cfg cfg;
    struct fx f;
    char buf[64];
    double sum = 0, sq = 0;
    const int n = 400;
    (void)state;
    sim_scale_cfg_defaults(&cfg);
    cfg.resolution_mg = 1;
    cfg.noise_mg = 50;
    start(&f, &cfg);
    sim_scale_set_load(f.s, 2500000);
    adv_ms(&f, 1000);
    for (int i = 0; i < n; i++) {
        long mg;
        cmd(&f, "SI");
        assert_int_equal(weight(reply(&f, buf, sizeof(buf), WAIT_MS), "S", &mg), 'S');
        sum += (double)(mg - 2500000);
        sq += (double)(mg - 2500000) * (double)(mg - 2500000);
    }
    /* Mean within 4 standard errors; standard deviation within 20 % of the configured one. */
    assert_true(fabs(sum / n) < 4 * 50 / sqrt(n));
    assert_in_range(lround(sqrt(sq / n - (sum / n) * (sum / n))), 40, 60);
    stop(&f);
}

static void test_zero_tare_drift_limits(void **state)
{
    struct sim_scale_cfg cfg;
    struct fx f;
    char buf[64];
    long mg;
    (void)state;
    sim_scale_cfg_defaults(&cfg);
    cfg.noise_mg = 0;
    cfg.drift_mg_per_min = 60;
    start(&f, &cfg);
    /* Ten minutes of drift on an empty platform: 600 mg. */
    adv_ms(&f, 600000);
    cmd(&f, "S");
    assert_int_equal(weight(reply(&f, buf, sizeof(buf), WAIT_MS), "S", &mg), 'S');
    assert_int_equal(mg, 600);
    cmd(&f, "Z");
    assert_string_equal(reply(&f, buf, sizeof(buf), WAIT_MS), "Z A");
    cmd(&f, "S");
    weight(reply(&f, buf, sizeof(buf), WAIT_MS), "S", &mg);
    assert_int_equal(mg, 0);
    /* A 200 g box is tared, then 750 g put in it. */
    sim_scale_set_load(f.s, 200000);
    cmd(&f, "T");
    adv_ms(&f, 900);
    assert_int_equal(weight(reply(&f, buf, sizeof(buf), WAIT_MS), "T", &mg), 'S');
    assert_int_equal(mg, 200000);
    sim_scale_set_load(f.s, 950000);
    adv_ms(&f, 900);
    cmd(&f, "S");
    weight(reply(&f, buf, sizeof(buf), WAIT_MS), "S", &mg);
    assert_int_equal(mg, 750000);
    cmd(&f, "TAC");
    assert_string_equal(reply(&f, buf, sizeof(buf), WAIT_MS), "TAC A");
    /* Zero outside the zero range is refused. */
    cmd(&f, "Z");
    assert_string_equal(reply(&f, buf, sizeof(buf), WAIT_MS), "Z +");
    /* Overload and underload. */
    sim_scale_set_load(f.s, 31000000);
    adv_ms(&f, 900);
    cmd(&f, "S");
    assert_string_equal(reply(&f, buf, sizeof(buf), WAIT_MS), "S +");
    sim_scale_set_load(f.s, -300000);
    adv_ms(&f, 900);
    cmd(&f, "SI");
    assert_string_equal(reply(&f, buf, sizeof(buf), WAIT_MS), "S -");
    /* Errors and identification. */
    cmd(&f, "XYZ");
    assert_string_equal(reply(&f, buf, sizeof(buf), WAIT_MS), "ES");
    cmd(&f, "S 5");
    assert_string_equal(reply(&f, buf, sizeof(buf), WAIT_MS), "EL");
    cmd(&f, "I4");
    assert_string_equal(reply(&f, buf, sizeof(buf), WAIT_MS), "I4 A \"0123456789\"");
    stop(&f);
}

static void test_serial_pty(void **state)
{
    struct sim_scale_cfg cfg;
    struct sim_scale_counters c;
    struct termios tio;
    struct fx f;
    char buf[64];
    long mg;
    (void)state;
    sim_scale_cfg_defaults(&cfg);
    cfg.tcp = false;
    cfg.serial = true;
    cfg.noise_mg = 0;
    cfg.resolution_mg = 100;
    start(&f, &cfg);
    f.fd = open(sim_scale_pty_path(f.s), O_RDWR | O_NOCTTY);
    assert_true(f.fd >= 0);
    assert_int_equal(tcgetattr(f.fd, &tio), 0);
    cfmakeraw(&tio);
    assert_int_equal(tcsetattr(f.fd, TCSANOW, &tio), 0);
    sim_scale_set_load(f.s, 12345678);
    adv_ms(&f, 1000);
    cmd(&f, "SI");
    assert_string_equal(reply(&f, buf, sizeof(buf), WAIT_MS), "S S    12345.7 g");
    weight(buf, "S", &mg);
    assert_int_equal(mg, 12345700);
    sim_scale_counters(f.s, &c);
    assert_int_equal(c.commands, 1);
    assert_int_equal(c.weights_stable, 1);
    stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settling),
        cmocka_unit_test(test_noise_statistics),
        cmocka_unit_test(test_zero_tare_drift_limits),
        cmocka_unit_test(test_serial_pty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
