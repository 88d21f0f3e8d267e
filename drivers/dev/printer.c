/* Label printer device class: the job queue and its state machine over a link (TCP 9100 or
 * USB printer class). Per job: [USB: GET_PORT_STATUS] -> ~HS (must answer, no error flag) ->
 * job bytes + ~HS (must answer, no error flag) -> done. On a bad answer ~HQES is asked for the
 * error bits; any failure hands the job to the fallback or keeps it for a retry. */
#include "drivers/printer.h"

#include "base/err.h"
#include "base/loop.h"
#include "drivers/codec/zebra.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RX_MAX = 2048 };

enum phase {
    PH_IDLE,
    PH_PORT,    /* USB GET_PORT_STATUS in flight */
    PH_PRE_HS,  /* ~HS before sending */
    PH_POST_HS, /* job sent, ~HS after it */
    PH_HQES,    /* ~HQES for the error bits of a failing job */
    PH_WAIT,    /* retry timer running */
};

struct job {
    uint64_t id;
    struct printer *fallback;
    size_t len;
    uint8_t *data;
};

struct printer {
    struct loop *loop;
    struct prn_cfg cfg;
    char id[64];
    struct prn_cbs cbs;
    void *arg;
    struct link *link;
    enum phase ph;
    int fail_rc; /* why the job is failing while in PH_HQES */
    struct job *q;
    size_t head, n;
    uint64_t timer;
    bool timer_armed;
    struct prn_status status;
    struct prn_stats st;
    size_t rx_len;
    uint8_t rx[RX_MAX];
};

static void step(struct printer *p);

static void cancel_timer(struct printer *p)
{
    if (p->timer_armed)
        (void)loop_cancel_timer(p->loop, p->timer);
    p->timer_armed = false;
}

static void arm(struct printer *p, uint32_t ms, loop_timer_cb cb)
{
    cancel_timer(p);
    if (loop_add_timer(p->loop, (uint64_t)ms * 1000, cb, p, &p->timer) == 0)
        p->timer_armed = true;
}

static struct job *head(struct printer *p)
{
    return p->n ? &p->q[p->head] : NULL;
}

static void pop(struct printer *p)
{
    free(p->q[p->head].data);
    p->head = (p->head + 1) % p->cfg.queue_cap;
    p->n--;
}

static void on_retry(struct loop *l, uint64_t id, void *arg)
{
    struct printer *p = arg;

    p->timer_armed = false;
    p->ph = PH_IDLE;
    step(p);
}

static void job_done(struct printer *p)
{
    struct job *j = head(p);
    uint64_t id = j->id;

    cancel_timer(p);
    pop(p);
    p->st.done++;
    p->ph = PH_IDLE;
    if (p->cbs.on_job)
        p->cbs.on_job(p, id, PRN_JOB_DONE, 0, &p->status, p->arg);
    step(p);
}

static void job_failed(struct printer *p, int rc)
{
    struct job *j = head(p);
    uint64_t id = j->id;

    cancel_timer(p);
    if (j->fallback && prn_submit(j->fallback, j->id, j->data, j->len, NULL) == 0) {
        pop(p);
        p->st.failed_over++;
        p->ph = PH_IDLE;
        if (p->cbs.on_job)
            p->cbs.on_job(p, id, PRN_JOB_FAILED_OVER, rc, &p->status, p->arg);
        step(p);
        return;
    }
    p->st.retries++;
    p->ph = PH_WAIT;
    arm(p, p->cfg.retry_ms, on_retry);
    if (p->cbs.on_job)
        p->cbs.on_job(p, id, PRN_JOB_RETRYING, rc, &p->status, p->arg);
}

static void on_status_timeout(struct loop *l, uint64_t id, void *arg)
{
    struct printer *p = arg;

    p->timer_armed = false;
    p->st.status_timeouts++;
    if (p->ph == PH_HQES) {
        /* The error bits could not be read; fail with the reason already known. */
        job_failed(p, p->fail_rc);
        return;
    }
    /* A Zebra does not answer ~HS with media or ribbon out or the head open. */
    p->status.answered = false;
    job_failed(p, -ETIMEDOUT);
}

