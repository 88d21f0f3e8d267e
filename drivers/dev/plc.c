/* Conveyor PLC device class: configuration defaults and checks, the event queue that brings
 * worker events onto the loop, and the dispatch to the protocol's ops (Modbus or OSIP). */
#include "plc_private.h"

#include "drivers/codec/osip.h"

#include "base/err.h"
#include "base/loop.h"
#include "base/queue.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

void conv_plc_cfg_init(struct conv_plc_cfg *cfg, enum conv_proto proto, const struct tr_addr *addr)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->proto = proto;
    cfg->addr = *addr;
    cfg->unit_id = 1;
    cfg->poll_ms = 10;
    cfg->burst_polls = 4;
    cfg->heartbeat_ms = 250;
    cfg->timeout_ms = 50;
    cfg->backoff_min_ms = 100;
    cfg->backoff_max_ms = 2000;
    cfg->queue_cap = 256;
    cfg->osip_len = 160;
    memcpy(cfg->osip_node, "WCS__", 6);
}

static int check_cfg(const struct conv_plc_cfg *c)
{
    struct plc_request w[CONV_MAX_POINTS];

    if (c->poll_ms == 0 || c->heartbeat_ms == 0 || c->timeout_ms == 0 || c->queue_cap == 0 ||
        c->backoff_min_ms == 0 || c->backoff_max_ms < c->backoff_min_ms)
        return WCS_E_CONFIG;
    switch (c->proto) {
    case CONV_MODBUS_TCP:
    case CONV_MODBUS_RTU:
        if ((c->proto == CONV_MODBUS_TCP) != (c->addr.kind == TR_TCP))
            return WCS_E_CONFIG;
        if (c->n_points == 0 || c->n_points > CONV_MAX_POINTS || c->unit_id == 0 ||
            c->unit_id > 247)
            return WCS_E_CONFIG;
        for (size_t i = 0; i < c->n_points; i++)
            if (plc_regmap_validate(&c->points[i], NULL) < 0)
                return WCS_E_CONFIG;
        if (plc_plan_writes(c->points, c->n_points, w, CONV_MAX_POINTS) < 0)
            return WCS_E_CONFIG;
        return 0;
    case CONV_OSIP:
        if (c->addr.kind != TR_TCP || c->n_points != 1 || c->osip_len < OSIP_MIN_LEN ||
            c->osip_len > OSIP_MAX_LEN || strlen(c->osip_node) != OSIP_NODE_LEN)
            return WCS_E_CONFIG;
        return 0;
    }
    return WCS_E_CONFIG;
}

void conv_post(struct conv_plc *p, const struct conv_event *ev)
{
    if (bq_push(p->events, ev) < 0)
        atomic_fetch_add(&p->st.events_dropped, 1);
}

/* Events are handed to the owner before the eventfd is read, so a scan's decision is not
 * delayed by that syscall (bench/modbus); the pops after the read catch an event pushed
 * between the first pops and the read, whose wake-up the read consumed. */
static void on_events(struct loop *l, int fd, unsigned events, void *arg)
{
    struct conv_plc *p = arg;
    struct conv_event ev;

    while (bq_pop(p->events, &ev) == 0)
        p->cb(p, &ev, p->arg);
    bq_drain_fd(p->events);
    while (bq_pop(p->events, &ev) == 0)
        p->cb(p, &ev, p->arg);
}

int conv_plc_open(struct conv_plc **out, struct loop *loop, const struct conv_plc_cfg *cfg,
                  conv_event_cb cb, void *arg)
{
    struct conv_plc *p;
    int rc;

    if (!cb || check_cfg(cfg) < 0)
        return WCS_E_CONFIG;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->ops = cfg->proto == CONV_OSIP ? &conv_osip_ops : &conv_modbus_ops;
    p->loop = loop;
    p->cb = cb;
    p->arg = arg;
    p->cfg = *cfg;
    p->cfg.id = p->id;
    if (cfg->id)
        snprintf(p->id, sizeof(p->id), "%s", cfg->id);
    atomic_init(&p->link, CONV_LINK_DOWN);
    atomic_init(&p->attach, NULL);
    atomic_init(&p->table_reading, false);
    rc = bq_new(&p->events, sizeof(struct conv_event), cfg->queue_cap, BQ_EVENTFD);
    if (rc < 0)
        goto err_free;
    rc = loop_add_fd(loop, bq_fd(p->events), LOOP_READ, on_events, p);
    if (rc < 0)
        goto err_queue;
    rc = p->ops->start(p);
    if (rc < 0)
        goto err_watch;
    *out = p;
    return 0;
err_watch:
    (void)loop_del_fd(loop, bq_fd(p->events));
err_queue:
    bq_free(p->events);
err_free:
    free(p);
    return rc;
}

