/* Integration tests of the Modbus PLC driver over RTU: the driver opens the slave side of one
 * pty, a libmodbus RTU server (modbus_new_rtu) in a thread of the test opens the slave side of
 * another, and a relay thread joins the two masters like a null-modem cable that can garble
 * replies or inject noise. Registers are written by hand, never through the codec. Covers a
 * divert with confirmation, CRC errors and line noise, a wrong unit id, and a lost server. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/loop.h"
#include "drivers/plc.h"
#include "plcfix.h"

#include <errno.h>
#include <fcntl.h>
#include <modbus.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* The server's bank, unit id and heartbeat period (the layout: plcfix.h). */
enum {
    N_REGS = 128,
    UNIT = 17,
    HB_EVERY_MS = 20,
};

struct pty {
    int master, keep; /* keep: our own fd on the slave, so the master never sees a hang-up */
    char path[64];
};

/* The server side: a libmodbus RTU server on pty a, a relay between the two masters. */
struct rtu {
    struct pty a, b; /* a: server, b: driver */
    pthread_mutex_t mu;
    modbus_mapping_t *map;
    pthread_t relay, server;
    _Atomic bool relay_stop, server_stop, server_running, server_failed;
    _Atomic int unit;
    _Atomic int corrupt_replies; /* next replies to garble (last byte inverted) */
    _Atomic int noise_bursts;    /* next replies to precede with garbage bytes */
    _Atomic uint64_t served;
};

static void pty_open(struct pty *p)
{
    struct termios t;

    p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    assert_true(p->master >= 0);
    assert_int_equal(grantpt(p->master), 0);
    assert_int_equal(unlockpt(p->master), 0);
    assert_int_equal(ptsname_r(p->master, p->path, sizeof(p->path)), 0);
    p->keep = open(p->path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    assert_true(p->keep >= 0);
    /* Raw before anyone opens it: a cooked slave would echo requests back to the driver. */
    assert_int_equal(tcgetattr(p->keep, &t), 0);
    cfmakeraw(&t);
    assert_int_equal(tcsetattr(p->keep, TCSANOW, &t), 0);
}

static void pty_close(struct pty *p)
{
    close(p->keep);
    close(p->master);
}

static void write_all(int fd, const uint8_t *b, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        b += w;
        n -= (size_t)w;
    }
}

static void *relay(void *arg)
{
    struct rtu *r = arg;
    uint8_t buf[512];
    uint32_t lcg = 12345;

    while (!atomic_load(&r->relay_stop)) {
        struct pollfd f[2] = {{r->a.master, POLLIN, 0}, {r->b.master, POLLIN, 0}};
        ssize_t n;
        if (poll(f, 2, 20) <= 0)
            continue;
        if (f[1].revents & POLLIN) { /* driver -> server */
            n = read(r->b.master, buf, sizeof(buf));
            if (n > 0)
                write_all(r->a.master, buf, (size_t)n);
        }
        if (f[0].revents & POLLIN) { /* server -> driver */
            n = read(r->a.master, buf, sizeof(buf));
            if (n <= 0)
                continue;
            if (atomic_load(&r->noise_bursts) > 0) {
                uint8_t noise[24];
                atomic_fetch_sub(&r->noise_bursts, 1);
                for (size_t i = 0; i < sizeof(noise); i++) {
                    lcg = lcg * 1103515245u + 12345u;
                    noise[i] = (uint8_t)(lcg >> 16);
                }
                write_all(r->b.master, noise, sizeof(noise));
            }
            if (atomic_load(&r->corrupt_replies) > 0) {
                atomic_fetch_sub(&r->corrupt_replies, 1);
                buf[n - 1] ^= 0xFF;
            }
            write_all(r->b.master, buf, (size_t)n);
        }
    }
    return NULL;
}

