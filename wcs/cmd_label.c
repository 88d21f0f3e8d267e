/* `wcs label KIND [OPTIONS]`: renders a ZPL label (SSCC shipping label, tote/LPN, location, or
 * a site template with fields) and prints it, or sends it to a printer named in the site config
 * (or given by URI) and waits until the printer confirms it (DESIGN.md §4.1). Rendering is
 * drivers/codec/zpl.h; sending is the printer device class on a private event loop. */
#include "cmds.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/loop.h"
#include "config/config.h"
#include "config/parse.h"
#include "drivers/codec/zpl.h"
#include "drivers/printer.h"
#include "drivers/usb.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LABEL_MAX = 65536, FIELDS_MAX = 64, TEMPLATE_MAX = 65536 };

static void usage(FILE *out)
{
    fprintf(out,
            "usage: wcs label sscc --sscc N18 --name N --line1 L [--line2 L] --postal P --city C\n"
            "                      --country CC --carrier C --order O [--weight-g G] [OPTS]\n"
            "       wcs label lpn --lpn TEXT [--caption TEXT] [OPTS]\n"
            "       wcs label location --location PATH [OPTS]\n"
            "       wcs label template FILE [--field NAME=VALUE]... [OPTS]\n"
            "\n"
            "Renders the label as ZPL and writes it to standard output, or sends it:\n"
            "  --dpi 203|300        print head resolution (default 203, or the printer's)\n"
            "  --config SITE.yaml --printer ID\n"
            "                       send to the printer of that id in the site config\n"
            "  --to URI             send to tcp://HOST:PORT, serial://DEV?baud=N or usb://VID:PID\n"
            "  --timeout-ms N       give up when the printer has not confirmed (default 10000)\n"
            "\n"
            "A sent label counts as printed only when the printer answers ~HS after it with no\n"
            "error flag. Exit status: 0 rendered or printed, 1 invalid data or the printer\n"
            "failed (one line on stderr says why), 2 usage error.\n");
}

struct opts {
    const char *kind;
    const char *sscc, *name, *line1, *line2, *postal, *city, *country, *carrier, *order;
    const char *lpn, *caption, *location, *template_file;
    const char *config, *printer, *to;
    int64_t weight_mg;
    int dpi;
    uint32_t timeout_ms;
    struct zpl_field fields[FIELDS_MAX];
    size_t n_fields;
};

/* Strict unsigned decimal (no sign, no leading junk, no trailing junk). */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (!s || !*s)
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
            return -EINVAL;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

/* Grams with up to 3 decimals ("12.5") into milligrams. */
static int parse_grams(const char *s, int64_t *mg)
{
    char whole[24] = {0}, frac[4] = "000";
    const char *dot = strchr(s, '.');
    size_t wl = dot ? (size_t)(dot - s) : strlen(s), fl = dot ? strlen(dot + 1) : 0;
    uint64_t w, f;

    if (wl == 0 || wl >= sizeof(whole) || fl > 3 || (dot && fl == 0))
        return -EINVAL;
    memcpy(whole, s, wl);
    if (dot)
        memcpy(frac, dot + 1, fl);
    if (parse_u64(whole, 1000000000u, &w) < 0 || parse_u64(frac, 999, &f) < 0)
        return -EINVAL;
    *mg = (int64_t)(w * 1000 + f);
    return 0;
}

static int read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f)
        return -errno;
    n = fread(buf, 1, cap - 1, f);
    if (ferror(f) || !feof(f)) {
        fclose(f);
        return n == cap - 1 ? -EFBIG : -EIO;
    }
    fclose(f);
    buf[n] = '\0';
    return (int)n;
}