void conv_plc_close(struct conv_plc *p)
{
    if (!p)
        return;
    p->ops->stop(p);
    (void)conv_plc_set_table(p, NULL, NULL);
    (void)loop_del_fd(p->loop, bq_fd(p->events));
    bq_free(p->events);
    free(p);
}

int conv_plc_decide(struct conv_plc *p, const struct conv_decision *d)
{
    if (d->point >= p->cfg.n_points || (d->cmd_flags & ~PLC_CMD_KNOWN_MASK))
        return WCS_E_RANGE;
    if (atomic_load(&p->link) == CONV_LINK_DOWN)
        return WCS_E_LINK;
    return p->ops->decide(p, d);
}

bool conv_table_answer(struct conv_plc *p, size_t i, enum plc_read_result rr, const char *barcode,
                       struct conv_rule *r, uint64_t *version)
{
    struct conv_attach *a = atomic_load(&p->attach);

    if (!a)
        return false;
    /* Announce the lookup, then check the attachment is still the one loaded: either
     * conv_plc_set_table sees the flag and waits, or this sees its new pointer and asks. */
    atomic_store(&p->table_reading, true);
    if (atomic_load(&p->attach) != a) {
        atomic_store(&p->table_reading, false);
        return false;
    }
    conv_table_decide(a->t, a->slot, a->set_of_point[i], rr, barcode, r, version);
    atomic_store(&p->table_reading, false);
    if (r->kind == CONV_RULE_WRITE) {
        atomic_fetch_add(&p->st.table_decisions, 1);
        return true;
    }
    atomic_fetch_add(&p->st.table_asks, 1);
    return false;
}

int conv_plc_set_table(struct conv_plc *p, struct conv_table *t, const uint32_t *set_of_point)
{
    struct conv_attach *a = NULL, *old;

    if (p->cfg.proto == CONV_OSIP)
        return t ? WCS_E_STATE : 0;
    if (t) {
        int slot = conv_table_reader_add(t);
        if (slot < 0)
            return slot;
        a = calloc(1, sizeof(*a));
        if (!a) {
            conv_table_reader_del(t, slot);
            return -ENOMEM;
        }
        a->t = t;
        a->slot = slot;
        for (size_t i = 0; i < p->cfg.n_points; i++)
            a->set_of_point[i] = set_of_point ? set_of_point[i] : (uint32_t)i;
    }
    old = atomic_exchange(&p->attach, a);
    /* A lookup in the old attachment takes microseconds and never blocks. */
    while (atomic_load(&p->table_reading))
        sched_yield();
    if (old) {
        conv_table_reader_del(old->t, old->slot);
        free(old);
    }
    return 0;
}

enum conv_link conv_plc_get_link(const struct conv_plc *p)
{
    return (enum conv_link)atomic_load(&p->link);
}

void conv_plc_get_stats(const struct conv_plc *p, struct conv_plc_stats *o)
{
    struct conv_plc_astats *s = (struct conv_plc_astats *)&p->st;

    o->polls = atomic_load(&s->polls);
    o->reads = atomic_load(&s->reads);
    o->writes = atomic_load(&s->writes);
    o->timeouts = atomic_load(&s->timeouts);
    o->exceptions = atomic_load(&s->exceptions);
    o->connect_failures = atomic_load(&s->connect_failures);
    o->reconnects = atomic_load(&s->reconnects);
    o->hb_stalls = atomic_load(&s->hb_stalls);
    o->decode_errors = atomic_load(&s->decode_errors);
    o->frame_errors = atomic_load(&s->frame_errors);
    o->stale_decisions = atomic_load(&s->stale_decisions);
    o->events_dropped = atomic_load(&s->events_dropped);
    o->decisions_dropped = atomic_load(&s->decisions_dropped);
    o->table_decisions = atomic_load(&s->table_decisions);
    o->table_asks = atomic_load(&s->table_asks);
    o->burst_polls = atomic_load(&s->burst_polls);
}

const char *conv_link_name(enum conv_link l)
{
    switch (l) {
    case CONV_LINK_DOWN:
        return "DOWN";
    case CONV_LINK_UP:
        return "UP";
    case CONV_LINK_FAULT:
        return "FAULT";
    }
    return "?";
}

const char *conv_fault_name(enum conv_fault f)
{
    switch (f) {
    case CONV_FAULT_NONE:
        return "none";
    case CONV_FAULT_CONNECT:
        return "connect";
    case CONV_FAULT_TIMEOUT:
        return "timeout";
    case CONV_FAULT_EXCEPTION:
        return "exception";
    case CONV_FAULT_HEARTBEAT:
        return "heartbeat";
    case CONV_FAULT_DATA:
        return "data";
    case CONV_FAULT_FRAME:
        return "frame";
    }
    return "?";
}
