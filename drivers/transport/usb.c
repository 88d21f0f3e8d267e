/* USB through libusb-1.0 on the event loop: the one file that wraps libusb. The host registers
 * libusb's poll fds on the loop (libusb_get_pollfds + libusb_set_pollfd_notifiers), handles
 * events with a zero timeout when they are ready, and keeps one loop timer at
 * libusb_get_next_timeout. A device (struct usbdev) is found by VID:PID[:serial], opened with
 * the kernel driver auto-detached, and keeps an IN transfer in flight; when it fails or is
 * unplugged, its transfers are cancelled, it is closed once they have all come back, and it is
 * looked for again with doubling backoff. HID devices and the printer-class link share it. */
#include "drivers/usb.h"

#include "link_private.h"

#include "base/err.h"
#include "base/loop.h"

#include <errno.h>
#include <libusb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_FDS = 16, IN_BUF = 512, HID_OUT_MAX = 64, OUT_CHUNK = 16384, TICK_MS = 10 };

struct usb_host {
    struct loop *loop;
    libusb_context *ctx;
    uint64_t timer, tick;
    bool timer_armed, tick_armed;
    int fds[MAX_FDS];
    size_t n_fds;
};

enum dev_kind { DEV_HID, DEV_PRINTER };

struct usbdev {
    enum dev_kind kind;
    struct usb_host *h;
    struct usb_match m;
    uint32_t backoff_min_ms, backoff_max_ms, backoff_ms, out_timeout_ms;
    enum link_state state;
    libusb_device_handle *dh;
    uint8_t iface, ep_in, ep_out;
    uint16_t in_len;
    struct libusb_transfer *xin, *xout, *xctl;
    bool in_busy, out_busy, ctl_busy;
    bool closing;   /* usb_hid_close / link_close in progress */
    bool resetting; /* waiting for transfers to come back before closing the handle */
    int reset_rc;
    bool detached;
    uint64_t retry_timer, close_timer;
    bool retry_armed, close_armed;
    bool gone; /* the handle waits to be closed: no new transfers */
    uint8_t in_buf[IN_BUF];
    uint8_t ctl_buf[LIBUSB_CONTROL_SETUP_SIZE + 8];
    /* output: HID one report; printer a bounded byte queue */
    uint8_t *out;
    size_t out_cap, out_len, out_inflight;
    /* owner hooks */
    void (*on_in)(struct usbdev *d, const uint8_t *buf, size_t len);
    void (*on_state)(struct usbdev *d, enum link_state st, int rc);
    usb_port_status_cb port_cb;
    void *port_arg;
};

struct usb_hid {
    struct usbdev d;
    struct usb_hid_cbs cbs;
    void *arg;
};

struct usbprn {
    struct link base;
    struct usbdev d;
};

static int err_of(int lrc)
{
    switch (lrc) {
    case LIBUSB_SUCCESS:
        return 0;
    case LIBUSB_ERROR_IO:
        return -EIO;
    case LIBUSB_ERROR_INVALID_PARAM:
        return -EINVAL;
    case LIBUSB_ERROR_ACCESS:
        return -EACCES;
    case LIBUSB_ERROR_NO_DEVICE:
        return -ENODEV;
    case LIBUSB_ERROR_NOT_FOUND:
        return -ENOENT;
    case LIBUSB_ERROR_BUSY:
        return -EBUSY;
    case LIBUSB_ERROR_TIMEOUT:
        return -ETIMEDOUT;
    case LIBUSB_ERROR_OVERFLOW:
        return -EOVERFLOW;
    case LIBUSB_ERROR_PIPE:
        return -EPIPE;
    case LIBUSB_ERROR_INTERRUPTED:
        return -EINTR;
    case LIBUSB_ERROR_NO_MEM:
        return -ENOMEM;
    case LIBUSB_ERROR_NOT_SUPPORTED:
        return -ENOTSUP;
    default:
        return -EIO;
    }
}