static int render(struct opts *o, char *out, size_t cap)
{
    enum zpl_dpi dpi = o->dpi == 300 ? ZPL_DPI_300 : ZPL_DPI_203;

    if (strcmp(o->kind, "sscc") == 0) {
        struct zpl_sscc_label l = {
            .sscc = o->sscc,
            .ship_to = {o->name, o->line1, o->line2, o->postal, o->city, o->country},
            .carrier = o->carrier,
            .order = o->order,
            .weight_mg = o->weight_mg,
            .dpi = dpi,
        };
        return zpl_render_sscc(&l, out, cap);
    }
    if (strcmp(o->kind, "lpn") == 0) {
        struct zpl_lpn_label l = {.lpn = o->lpn, .caption = o->caption, .dpi = dpi};
        return zpl_render_lpn(&l, out, cap);
    }
    if (strcmp(o->kind, "location") == 0) {
        struct zpl_location_label l = {.location = o->location, .dpi = dpi};
        return zpl_render_location(&l, out, cap);
    }
    if (strcmp(o->kind, "template") == 0) {
        char *t = malloc(TEMPLATE_MAX);
        int rc;
        if (!t)
            return -ENOMEM;
        rc = read_file(o->template_file, t, TEMPLATE_MAX);
        if (rc >= 0)
            rc = zpl_render_template(t, o->fields, o->n_fields, out, cap);
        free(t);
        return rc;
    }
    return WCS_E_UNKNOWN;
}

/* Maps a parsed config URI to the printer's open parameters. Returns 0 or WCS_E_CONFIG
 * (an rtu:// URI is a PLC's, not a printer's). */
static int printer_cfg_from_uri(const struct cfg_uri *u, struct prn_cfg *c)
{
    switch (u->scheme) {
    case CFG_URI_TCP:
        return tr_addr_tcp(&c->addr, u->host, u->port) < 0 ? WCS_E_CONFIG : 0;
    case CFG_URI_SERIAL:
        return tr_addr_serial(&c->addr, u->device, u->baud, u->parity, u->data_bits, u->stop_bits) <
                       0
                   ? WCS_E_CONFIG
                   : 0;
    case CFG_URI_USB:
        c->usb = true;
        c->usbm.vid = u->vid;
        c->usbm.pid = u->pid;
        snprintf(c->usbm.serial, sizeof(c->usbm.serial), "%s", u->serial);
        return 0;
    case CFG_URI_RTU:
        break;
    }
    return WCS_E_CONFIG;
}

/* Finds the printer: from --to, or --printer in --config. Fills c (and the dpi if not given). */
static int resolve_printer(struct opts *o, struct prn_cfg *c)
{
    struct cfg_uri u;
    const char *why = NULL;

    if (o->to) {
        if (cfg_parse_uri(o->to, &u, &why) < 0) {
            fprintf(stderr, "wcs label: --to %s: %s\n", o->to, why ? why : "invalid URI");
            return 1;
        }
        if (printer_cfg_from_uri(&u, c) < 0) {
            fprintf(stderr, "wcs label: --to %s: not a printer URI\n", o->to);
            return 1;
        }
        return 0;
    }
    struct cfg_errors errs;
    struct cfg_site *site = NULL;
    int32_t i;
    int rc;

    cfg_errors_init(&errs);
    rc = cfg_load(&site, o->config, &errs);
    if (rc < 0) {
        for (size_t k = 0; k < errs.count; k++)
            fprintf(stderr, "%s\n", errs.lines[k]);
        fprintf(stderr, "wcs label: %s: cannot load the config (%s)\n", o->config,
                wcs_strerror(rc));
        cfg_errors_fini(&errs);
        return 1;
    }
    cfg_errors_fini(&errs);
    i = cfg_find_device(site, o->printer);
    if (i < 0 || site->devices[i].kind != CFG_DEV_PRINTER) {
        fprintf(stderr, "wcs label: %s: no printer '%s' in the config\n", o->config, o->printer);
        cfg_free(site);
        return 1;
    }
    if (printer_cfg_from_uri(&site->devices[i].uri, c) < 0) {
        fprintf(stderr, "wcs label: printer %s: unsupported URI %s\n", o->printer,
                site->devices[i].uri_text);
        cfg_free(site);
        return 1;
    }
    if (o->dpi == 0 && site->devices[i].dpi == 300)
        o->dpi = 300;
    cfg_free(site);
    return 0;
}

