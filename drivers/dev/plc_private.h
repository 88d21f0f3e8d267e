/* Private to drivers/dev/plc*.c: the conv_plc object shared by the Modbus worker
 * (plc_modbus.c) and the OSIP link driver (plc_osip.c), and the const ops table that picks
 * between them by protocol. */
#ifndef DRIVERS_PLC_PRIVATE_H
#define DRIVERS_PLC_PRIVATE_H

#include "drivers/plc.h"

#include <stdatomic.h>

struct conv_plc_ops {
    const char *name;
    int (*start)(struct conv_plc *p);
    void (*stop)(struct conv_plc *p);
    int (*decide)(struct conv_plc *p, const struct conv_decision *d);
};

/* Counters written by one thread (worker or loop) and read by any. */
struct conv_plc_astats {
    _Atomic uint64_t polls, reads, writes;
    _Atomic uint64_t timeouts, exceptions, connect_failures, reconnects;
    _Atomic uint64_t hb_stalls, decode_errors, frame_errors;
    _Atomic uint64_t stale_decisions, events_dropped, decisions_dropped;
    _Atomic uint64_t table_decisions, table_asks, burst_polls;
};

/* A decision table attached to a PLC (conv_plc_set_table): replaced whole, never changed. */
struct conv_attach {
    struct conv_table *t;
    int slot; /* the worker's reader slot in t */
    uint32_t set_of_point[CONV_MAX_POINTS];
};

struct plc_modbus; /* plc_modbus.c */
struct plc_osip;   /* plc_osip.c */

struct conv_plc {
    const struct conv_plc_ops *ops;
    struct loop *loop;
    conv_event_cb cb;
    void *arg;
    struct conv_plc_cfg cfg;
    char id[64];
    _Atomic int link; /* enum conv_link */
    struct conv_plc_astats st;
    struct bqueue *events; /* worker -> loop (Modbus only) */
    struct plc_modbus *mb;
    struct plc_osip *osip;
    _Atomic(struct conv_attach *) attach; /* NULL: every scan goes to the owner */
    _Atomic bool table_reading;           /* the worker is inside a lookup of `attach` */
};

extern const struct conv_plc_ops conv_modbus_ops;
extern const struct conv_plc_ops conv_osip_ops;

/* Worker side: queues an event for the loop (counted when the queue is full). */
void conv_post(struct conv_plc *p, const struct conv_event *ev);
/* Worker side: looks a new scan of point i up in the attached table. Returns true with *r and
 * *version filled when the table answers (a WRITE rule), false to ask the owner. */
bool conv_table_answer(struct conv_plc *p, size_t i, enum plc_read_result rr, const char *barcode,
                       struct conv_rule *r, uint64_t *version);

#endif