static int xfer_err(enum libusb_transfer_status st)
{
    switch (st) {
    case LIBUSB_TRANSFER_COMPLETED:
        return 0;
    case LIBUSB_TRANSFER_TIMED_OUT:
        return -ETIMEDOUT;
    case LIBUSB_TRANSFER_STALL:
        return -EPIPE;
    case LIBUSB_TRANSFER_NO_DEVICE:
        return -ENODEV;
    case LIBUSB_TRANSFER_OVERFLOW:
        return -EOVERFLOW;
    case LIBUSB_TRANSFER_CANCELLED:
        return -ECANCELED;
    default:
        return -EIO;
    }
}

/* ---- host: libusb on the loop ---- */

static void pump(struct usb_host *h);
static void rearm(struct usb_host *h);

static void on_timer(struct loop *l, uint64_t id, void *arg)
{
    struct usb_host *h = arg;

    h->timer_armed = false;
    pump(h);
}

/* Re-arms the loop timer at libusb's next transfer timeout (after a submit or handling). */
static void rearm(struct usb_host *h)
{
    struct timeval tv = {0, 0};

    if (h->timer_armed)
        (void)loop_cancel_timer(h->loop, h->timer);
    h->timer_armed = false;
    if (libusb_get_next_timeout(h->ctx, &tv) == 1) {
        uint64_t us = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
        if (loop_add_timer(h->loop, us ? us : 1, on_timer, h, &h->timer) == 0)
            h->timer_armed = true;
    }
}

/* Handles whatever libusb has ready, then re-arms. Never called from a transfer callback
 * (libusb event handling does not nest). */
static void pump(struct usb_host *h)
{
    struct timeval tv = {0, 0};

    (void)libusb_handle_events_timeout_completed(h->ctx, &tv, NULL);
    rearm(h);
}

static void on_fd(struct loop *l, int fd, unsigned events, void *arg)
{
    pump(arg);
}

/* A completion is normally signalled on the usbfs fd. Emulated usbfs (umockdev) does not
 * signal completions made by its device thread, so the host also handles events every
 * TICK_MS: one non-blocking call, cheap on real hardware, and the bound on latency under
 * emulation. */
static void on_tick(struct loop *l, uint64_t id, void *arg)
{
    struct usb_host *h = arg;

    h->tick_armed = false;
    pump(h);
    if (loop_add_timer(h->loop, TICK_MS * 1000u, on_tick, h, &h->tick) == 0)
        h->tick_armed = true;
}

static unsigned loop_events(short ev)
{
    return ((ev & POLLIN) ? LOOP_READ : 0) | ((ev & POLLOUT) ? LOOP_WRITE : 0);
}

static void fd_added(int fd, short events, void *arg)
{
    struct usb_host *h = arg;

    if (h->n_fds == MAX_FDS)
        return;
    if (loop_add_fd(h->loop, fd, loop_events(events), on_fd, h) == 0)
        h->fds[h->n_fds++] = fd;
}

static void fd_removed(int fd, void *arg)
{
    struct usb_host *h = arg;

    for (size_t i = 0; i < h->n_fds; i++) {
        if (h->fds[i] == fd) {
            (void)loop_del_fd(h->loop, fd);
            h->fds[i] = h->fds[--h->n_fds];
            return;
        }
    }
}

int usb_host_open(struct usb_host **out, struct loop *loop)
{
    struct usb_host *h = calloc(1, sizeof(*h));
    const struct libusb_pollfd **pf;

    if (!h)
        return -ENOMEM;
    h->loop = loop;
    if (libusb_init(&h->ctx) != 0) {
        free(h);
        return -ENODEV;
    }
    libusb_set_pollfd_notifiers(h->ctx, fd_added, fd_removed, h);
    pf = libusb_get_pollfds(h->ctx);
    for (size_t i = 0; pf && pf[i]; i++)
        fd_added(pf[i]->fd, pf[i]->events, h);
    libusb_free_pollfds(pf);
    if (loop_add_timer(loop, TICK_MS * 1000u, on_tick, h, &h->tick) == 0)
        h->tick_armed = true;
    *out = h;
    return 0;
}