struct sent {
    bool finished;
    int rc;
    struct prn_status st;
};

static void on_job(struct printer *p, uint64_t id, enum prn_job_state state, int rc,
                   const struct prn_status *st, void *arg)
{
    struct sent *s = arg;

    s->st = *st;
    /* A link still connecting is waited for (up to the deadline); any answer or silence from
     * the printer itself ends the run: the label was printed or it was not. */
    if (state == PRN_JOB_DONE || rc != WCS_E_LINK) {
        s->finished = true;
        s->rc = state == PRN_JOB_DONE ? 0 : rc;
    }
}

static void explain(const struct sent *s)
{
    if (s->rc == -ETIMEDOUT)
        fprintf(stderr, "wcs label: the printer did not answer its status request (media or "
                        "ribbon out, head open, or not a ZPL printer)\n");
    else if (s->rc == WCS_E_STATE)
        fprintf(stderr, "wcs label: printer error:%s%s%s%s%s%s errors=0x%llx\n",
                s->st.paper_out ? " paper-out" : "", s->st.paused ? " paused" : "",
                s->st.head_up ? " head-open" : "", s->st.ribbon_out ? " ribbon-out" : "",
                s->st.over_temperature ? " over-temperature" : "",
                s->st.buffer_full ? " buffer-full" : "", (unsigned long long)s->st.hqes_errors);
    else
        fprintf(stderr, "wcs label: not printed: %s\n", wcs_strerror(s->rc));
}

static int send_label(struct opts *o, struct prn_cfg *c, const char *zpl, size_t len)
{
    struct loop *loop = NULL;
    struct usb_host *usb = NULL;
    struct printer *p = NULL;
    struct sent s = {0};
    const struct prn_cbs cbs = {on_job, NULL};
    uint64_t end;
    int rc, ret = 1;

    c->id = o->printer ? o->printer : o->to;
    c->status_timeout_ms = o->timeout_ms < 2000 ? o->timeout_ms / 2 + 1 : 2000;
    c->retry_ms = 500;
    rc = loop_new(&loop, clock_system());
    if (rc < 0)
        goto out;
    if (c->usb && (rc = usb_host_open(&usb, loop)) < 0)
        goto out;
    rc = prn_open(&p, loop, usb, c, &cbs, &s);
    if (rc < 0)
        goto out;
    rc = prn_submit(p, 1, zpl, len, NULL);
    if (rc < 0)
        goto out;
    end = loop_now_us(loop) + (uint64_t)o->timeout_ms * 1000;
    while (!s.finished && loop_now_us(loop) < end)
        loop_run_once(loop, 20);
    if (!s.finished) {
        fprintf(stderr, "wcs label: printer %s not reachable within %u ms\n", c->id,
                (unsigned)o->timeout_ms);
        goto out_quiet;
    }
    if (s.rc == 0) {
        ret = 0;
        goto out_quiet;
    }
    explain(&s);
    goto out_quiet;
out:
    fprintf(stderr, "wcs label: cannot send: %s\n", wcs_strerror(rc));
out_quiet:
    prn_close(p);
    usb_host_close(usb);
    loop_free(loop);
    return ret;
}