static void *server(void *arg)
{
    struct rtu *r = arg;
    modbus_t *ctx = modbus_new_rtu(r->a.path, 115200, 'N', 8, 1);
    uint8_t req[MODBUS_RTU_MAX_ADU_LENGTH];
    uint64_t next_hb = clock_real_mono_us();
    int unit = atomic_load(&r->unit);

    /* No cmocka assertion on this thread: failures are reported to server_start. */
    if (!ctx || modbus_set_slave(ctx, unit) < 0 || modbus_connect(ctx) < 0) {
        if (ctx)
            modbus_free(ctx);
        atomic_store(&r->server_failed, true);
        return NULL;
    }
    /* Requests sent while the server was away are not for this session. */
    (void)modbus_flush(ctx);
    atomic_store(&r->server_running, true);
    while (!atomic_load(&r->server_stop)) {
        struct pollfd f = {modbus_get_socket(ctx), POLLIN, 0};
        int rc;
        if (clock_real_mono_us() >= next_hb) {
            pthread_mutex_lock(&r->mu);
            r->map->tab_registers[R_HB]++;
            pthread_mutex_unlock(&r->mu);
            next_hb += HB_EVERY_MS * 1000;
        }
        if (atomic_load(&r->unit) != unit) {
            unit = atomic_load(&r->unit);
            (void)modbus_set_slave(ctx, unit);
        }
        if (poll(&f, 1, 5) != 1)
            continue;
        rc = modbus_receive(ctx, req);
        if (rc < 0) {
            (void)modbus_flush(ctx);
            continue;
        }
        if (rc == 0) /* addressed to another unit: a real RTU slave stays silent */
            continue;
        /* Counted before the reply goes out: the driver may act on the reply (and the test
         * see its event) before this thread runs again. */
        atomic_fetch_add(&r->served, 1);
        pthread_mutex_lock(&r->mu);
        (void)modbus_reply(ctx, req, rc, r->map);
        pthread_mutex_unlock(&r->mu);
    }
    modbus_close(ctx);
    modbus_free(ctx);
    atomic_store(&r->server_running, false);
    return NULL;
}

static void server_start(struct rtu *r)
{
    atomic_store(&r->server_stop, false);
    atomic_store(&r->server_failed, false);
    assert_int_equal(pthread_create(&r->server, NULL, server, r), 0);
    while (!atomic_load(&r->server_running) && !atomic_load(&r->server_failed))
        usleep(1000);
    if (atomic_load(&r->server_failed))
        pthread_join(r->server, NULL);
    assert_false(atomic_load(&r->server_failed));
}

static void server_stop(struct rtu *r)
{
    atomic_store(&r->server_stop, true);
    pthread_join(r->server, NULL);
}

static void reg_set(struct rtu *r, uint16_t addr, uint16_t v)
{
    pthread_mutex_lock(&r->mu);
    r->map->tab_registers[addr] = v;
    pthread_mutex_unlock(&r->mu);
}

static uint16_t reg_get(struct rtu *r, uint16_t addr)
{
    uint16_t v;
    pthread_mutex_lock(&r->mu);
    v = r->map->tab_registers[addr];
    pthread_mutex_unlock(&r->mu);
    return v;
}

/* ASCII two characters per register, high byte first, NUL-padded. */
static void reg_text(struct rtu *r, uint16_t addr, const char *text, uint16_t nregs)
{
    size_t n = strlen(text);
    for (uint16_t i = 0; i < nregs; i++) {
        uint8_t hi = 2u * i < n ? (uint8_t)text[2 * i] : 0;
        uint8_t lo = 2u * i + 1 < n ? (uint8_t)text[2 * i + 1] : 0;
        reg_set(r, addr + i, (uint16_t)(hi << 8 | lo));
    }
}

struct fx {
    struct rtu rtu;
    struct loop *loop;
    struct conv_plc *plc;
    struct conv_event ev[1024];
    size_t n_ev;
};

static void on_event(struct conv_plc *p, const struct conv_event *ev, void *arg)
{
    struct fx *f = arg;
    if (f->n_ev < 1024)
        f->ev[f->n_ev++] = *ev;
}

