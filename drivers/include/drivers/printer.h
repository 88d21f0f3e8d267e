/* Label printer device class (Zebra ZPL): raw TCP port 9100 or the USB printer class as the
 * link. A bounded job queue per printer; a job is sent only after ~HS says the printer is fine
 * and is done only when ~HS after sending is answered with no error flag. A printer that does
 * not answer ~HS within status_timeout_ms is in an error state (media/ribbon out, head open).
 * A failed job goes to the fallback printer the caller named, or stays queued and is retried
 * every retry_ms; either way the owner is told, and no job is dropped silently. */
#ifndef DRIVERS_PRINTER_H
#define DRIVERS_PRINTER_H

#include "drivers/transport.h"
#include "drivers/usb.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct printer;

struct prn_cfg {
    const char *id;      /* copied; for the owner's messages */
    bool usb;            /* true: USB printer class at usbm; false: TCP/serial at addr */
    struct tr_addr addr; /* usually tcp host:9100 */
    struct usb_match usbm;
    uint32_t status_timeout_ms; /* ~HS / ~HQES answer deadline, default 2000 */
    uint32_t retry_ms;          /* a kept job is tried again after this, default 5000 */
    size_t queue_cap;           /* jobs, default 64 */
    size_t job_max;             /* bytes per job, default 65536 */
};

enum prn_job_state {
    PRN_JOB_DONE,        /* printed: ~HS after sending showed no error */
    PRN_JOB_FAILED_OVER, /* failed here and queued on the fallback printer */
    PRN_JOB_RETRYING,    /* failed here, kept at the head of this queue, retried later */
};

/* What the last status query said. */
struct prn_status {
    bool answered; /* false: the last ~HS got no answer (an error state) */
    bool paper_out, paused, head_up, ribbon_out, over_temperature, under_temperature;
    bool buffer_full;
    uint32_t formats_in_buffer;
    uint64_t hqes_errors; /* ~HQES error bits (zebra.h ZEBRA_ERR_*), 0 when not queried */
    uint8_t port_status;  /* USB GET_PORT_STATUS byte, 0 for TCP */
};

struct prn_cbs {
    /* A job's outcome. rc is 0 for DONE, else why it failed here: -ETIMEDOUT (no status
     * answer), WCS_E_STATE (error flags, see st), WCS_E_LINK (not connected), WCS_E_PROTOCOL
     * (a reply that did not parse). A RETRYING job reports again on each attempt. */
    void (*on_job)(struct printer *p, uint64_t job_id, enum prn_job_state state, int rc,
                   const struct prn_status *st, void *arg);
    void (*on_state)(struct printer *p, enum link_state st, int rc, void *arg);
};

struct prn_stats {
    uint64_t done, failed_over, retries, status_timeouts, queue_full;
};

/* Opens the printer (usb needed when cfg->usb). Returns 0, WCS_E_CONFIG, -ENOMEM or a transport
 * error; *out untouched on failure. Never blocks. */
int prn_open(struct printer **out, struct loop *loop, struct usb_host *usb,
             const struct prn_cfg *cfg, const struct prn_cbs *cbs, void *arg);
/* Closes; jobs still queued are reported to nobody, so the owner drains first
 * (prn_get_queued() == 0) or persists them. NULL-safe. */
void prn_close(struct printer *p);

/* Queues a copy of data[0..len) as job job_id. fallback (may be NULL, must not be p) gets the
 * job if it fails here. Returns 0 (on_job will run), WCS_E_FULL (queue full, counted; the job
 * was not taken), or WCS_E_RANGE (empty or larger than job_max). Never blocks. */
int prn_submit(struct printer *p, uint64_t job_id, const void *data, size_t len,
               struct printer *fallback);

size_t prn_get_queued(const struct printer *p);
enum link_state prn_get_state(const struct printer *p);
/* The last status seen (answered false before any). */
void prn_get_status(const struct printer *p, struct prn_status *out);
void prn_get_stats(const struct printer *p, struct prn_stats *out);

#endif
