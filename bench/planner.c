/* bench-planner: times the planner on a generated warehouse. `bench-planner [LINES]` (default
 * 1000000) builds, with a fixed seed, 50k SKUs of Zipf-like popularity, ~500k quants with lots
 * and expiries over a zone/aisle layout, multi-line orders (~5 lines) for six carriers and
 * cutoffs, then runs index+reserve -> wave -> batch -> sequence, timing only the planning.
 * Last line: lines=N seconds=S lines_per_s=R peak_rss_mb=M (peak RSS from getrusage). */
#include "base/err.h"
#include "planner/planner.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define N_PRODUCTS 50000u
#define N_QUANTS   500000u
#define ZONES      8u
#define AISLES     25u  /* per zone */
#define BAYS       250u /* per aisle */
#define TODAY      20000
#define NOW_MIN    ((int64_t)TODAY * 1440 + 6 * 60)

static uint64_t rng = 0x2545F4914F6CDD1DULL;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 2685821657736338717ULL) >> 33) % n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "bench-planner: out of memory n=%zu size=%zu\n", n, size);
        exit(1);
    }
    return p;
}

/* Rank of a product drawn with Zipf-like popularity (weight 1/(rank+1)^0.9). */
static uint32_t zipf(const double *cdf)
{
    double u = (double)rnd(1u << 30) / (double)(1u << 30) * cdf[N_PRODUCTS - 1];
    uint32_t lo = 0, hi = N_PRODUCTS - 1;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void generate(struct pl_world *w, uint32_t n_lines)
{
    struct pl_product *pr = xcalloc(N_PRODUCTS, sizeof(*pr));
    uint32_t n_leaves = ZONES * AISLES * BAYS, n_locs = 1 + ZONES + n_leaves + 2;
    struct pl_location *loc = xcalloc(n_locs, sizeof(*loc));
    double *cdf = xcalloc(N_PRODUCTS, sizeof(double));
    int64_t *demand = xcalloc(N_PRODUCTS, sizeof(int64_t));
    uint32_t n_orders_max = n_lines, n_orders = 0, l = 0;
    struct pl_order *ord = xcalloc(n_orders_max, sizeof(*ord));
    struct pl_line *ln = xcalloc(n_lines, sizeof(*ln));
    struct pl_quant *q = xcalloc(N_QUANTS, sizeof(*q));
    static const int64_t cutoffs[6] = {60, 180, 300, 420, 600, 900};

    double acc = 0;
    for (uint32_t i = 0; i < N_PRODUCTS; i++) {
        uint32_t r = rnd(100);
        pr[i].removal = r < 40 ? PL_FIFO : r < 70 ? PL_FEFO : r < 90 ? PL_CLOSEST : PL_LIFO;
        pr[i].tracking = rnd(10) < 3 ? PL_TRACK_LOT : PL_TRACK_NONE;
        pr[i].category = rnd(40);
        pr[i].expiry_margin_days = pr[i].removal == PL_FEFO ? (int32_t)rnd(15) : 0;
        pr[i].weight_g = 50 + rnd(3000);
        pr[i].volume_cm3 = 50 + rnd(4000);
        pr[i].abc = (uint8_t)(i < 5000 ? 0 : i < 15000 ? 1 : 2);
        acc += 1.0 / pow((double)i + 1.0, 0.9);
        cdf[i] = acc;
    }
    /* site, zones, then leaves in pre order; two non-stock locations at the end */
    loc[0] = (struct pl_location){.pre = 0, .post = n_locs, .usage = PL_USAGE_VIEW};
    uint32_t pre = 1, li = 1;
    for (uint32_t z = 0; z < ZONES; z++) {
        uint32_t zl = li++;
        loc[zl] = (struct pl_location){.pre = pre++, .zone = (uint16_t)z, .usage = PL_USAGE_VIEW};
        for (uint32_t a = 0; a < AISLES; a++)
            for (uint32_t b = 0; b < BAYS; b++) {
                struct pl_location *x = &loc[li++];
                x->pre = pre++;
                x->post = x->pre + 1;
                x->zone = (uint16_t)z;
                x->aisle = (uint16_t)(a + 1);
                x->pick_seq = (z * AISLES + a) * BAYS + b;
                x->capacity_cm3 = 500000;
                x->usage = PL_USAGE_STOCK;
                x->is_stock = 1;
                x->pick_face = b < BAYS / 5;
            }
        loc[zl].post = pre;
    }
    loc[li] = (struct pl_location){.pre = pre++, .usage = PL_USAGE_QUALITY, .is_stock = 0};
    loc[li].post = pre;
    li++;
    loc[li] = (struct pl_location){.pre = pre++, .usage = PL_USAGE_INPUT, .is_stock = 0};
    loc[li].post = pre;
    li++;

    /* orders: 1..9 lines (mean 5), Zipf products, mostly small quantities */
    while (l < n_lines) {
        struct pl_order *o = &ord[n_orders];
        uint32_t nl = 1 + rnd(9), c = rnd(6);
        if (nl > n_lines - l)
            nl = n_lines - l;
        o->first_line = l;
        o->n_lines = nl;
        o->carrier = c;
        o->cutoff_min = NOW_MIN + cutoffs[c] - 30 + rnd(60);
        o->ship_day = TODAY + (int32_t)rnd(2);
        o->priority = (uint8_t)(rnd(20) == 0 ? 1 + rnd(2) : 0);
        o->zone_hint = (uint16_t)rnd(ZONES);
        for (uint32_t k = 0; k < nl; k++, l++) {
            ln[l].order = n_orders;
            ln[l].product = zipf(cdf);
            ln[l].qty = rnd(4) ? 1 + rnd(3) : 1 + rnd(12);
            ln[l].lot = PL_NONE;
            ln[l].urgent = rnd(100) == 0;
            demand[ln[l].product] += ln[l].qty;
        }
        n_orders++;
    }
    /* quants: 5 per product, the rest by demand; stock about 1.15x demand */
    int64_t total_demand = 0;
    for (uint32_t i = 0; i < N_PRODUCTS; i++)
        total_demand += demand[i];
    uint32_t nq = 0;
    for (uint32_t p = 0; p < N_PRODUCTS && nq < N_QUANTS; p++) {
        uint32_t extra = (uint32_t)((double)(N_QUANTS - 5 * N_PRODUCTS) * (double)demand[p] /
                                    (double)(total_demand ? total_demand : 1));
        uint32_t k = 5 + extra;
        if (k > N_QUANTS - nq)
            k = N_QUANTS - nq;
        for (uint32_t j = 0; j < k; j++, nq++) {
            struct pl_quant *x = &q[nq];
            uint32_t r = rnd(100);
            x->product = p;
            /* 2% held in quality or input; the rest on a random leaf (skip a zone node) */
            x->location = r < 2 ? li - 1 - rnd(2) : 1 + rnd(ZONES * (AISLES * BAYS + 1));
            if (loc[x->location].usage == PL_USAGE_VIEW)
                x->location++;
            x->lot = pr[p].tracking ? rnd(20) : PL_NONE;
            x->package = PL_NONE;
            x->expiry_day = pr[p].removal == PL_FEFO ? TODAY - 5 + (int32_t)rnd(400) : PL_NO_EXPIRY;
            x->in_date_s = (int64_t)(TODAY - 300 + (int32_t)rnd(300)) * 86400;
            x->on_hand = demand[p] * (100 + rnd(40)) / 100 / k + rnd(3);
        }
    }
    /* a few lot-specific lines, for lots that exist */
    for (uint32_t i = 0; i < n_lines / 200; i++) {
        uint32_t x = rnd(n_lines);
        if (pr[ln[x].product].tracking)
            ln[x].lot = rnd(20);
    }
    w->products = pr;
    w->n_products = N_PRODUCTS;
    w->locations = loc;
    w->n_locations = li;
    w->quants = q;
    w->n_quants = nq;
    w->orders = ord;
    w->n_orders = n_orders;
    w->lines = ln;
    w->n_lines = n_lines;
    w->n_carriers = 6;
    w->today = TODAY;
    w->wave = (struct pl_wave_rules){.now_min = NOW_MIN,
                                     .lead_min = 90,
                                     .max_lines = 5000,
                                     .max_orders = 1000,
                                     .max_carriers = 4};
    w->cart = (struct pl_cart){.totes = 12, .tote_volume_cm3 = 40000, .max_weight_g = 150000};
    free(cdf);
    free(demand);
}

int main(int argc, char **argv)
{
    struct pl_world w = {0};
    char msg[256];
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    int rc;
    if (n < 1 || n > 50000000) {
        fprintf(stderr, "usage: bench-planner [LINES]   (1..50000000, default 1000000)\n");
        return 2;
    }
    generate(&w, (uint32_t)n);
    if ((rc = pl_world_check(&w, msg, sizeof(msg)))) {
        fprintf(stderr, "bench-planner: bad world: %s (%s)\n", msg, wcs_strerror(rc));
        return 1;
    }
    size_t ws_size = pl_workspace_size(&w);
    void *mem = aligned_alloc(16, (ws_size + 15) & ~(size_t)15);
    struct pl_workspace *ws;
    uint32_t cap_a, cap_b;
    pl_reserve_bounds(&w, &cap_a, &cap_b);
    struct pl_reserve_out ro = {xcalloc(cap_a, sizeof(struct pl_alloc)),
                                xcalloc(cap_b, sizeof(struct pl_backorder)),
                                cap_a,
                                cap_b,
                                0,
                                0};
    struct pl_wave_out wo = {xcalloc(w.n_orders, sizeof(struct pl_wave)),
                             xcalloc(w.n_orders, sizeof(uint32_t)),
                             xcalloc(w.n_orders, sizeof(struct pl_order_wave)),
                             w.n_orders,
                             0,
                             0};
    if (mem)
        memset(mem, 0, ws_size); /* first touch, before the layout is written */
    if (!mem || pl_workspace_init(&ws, mem, ws_size, &w)) {
        fprintf(stderr, "bench-planner: workspace of %zu bytes failed\n", ws_size);
        return 1;
    }

    /* A planning service reuses its buffers from plan to plan: touch them once up front so the
     * timing measures planning, not first-touch page faults. */
    memset(ro.allocs, 0, sizeof(struct pl_alloc) * cap_a);
    memset(ro.backorders, 0, sizeof(struct pl_backorder) * cap_b);
    memset(wo.waves, 0, sizeof(struct pl_wave) * w.n_orders);

    struct pl_batch_out bo = {0};
    double t0 = now_s();
    pl_index(ws, &w);
    double t1 = now_s();
    if ((rc = pl_reserve(ws, &w, &ro)))
        goto fail;
    double t2 = now_s();
    if ((rc = pl_wave(ws, &w, ro.allocs, ro.n_allocs, &wo)))
        goto fail;
    double t3 = now_s();
    if ((rc = pl_batch(ws, &w, ro.allocs, ro.n_allocs, &wo, &bo)))
        goto fail;
    /* The counting pass sized the outputs; allocating them is the caller's, not timed. */
    double ta = now_s(), tb;
    bo.batches = xcalloc(bo.n_batches, sizeof(struct pl_batch));
    bo.picks = xcalloc(bo.n_picks, sizeof(struct pl_pick));
    memset(bo.batches, 0, sizeof(struct pl_batch) * bo.n_batches);
    memset(bo.picks, 0, sizeof(struct pl_pick) * bo.n_picks);
    bo.batches_cap = bo.n_batches;
    bo.picks_cap = bo.n_picks;
    tb = now_s();
    if ((rc = pl_batch(ws, &w, ro.allocs, ro.n_allocs, &wo, &bo)))
        goto fail;
    double t4 = now_s();
    if ((rc = pl_sequence(ws, &w, &bo)))
        goto fail;
    double t5 = now_s();

    uint32_t late = 0;
    for (uint32_t i = 0; i < w.n_orders; i++)
        late += (wo.orders[i].reason.flags & PL_RF_LATE) != 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("world products=%u locations=%u quants=%u orders=%u lines=%u workspace_mb=%.1f\n",
           w.n_products, w.n_locations, w.n_quants, w.n_orders, w.n_lines,
           (double)ws_size / 1048576.0);
    printf("plan allocs=%u backorders=%u waves=%u waved_orders=%u late_orders=%u batches=%u "
           "picks=%u\n",
           ro.n_allocs, ro.n_backorders, wo.n_waves, wo.n_waved, late, bo.n_batches, bo.n_picks);
    double plan_s = (t5 - t0) - (tb - ta);
    printf("stage index_s=%.3f reserve_s=%.3f wave_s=%.3f batch_s=%.3f sequence_s=%.3f "
           "(untimed output allocation %.3f s)\n",
           t1 - t0, t2 - t1, t3 - t2, (t4 - t3) - (tb - ta), t5 - t4, tb - ta);
    printf("lines=%ld seconds=%.3f lines_per_s=%.0f peak_rss_mb=%.1f\n", n, plan_s,
           (double)n / plan_s, (double)ru.ru_maxrss / 1024.0);
done:
    free(bo.batches);
    free(bo.picks);
    free(wo.waves);
    free(wo.wave_orders);
    free(wo.orders);
    free(ro.allocs);
    free(ro.backorders);
    free(mem);
    free((void *)w.products);
    free((void *)w.locations);
    free(w.quants);
    free((void *)w.orders);
    free((void *)w.lines);
    return rc ? 1 : 0;
fail:
    fprintf(stderr, "bench-planner: planning failed: %s\n", wcs_strerror(rc));
    goto done;
}