int cmd_label(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"sscc", required_argument, NULL, 's'},
        {"name", required_argument, NULL, 'n'},
        {"line1", required_argument, NULL, '1'},
        {"line2", required_argument, NULL, '2'},
        {"postal", required_argument, NULL, 'p'},
        {"city", required_argument, NULL, 'c'},
        {"country", required_argument, NULL, 'C'},
        {"carrier", required_argument, NULL, 'r'},
        {"order", required_argument, NULL, 'o'},
        {"weight-g", required_argument, NULL, 'w'},
        {"lpn", required_argument, NULL, 'l'},
        {"caption", required_argument, NULL, 'a'},
        {"location", required_argument, NULL, 'L'},
        {"field", required_argument, NULL, 'f'},
        {"dpi", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'g'},
        {"printer", required_argument, NULL, 'P'},
        {"to", required_argument, NULL, 't'},
        {"timeout-ms", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct opts o = {.timeout_ms = 10000};
    struct prn_cfg pc = {0};
    char *zpl;
    uint64_t v;
    int c, n, ret;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            o.sscc = optarg;
            break;
        case 'n':
            o.name = optarg;
            break;
        case '1':
            o.line1 = optarg;
            break;
        case '2':
            o.line2 = optarg;
            break;
        case 'p':
            o.postal = optarg;
            break;
        case 'c':
            o.city = optarg;
            break;
        case 'C':
            o.country = optarg;
            break;
        case 'r':
            o.carrier = optarg;
            break;
        case 'o':
            o.order = optarg;
            break;
        case 'l':
            o.lpn = optarg;
            break;
        case 'a':
            o.caption = optarg;
            break;
        case 'L':
            o.location = optarg;
            break;
        case 'g':
            o.config = optarg;
            break;
        case 'P':
            o.printer = optarg;
            break;
        case 't':
            o.to = optarg;
            break;
        case 'w':
            if (parse_grams(optarg, &o.weight_mg) < 0) {
                fprintf(stderr, "wcs label: --weight-g %s: expected grams like 1250 or 12.5\n",
                        optarg);
                return 2;
            }
            break;
        case 'd':
            if (parse_u64(optarg, 1000, &v) < 0 || (v != 203 && v != 300)) {
                fprintf(stderr, "wcs label: --dpi must be 203 or 300\n");
                return 2;
            }
            o.dpi = (int)v;
            break;
        case 'T':
            if (parse_u64(optarg, 600000, &v) < 0 || v < 100) {
                fprintf(stderr, "wcs label: --timeout-ms must be 100..600000\n");
                return 2;
            }
            o.timeout_ms = (uint32_t)v;
            break;
        case 'f': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || o.n_fields == FIELDS_MAX) {
                fprintf(stderr, "wcs label: --field %s: expected NAME=VALUE\n", optarg);
                return 2;
            }
            *eq = '\0';
            o.fields[o.n_fields++] = (struct zpl_field){optarg, eq + 1};
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "wcs label: unknown or incomplete option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    o.kind = argv[optind++];
    if (strcmp(o.kind, "template") == 0) {
        if (optind >= argc) {
            fprintf(stderr, "wcs label: template needs a FILE\n");
            return 2;
        }
        o.template_file = argv[optind++];
    } else if (strcmp(o.kind, "sscc") && strcmp(o.kind, "lpn") && strcmp(o.kind, "location")) {
        fprintf(stderr, "wcs label: unknown label kind '%s'\n", o.kind);
        return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "wcs label: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if ((o.config != NULL) != (o.printer != NULL) || (o.to && o.config)) {
        fprintf(stderr, "wcs label: use --config with --printer, or --to, not both\n");
        return 2;
    }
    /* The printer's dpi (from config) decides the layout, so resolve it before rendering. */
    if ((o.config || o.to) && resolve_printer(&o, &pc) != 0)
        return 1;
    zpl = malloc(LABEL_MAX);
    if (!zpl) {
        fprintf(stderr, "wcs label: out of memory\n");
        return 1;
    }
    n = render(&o, zpl, LABEL_MAX);
    if (n < 0) {
        fprintf(stderr, "wcs label: %s label not rendered: %s\n", o.kind,
                n == -ENOENT         ? "template file not found"
                : n == WCS_E_RANGE   ? "a field is missing or invalid (SSCC check digit, "
                                       "required address/carrier/order, characters)"
                : n == WCS_E_UNKNOWN ? "the template names a field not given with --field"
                                     : wcs_strerror(n));
        free(zpl);
        return 1;
    }
    if (!o.config && !o.to) {
        fwrite(zpl, 1, (size_t)n, stdout);
        fputc('\n', stdout);
        free(zpl);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    ret = send_label(&o, &pc, zpl, (size_t)n);
    free(zpl);
    return ret;
}
