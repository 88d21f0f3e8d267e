/* OSIP conveyor PLC: fixed-length ASCII telegrams over a TCP link on the loop (the OpenWMS
 * protocol, drivers/codec/osip.h). A REQ_ from the PLC is a scan; the decision goes back as
 * the RES_ for that request; UPD_ is a confirmation; SYNQ is answered with SYNC. OSIP has no
 * heartbeat of its own: the link state is the TCP connection's. */
#include "plc_private.h"

#include "drivers/codec/osip.h"

#include "base/clock.h"
#include "base/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct plc_osip {
    struct conv_plc *p;
    struct link *link;
    struct osip_framer fr;
    struct osip_telegram last_req;
    bool has_req;
};

static void date_now(char out[OSIP_DATE_LEN + 1])
{
    time_t t = (time_t)(clock_wall_ms(clock_system()) / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    if (strftime(out, OSIP_DATE_LEN + 1, "%Y%m%d%H%M%S", &tm) != OSIP_DATE_LEN)
        memcpy(out, "20000101000000", OSIP_DATE_LEN + 1);
}

static void post_link(struct plc_osip *o, enum conv_link l, enum conv_fault f, int rc)
{
    struct conv_event ev = {.kind = CONV_EVT_LINK, .link = l, .fault = f, .rc = rc};

    ev.at_us = clock_real_mono_us();
    atomic_store(&o->p->link, l);
    conv_post(o->p, &ev);
}

/* Copies a fixed-width field without its filler ('?' for barcodes, '*' for locations). */
static void trim_copy(char *dst, size_t cap, const char *src, char filler)
{
    size_t n = strlen(src);

    while (n > 0 && src[n - 1] == filler)
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void on_telegram(struct plc_osip *o, const struct osip_telegram *t)
{
    struct conv_event ev = {0};
    char buf[OSIP_MAX_LEN + 2];

    ev.at_us = clock_real_mono_us();
    switch (t->type) {
    case OSIP_REQ:
        o->last_req = *t;
        o->has_req = true;
        ev.kind = CONV_EVT_SCAN;
        ev.seq = t->seq;
        trim_copy(ev.barcode, sizeof(ev.barcode), t->barcode, '?');
        ev.read_result = ev.barcode[0] ? PLC_READ_GOOD : PLC_READ_NOREAD;
        trim_copy(ev.target, sizeof(ev.target), t->target, '*');
        conv_post(o->p, &ev);
        break;
    case OSIP_UPD:
        ev.kind = CONV_EVT_CONFIRM;
        ev.seq = t->seq;
        ev.confirm_result = PLC_CONFIRM_PASSED;
        trim_copy(ev.barcode, sizeof(ev.barcode), t->barcode, '?');
        trim_copy(ev.target, sizeof(ev.target), t->actual, '*');
        conv_post(o->p, &ev);
        break;
    case OSIP_SYNQ: {
        struct osip_telegram s = *t;
        int n;
        memcpy(s.sender, t->receiver, sizeof(s.sender));
        memcpy(s.receiver, t->sender, sizeof(s.receiver));
        s.type = OSIP_SYNC;
        date_now(s.date);
        n = osip_build(&s, o->p->cfg.osip_len, '*', buf, sizeof(buf));
        if (n > 0)
            (void)link_write(o->link, buf, (size_t)n);
        break;
    }
    default:
        break; /* LOCU, SYSU, ERR_ carry nothing the sorter loop acts on */
    }
}

static void on_data(struct link *k, const uint8_t *data, size_t len, void *arg)
{
    struct plc_osip *o = arg;
    char tg[OSIP_MAX_LEN + 1];

    while (len > 0) {
        size_t took = osip_framer_feed(&o->fr, data, len);
        size_t n;
        data += took;
        len -= took;
        while ((n = osip_framer_next(&o->fr, tg, sizeof(tg))) > 0) {
            struct osip_telegram t;
            if (osip_parse(tg, n, o->p->cfg.osip_len, '*', &t) == 0)
                on_telegram(o, &t);
            else
                atomic_fetch_add(&o->p->st.decode_errors, 1);
        }
    }
}

static void on_state(struct link *k, enum link_state st, int rc, void *arg)
{
    struct plc_osip *o = arg;

    if (st == LINK_UP) {
        atomic_fetch_add(&o->p->st.reconnects, 1);
        osip_framer_init(&o->fr, o->p->cfg.osip_len);
        post_link(o, CONV_LINK_UP, CONV_FAULT_NONE, 0);
    } else if (st == LINK_DOWN) {
        atomic_fetch_add(&o->p->st.connect_failures, 1);
        o->has_req = false;
        post_link(o, CONV_LINK_DOWN, CONV_FAULT_CONNECT, rc);
    }
}

static int osip_start(struct conv_plc *p)
{
    static const struct link_cbs cbs = {on_data, on_state};
    struct link_opts lo = {.backoff_min_ms = p->cfg.backoff_min_ms,
                           .backoff_max_ms = p->cfg.backoff_max_ms,
                           .connect_timeout_ms =
                               p->cfg.timeout_ms > 1000 ? p->cfg.timeout_ms : 1000};
    struct plc_osip *o = calloc(1, sizeof(*o));
    int rc;

    if (!o)
        return -ENOMEM;
    o->p = p;
    osip_framer_init(&o->fr, p->cfg.osip_len);
    p->osip = o;
    rc = link_open(&o->link, p->loop, &p->cfg.addr, &lo, &cbs, o);
    if (rc < 0) {
        p->osip = NULL;
        free(o);
    }
    return rc;
}

static void osip_stop(struct conv_plc *p)
{
    link_close(p->osip->link);
    free(p->osip);
    p->osip = NULL;
}

static int osip_decide(struct conv_plc *p, const struct conv_decision *d)
{
    struct plc_osip *o = p->osip;
    struct osip_telegram res;
    char date[OSIP_DATE_LEN + 1], buf[OSIP_MAX_LEN + 2], target[OSIP_LOCATION_LEN + 1];
    int n;

    if (!o->has_req || d->seq != o->last_req.seq) {
        struct conv_event ev = {.kind = CONV_EVT_STALE, .point = d->point, .seq = d->seq};
        ev.at_us = clock_real_mono_us();
        atomic_fetch_add(&p->st.stale_decisions, 1);
        conv_post(p, &ev);
        return 0;
    }
    /* Location names are shorter than the field: pad with the filler, as the PLC expects. */
    n = (int)strnlen(d->target, sizeof(d->target));
    if (n > OSIP_LOCATION_LEN)
        return WCS_E_RANGE;
    memset(target, '*', OSIP_LOCATION_LEN);
    memcpy(target, d->target, (size_t)n);
    target[OSIP_LOCATION_LEN] = '\0';
    date_now(date);
    if (osip_res_for(&o->last_req, n ? target : NULL, NULL, "00000000", date, &res) < 0)
        return WCS_E_RANGE;
    n = osip_build(&res, p->cfg.osip_len, '*', buf, sizeof(buf));
    if (n < 0)
        return WCS_E_RANGE;
    n = link_write(o->link, buf, (size_t)n);
    if (n < 0)
        return n;
    atomic_fetch_add(&p->st.writes, 1);
    o->has_req = false; /* one answer per request */
    return 0;
}

const struct conv_plc_ops conv_osip_ops = {"osip", osip_start, osip_stop, osip_decide};
