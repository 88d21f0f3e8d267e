/* `wcs plan CONFIG --stock F --orders F ...`: offline planning on files (DESIGN.md §4.1). Reads
 * the site config and the stock, order and receipt JSON Lines through wcs/plan, runs the
 * requested planner stages and writes the plan as JSON Lines to --out (via OUT.tmp and a rename,
 * so a failed run leaves nothing) or stdout. Record shapes: docs/formats.md. */
#include "cmds.h"

#include "base/err.h"
#include "config/config.h"
#include "plan/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: wcs plan CONFIG --stock STOCK.jsonl --orders ORDERS.jsonl\n"
            "                [--receipts RECEIPTS.jsonl] [--now TIME] [--out PLAN.jsonl]\n"
            "                [--what STAGES] [--timings]\n"
            "\n"
            "Plans on files: reserves stock for the orders (removal strategies, lots, expiry),\n"
            "builds waves against carrier cutoffs, batches them onto carts with ordered pick\n"
            "walks, suggests putaway locations for receipts, replenishes pick faces and\n"
            "suggests purchases by the config's purchase rules. Every decision carries its\n"
            "reason, naming SKUs, locations, lots, orders and config rules. Input and output\n"
            "records are JSON Lines, described in docs/formats.md; the same input gives\n"
            "byte-identical output.\n"
            "\n"
            "options:\n"
            "  --stock FILE     stock quants, one JSON object per line (required)\n"
            "  --orders FILE    orders with their lines, one per line (required)\n"
            "  --receipts FILE  received goods to put away\n"
            "  --now TIME       planning time, e.g. 2026-11-26T08:00Z (ISO-8601; no zone means\n"
            "                   UTC); default: the system clock, named in the header record\n"
            "  --out FILE       write the plan to FILE (through FILE.tmp, renamed when complete)\n"
            "                   instead of standard output\n"
            "  --what STAGES    comma-separated: reserve, wave, batch, putaway, replenish,\n"
            "                   purchase (default: all; putaway only with --receipts). A stage\n"
            "                   runs the stages it needs but writes only the records asked for\n"
            "  --timings        print read, plan and write times on standard error\n"
            "  -h, --help       show this help\n"
            "\n"
            "Bad input is reported as 'file:line: field: message' for every bad line (up to\n"
            "%d per file); nothing is written then.\n"
            "\n"
            "exit status: 0 planned, 1 bad config or input, or the plan could not be written,\n"
            "2 usage error\n",
            PLAN_ERRORS_MAX);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct opts {
    const char *config, *stock, *orders, *receipts, *now, *out, *what;
    bool timings;
};

/* Returns 0, 1 (help printed) or 2 (usage error printed). */
static int parse_args(int argc, char **argv, struct opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(a, "--timings") == 0) {
            o->timings = true;
            continue;
        } else if (strcmp(a, "--stock") == 0) {
            slot = &o->stock;
        } else if (strcmp(a, "--orders") == 0) {
            slot = &o->orders;
        } else if (strcmp(a, "--receipts") == 0) {
            slot = &o->receipts;
        } else if (strcmp(a, "--now") == 0) {
            slot = &o->now;
        } else if (strcmp(a, "--out") == 0) {
            slot = &o->out;
        } else if (strcmp(a, "--what") == 0) {
            slot = &o->what;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "wcs plan: unknown option '%s'\n", a);
            return 2;
        } else if (o->config) {
            fprintf(stderr, "wcs plan: one CONFIG only\n");
            return 2;
        } else {
            o->config = a;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "wcs plan: %s needs a value\n", a);
            return 2;
        }
        if (*slot) {
            fprintf(stderr, "wcs plan: %s given twice\n", a);
            return 2;
        }
        *slot = argv[++i];
    }
    if (!o->config || !o->stock || !o->orders) {
        fprintf(stderr,
                "wcs plan: CONFIG, --stock and --orders are required ('wcs plan --help')\n");
        return 2;
    }
    return 0;
}

static void print_errors(const struct plan_errors *e, const char *what)
{
    for (size_t i = 0; i < e->count; i++)
        fprintf(stderr, "%s\n", e->lines[i]);
    if (e->dropped)
        fprintf(stderr, "%s: %zu more errors not shown\n", what, e->dropped);
}

/* Reads one input file; prints its errors. Returns 0 or 1 (bad). */
static int read_input(struct plan_input *in, enum plan_kind kind, const char *path)
{
    struct plan_errors errs;
    int rc;
    plan_errors_init(&errs);
    rc = plan_read_file(in, kind, path, &errs);
    print_errors(&errs, path);
    if (rc < 0 && errs.count == 0)
        fprintf(stderr, "%s: %s\n", path, wcs_strerror(rc));
    plan_errors_fini(&errs);
    return rc < 0;
}

