/* Product look-ups of a loaded site: by SKU and by GTIN-14, binary searches over sorted indexes
 * that cfg_load builds once (a station's scan or a command must not walk 2,000 or 100,000
 * products). A site assembled by hand, without indexes, is searched linearly. */
#include "config/config.h"
#include "config/parse.h"

#include "base/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct cfg_gtin_entry {
    char gtin14[15];
    uint32_t product;
};

static int by_sku(const void *a, const void *b, void *site)
{
    const struct cfg_site *s = site;
    return strcmp(s->products[*(const uint32_t *)a].sku, s->products[*(const uint32_t *)b].sku);
}

static int by_gtin(const void *a, const void *b)
{
    const struct cfg_gtin_entry *x = a, *y = b;
    int c = strcmp(x->gtin14, y->gtin14);
    return c ? c : (x->product > y->product) - (x->product < y->product);
}

int cfg_index_products(struct cfg_site *site)
{
    uint32_t *sku = NULL, n_g = 0;
    struct cfg_gtin_entry *g = NULL;
    size_t total = 0;
    for (uint32_t i = 0; i < site->n_products; i++)
        total += site->products[i].n_gtins;
    if (site->n_products && !(sku = malloc(site->n_products * sizeof(*sku))))
        return -ENOMEM;
    if (total && !(g = malloc(total * sizeof(*g)))) {
        free(sku);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < site->n_products; i++) {
        sku[i] = i;
        for (uint32_t k = 0; k < site->products[i].n_gtins; k++)
            if (cfg_gtin_check(site->products[i].gtins[k], g[n_g].gtin14, NULL) == 0)
                g[n_g++].product = i;
    }
    if (sku)
        qsort_r(sku, site->n_products, sizeof(*sku), by_sku, site);
    if (g)
        qsort(g, n_g, sizeof(*g), by_gtin);
    free(site->sku_index_);
    free(site->gtin_index_);
    site->sku_index_ = sku;
    site->gtin_index_ = g;
    site->n_gtin_index_ = n_g;
    return 0;
}

void cfg_index_free(struct cfg_site *site)
{
    free(site->sku_index_);
    free(site->gtin_index_);
    site->sku_index_ = NULL;
    site->gtin_index_ = NULL;
    site->n_gtin_index_ = 0;
}

int32_t cfg_find_product(const struct cfg_site *site, const char *sku)
{
    size_t lo = 0, hi = site->n_products;
    if (!site->sku_index_) {
        for (uint32_t i = 0; i < site->n_products; i++)
            if (strcmp(site->products[i].sku, sku) == 0)
                return (int32_t)i;
        return -1;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t p = site->sku_index_[mid];
        int c = strcmp(site->products[p].sku, sku);
        if (c == 0)
            return (int32_t)p;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int32_t cfg_find_product_gtin(const struct cfg_site *site, const char *gtin14)
{
    size_t lo = 0, hi = site->n_gtin_index_;
    if (!site->gtin_index_) {
        char g[15];
        for (uint32_t i = 0; i < site->n_products; i++)
            for (uint32_t k = 0; k < site->products[i].n_gtins; k++)
                if (cfg_gtin_check(site->products[i].gtins[k], g, NULL) == 0 &&
                    strcmp(g, gtin14) == 0)
                    return (int32_t)i;
        return -1;
    }
    /* The first entry with this GTIN (the lowest product index, as the linear search finds). */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(site->gtin_index_[mid].gtin14, gtin14) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < site->n_gtin_index_ && strcmp(site->gtin_index_[lo].gtin14, gtin14) == 0)
        return (int32_t)site->gtin_index_[lo].product;
    return -1;
}