static int send_query(struct printer *p, const char *q, enum phase next)
{
    int rc;

    p->rx_len = 0;
    rc = link_write(p->link, q, strlen(q));
    if (rc < 0)
        return rc;
    p->ph = next;
    arm(p, p->cfg.status_timeout_ms, on_status_timeout);
    return 0;
}

static bool hs_is_error(const struct zebra_hs *hs)
{
    return hs->paper_out || hs->paused || hs->head_up || hs->ribbon_out || hs->over_temperature ||
           hs->under_temperature || hs->corrupt_ram || hs->buffer_full;
}

/* Starts the HQES query of a failing job, or fails it at once if that cannot be sent. */
static void failing(struct printer *p, int rc)
{
    p->fail_rc = rc;
    if (send_query(p, "~HQES", PH_HQES) < 0)
        job_failed(p, rc);
}

static void on_hs(struct printer *p, const struct zebra_hs *hs)
{
    struct job *j = head(p);

    p->status.answered = true;
    p->status.paper_out = hs->paper_out;
    p->status.paused = hs->paused;
    p->status.head_up = hs->head_up;
    p->status.ribbon_out = hs->ribbon_out;
    p->status.over_temperature = hs->over_temperature;
    p->status.under_temperature = hs->under_temperature;
    p->status.buffer_full = hs->buffer_full;
    p->status.formats_in_buffer = hs->formats_in_buffer;
    if (hs_is_error(hs)) {
        failing(p, WCS_E_STATE);
        return;
    }
    p->status.hqes_errors = 0;
    if (p->ph == PH_POST_HS) {
        job_done(p);
        return;
    }
    /* PH_PRE_HS: the printer is fine; send the job and ask again right behind it. */
    if (link_write(p->link, j->data, j->len) < 0) {
        job_failed(p, WCS_E_LINK);
        return;
    }
    if (send_query(p, "~HS", PH_POST_HS) < 0)
        job_failed(p, WCS_E_LINK);
}

static void on_data(struct link *k, const uint8_t *data, size_t len, void *arg)
{
    struct printer *p = arg;

    if (p->ph != PH_PRE_HS && p->ph != PH_POST_HS && p->ph != PH_HQES)
        return; /* nothing asked: stray bytes */
    if (len > RX_MAX - p->rx_len) {
        p->rx_len = 0;
        failing(p, WCS_E_PROTOCOL);
        return;
    }
    memcpy(p->rx + p->rx_len, data, len);
    p->rx_len += len;
    if (p->ph == PH_HQES) {
        struct zebra_hqes q;
        int rc = zebra_hqes_parse(p->rx, p->rx_len, &q);
        if (rc == -EAGAIN)
            return;
        if (rc >= 0)
            p->status.hqes_errors = q.errors;
        job_failed(p, p->fail_rc);
        return;
    }
    struct zebra_hs hs;
    int rc = zebra_hs_parse(p->rx, p->rx_len, &hs);
    if (rc == -EAGAIN)
        return;
    cancel_timer(p);
    if (rc < 0) {
        failing(p, WCS_E_PROTOCOL);
        return;
    }
    on_hs(p, &hs);
}

static void on_port(struct link *k, int rc, uint8_t status, void *arg)
{
    struct printer *p = arg;

    if (p->ph != PH_PORT)
        return;
    cancel_timer(p);
    if (rc < 0) {
        job_failed(p, rc);
        return;
    }
    p->status.port_status = status;
    if (!(status & USB_PRN_NOT_ERROR) || (status & USB_PRN_PAPER_EMPTY)) {
        p->status.paper_out = (status & USB_PRN_PAPER_EMPTY) != 0;
        failing(p, WCS_E_STATE);
        return;
    }
    if (send_query(p, "~HS", PH_PRE_HS) < 0)
        job_failed(p, WCS_E_LINK);
}