static struct fx *fx_open(void)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct rtu *r;
    struct conv_plc_cfg cfg;
    struct tr_addr a;

    assert_non_null(f);
    r = &f->rtu;
    pthread_mutex_init(&r->mu, NULL);
    r->map = modbus_mapping_new(0, 0, N_REGS, 0);
    assert_non_null(r->map);
    r->map->tab_registers[R_STATUS] = 1; /* auto */
    atomic_store(&r->unit, UNIT);
    pty_open(&r->a);
    pty_open(&r->b);
    assert_int_equal(pthread_create(&r->relay, NULL, relay, r), 0);
    server_start(r);

    assert_int_equal(loop_new(&f->loop, clock_system()), 0);
    assert_int_equal(tr_addr_serial(&a, r->b.path, 115200, 'N', 8, 1), 0);
    conv_plc_cfg_init(&cfg, CONV_MODBUS_RTU, &a);
    cfg.id = "plc-rtu";
    cfg.unit_id = UNIT;
    /* A 115200 baud round trip takes a few ms; 250 ms keeps a loaded CI machine (three
     * threads per test, sanitizers) from timing out where nothing is wrong. */
    cfg.timeout_ms = 250;
    cfg.heartbeat_ms = 100;
    cfg.backoff_min_ms = 20;
    cfg.backoff_max_ms = 100;
    cfg.n_points = 1;
    plcfix_map(&cfg.points[0], 0, W_BASE);
    assert_int_equal(conv_plc_open(&f->plc, f->loop, &cfg, on_event, f), 0);
    return f;
}

static void fx_close(struct fx *f)
{
    struct rtu *r = &f->rtu;

    conv_plc_close(f->plc);
    loop_free(f->loop);
    if (atomic_load(&r->server_running))
        server_stop(r);
    atomic_store(&r->relay_stop, true);
    pthread_join(r->relay, NULL);
    pty_close(&r->a);
    pty_close(&r->b);
    modbus_mapping_free(r->map);
    pthread_mutex_destroy(&r->mu);
    free(f);
}

/* The bound of every wait for something that must happen. Bytes through a pty pass a kernel
 * worker; on a loaded machine (parallel tests, stress-ng --io) deliveries were seen to stall
 * for over a second, so 10 s: a wait ends as soon as its condition holds. */
enum { PTY_WAIT_MS = 10000 };

/* Runs the loop until an event of kind (SCAN/CONFIRM/STALE: with seq val; LINK: with link
 * state val) shows up at or after *from, or timeout_ms pass. Returns its index or -1. */
static int wait_event(struct fx *f, size_t *from, enum conv_evt_kind kind, uint32_t val,
                      uint32_t timeout_ms)
{
    return plcfix_wait_event(f->loop, f->ev, &f->n_ev, from, kind, val, timeout_ms);
}

/* Like wait_event for a LINK FAULT event with the given fault (a slow machine may show
 * another fault first). */
static int wait_fault(struct fx *f, size_t *from, enum conv_fault fault, uint32_t timeout_ms)
{
    uint64_t end = clock_real_mono_us() + (uint64_t)timeout_ms * 1000;
    int i;

    while ((i = wait_event(f, from, CONV_EVT_LINK, CONV_LINK_FAULT, 10)) < 0 ||
           f->ev[i].fault != fault)
        if (clock_real_mono_us() >= end)
            return -1;
    return i;
}

static void run_ms(struct fx *f, uint32_t ms)
{
    plcfix_run_ms(f->loop, ms);
}

static bool wait_reg(struct fx *f, uint16_t addr, uint16_t value, uint32_t timeout_ms)
{
    uint64_t end = clock_real_mono_us() + (uint64_t)timeout_ms * 1000;
    do {
        if (reg_get(&f->rtu, addr) == value)
            return true;
        loop_run_once(f->loop, 2);
    } while (clock_real_mono_us() < end);
    return reg_get(&f->rtu, addr) == value;
}