void usb_host_close(struct usb_host *h)
{
    if (!h)
        return;
    if (h->timer_armed)
        (void)loop_cancel_timer(h->loop, h->timer);
    if (h->tick_armed)
        (void)loop_cancel_timer(h->loop, h->tick);
    libusb_set_pollfd_notifiers(h->ctx, NULL, NULL, NULL);
    for (size_t i = 0; i < h->n_fds; i++)
        (void)loop_del_fd(h->loop, h->fds[i]);
    libusb_exit(h->ctx);
    free(h);
}

/* ---- device ---- */

static void try_open(struct usbdev *d);

static void set_state(struct usbdev *d, enum link_state st, int rc)
{
    if (d->state == st)
        return;
    d->state = st;
    d->on_state(d, st, rc);
}

static void on_retry(struct loop *l, uint64_t id, void *arg)
{
    struct usbdev *d = arg;

    d->retry_armed = false;
    try_open(d);
}

static void schedule_retry(struct usbdev *d)
{
    uint32_t delay = d->backoff_ms;

    d->backoff_ms = d->backoff_ms >= d->backoff_max_ms / 2 ? d->backoff_max_ms : d->backoff_ms * 2;
    if (loop_add_timer(d->h->loop, (uint64_t)delay * 1000, on_retry, d, &d->retry_timer) == 0)
        d->retry_armed = true;
}

static bool busy(const struct usbdev *d)
{
    return d->in_busy || d->out_busy || d->ctl_busy;
}

static void close_handle(struct usbdev *d)
{
    if (!d->dh)
        return;
    (void)libusb_release_interface(d->dh, d->iface);
    libusb_close(d->dh);
    d->dh = NULL;
    d->gone = false;
}

static void on_reset_done(struct loop *l, uint64_t id, void *arg)
{
    struct usbdev *d = arg;

    d->close_armed = false;
    close_handle(d);
    d->out_len = d->out_inflight = 0;
    schedule_retry(d);
    set_state(d, LINK_DOWN, d->reset_rc);
}

/* Called when a transfer came back while resetting: once all are back, the handle is closed
 * from a loop timer, because libusb_close must not run inside a transfer callback (libusb
 * holds its device list lock while reaping). */
static void reset_progress(struct usbdev *d)
{
    if (!d->resetting || busy(d))
        return;
    d->resetting = false;
    if (d->closing)
        return; /* dev_fini closes */
    d->gone = true;
    if (!d->close_armed && loop_add_timer(d->h->loop, 0, on_reset_done, d, &d->close_timer) == 0)
        d->close_armed = true;
}

/* Starts tearing the device down after a failure (or for close): cancels what is in flight;
 * reset_progress finishes when the last transfer has come back. */
static void start_reset(struct usbdev *d, int rc)
{
    if (d->resetting || d->gone || !d->dh)
        return;
    d->resetting = true;
    d->reset_rc = rc;
    if (d->in_busy)
        (void)libusb_cancel_transfer(d->xin);
    if (d->out_busy)
        (void)libusb_cancel_transfer(d->xout);
    if (d->ctl_busy)
        (void)libusb_cancel_transfer(d->xctl);
    reset_progress(d);
}

static void submit_in(struct usbdev *d);

static void LIBUSB_CALL in_done(struct libusb_transfer *x)
{
    struct usbdev *d = x->user_data;
    int rc = xfer_err(x->status);

    d->in_busy = false;
    if (d->resetting) {
        reset_progress(d);
        return;
    }
    if (rc == 0) {
        d->on_in(d, x->buffer, (size_t)x->actual_length);
        if (d->resetting || d->closing || d->gone || !d->dh)
            return;
        submit_in(d);
        return;
    }
    if (rc == -ETIMEDOUT) {
        submit_in(d);
        return;
    }
    start_reset(d, rc);
}

