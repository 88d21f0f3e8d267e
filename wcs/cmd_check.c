/* `wcs check CONFIG`: validates a site configuration (config/). Prints every error as
 * "file:line:col: path: message" on stderr and exits 1, or prints a one-line summary (or the
 * long --summary) on stdout and exits 0. */
#include "cmds.h"

#include "base/err.h"
#include "config/config.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: wcs check [--summary] CONFIG\n"
            "\n"
            "Validate a site configuration (YAML, with its include:, products_file: and\n"
            "password_file: files) without starting anything.\n"
            "\n"
            "On success prints one line, e.g.\n"
            "  ok: site dc1: 2 warehouses, 5400 locations, 2000 products, 9 devices, ...\n"
            "and exits 0. Otherwise prints every problem found, one per line, as\n"
            "  file:line:col: path.to.field: what is wrong and what is allowed\n"
            "on stderr and exits 1. The schema is described in docs/config.md.\n"
            "\n"
            "options:\n"
            "  --summary   after the check, print a readable summary of the site: warehouses,\n"
            "              locations by type, products, devices by kind, scan points, lanes,\n"
            "              stations, users\n"
            "  -h, --help  show this help\n"
            "\n"
            "exit status: 0 valid, 1 invalid, 2 usage error\n");
}

static void print_summary(const struct cfg_site *s)
{
    uint32_t by_type[CFG_LOC_TYPE_COUNT] = {0}, by_kind[4] = {0}, implied = 0;
    uint32_t tracked = 0, expiring = 0, qc = 0, gtins = 0;
    for (uint32_t i = 0; i < s->n_locations; i++) {
        by_type[s->locations[i].type]++;
        implied += s->locations[i].implied;
    }
    for (uint32_t i = 0; i < s->n_devices; i++)
        by_kind[s->devices[i].kind]++;
    for (uint32_t i = 0; i < s->n_products; i++) {
        tracked += s->products[i].tracking != CFG_TRACK_NONE;
        expiring += s->products[i].expiry;
        qc += s->products[i].quality_control;
        gtins += s->products[i].n_gtins;
    }
    printf("site %s (%s), time zone %s\n", s->id, s->name, s->timezone);
    printf("warehouses: %u\n", s->n_warehouses);
    for (uint32_t i = 0; i < s->n_warehouses; i++)
        printf("  %-8s %s: %u locations declared, receipt in %u step%s, delivery in %u step%s\n",
               s->warehouses[i].code, s->warehouses[i].name, s->warehouses[i].n_declared,
               s->warehouses[i].receipt_steps, s->warehouses[i].receipt_steps > 1 ? "s" : "",
               s->warehouses[i].delivery_steps, s->warehouses[i].delivery_steps > 1 ? "s" : "");
    printf("locations: %u (%u implied parents)\n", s->n_locations, implied);
    for (int t = 0; t < CFG_LOC_TYPE_COUNT; t++)
        if (by_type[t])
            printf("  %-10s %u\n", cfg_loc_type_name((enum cfg_loc_type)t), by_type[t]);
    printf("products: %u (%u GTINs, %u lot/serial tracked, %u with expiry, %u quality "
           "controlled)\n",
           s->n_products, gtins, tracked, expiring, qc);
    printf("categories: %u, putaway rules: %u, replenishment rules: %u\n", s->n_categories,
           s->n_putaway_rules, s->n_replenishment);
    printf("carriers: %u\n", s->waves.n_carriers);
    for (uint32_t i = 0; i < s->waves.n_carriers; i++) {
        const struct cfg_carrier *c = &s->waves.carriers[i];
        printf("  %-8s %s, cutoffs", c->code, c->name);
        for (uint32_t k = 0; k < c->n_cutoffs; k++)
            printf(" %02u:%02u", c->cutoffs_min[k] / 60, c->cutoffs_min[k] % 60);
        printf("%s%s\n", c->lane >= 0 ? ", lane " : "", c->lane >= 0 ? s->lanes[c->lane].id : "");
    }
    printf("devices: %u\n", s->n_devices);
    for (int k = 0; k < 4; k++)
        if (by_kind[k])
            printf("  %-10s %u\n", cfg_dev_kind_name((enum cfg_dev_kind)k), by_kind[k]);
    printf("scan points: %u\n", s->n_scan_points);
    for (uint32_t i = 0; i < s->n_scan_points; i++) {
        const struct cfg_scan_point *sp = &s->scan_points[i];
        printf("  %-8s plc %s, read %u+%u, write %u+%u, %u lanes\n", sp->id, s->devices[sp->plc].id,
               sp->read_start, sp->read_count, sp->write_start, sp->write_count, sp->n_lanes);
    }
    printf("lanes: %u\n", s->n_lanes);
    for (uint32_t i = 0; i < s->n_lanes; i++) {
        const struct cfg_lane *l = &s->lanes[i];
        const char *to = cfg_dest_name(l->dest);
        if (l->dest == CFG_DEST_STATION)
            to = s->stations[l->dest_index].id;
        else if (l->dest == CFG_DEST_CARRIER)
            to = s->waves.carriers[l->dest_index].code;
        printf("  %-8s #%-3u -> %s%s\n", l->id, l->number, to, l->enabled ? "" : " (disabled)");
    }
    printf("stations: %u\n", s->n_stations);
    for (uint32_t i = 0; i < s->n_stations; i++)
        printf("  %-8s %s%s%s\n", s->stations[i].id, cfg_station_kind_name(s->stations[i].kind),
               s->stations[i].location >= 0 ? " at " : "",
               s->stations[i].location >= 0 ? s->locations[s->stations[i].location].path : "");
    printf("users: %u, roles: %u\n", s->n_users, s->n_roles);
    for (uint32_t i = 0; i < s->n_users; i++) {
        printf("  %-12s", s->users[i].name);
        for (uint32_t k = 0; k < s->users[i].n_roles; k++)
            printf(" %s", s->roles[s->users[i].roles[k]].name);
        printf("\n");
    }
    printf("redis: %s:%u db %u, mqtt: %s\n", s->redis.host, s->redis.port, s->redis.db,
           s->mqtt.uri);
}

int cmd_check(int argc, char **argv)
{
    struct cfg_errors errs;
    struct cfg_site *site = NULL;
    const char *path = NULL;
    bool summary = false;
    int rc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--summary") == 0) {
            summary = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "wcs check: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (path) {
            fprintf(stderr, "wcs check: one CONFIG only\n");
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    cfg_errors_init(&errs);
    rc = cfg_load(&site, path, &errs);
    if (rc < 0) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "%s\n", errs.lines[i]);
        if (errs.dropped)
            fprintf(stderr, "%s: %zu more errors not shown\n", path, errs.dropped);
        if (errs.count == 0)
            fprintf(stderr, "%s: %s\n", path, wcs_strerror(rc));
        cfg_errors_fini(&errs);
        return 1;
    }
    cfg_errors_fini(&errs);
    printf("ok: site %s: %u warehouse%s, %u locations, %u products, %u devices, %u scan "
           "point%s, %u lanes, %u stations, %u users\n",
           site->id, site->n_warehouses, site->n_warehouses == 1 ? "" : "s", site->n_locations,
           site->n_products, site->n_devices, site->n_scan_points,
           site->n_scan_points == 1 ? "" : "s", site->n_lanes, site->n_stations, site->n_users);
    if (summary)
        print_summary(site);
    cfg_free(site);
    return 0;
}