static void new_item(struct fx *f, uint16_t seq, const char *code, uint32_t track)
{
    reg_text(&f->rtu, R_CODE, code, CODE_REGS);
    reg_set(&f->rtu, R_RESULT, code[0] ? 1 : 2);
    reg_set(&f->rtu, R_TRACK, (uint16_t)(track >> 16));
    reg_set(&f->rtu, R_TRACK + 1, (uint16_t)track);
    reg_set(&f->rtu, R_SEQ, seq); /* last: the sequence publishes the item */
}

/* One item end to end: scan event, decision written, confirmation reported and acked. */
static void divert_one(struct fx *f, size_t *at, uint16_t seq, uint16_t lane)
{
    char code[16];
    struct conv_decision d = {.point = 0, .seq = seq, .dest_lane = lane};
    int i;

    snprintf(code, sizeof(code), "]C1RTU%05u", (unsigned)seq);
    new_item(f, seq, code, 0x00010000u + seq);
    i = wait_event(f, at, CONV_EVT_SCAN, seq, PTY_WAIT_MS);
    assert_true(i >= 0);
    assert_string_equal(f->ev[i].barcode, code);
    assert_int_equal(f->ev[i].track_id, 0x00010000u + seq);
    assert_int_equal(conv_plc_decide(f->plc, &d), 0);
    assert_true(wait_reg(f, W_BASE + W_RESP, seq, PTY_WAIT_MS));
    assert_int_equal(reg_get(&f->rtu, W_BASE + W_LANE), lane);
    reg_set(&f->rtu, R_CRES, 1);
    reg_set(&f->rtu, R_CLANE, lane);
    reg_set(&f->rtu, R_CSEQ, seq);
    i = wait_event(f, at, CONV_EVT_CONFIRM, seq, PTY_WAIT_MS);
    assert_true(i >= 0);
    assert_int_equal(f->ev[i].confirm_result, PLC_CONFIRM_DIVERTED);
    assert_int_equal(f->ev[i].confirm_lane, lane);
    assert_true(wait_reg(f, W_BASE + W_ACK, seq, PTY_WAIT_MS));
}

/* The link is UP, or back UP within PTY_WAIT_MS, and every fault reported from event `from` on
 * was a missed reply: on a loaded machine a reply can miss the 250 ms timeout and fault the
 * link until the next poll (CONV_FAULT_TIMEOUT, or FRAME when the late reply is taken for the
 * next request's). A heartbeat, data or exception fault, or a link that stays down, fails. */
static void assert_link_up(struct fx *f, size_t from)
{
    uint64_t end = clock_real_mono_us() + (uint64_t)PTY_WAIT_MS * 1000;

    while (conv_plc_get_link(f->plc) != CONV_LINK_UP && clock_real_mono_us() < end)
        loop_run_once(f->loop, 5);
    assert_int_equal(conv_plc_get_link(f->plc), CONV_LINK_UP);
    loop_run_once(f->loop, 0); /* the events up to now */
    for (size_t k = from; k < f->n_ev; k++)
        if (f->ev[k].kind == CONV_EVT_LINK && f->ev[k].link != CONV_LINK_UP)
            assert_true(f->ev[k].fault == CONV_FAULT_TIMEOUT || f->ev[k].fault == CONV_FAULT_FRAME);
}

static size_t count_link_events(struct fx *f, size_t from)
{
    size_t n = 0;
    for (size_t k = from; k < f->n_ev; k++)
        n += f->ev[k].kind == CONV_EVT_LINK;
    return n;
}