static void step(struct printer *p)
{
    if (p->ph != PH_IDLE || p->n == 0)
        return;
    if (link_get_state(p->link) == LINK_CONNECTING)
        return; /* on_state(UP) comes back here */
    if (link_get_state(p->link) != LINK_UP) {
        job_failed(p, WCS_E_LINK);
        return;
    }
    if (p->cfg.usb) {
        int rc = link_usb_port_status(p->link, on_port, p);
        if (rc == 0) {
            p->ph = PH_PORT;
            arm(p, p->cfg.status_timeout_ms, on_status_timeout);
            return;
        }
    }
    if (send_query(p, "~HS", PH_PRE_HS) < 0)
        job_failed(p, WCS_E_LINK);
}

static void on_state(struct link *k, enum link_state st, int rc, void *arg)
{
    struct printer *p = arg;

    if (p->cbs.on_state)
        p->cbs.on_state(p, st, rc, p->arg);
    if (st == LINK_UP && p->ph == PH_IDLE) {
        step(p);
    } else if (st == LINK_UP && p->ph == PH_WAIT) {
        cancel_timer(p); /* the printer is back: try now */
        p->ph = PH_IDLE;
        step(p);
    } else if (st == LINK_DOWN && p->ph != PH_IDLE && p->ph != PH_WAIT) {
        job_failed(p, WCS_E_LINK);
    }
}

int prn_open(struct printer **out, struct loop *loop, struct usb_host *usb,
             const struct prn_cfg *cfg, const struct prn_cbs *cbs, void *arg)
{
    static const struct link_cbs lcbs = {on_data, on_state};
    struct link_opts lo = {0};
    struct printer *p;
    int rc;

    if (cfg->usb && !usb)
        return WCS_E_CONFIG;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->loop = loop;
    p->cfg = *cfg;
    if (cfg->id)
        snprintf(p->id, sizeof(p->id), "%s", cfg->id);
    p->cfg.id = p->id;
    if (!p->cfg.status_timeout_ms)
        p->cfg.status_timeout_ms = 2000;
    if (!p->cfg.retry_ms)
        p->cfg.retry_ms = 5000;
    if (!p->cfg.queue_cap)
        p->cfg.queue_cap = 64;
    if (!p->cfg.job_max)
        p->cfg.job_max = 65536;
    if (cbs)
        p->cbs = *cbs;
    p->arg = arg;
    p->q = calloc(p->cfg.queue_cap, sizeof(*p->q));
    if (!p->q) {
        free(p);
        return -ENOMEM;
    }
    lo.out_cap = p->cfg.job_max + 64;
    /* USB: the bulk OUT timeout; TCP: the connect timeout. Both bound what a status answer
     * may take anyway. */
    lo.connect_timeout_ms = p->cfg.status_timeout_ms;
    rc = cfg->usb ? link_open_usb_printer(&p->link, usb, &cfg->usbm, &lo, &lcbs, p)
                  : link_open(&p->link, loop, &cfg->addr, &lo, &lcbs, p);
    if (rc < 0) {
        free(p->q);
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void prn_close(struct printer *p)
{
    if (!p)
        return;
    cancel_timer(p);
    link_close(p->link);
    while (p->n)
        pop(p);
    free(p->q);
    free(p);
}

int prn_submit(struct printer *p, uint64_t job_id, const void *data, size_t len,
               struct printer *fallback)
{
    struct job *j;

    if (len == 0 || len > p->cfg.job_max || fallback == p)
        return WCS_E_RANGE;
    if (p->n == p->cfg.queue_cap) {
        p->st.queue_full++;
        return WCS_E_FULL;
    }
    j = &p->q[(p->head + p->n) % p->cfg.queue_cap];
    j->data = malloc(len);
    if (!j->data)
        return -ENOMEM;
    memcpy(j->data, data, len);
    j->len = len;
    j->id = job_id;
    j->fallback = fallback;
    p->n++;
    /* Start from the loop, not inside the caller's stack: the owner may be in a callback. */
    if (p->ph == PH_IDLE && !p->timer_armed)
        arm(p, 0, on_retry);
    return 0;
}

size_t prn_get_queued(const struct printer *p)
{
    return p->n;
}

enum link_state prn_get_state(const struct printer *p)
{
    return link_get_state(p->link);
}

void prn_get_status(const struct printer *p, struct prn_status *out)
{
    *out = p->status;
}

void prn_get_stats(const struct printer *p, struct prn_stats *out)
{
    *out = p->st;
}