static void submit_in(struct usbdev *d)
{
    int lrc;

    if (d->kind == DEV_HID)
        libusb_fill_interrupt_transfer(d->xin, d->dh, d->ep_in, d->in_buf, d->in_len, in_done, d,
                                       0);
    else
        libusb_fill_bulk_transfer(d->xin, d->dh, d->ep_in, d->in_buf, d->in_len, in_done, d, 0);
    lrc = libusb_submit_transfer(d->xin);
    if (lrc != 0) {
        start_reset(d, err_of(lrc));
        return;
    }
    d->in_busy = true;
    rearm(d->h);
}

static void flush_out(struct usbdev *d);

static void LIBUSB_CALL out_done(struct libusb_transfer *x)
{
    struct usbdev *d = x->user_data;
    int rc = xfer_err(x->status);

    d->out_busy = false;
    if (d->resetting) {
        reset_progress(d);
        return;
    }
    if (rc != 0) {
        /* A stalled or timed-out OUT pipe leaves the device in an unknown state: reopen. */
        start_reset(d, rc);
        return;
    }
    if (d->kind == DEV_PRINTER) {
        size_t n = (size_t)x->actual_length;
        if (n > d->out_inflight)
            n = d->out_inflight;
        memmove(d->out, d->out + n, d->out_len - n);
        d->out_len -= n;
        d->out_inflight = 0;
        flush_out(d);
    } else {
        d->out_len = 0;
    }
}

static void flush_out(struct usbdev *d)
{
    size_t n = d->out_len < OUT_CHUNK ? d->out_len : OUT_CHUNK;
    int lrc;

    if (d->out_busy || n == 0 || !d->dh || d->resetting || d->gone)
        return;
    if (d->kind == DEV_HID)
        libusb_fill_interrupt_transfer(d->xout, d->dh, d->ep_out, d->out, (int)n, out_done, d,
                                       d->out_timeout_ms);
    else
        libusb_fill_bulk_transfer(d->xout, d->dh, d->ep_out, d->out, (int)n, out_done, d,
                                  d->out_timeout_ms);
    lrc = libusb_submit_transfer(d->xout);
    if (lrc != 0) {
        start_reset(d, err_of(lrc));
        return;
    }
    d->out_inflight = n;
    d->out_busy = true;
    rearm(d->h);
}

/* Finds the interface of the wanted class and its endpoints of the wanted transfer type. */
static bool pick_interface(struct usbdev *d, libusb_device *dev)
{
    struct libusb_config_descriptor *cfg;
    uint8_t cls = d->kind == DEV_HID ? LIBUSB_CLASS_HID : LIBUSB_CLASS_PRINTER;
    uint8_t type = d->kind == DEV_HID ? LIBUSB_TRANSFER_TYPE_INTERRUPT : LIBUSB_TRANSFER_TYPE_BULK;
    bool found = false;

    if (libusb_get_active_config_descriptor(dev, &cfg) != 0 &&
        libusb_get_config_descriptor(dev, 0, &cfg) != 0)
        return false;
    for (int i = 0; i < cfg->bNumInterfaces && !found; i++) {
        const struct libusb_interface_descriptor *id = &cfg->interface[i].altsetting[0];
        if (cfg->interface[i].num_altsetting < 1 || id->bInterfaceClass != cls)
            continue;
        d->iface = id->bInterfaceNumber;
        d->ep_in = d->ep_out = 0;
        for (int e = 0; e < id->bNumEndpoints; e++) {
            const struct libusb_endpoint_descriptor *ep = &id->endpoint[e];
            if ((ep->bmAttributes & 0x3) != type)
                continue;
            if ((ep->bEndpointAddress & LIBUSB_ENDPOINT_IN) && !d->ep_in) {
                d->ep_in = ep->bEndpointAddress;
                d->in_len = ep->wMaxPacketSize > IN_BUF ? IN_BUF : ep->wMaxPacketSize;
            } else if (!(ep->bEndpointAddress & LIBUSB_ENDPOINT_IN) && !d->ep_out) {
                d->ep_out = ep->bEndpointAddress;
            }
        }
        found = d->ep_in != 0 && (d->kind == DEV_HID || d->ep_out != 0);
    }
    libusb_free_config_descriptor(cfg);
    /* HID reads one report per transfer (wMaxPacketSize); a bulk IN read may span packets. */
    if (found && (d->kind == DEV_PRINTER || d->in_len == 0))
        d->in_len = d->kind == DEV_PRINTER ? IN_BUF : 64;
    return found;
}

