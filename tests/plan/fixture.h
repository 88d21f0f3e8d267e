/* A small site for the wcs_plan reader tests and fuzz targets, loaded from memory: one
 * warehouse with stock, pick-face, quality and view locations, products for every tracking
 * kind, two carriers, priorities and a package type. Header-only. */
#ifndef TESTS_PLAN_FIXTURE_H
#define TESTS_PLAN_FIXTURE_H

#include "config/config.h"
#include "plan/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char plan_fixture_yaml[] =
    "site: {id: t1, name: Test, timezone: UTC}\n"
    "warehouses:\n"
    "  - code: WH\n"
    "    name: Test warehouse\n"
    "    locations:\n"
    "      - {path: WH/Stock, type: view}\n"
    "      - {path: \"WH/Stock/A/{1..4}\", type: internal, zone: A, pick_seq_start: 10}\n"
    "      - {path: \"WH/Stock/B/{1..2}\", type: internal, zone: B, pick_seq_start: 20}\n"
    "      - {path: WH/Pick/1, type: internal, zone: P, pick_face: true, pick_seq: 1}\n"
    "      - {path: WH/Quality, type: quality}\n"
    "      - {path: WH/Input, type: input}\n"
    "categories:\n"
    "  - {name: food, removal: fefo}\n"
    "  - {name: tools, removal: fifo}\n"
    "products:\n"
    "  - {sku: P-PLAIN, name: Plain, weight_g: 100, category: tools}\n"
    "  - {sku: P-LOT, name: Lot, weight_g: 200, tracking: lot, category: tools}\n"
    "  - {sku: P-EXP, name: Expiry, weight_g: 300, tracking: lot, expiry: true,\n"
    "     expiry_margin_days: 10, category: food}\n"
    "  - {sku: P-SER, name: Serial, weight_g: 50, tracking: serial}\n"
    "  - {sku: P-BULK, name: Bulky, weight_g: 900, package_type: bulky}\n"
    "putaway_rules:\n"
    "  - {location: WH/Stock, priority: 100}\n"
    "  - {category: food, location: WH/Stock/A, priority: 10}\n"
    "  - {package_type: bulky, location: WH/Stock/B, priority: 5}\n"
    "replenishment:\n"
    "  - {location: WH/Pick/1, product: P-PLAIN, min: 5, max: 20, multiple: 5,\n"
    "     source: WH/Stock}\n"
    "waves:\n"
    "  carriers:\n"
    "    - {code: DHL, name: DHL, cutoffs: [\"11:00\", \"16:30\"]}\n"
    "    - {code: UPS, name: UPS, cutoffs: [\"09:00\"]}\n"
    "  pick_pack_ship_min: 60\n"
    "  cart: {totes: 4, weight_g: 20000, volume_cm3: 100000}\n"
    "  priorities: [urgent, normal, low]\n";

/* 2026-11-26T08:00:00Z */
#define PLAN_FIXTURE_NOW 1795680000LL

static inline struct cfg_site *plan_fixture_cfg(void)
{
    struct cfg_errors errs;
    struct cfg_site *cfg = NULL;
    cfg_errors_init(&errs);
    if (cfg_load_mem(&cfg, "fixture.yaml", plan_fixture_yaml, strlen(plan_fixture_yaml), &errs) <
        0) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "%s\n", errs.lines[i]);
        abort();
    }
    cfg_errors_fini(&errs);
    return cfg;
}

#endif