static void test_rtu_divert(void **state)
{
    struct fx *f = fx_open();
    struct conv_plc_stats st;
    size_t at = 0, up_at;
    uint16_t hb0;
    uint64_t t0;

    assert_true(wait_event(f, &at, CONV_EVT_LINK, CONV_LINK_UP, PTY_WAIT_MS) >= 0);
    up_at = at;
    divert_one(f, &at, 1, 7);
    /* The write block keeps its decision while the wcs heartbeat moves. */
    hb0 = reg_get(&f->rtu, W_BASE + W_HB);
    t0 = clock_real_mono_us();
    while ((uint16_t)(reg_get(&f->rtu, W_BASE + W_HB) - hb0) < 2 &&
           clock_real_mono_us() - t0 < 2000000)
        run_ms(f, 10);
    /* Two ticks of 100 ms; a loaded machine gets ten times that. */
    assert_true((uint16_t)(reg_get(&f->rtu, W_BASE + W_HB) - hb0) >= 2);
    assert_true(clock_real_mono_us() - t0 >= 100000);
    assert_int_equal(reg_get(&f->rtu, W_BASE + W_RESP), 1);
    assert_int_equal(reg_get(&f->rtu, W_BASE + W_FLAGS), 0);
    assert_link_up(f, up_at);
    /* The driver keeps polling: more than 10 reads (at 10 ms a poll; a loaded machine may
     * need longer than the heartbeat wait above to get there). */
    t0 = clock_real_mono_us();
    conv_plc_get_stats(f->plc, &st);
    while (st.reads <= 10 && clock_real_mono_us() - t0 < 5000000) {
        run_ms(f, 10);
        conv_plc_get_stats(f->plc, &st);
    }
    assert_true(st.reads > 10);
    /* On a clean line a reply can only be garbled by arriving after its request timed out
     * (RTU has no transaction id), and a loaded machine may cause the odd timeout. */
    assert_true(st.frame_errors <= st.timeouts);
    fx_close(f);
}

static void test_rtu_crc_error_and_noise(void **state)
{
    struct fx *f = fx_open();
    struct conv_plc_stats st0, st;
    size_t at = 0;
    int i;

    assert_true(wait_event(f, &at, CONV_EVT_LINK, CONV_LINK_UP, PTY_WAIT_MS) >= 0);
    run_ms(f, 50);
    conv_plc_get_stats(f->plc, &st0);
    /* One reply garbled on the line: its CRC fails, the link faults, the next poll heals it
     * without reopening the port. */
    atomic_store(&f->rtu.corrupt_replies, 1);
    assert_true(wait_fault(f, &at, CONV_FAULT_FRAME, PTY_WAIT_MS) >= 0);
    assert_true(wait_event(f, &at, CONV_EVT_LINK, CONV_LINK_UP, PTY_WAIT_MS) >= 0);
    conv_plc_get_stats(f->plc, &st);
    assert_true(st.frame_errors >= st0.frame_errors + 1);
    assert_int_equal(st.reconnects, st0.reconnects);
    assert_int_equal(atomic_load(&f->rtu.corrupt_replies), 0);

    /* A burst of noise in front of a reply, three times: whatever libmodbus makes of it (bad
     * CRC, wrong unit, length overrun, or a wait for bytes that never come), it is counted,
     * the rest of the burst is flushed (else it would garble the next replies too and the
     * port would be reopened) and the link comes back. */
    for (int k = 0; k < 3; k++) {
        atomic_store(&f->rtu.noise_bursts, 1);
        i = wait_event(f, &at, CONV_EVT_LINK, CONV_LINK_FAULT, PTY_WAIT_MS);
        assert_true(i >= 0);
        assert_true(f->ev[i].fault == CONV_FAULT_FRAME || f->ev[i].fault == CONV_FAULT_TIMEOUT);
        assert_true(wait_event(f, &at, CONV_EVT_LINK, CONV_LINK_UP, PTY_WAIT_MS) >= 0);
    }
    conv_plc_get_stats(f->plc, &st);
    assert_true(st.frame_errors + st.timeouts >= st0.frame_errors + st0.timeouts + 4);
    assert_int_equal(st.reconnects, st0.reconnects);
    /* No stale byte is taken for an answer afterwards: a whole cycle works. */
    i = (int)at;
    divert_one(f, &at, 2, 4);
    assert_link_up(f, (size_t)i);
    fx_close(f);
}

