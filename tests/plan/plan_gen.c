/* plan-gen: writes a large stock and orders input for `wcs plan` against the demo site
 * (config/examples/demo/site.yaml), with a fixed seed, for the timing in docs/formats.md.
 * Usage: plan-gen DIR STOCK_RECORDS ORDERS  → DIR/stock.jsonl, DIR/orders.jsonl (1-9 lines per
 * order, mean 5). Not a test; large files are generated, never committed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct prod {
    const char *sku;
    char track; /* 'n' none, 'l' lot, 's' serial */
    int expiry;
};

static const struct prod prods[] = {
    {"FD-1001", 'l', 1}, {"FD-1002", 'l', 1}, {"FD-1003", 'l', 1}, {"FD-1004", 'l', 1},
    {"FD-1005", 'l', 1}, {"FD-1006", 'l', 1}, {"DR-2001", 'l', 1}, {"DR-2002", 'l', 1},
    {"DR-2003", 'l', 1}, {"HH-3001", 'n', 0}, {"HH-3002", 'n', 0}, {"HH-3003", 'n', 0},
    {"HH-3004", 'n', 0}, {"HH-3005", 'n', 0}, {"EL-4001", 's', 0}, {"EL-4002", 'l', 0},
    {"EL-4003", 'n', 0}, {"EL-4004", 's', 0}, {"EL-4005", 's', 0}, {"EL-4006", 's', 0},
};
#define N_PRODS (sizeof(prods) / sizeof(prods[0]))

static uint64_t seed = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((seed >> 33) % n);
}

int main(int argc, char **argv)
{
    char path[4096];
    FILE *f;
    if (argc != 4) {
        fprintf(stderr, "usage: plan-gen DIR STOCK_RECORDS ORDERS\n");
        return 2;
    }
    long n_stock = atol(argv[2]), n_orders = atol(argv[3]);
    snprintf(path, sizeof(path), "%s/stock.jsonl", argv[1]);
    if (!(f = fopen(path, "w"))) {
        perror(path);
        return 1;
    }
    for (long i = 0; i < n_stock; i++) {
        const struct prod *p = &prods[i % N_PRODS];
        char loc[64];
        uint32_t k = rnd(100);
        if (k < 90)
            snprintf(loc, sizeof(loc), "WH1/Stock/%c/%02u/%u", k < 45 ? 'A' : 'B', 1 + rnd(10),
                     1 + rnd(4));
        else if (k < 97)
            snprintf(loc, sizeof(loc), "WH1/Pick/F/%02u", 1 + rnd(12));
        else
            snprintf(loc, sizeof(loc), "WH1/Quality");
        fprintf(f, "{\"sku\":\"%s\",\"location\":\"%s\"", p->sku, loc);
        if (p->track == 'l')
            fprintf(f, ",\"lot\":\"L%05u\"", rnd(2000));
        else if (p->track == 's')
            fprintf(f, ",\"lot\":\"SN%08ld\"", i);
        if (p->expiry)
            fprintf(f, ",\"expiry\":\"2027-%02u-%02u\"", 1 + rnd(12), 1 + rnd(28));
        fprintf(f, ",\"in_date\":\"2026-%02u-%02uT%02u:00:00Z\",\"qty\":%u}\n", 1 + rnd(10),
                1 + rnd(28), rnd(24), p->track == 's' ? 1 : 20 + rnd(200));
    }
    fclose(f);
    snprintf(path, sizeof(path), "%s/orders.jsonl", argv[1]);
    if (!(f = fopen(path, "w"))) {
        perror(path);
        return 1;
    }
    static const char *const prio[] = {"urgent", "high", "normal", "low"};
    static const char *const ship[] = {"2026-11-26", "2026-11-27", "2026-11-28"};
    for (long i = 0; i < n_orders; i++) {
        uint32_t n = 1 + rnd(9), s = rnd(4);
        fprintf(f, "{\"order\":\"SO-%07ld\",\"carrier\":\"DHL\",\"priority\":\"%s\"", i,
                prio[rnd(4)]);
        if (s < 3)
            fprintf(f, ",\"ship_date\":\"%s\"", ship[s]);
        fprintf(f, ",\"lines\":[");
        for (uint32_t l = 0; l < n; l++) {
            const struct prod *p = &prods[rnd(N_PRODS)];
            fprintf(f, "%s{\"sku\":\"%s\",\"qty\":%u}", l ? "," : "", p->sku,
                    p->track == 's' ? 1 : 1 + rnd(6));
        }
        fprintf(f, "]}\n");
    }
    fclose(f);
    return 0;
}
