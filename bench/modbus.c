/* bench-modbus: one full PLC cycle through the driver (the worker reads the scan-point block,
 * the loop gets the scan and decides, the worker writes the decision block) against a libmodbus
 * server on loopback, beside a bare libmodbus client doing the same two requests in the same
 * run. Both are timed by the server: from receiving the read that shows a new scan_seq to
 * answering the write that carries it as resp_seq. Run: build/bench/bench-modbus [CYCLES]. */
#include "plcsim.h"

#include "base/clock.h"
#include "base/loop.h"
#include "drivers/plc.h"

#include <errno.h>
#include <modbus.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    R_HB = 0,
    R_SEQ = 2,
    R_RESULT = 3,
    READ_REGS = 19,
    W_BASE = 100,
    W_RESP = 1,
    WRITE_REGS = 5,
    ROUNDS = 5
};

struct run {
    uint64_t *us;
    size_t n, cap;
    uint16_t seq;
    uint64_t t_read; /* rx time of the first read that returned seq, 0 until then */
    _Atomic bool done;
};

static void hook(struct plcsim *s, int fn, uint16_t addr, const uint16_t *regs, int n, void *arg)
{
    struct run *r = arg;

    if (atomic_load(&r->done))
        return;
    if (fn == MODBUS_FC_READ_HOLDING_REGISTERS && addr == 0 && r->t_read == 0) {
        r->t_read = plcsim_rx_us_locked(s);
        return;
    }
    if (fn == MODBUS_FC_WRITE_MULTIPLE_REGISTERS && addr == W_BASE && r->t_read != 0 &&
        regs[W_RESP] == r->seq) {
        r->us[r->n++] = clock_real_mono_us() - r->t_read;
        if (r->n == r->cap) {
            atomic_store(&r->done, true);
            return;
        }
        /* The next item: a new sequence number (never 0) with a good read. */
        r->seq = r->seq == 65535 ? 1 : (uint16_t)(r->seq + 1);
        r->t_read = 0;
        plcsim_set_locked(s, R_SEQ, r->seq);
    }
}

static void on_event(struct conv_plc *p, const struct conv_event *ev, void *arg)
{
    if (ev->kind == CONV_EVT_SCAN) {
        struct conv_decision d = {.point = ev->point, .seq = ev->seq, .dest_lane = 3};
        (void)conv_plc_decide(p, &d);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *v, size_t n, double q)
{
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i];
}

static void arm(struct plcsim *sim, struct run *r, uint64_t *buf, size_t cap)
{
    plcsim_set_hook(sim, NULL, NULL);
    memset(r, 0, sizeof(*r));
    r->us = buf;
    r->cap = cap;
    r->seq = (uint16_t)(plcsim_get(sim, R_SEQ) + 1);
    if (r->seq == 0)
        r->seq = 1;
    plcsim_set_hook(sim, hook, r);
    plcsim_set(sim, R_SEQ, r->seq);
}

static int run_driver(struct plcsim *sim, struct run *r)
{
    struct conv_plc_cfg cfg;
    struct conv_plc *plc;
    struct loop *loop;
    struct tr_addr a;
    uint64_t end = clock_real_mono_us() + 120u * 1000000u;

    if (loop_new(&loop, clock_system()) < 0)
        return -1;
    tr_addr_tcp(&a, "127.0.0.1", plcsim_port(sim));
    conv_plc_cfg_init(&cfg, CONV_MODBUS_TCP, &a);
    cfg.poll_ms = 1;
    cfg.heartbeat_ms = 250;
    cfg.n_points = 1;
    plc_regmap_init(&cfg.points[0], 0, W_BASE, 10);
    if (conv_plc_open(&plc, loop, &cfg, on_event, NULL) < 0)
        return -1;
    while (!atomic_load(&r->done) && clock_real_mono_us() < end)
        loop_run_once(loop, 10);
    conv_plc_close(plc);
    loop_free(loop);
    return atomic_load(&r->done) ? 0 : -1;
}

static int run_bare(struct plcsim *sim, struct run *r)
{
    char port[8];
    modbus_t *ctx;
    uint16_t rd[READ_REGS], wr[WRITE_REGS] = {0};
    uint64_t end = clock_real_mono_us() + 120u * 1000000u;
    int rc = 0;

    snprintf(port, sizeof(port), "%u", plcsim_port(sim));
    ctx = modbus_new_tcp_pi("127.0.0.1", port);
    if (!ctx)
        return -1;
    if (modbus_connect(ctx) < 0) {
        modbus_free(ctx);
        return -1;
    }
    /* Read the block, write back the decision for the sequence read: the same two requests
     * the driver makes per cycle, with nothing in between. */
    while (!atomic_load(&r->done) && clock_real_mono_us() < end) {
        if (modbus_read_registers(ctx, 0, READ_REGS, rd) != READ_REGS) {
            rc = -1;
            break;
        }
        wr[W_RESP] = rd[R_SEQ];
        wr[2] = 3;
        if (modbus_write_registers(ctx, W_BASE, WRITE_REGS, wr) != WRITE_REGS) {
            rc = -1;
            break;
        }
    }
    modbus_close(ctx);
    modbus_free(ctx);
    return atomic_load(&r->done) ? rc : -1;
}

int main(int argc, char **argv)
{
    size_t cycles = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000;
    uint64_t *a, *b;
    struct plcsim *sim;
    struct run r;
    uint64_t p50a, p99a, p50b, p99b;

    if (cycles < 10)
        cycles = 10;
    a = calloc(cycles, sizeof(*a));
    b = calloc(cycles, sizeof(*b));
    if (!a || !b || plcsim_start(&sim, 0) < 0) {
        fprintf(stderr, "bench-modbus: setup failed\n");
        return 1;
    }
    plcsim_heartbeat(sim, R_HB, 20);
    plcsim_set(sim, 1, 1); /* plc_status: auto */

    plcsim_set(sim, R_RESULT, 1);
    /* Alternate the two in rounds so a change of machine load hits both alike. */
    for (size_t round = 0, per = cycles / ROUNDS; round < ROUNDS; round++) {
        arm(sim, &r, a + round * per, per);
        if (run_driver(sim, &r) < 0) {
            fprintf(stderr, "bench-modbus: driver run failed after %zu cycles\n", r.n);
            return 1;
        }
        arm(sim, &r, b + round * per, per);
        if (run_bare(sim, &r) < 0) {
            fprintf(stderr, "bench-modbus: bare run failed after %zu cycles\n", r.n);
            return 1;
        }
    }
    plcsim_stop(sim);
    cycles = cycles / ROUNDS * ROUNDS;
    qsort(a, cycles, sizeof(*a), cmp_u64);
    p50a = pct(a, cycles, 0.5);
    p99a = pct(a, cycles, 0.99);
    qsort(b, cycles, sizeof(*b), cmp_u64);
    p50b = pct(b, cycles, 0.5);
    p99b = pct(b, cycles, 0.99);
    printf("cycles=%zu\n", cycles);
    printf("cycle_us_p50=%llu baseline_us_p50=%llu cycle_us_p99=%llu baseline_us_p99=%llu "
           "ratio=%.2f\n",
           (unsigned long long)p50a, (unsigned long long)p50b, (unsigned long long)p99a,
           (unsigned long long)p99b, p50b ? (double)p50a / (double)p50b : 0.0);
    free(a);
    free(b);
    return 0;
}