static bool serial_matches(struct usbdev *d, libusb_device_handle *dh, uint8_t idx)
{
    unsigned char s[USB_SERIAL_MAX + 1];
    int n;

    if (d->m.serial[0] == '\0')
        return true;
    /* A short synchronous control transfer at open time only (the string descriptor). */
    n = libusb_get_string_descriptor_ascii(dh, idx, s, sizeof(s) - 1);
    if (n < 0)
        return false;
    s[n] = '\0';
    return strcmp((const char *)s, d->m.serial) == 0;
}

static void try_open(struct usbdev *d)
{
    libusb_device **list;
    libusb_device_handle *dh = NULL;
    ssize_t n = libusb_get_device_list(d->h->ctx, &list);
    int rc = -ENODEV;

    for (ssize_t i = 0; i < n && !dh; i++) {
        struct libusb_device_descriptor desc;
        if (libusb_get_device_descriptor(list[i], &desc) != 0 || desc.idVendor != d->m.vid ||
            desc.idProduct != d->m.pid || !pick_interface(d, list[i]))
            continue;
        rc = err_of(libusb_open(list[i], &dh));
        if (rc < 0) {
            dh = NULL;
            continue;
        }
        if (!serial_matches(d, dh, desc.iSerialNumber)) {
            libusb_close(dh);
            dh = NULL;
            rc = -ENODEV;
        }
    }
    if (n >= 0)
        libusb_free_device_list(list, 1);
    if (!dh)
        goto retry;
    /* The usbhid / usblp kernel driver binds these interfaces: detach it to claim. */
    d->detached = libusb_kernel_driver_active(dh, d->iface) == 1;
    (void)libusb_set_auto_detach_kernel_driver(dh, 1);
    rc = err_of(libusb_claim_interface(dh, d->iface));
    if (rc < 0) {
        libusb_close(dh);
        goto retry;
    }
    d->dh = dh;
    d->backoff_ms = d->backoff_min_ms;
    d->out_len = d->out_inflight = 0;
    set_state(d, LINK_UP, 0);
    if (d->dh && !d->closing && !d->resetting)
        submit_in(d);
    return;
retry:
    schedule_retry(d);
    if (d->state != LINK_DOWN)
        set_state(d, LINK_DOWN, rc);
}

static int dev_init(struct usbdev *d, enum dev_kind kind, struct usb_host *h,
                    const struct usb_match *m, size_t out_cap)
{
    d->kind = kind;
    d->h = h;
    d->m = *m;
    d->m.serial[USB_SERIAL_MAX] = '\0';
    d->state = LINK_DOWN;
    d->out_cap = out_cap;
    d->out = malloc(out_cap);
    d->xin = libusb_alloc_transfer(0);
    d->xout = libusb_alloc_transfer(0);
    d->xctl = libusb_alloc_transfer(0);
    if (!d->out || !d->xin || !d->xout || !d->xctl)
        return -ENOMEM;
    return 0;
}

