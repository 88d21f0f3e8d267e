/* bench-modbus: the cost of one full PLC cycle through the driver (the worker reads the
 * scan-point block and writes the decision block) beside a bare libmodbus client doing the same
 * two requests, against the same libmodbus server on loopback (plcsim), in the same process and
 * run. The driver runs two ways: with a decision table attached (the worker answers the scan
 * itself and reports it to the loop afterwards: the figure of the last line) and without one
 * (the loop decides: worker -> loop -> worker, printed as loop_cycle_*).
 *
 * Method. Every side is timed by the server, identically: from receiving the read whose
 * reply shows a new scan_seq to answering the write that carries it as resp_seq; the server
 * then publishes the next scan_seq. Same requests (FC03 of 19 registers at 0, FC16 of 5 at
 * 100), same server, same number of cycles. The cycles are split in ROUNDS rounds run
 * alternately (table, loop, bare, yielding bare, paced bare, handoff, table, ...) so a change
 * of machine load hits all alike. The yielding bare client calls sched_yield after its write
 * as the driver's worker does: server and client share a CPU (the reply's wake-up makes the
 * client preempt the server before it has stamped the write), so what a client does between
 * the write's reply and its next block counts in the cycle; with the yield it does not. The
 * paced bare client yields too and also sleeps the driver's 1 ms poll period between cycles:
 * it is the driver without the driver, so table/paced is what the driver's code costs and
 * paced/yielding what pacing costs (threads and caches gone cold in the sleep). The last
 * measurement is the floor the loop path adds: the worker -> loop -> worker handoff alone
 * (push on a BQ_EVENTFD queue watched by a base loop sleeping in epoll_wait, the loop's
 * callback stores the answer, the worker waits awake for it as the driver does), with the
 * same ~1 ms of sleep between cycles as the driver's poll period.
 *
 * The driver polls again at once after a poll that found a scan (burst polling, at most 4 in
 * a row per period), and this server publishes the next item as soon as the decision is
 * written, so most table cycles follow the previous one back to back like the bare client's;
 * table_b2b_* and table_slept_* split them by the gap from the previous write's answer to
 * their read (under BURST_GAP_US or not). What is timed is the same for both.
 *
 * Run: build/bench/bench-modbus [CYCLES [ROUNDS]] (default 4000 10). The last line is
 * cycle_us_p50=A baseline_us_p50=B cycle_us_p99=C baseline_us_p99=D ratio=A/B, A and C the
 * table path. */
#include "plcsim.h"

#include "base/clock.h"
#include "base/loop.h"
#include "base/queue.h"
#include "drivers/plc.h"

#include <errno.h>
#include <modbus.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    R_HB = 0,
    R_SEQ = 2,
    R_RESULT = 3,
    R_CODE = 9,
    READ_REGS = 19,
    W_BASE = 100,
    W_RESP = 1,
    WRITE_REGS = 5,
    POLL_MS = 1,
    HANDOFF_SPIN_US = 300, /* as the driver's SPIN_US */
    /* A table cycle whose read came less than this after the previous cycle's write was
     * answered followed it back to back (a burst poll); else after a poll period's sleep. */
    BURST_GAP_US = 300,
};

struct run {
    uint64_t *us;
    uint64_t *post_us; /* driver runs: worker saw the scan -> the loop's callback has it */
    size_t n_post;
    size_t n_decided; /* scans the worker answered from the table */
    size_t n, cap;
    uint16_t seq;
    uint64_t t_read;  /* rx time of the first read that returned seq, 0 until then */
    uint64_t t_end;   /* when the previous cycle's write was answered, 0 before the first */
    uint64_t *gap_us; /* per cycle: t_end of the previous one -> t_read (NULL: not kept) */
    _Atomic bool done;
};

