/* Scale device class. Models: "mt-sics" (Mettler Toledo, serial or TCP), "nci" (NCI /
 * Weigh-Tronix SCP-01, serial or TCP) and "hidpos" (USB HID POS scale, drivers/usb.h). A reading
 * is asked for with scale_request and delivered once, in milligrams, when the scale is stable
 * (or at once with cfg.deliver_unstable); a reply that does not come within reply_timeout_ms, or
 * a scale status that has no weight (overload, fault...), ends the request with an error. */
#ifndef DRIVERS_SCALE_H
#define DRIVERS_SCALE_H

#include "drivers/transport.h"
#include "drivers/usb.h"

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct scale;

enum scale_model { SCALE_MT_SICS, SCALE_NCI, SCALE_HIDPOS };

struct scale_cfg {
    enum scale_model model;
    struct tr_addr addr;       /* mt-sics, nci */
    struct usb_match usb;      /* hidpos */
    bool deliver_unstable;     /* deliver the next reading even if the scale is in motion */
    uint32_t reply_timeout_ms; /* default 2000 */
    uint32_t retry_ms;         /* nci: re-ask while in motion every retry_ms (default 100) */
};

struct scale_reading {
    int64_t weight_mg;
    bool stable;
};

struct scale_cbs {
    /* The answer to scale_request: rc 0 with *r, or rc < 0 (r NULL): -ETIMEDOUT (no reply),
     * WCS_E_RANGE (overload, underload, under zero), WCS_E_STATE (scale busy or faulted, needs
     * calibration or re-zero), WCS_E_PROTOCOL (a reply that did not parse), WCS_E_LINK (the link
     * went down). Exactly once per accepted request. */
    void (*on_reading)(struct scale *s, int rc, const struct scale_reading *r, void *arg);
    /* The answer to scale_zero: 0 or an error as above. Exactly once per accepted zero. */
    void (*on_zero)(struct scale *s, int rc, void *arg);
    void (*on_state)(struct scale *s, enum link_state st, int rc, void *arg);
};

struct scale_stats {
    uint64_t readings, errors, timeouts, bad_replies;
    uint64_t stale_discarded; /* hidpos: first report after each open */
};

/* Opens the scale (usb needed for hidpos). Returns 0, WCS_E_CONFIG, -ENOMEM or a transport
 * error; *out untouched on failure. Never blocks. */
int scale_open(struct scale **out, struct loop *loop, struct usb_host *usb,
               const struct scale_cfg *cfg, const struct scale_cbs *cbs, void *arg);
void scale_close(struct scale *s); /* NULL-safe; a pending request gets no callback */

/* Asks for one reading (non-blocking). Returns 0 (on_reading will run once), WCS_E_STATE when
 * a request or zero is already pending, or WCS_E_LINK when the scale is not connected. */
int scale_request(struct scale *s);
/* Zeroes the scale. Returns 0 (on_zero will run once), WCS_E_STATE, WCS_E_LINK, or -ENOTSUP. */
int scale_zero(struct scale *s);

enum link_state scale_get_state(const struct scale *s);
void scale_get_stats(const struct scale *s, struct scale_stats *out);
const char *scale_model_name(enum scale_model m);

#endif