static void test_rtu_wrong_unit_id(void **state)
{
    struct fx *f = fx_open();
    struct conv_plc_stats st0, st;
    struct conv_decision d = {.point = 0, .seq = 3, .dest_lane = 1};
    size_t at = 0, mark;
    int i;

    assert_true(wait_event(f, &at, CONV_EVT_LINK, CONV_LINK_UP, PTY_WAIT_MS) >= 0);
    conv_plc_get_stats(f->plc, &st0);
    /* The PLC is re-addressed: it ignores requests for our unit id and nothing answers. */
    atomic_store(&f->rtu.unit, UNIT + 1);
    assert_true(wait_fault(f, &at, CONV_FAULT_TIMEOUT, PTY_WAIT_MS) >= 0);
    i = wait_event(f, &at, CONV_EVT_LINK, CONV_LINK_DOWN, PTY_WAIT_MS);
    assert_true(i >= 0);
    assert_int_equal(f->ev[i].fault, CONV_FAULT_TIMEOUT);
    assert_int_equal(f->ev[i].rc, -ETIMEDOUT);
    /* Down it stays, without flapping: the port reopens with backoff but the link is not
     * reported up until a request is answered. */
    mark = f->n_ev;
    run_ms(f, 700);
    assert_int_equal(count_link_events(f, mark), 0);
    assert_int_equal(conv_plc_get_link(f->plc), CONV_LINK_DOWN);
    assert_int_equal(conv_plc_decide(f->plc, &d), WCS_E_LINK);
    conv_plc_get_stats(f->plc, &st);
    assert_true(st.timeouts >= st0.timeouts + 4);
    assert_true(st.reconnects >= st0.reconnects + 2);
    /* Addressed right again: the link recovers and items flow. */
    atomic_store(&f->rtu.unit, UNIT);
    assert_true(wait_event(f, &at, CONV_EVT_LINK, CONV_LINK_UP, PTY_WAIT_MS) >= 0);
    divert_one(f, &at, 3, 5);
    fx_close(f);
}

static void test_rtu_link_lost(void **state)
{
    struct fx *f = fx_open();
    struct conv_decision d = {.point = 0, .seq = 4, .dest_lane = 1};
    size_t at = 0;
    uint64_t served;

    assert_true(wait_event(f, &at, CONV_EVT_LINK, CONV_LINK_UP, PTY_WAIT_MS) >= 0);
    divert_one(f, &at, 1, 2);
    /* The PLC goes away. */
    server_stop(&f->rtu);
    assert_true(wait_fault(f, &at, CONV_FAULT_TIMEOUT, PTY_WAIT_MS) >= 0);
    assert_true(wait_event(f, &at, CONV_EVT_LINK, CONV_LINK_DOWN, PTY_WAIT_MS) >= 0);
    assert_int_equal(conv_plc_decide(f->plc, &d), WCS_E_LINK);
    /* It restarted with a blank write block and a new item on the belt. */
    reg_set(&f->rtu, W_BASE + W_HB, 0);
    reg_set(&f->rtu, W_BASE + W_RESP, 0);
    served = atomic_load(&f->rtu.served);
    run_ms(f, 200);
    server_start(&f->rtu);
    assert_true(wait_event(f, &at, CONV_EVT_LINK, CONV_LINK_UP, PTY_WAIT_MS) >= 0);
    assert_true(atomic_load(&f->rtu.served) > served);
    /* The driver rewrote its write block (heartbeat and last decision) after reconnecting. */
    assert_true(wait_reg(f, W_BASE + W_RESP, 1, PTY_WAIT_MS));
    assert_int_not_equal(reg_get(&f->rtu, W_BASE + W_HB), 0);
    divert_one(f, &at, 4, 6);
    for (size_t k = 0; k < f->n_ev; k++)
        if (f->ev[k].kind == CONV_EVT_SCAN)
            assert_true(f->ev[k].seq == 1 || f->ev[k].seq == 4);
    fx_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rtu_divert),
        cmocka_unit_test(test_rtu_crc_error_and_noise),
        cmocka_unit_test(test_rtu_wrong_unit_id),
        cmocka_unit_test(test_rtu_link_lost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