/* Writes the plan to path via path.tmp and a rename. Returns 0 or 1 (message printed). */
static int write_file(const struct plan_result *r, const struct plan_header *h, const char *path)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 5);
    FILE *f = NULL;
    int fd, rc;
    if (!tmp) {
        fprintf(stderr, "wcs plan: out of memory\n");
        return 1;
    }
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        fprintf(stderr, "wcs plan: %s: %s\n", tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        free(tmp);
        return 1;
    }
    rc = plan_write(r, h, f);
    if (rc == 0 && fsync(fileno(f)) < 0)
        rc = -errno;
    if (fclose(f) != 0 && rc == 0)
        rc = -EIO;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0) {
        fprintf(stderr, "wcs plan: %s: %s\n", path, wcs_strerror(rc));
        unlink(tmp);
    }
    free(tmp);
    return rc < 0;
}

int cmd_plan(int argc, char **argv)
{
    struct opts o = {0};
    struct cfg_errors cerrs;
    struct cfg_site *cfg = NULL;
    struct plan_site *site = NULL;
    struct plan_input *in = NULL;
    struct plan_result *res = NULL;
    struct plan_header hdr = {0};
    unsigned stages;
    int64_t now_s;
    char msg[256];
    double t0, t1, t2, t3;
    int rc, status = 1, bad;

    if ((rc = parse_args(argc, argv, &o)) != 0)
        return rc == 1 ? 0 : 2;
    if (o.what) {
        if (plan_stages_parse(o.what, &stages, msg, sizeof(msg)) < 0) {
            fprintf(stderr, "wcs plan: --what: %s\n", msg);
            return 2;
        }
        if ((stages & PLAN_PUTAWAY) && !o.receipts) {
            fprintf(stderr, "wcs plan: --what putaway needs --receipts\n");
            return 2;
        }
    } else {
        stages = PLAN_ALL & ~(o.receipts ? 0u : (unsigned)PLAN_PUTAWAY);
    }
    if (o.now) {
        if (plan_time_parse(o.now, &now_s) < 0) {
            fprintf(stderr,
                    "wcs plan: --now: an ISO-8601 time like 2026-11-26T08:00Z expected, got "
                    "'%s'\n",
                    o.now);
            return 2;
        }
    } else {
        now_s = (int64_t)time(NULL);
        hdr.now_from_clock = true;
    }

    t0 = now_ms();
    cfg_errors_init(&cerrs);
    rc = cfg_load(&cfg, o.config, &cerrs);
    if (rc < 0) {
        for (size_t i = 0; i < cerrs.count; i++)
            fprintf(stderr, "%s\n", cerrs.lines[i]);
        if (cerrs.dropped)
            fprintf(stderr, "%s: %zu more errors not shown\n", o.config, cerrs.dropped);
        if (cerrs.count == 0)
            fprintf(stderr, "%s: %s\n", o.config, wcs_strerror(rc));
        cfg_errors_fini(&cerrs);
        return 1;
    }
    cfg_errors_fini(&cerrs);
    if ((rc = plan_site_open(&site, cfg, now_s, msg, sizeof(msg))) < 0 ||
        (rc = plan_input_new(&in, site)) < 0) {
        fprintf(stderr, "wcs plan: %s: %s\n", o.config, rc == -ENOMEM ? "out of memory" : msg);
        goto out;
    }
    /* Read every file, so one run reports the errors of all of them. */
    bad = read_input(in, PLAN_STOCK, o.stock);
    bad |= read_input(in, PLAN_ORDERS, o.orders);
    if (o.receipts)
        bad |= read_input(in, PLAN_RECEIPTS, o.receipts);
    if (bad)
        goto out;
    t1 = now_ms();
    msg[0] = '\0';
    if ((rc = plan_run(&res, site, in, stages, msg, sizeof(msg))) < 0) {
        fprintf(stderr, "wcs plan: cannot plan: %s\n", rc == -ENOMEM ? "out of memory" : msg);
        goto out;
    }
    t2 = now_ms();
    if (o.out) {
        if (write_file(res, &hdr, o.out))
            goto out;
    } else if ((rc = plan_write(res, &hdr, stdout)) < 0) {
        fprintf(stderr, "wcs plan: standard output: %s\n", wcs_strerror(rc));
        goto out;
    }
    t3 = now_ms();
    if (o.timings) {
        struct plan_counts c;
        plan_input_counts(in, &c);
        fprintf(stderr,
                "timings read_ms=%.1f plan_ms=%.1f write_ms=%.1f stock=%" PRIu32 " orders=%" PRIu32
                " lines=%" PRIu32 " receipts=%" PRIu32 "\n",
                t1 - t0, t2 - t1, t3 - t2, c.stock, c.orders, c.lines, c.receipts);
    }
    status = 0;
out:
    plan_result_free(res);
    plan_input_free(in);
    plan_site_close(site);
    cfg_free(cfg);
    return status;
}