/* Cancels everything and waits (bounded) for the transfers to come back, then frees. */
static void dev_fini(struct usbdev *d)
{
    d->closing = true;
    if (d->retry_armed)
        (void)loop_cancel_timer(d->h->loop, d->retry_timer);
    d->retry_armed = false;
    if (d->close_armed)
        (void)loop_cancel_timer(d->h->loop, d->close_timer);
    d->close_armed = false;
    if (d->dh) {
        start_reset(d, -ECANCELED);
        for (int i = 0; i < 200 && busy(d); i++) {
            struct timeval tv = {0, 5000};
            (void)libusb_handle_events_timeout_completed(d->h->ctx, &tv, NULL);
        }
        if (busy(d)) {
            /* The transfers never came back (device wedged): closing the handle with them in
             * flight is what libusb allows as a last resort; they are freed with it. */
            d->in_busy = d->out_busy = d->ctl_busy = false;
        }
        close_handle(d);
    }
    if (d->xin)
        libusb_free_transfer(d->xin);
    if (d->xout)
        libusb_free_transfer(d->xout);
    if (d->xctl)
        libusb_free_transfer(d->xctl);
    free(d->out);
}

/* ---- HID ---- */

static void hid_in(struct usbdev *d, const uint8_t *buf, size_t len)
{
    struct usb_hid *x = (struct usb_hid *)d;

    if (x->cbs.on_report)
        x->cbs.on_report(x, buf, len, x->arg);
}

static void hid_state(struct usbdev *d, enum link_state st, int rc)
{
    struct usb_hid *x = (struct usb_hid *)d;

    if (x->cbs.on_state)
        x->cbs.on_state(x, st, rc, x->arg);
}

int usb_hid_open(struct usb_hid **out, struct usb_host *h, const struct usb_match *m,
                 const struct usb_hid_opts *opts, const struct usb_hid_cbs *cbs, void *arg)
{
    struct usb_hid *x;

    if (!h || !m || !cbs)
        return -EINVAL;
    x = calloc(1, sizeof(*x));
    if (!x)
        return -ENOMEM;
    if (dev_init(&x->d, DEV_HID, h, m, HID_OUT_MAX) < 0) {
        dev_fini(&x->d);
        free(x);
        return -ENOMEM;
    }
    x->d.backoff_min_ms = opts && opts->backoff_min_ms ? opts->backoff_min_ms : 100;
    x->d.backoff_max_ms = opts && opts->backoff_max_ms ? opts->backoff_max_ms : 5000;
    x->d.out_timeout_ms = opts && opts->out_timeout_ms ? opts->out_timeout_ms : 1000;
    x->d.backoff_ms = x->d.backoff_min_ms;
    x->d.on_in = hid_in;
    x->d.on_state = hid_state;
    x->cbs = *cbs;
    x->arg = arg;
    *out = x;
    try_open(&x->d);
    return 0;
}

void usb_hid_close(struct usb_hid *x)
{
    if (!x)
        return;
    dev_fini(&x->d);
    free(x);
}

int usb_hid_write(struct usb_hid *x, const uint8_t *rep, size_t len)
{
    struct usbdev *d = &x->d;

    if (!d->dh || d->resetting || d->gone)
        return WCS_E_LINK;
    if (!d->ep_out)
        return -ENOTSUP;
    if (d->out_busy || d->out_len)
        return WCS_E_FULL;
    if (len == 0 || len > d->out_cap)
        return -EINVAL;
    memcpy(d->out, rep, len);
    d->out_len = len;
    flush_out(d);
    return 0;
}

enum link_state usb_hid_get_state(const struct usb_hid *x)
{
    return x->d.state;
}

bool usb_hid_kernel_detached(const struct usb_hid *x)
{
    return x->d.detached;
}

/* ---- printer-class link ---- */

static void prn_in(struct usbdev *d, const uint8_t *buf, size_t len)
{
    struct usbprn *p = (struct usbprn *)((char *)d - offsetof(struct usbprn, d));

    if (len > 0)
        link_deliver(&p->base, buf, len);
}

static void prn_state(struct usbdev *d, enum link_state st, int rc)
{
    struct usbprn *p = (struct usbprn *)((char *)d - offsetof(struct usbprn, d));

    if (st == LINK_UP)
        p->base.stats.connects++;
    else
        p->base.stats.failures++;
    link_set_state(&p->base, st, rc);
}