static void hook(struct plcsim *s, int fn, uint16_t addr, const uint16_t *regs, int n, void *arg)
{
    struct run *r = arg;

    if (atomic_load(&r->done))
        return;
    if (fn == MODBUS_FC_READ_HOLDING_REGISTERS && addr == 0 && r->t_read == 0) {
        r->t_read = plcsim_rx_us_locked(s);
        if (r->gap_us)
            r->gap_us[r->n] = r->t_end ? r->t_read - r->t_end : UINT64_MAX;
        return;
    }
    if (fn == MODBUS_FC_WRITE_MULTIPLE_REGISTERS && addr == W_BASE && r->t_read != 0 &&
        regs[W_RESP] == r->seq) {
        r->t_end = clock_real_mono_us();
        r->us[r->n++] = r->t_end - r->t_read;
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
    struct run *r = arg;

    if (ev->kind == CONV_EVT_SCAN && ev->decided) {
        r->n_decided++; /* written already: the loop only does the bookkeeping */
        return;
    }
    if (ev->kind == CONV_EVT_SCAN) {
        /* A table run keeps no post_us: a scan the worker saw before conv_plc_set_table
         * (it starts polling in conv_plc_open) comes here and is decided by the loop. */
        if (r->post_us && r->n_post < r->cap)
            r->post_us[r->n_post++] = clock_real_mono_us() - ev->at_us;
        struct conv_decision d = {.point = ev->point, .seq = ev->seq, .dest_lane = 3};
        (void)conv_plc_decide(p, &d);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The q quantile of v[0..n) (sorts v). */
static uint64_t pct(uint64_t *v, size_t n, double q)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    return v[(size_t)(q * (double)(n - 1) + 0.5)];
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void arm(struct plcsim *sim, struct run *r, uint64_t *buf, uint64_t *post, size_t cap)
{
    plcsim_set_hook(sim, NULL, NULL);
    memset(r, 0, sizeof(*r));
    r->us = buf;
    r->post_us = post;
    r->cap = cap;
    r->seq = (uint16_t)(plcsim_get(sim, R_SEQ) + 1);
    if (r->seq == 0)
        r->seq = 1;
    plcsim_set_hook(sim, hook, r);
    plcsim_set(sim, R_SEQ, r->seq);
}

/* The table the daemon would publish, reduced to this bench's one item: label T1 -> class
 * "lane3" -> write lane 3. */
static int make_table(struct conv_table **out)
{
    struct conv_class_rule cls = {.cls = "lane3",
                                  .rule = {.kind = CONV_RULE_WRITE, .dest_lane = 3, .lane = -1}};
    struct conv_ruleset rs = {.n_classes = 1, .classes = &cls};
    struct conv_table *t;

    if (conv_table_new(&t, NULL) < 0)
        return -1;
    if (conv_table_put(t, "T1", "lane3") < 0 || conv_table_set_rules(t, &rs, 1) < 0 ||
        conv_table_publish(t) == 0) {
        conv_table_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

static int run_driver(struct plcsim *sim, struct run *r, struct conv_table *tab)
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
    cfg.poll_ms = POLL_MS;
    cfg.heartbeat_ms = 250;
    cfg.n_points = 1;
    plc_regmap_init(&cfg.points[0], 0, W_BASE, 10);
    if (conv_plc_open(&plc, loop, &cfg, on_event, r) < 0) {
        loop_free(loop);
        return -1;
    }
    if (tab && conv_plc_set_table(plc, tab, NULL) < 0) {
        conv_plc_close(plc);
        loop_free(loop);
        return -1;
    }
    while (!atomic_load(&r->done) && clock_real_mono_us() < end)
        loop_run_once(loop, 10);
    conv_plc_close(plc);
    loop_free(loop);
    return atomic_load(&r->done) ? 0 : -1;
}

/* paced: sleep the driver's poll period between cycles, as the driver's worker does; yield:
 * sched_yield after the write, as the worker does after a table decision's write. */
static int run_bare(struct plcsim *sim, struct run *r, bool paced, bool yield)
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
        if (paced)
            usleep(POLL_MS * 1000);
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
        if (yield)
            sched_yield();
    }
    modbus_close(ctx);
    modbus_free(ctx);
    return atomic_load(&r->done) ? rc : -1;
}

/* The handoff alone: a "worker" thread pushes an item on a BQ_EVENTFD queue, the loop thread
 * wakes from epoll_wait, pops it in its fd callback and stores the answer, the worker waits
 * awake as the driver does (sched_yield between checks; past HANDOFF_SPIN_US, 1 ms sleeps)
 * and times push -> answer seen. */
struct handoff {
    struct bqueue *q;
    _Atomic uint32_t answer;
    _Atomic bool done;
    uint64_t *ns;
    size_t n;
};

static void handoff_on_item(struct loop *l, int fd, unsigned events, void *arg)
{
    struct handoff *h = arg;
    uint32_t v;

    while (bq_pop(h->q, &v) == 0)
        atomic_store(&h->answer, v);
    bq_drain_fd(h->q);
    while (bq_pop(h->q, &v) == 0)
        atomic_store(&h->answer, v);
}

static void *handoff_worker(void *arg)
{
    struct handoff *h = arg;

    for (uint32_t i = 1; i <= h->n; i++) {
        uint64_t t0, until;
        usleep(POLL_MS * 1000);
        t0 = now_ns();
        until = t0 + HANDOFF_SPIN_US * 1000u;
        if (bq_push(h->q, &i) < 0)
            break;
        while (atomic_load(&h->answer) != i) {
            if (now_ns() >= until)
                usleep(1000);
            sched_yield();
        }
        h->ns[i - 1] = now_ns() - t0;
    }
    atomic_store(&h->done, true);
    return NULL;
}

static int run_handoff(uint64_t *ns, size_t n)
{
    struct handoff h = {.ns = ns, .n = n};
    struct loop *loop;
    pthread_t t;
    int rc = -1;

    atomic_init(&h.answer, 0);
    atomic_init(&h.done, false);
    if (loop_new(&loop, clock_system()) < 0)
        return -1;
    if (bq_new(&h.q, sizeof(uint32_t), 16, BQ_EVENTFD) < 0)
        goto out_loop;
    if (loop_add_fd(loop, bq_fd(h.q), LOOP_READ, handoff_on_item, &h) < 0 ||
        pthread_create(&t, NULL, handoff_worker, &h) != 0)
        goto out_queue;
    while (!atomic_load(&h.done))
        loop_run_once(loop, 10);
    pthread_join(t, NULL);
    (void)loop_del_fd(loop, bq_fd(h.q));
    rc = 0;
out_queue:
    bq_free(h.q);
out_loop:
    loop_free(loop);
    return rc;
}

int main(int argc, char **argv)
{
    size_t cycles = argc > 1 ? strtoul(argv[1], NULL, 10) : 4000;
    size_t rounds = argc > 2 ? strtoul(argv[2], NULL, 10) : 10;
    uint64_t *a, *b, *c, *l, *pb, *yb, *post, *gap, *hot, *cold;
    struct plcsim *sim;
    struct conv_table *tab;
    struct run r;
    uint64_t p50a, p99a, p50b, p99b, p50c, p99c, p50l, p99l, p50p, p99p, p50y, p99y, n_post = 0;
    size_t per, n_decided = 0, n_hot = 0, n_cold = 0;

    if (rounds < 1)
        rounds = 1;
    if (cycles < 10 * rounds)
        cycles = 10 * rounds;
    per = cycles / rounds;
    cycles = per * rounds;
    a = calloc(cycles, sizeof(*a));
    b = calloc(cycles, sizeof(*b));
    c = calloc(cycles, sizeof(*c));
    l = calloc(cycles, sizeof(*l));
    pb = calloc(cycles, sizeof(*pb));
    yb = calloc(cycles, sizeof(*yb));
    post = calloc(cycles, sizeof(*post));
    gap = calloc(cycles, sizeof(*gap));
    hot = calloc(cycles, sizeof(*hot));
    cold = calloc(cycles, sizeof(*cold));
    if (!a || !b || !c || !l || !pb || !yb || !post || !gap || !hot || !cold ||
        make_table(&tab) < 0 || plcsim_start(&sim, 0) < 0) {
        fprintf(stderr, "bench-modbus: setup failed\n");
        return 1;
    }
    plcsim_heartbeat(sim, R_HB, 20);
    plcsim_set(sim, 1, 1); /* plc_status: auto */
    plcsim_set(sim, R_RESULT, 1);
    plcsim_set(sim, R_CODE, ('T' << 8) | '1'); /* barcode "T1" */

    printf("round table_p50_us loop_p50_us bare_p50_us yield_bare_p50_us paced_bare_p50_us "
           "handoff_p50_us\n");
    for (size_t round = 0; round < rounds; round++) {
        uint64_t *ar = a + round * per, *br = b + round * per, *cr = c + round * per;
        uint64_t *lr = l + round * per, *pr = pb + round * per, *yr = yb + round * per;
        arm(sim, &r, ar, NULL, per);
        r.gap_us = gap;
        if (run_driver(sim, &r, tab) < 0) {
            fprintf(stderr, "bench-modbus: table run failed after %zu cycles\n", r.n);
            return 1;
        }
        for (size_t i = 0; i < per; i++) {
            if (gap[i] < BURST_GAP_US)
                hot[n_hot++] = ar[i];
            else
                cold[n_cold++] = ar[i];
        }
        n_decided += r.n_decided;
        arm(sim, &r, lr, post + round * per, per);
        if (run_driver(sim, &r, NULL) < 0) {
            fprintf(stderr, "bench-modbus: loop run failed after %zu cycles\n", r.n);
            return 1;
        }
        /* Keep the scan -> loop latencies packed at the front. */
        memmove(post + n_post, post + round * per, r.n_post * sizeof(*post));
        n_post += r.n_post;
        arm(sim, &r, br, NULL, per);
        if (run_bare(sim, &r, false, false) < 0) {
            fprintf(stderr, "bench-modbus: bare run failed after %zu cycles\n", r.n);
            return 1;
        }
        arm(sim, &r, yr, NULL, per);
        if (run_bare(sim, &r, false, true) < 0) {
            fprintf(stderr, "bench-modbus: yielding bare run failed after %zu cycles\n", r.n);
            return 1;
        }
        arm(sim, &r, pr, NULL, per);
        if (run_bare(sim, &r, true, true) < 0) {
            fprintf(stderr, "bench-modbus: paced bare run failed after %zu cycles\n", r.n);
            return 1;
        }
        plcsim_set_hook(sim, NULL, NULL);
        if (run_handoff(cr, per) < 0) {
            fprintf(stderr, "bench-modbus: handoff run failed\n");
            return 1;
        }
        /* Sorting a round in place is harmless: the pooled quantiles sort everything again. */
        printf("%zu %llu %llu %llu %llu %llu %.1f\n", round, (unsigned long long)pct(ar, per, 0.5),
               (unsigned long long)pct(lr, per, 0.5), (unsigned long long)pct(br, per, 0.5),
               (unsigned long long)pct(yr, per, 0.5), (unsigned long long)pct(pr, per, 0.5),
               (double)pct(cr, per, 0.5) / 1000.0);
    }
    plcsim_stop(sim);
    conv_table_free(tab);
    p50p = pct(pb, cycles, 0.5);
    p99p = pct(pb, cycles, 0.99);
    p50y = pct(yb, cycles, 0.5);
    p99y = pct(yb, cycles, 0.99);
    p50l = pct(l, cycles, 0.5);
    p99l = pct(l, cycles, 0.99);
    p50a = pct(a, cycles, 0.5);
    p99a = pct(a, cycles, 0.99);
    p50b = pct(b, cycles, 0.5);
    p99b = pct(b, cycles, 0.99);
    p50c = pct(c, cycles, 0.5);
    p99c = pct(c, cycles, 0.99);
    printf("cycles=%zu rounds=%zu table_decided=%zu\n", cycles, rounds, n_decided);
    /* The table path's cycles split by what came before them: back to back after the previous
     * one (the driver's burst poll) or after a poll period's sleep. */
    printf("table_b2b_cycles=%zu table_b2b_us_p50=%llu table_slept_cycles=%zu "
           "table_slept_us_p50=%llu\n",
           n_hot, n_hot ? (unsigned long long)pct(hot, n_hot, 0.5) : 0ull, n_cold,
           n_cold ? (unsigned long long)pct(cold, n_cold, 0.5) : 0ull);
    printf("loop_cycle_us_p50=%llu loop_cycle_us_p99=%llu loop_ratio=%.2f\n",
           (unsigned long long)p50l, (unsigned long long)p99l,
           p50b ? (double)p50l / (double)p50b : 0.0);
    printf("paced_bare_us_p50=%llu paced_bare_us_p99=%llu paced_ratio=%.2f\n",
           (unsigned long long)p50p, (unsigned long long)p99p,
           p50p ? (double)p50a / (double)p50p : 0.0);
    printf("yield_bare_us_p50=%llu yield_bare_us_p99=%llu yield_ratio=%.2f\n",
           (unsigned long long)p50y, (unsigned long long)p99y,
           p50y ? (double)p50a / (double)p50y : 0.0);
    if (n_post)
        printf("driver_scan_to_loop_us_p50=%llu driver_scan_to_loop_us_p99=%llu\n",
               (unsigned long long)pct(post, n_post, 0.5),
               (unsigned long long)pct(post, n_post, 0.99));
    printf("handoff_us_p50=%.1f handoff_us_p99=%.1f floor_ratio=%.2f\n", (double)p50c / 1000.0,
           (double)p99c / 1000.0,
           p50b ? ((double)p50b + (double)p50c / 1000.0) / (double)p50b : 0.0);
    printf("cycle_us_p50=%llu baseline_us_p50=%llu cycle_us_p99=%llu baseline_us_p99=%llu "
           "ratio=%.2f\n",
           (unsigned long long)p50a, (unsigned long long)p50b, (unsigned long long)p99a,
           (unsigned long long)p99b, p50b ? (double)p50a / (double)p50b : 0.0);
    free(a);
    free(b);
    free(c);
    free(l);
    free(pb);
    free(yb);
    free(post);
    free(gap);
    free(hot);
    free(cold);
    return 0;
}