static int prn_write(struct link *k, const void *data, size_t len)
{
    struct usbprn *p = (struct usbprn *)k;
    struct usbdev *d = &p->d;

    if (!d->dh || d->resetting || d->gone)
        return WCS_E_LINK;
    if (len > d->out_cap - d->out_len)
        return WCS_E_FULL;
    memcpy(d->out + d->out_len, data, len);
    d->out_len += len;
    p->base.stats.bytes_out += len;
    flush_out(d);
    return 0;
}

static void prn_reset(struct link *k, int rc)
{
    start_reset(&((struct usbprn *)k)->d, rc);
}

static void prn_close(struct link *k)
{
    struct usbprn *p = (struct usbprn *)k;

    dev_fini(&p->d);
    free(p);
}

static size_t prn_pending(const struct link *k)
{
    return ((const struct usbprn *)k)->d.out_len;
}

static const struct link_ops usbprn_ops = {"usb-printer", prn_write, prn_reset, prn_close,
                                           prn_pending};

int link_open_usb_printer(struct link **out, struct usb_host *h, const struct usb_match *m,
                          const struct link_opts *opts, const struct link_cbs *cbs, void *arg)
{
    struct link_opts o;
    struct usbprn *p;

    if (!h || !m || !cbs || link_opts_resolve(opts, &o) < 0)
        return -EINVAL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    if (dev_init(&p->d, DEV_PRINTER, h, m, o.out_cap) < 0) {
        dev_fini(&p->d);
        free(p);
        return -ENOMEM;
    }
    p->base.ops = &usbprn_ops;
    p->base.loop = h->loop;
    p->base.cbs = *cbs;
    p->base.arg = arg;
    p->base.state = LINK_DOWN;
    p->d.backoff_min_ms = o.backoff_min_ms;
    p->d.backoff_max_ms = o.backoff_max_ms;
    p->d.backoff_ms = o.backoff_min_ms;
    p->d.out_timeout_ms = o.connect_timeout_ms;
    p->d.on_in = prn_in;
    p->d.on_state = prn_state;
    *out = &p->base;
    try_open(&p->d);
    return 0;
}

static void LIBUSB_CALL ctl_done(struct libusb_transfer *x)
{
    struct usbdev *d = x->user_data;
    struct usbprn *p = (struct usbprn *)((char *)d - offsetof(struct usbprn, d));
    usb_port_status_cb cb = d->port_cb;
    int rc = xfer_err(x->status);
    uint8_t st = 0;

    d->ctl_busy = false;
    d->port_cb = NULL;
    if (rc == 0 && x->actual_length < 1)
        rc = WCS_E_PROTOCOL;
    if (rc == 0)
        st = libusb_control_transfer_get_data(x)[0];
    if (cb && !d->closing)
        cb(&p->base, rc, st, d->port_arg);
    if (d->resetting)
        reset_progress(d);
    else if (rc == -ENODEV || rc == -EPIPE)
        start_reset(d, rc);
}

int link_usb_port_status(struct link *k, usb_port_status_cb cb, void *arg)
{
    struct usbprn *p = (struct usbprn *)k;
    struct usbdev *d;
    int lrc;

    if (k->ops != &usbprn_ops)
        return -ENOTSUP;
    d = &p->d;
    if (!d->dh || d->resetting || d->gone)
        return WCS_E_LINK;
    if (d->ctl_busy)
        return WCS_E_FULL;
    /* Printer class 1.1 §4.2.2: GET_PORT_STATUS, class request to the interface, 1 byte. */
    libusb_fill_control_setup(
        d->ctl_buf, LIBUSB_ENDPOINT_IN | LIBUSB_REQUEST_TYPE_CLASS | LIBUSB_RECIPIENT_INTERFACE, 1,
        0, d->iface, 1);
    libusb_fill_control_transfer(d->xctl, d->dh, d->ctl_buf, ctl_done, d, d->out_timeout_ms);
    lrc = libusb_submit_transfer(d->xctl);
    if (lrc != 0)
        return err_of(lrc);
    d->ctl_busy = true;
    d->port_cb = cb;
    d->port_arg = arg;
    rearm(d->h);
    return 0;
}
