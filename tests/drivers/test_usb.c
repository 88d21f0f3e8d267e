/* The libusb paths for real under umockdev, with a programmable device (libumockdev ioctl
 * handler implementing usbfs): an HID POS scale (stale first report discarded, kernel driver
 * detached, stable reading in mg, zero report, no reports -> timeout, unplug and replug), an
 * HID POS scanner (a read spread over three reports, an IN stall and recovery), and a USB
 * printer (job over bulk OUT confirmed by ~HS on bulk IN, GET_PORT_STATUS paper empty, a bulk
 * OUT that never completes -> libusb timeout -> link reset). Fixtures: tests/drivers/fixtures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/loop.h"
#include "drivers/printer.h"
#include "drivers/scale.h"
#include "drivers/scanner.h"
#include "drivers/usb.h"

#include <dlfcn.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <linux/usbdevice_fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <umockdev.h>

enum { INQ = 64, REP_MAX = 512 };

/* The emulated device. The handler runs on umockdev's thread; the test changes the knobs under
 * the mutex. */
struct emu {
    pthread_mutex_t mu;
    UMockdevTestbed *tb;
    UMockdevIoctlBase *handler;
    const char *sys_path;
    GList *pending_in, *pending_out, *done;
    uint8_t inq[INQ][REP_MAX];
    size_t inq_len[INQ], inq_head, inq_n;
    uint8_t out[65536];
    size_t out_len, out_scanned;
    bool unplugged, stall_in, silent_out, printer, printer_mute;
    bool driver_bound;
    int detaches, claims, hs_seen;
    uint8_t port_status;
};

static struct emu E;

static void queue_in(struct emu *e, const void *rep, size_t len)
{
    size_t i = (e->inq_head + e->inq_n) % INQ;
    assert_true(e->inq_n < INQ && len <= REP_MAX);
    memcpy(e->inq[i], rep, len);
    e->inq_len[i] = len;
    e->inq_n++;
}

static void push_in(const void *rep, size_t len)
{
    pthread_mutex_lock(&E.mu);
    queue_in(&E, rep, len);
    pthread_mutex_unlock(&E.mu);
}

static const char HS_OK[] = "\x02"
                            "030,0,0,1245,000,0,0,0,000,0,0,0\x03\r\n"
                            "\x02"
                            "001,0,0,0,1,2,6,0,00000000,1,000\x03\r\n"
                            "\x02"
                            "1234,0\x03\r\n";

/* The printer side: every "~HS" seen on bulk OUT gets the status on bulk IN (in 64-byte
 * pieces, as a full-speed device sends it). */
static void printer_scan(struct emu *e)
{
    for (; e->out_scanned + 3 <= e->out_len; e->out_scanned++) {
        if (memcmp(e->out + e->out_scanned, "~HS", 3) != 0)
            continue;
        e->hs_seen++;
        if (e->printer_mute)
            continue;
        for (size_t off = 0; off < sizeof(HS_OK) - 1; off += 64) {
            size_t n = sizeof(HS_OK) - 1 - off;
            queue_in(e, HS_OK + off, n > 64 ? 64 : n);
        }
    }
}

static void finish_urb(struct emu *e, UMockdevIoctlData *urb_data, int status, int actual)
{
    struct usbdevfs_urb *urb = (struct usbdevfs_urb *)urb_data->data;
    urb->status = status;
    urb->actual_length = actual;
    e->done = g_list_append(e->done, urb_data);
}

static gint cmp_addr(gconstpointer data, gconstpointer addr)
{
    return ((const UMockdevIoctlData *)data)->client_addr != (gulong)addr;
}

static gboolean on_ioctl(UMockdevIoctlBase *h, UMockdevIoctlClient *client, gpointer user)
{
    struct emu *e = user;
    UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
    gulong req = umockdev_ioctl_client_get_request(client);
    gboolean handled = TRUE;

    pthread_mutex_lock(&e->mu);
    switch (req) {
    case USBDEVFS_GET_CAPABILITIES: {
        UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(guint32), NULL);
        *(guint32 *)d->data = USBDEVFS_CAP_BULK_CONTINUATION | USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
                              USBDEVFS_CAP_REAP_AFTER_DISCONNECT;
        umockdev_ioctl_data_unref(d);
        umockdev_ioctl_client_complete(client, 0, 0);
        break;
    }
    case USBDEVFS_CLAIMINTERFACE:
        if (e->unplugged) {
            umockdev_ioctl_client_complete(client, -1, ENODEV);
        } else {
            e->claims++;
            umockdev_ioctl_client_complete(client, 0, 0);
        }
        break;
    case USBDEVFS_RELEASEINTERFACE:
    case USBDEVFS_CLEAR_HALT:
    case USBDEVFS_RESET:
    case USBDEVFS_RESETEP:
    case USBDEVFS_SETINTERFACE:
    case USBDEVFS_SETCONFIGURATION:
        umockdev_ioctl_client_complete(client, 0, 0);
        break;
    case USBDEVFS_GETDRIVER: {
        UMockdevIoctlData *d =
            umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_getdriver), NULL);
        if (e->driver_bound) {
            strcpy(((struct usbdevfs_getdriver *)d->data)->driver, "usbhid");
            umockdev_ioctl_client_complete(client, 0, 0);
        } else {
            umockdev_ioctl_client_complete(client, -1, ENODATA);
        }
        umockdev_ioctl_data_unref(d);
        break;
    }
    case USBDEVFS_IOCTL: {
        UMockdevIoctlData *d =
            umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_ioctl), NULL);
        int code = ((struct usbdevfs_ioctl *)d->data)->ioctl_code;
        if (code == (int)USBDEVFS_DISCONNECT && e->driver_bound) {
            e->driver_bound = false;
            e->detaches++;
            umockdev_ioctl_client_complete(client, 0, 0);
        } else if (code == (int)USBDEVFS_CONNECT) {
            umockdev_ioctl_client_complete(client, 0, 0);
        } else {
            umockdev_ioctl_client_complete(client, -1, ENODATA);
        }
        umockdev_ioctl_data_unref(d);
        break;
    }
    case USBDEVFS_SUBMITURB: {
        UMockdevIoctlData *urb_data =
            umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), NULL);
        struct usbdevfs_urb *urb = (struct usbdevfs_urb *)urb_data->data;
        if (e->unplugged) {
            umockdev_ioctl_data_unref(urb_data);
            umockdev_ioctl_client_complete(client, -1, ENODEV);
            break;
        }
        if (urb->type == USBDEVFS_URB_TYPE_CONTROL) {
            uint8_t *setup = urb->buffer;
            /* Printer class GET_PORT_STATUS; anything else stalls. */
            if (setup[0] == 0xA1 && setup[1] == 1) {
                setup[8] = e->port_status;
                finish_urb(e, urb_data, 0, 1);
            } else {
                finish_urb(e, urb_data, -EPIPE, 0);
            }
        } else if (urb->endpoint & 0x80) {
            if (e->stall_in)
                finish_urb(e, urb_data, -EPIPE, 0);
            else
                e->pending_in = g_list_append(e->pending_in, urb_data);
        } else if (e->silent_out) {
            e->pending_out = g_list_append(e->pending_out, urb_data);
        } else {
            size_t n = (size_t)urb->buffer_length;
            if (e->out_len + n <= sizeof(e->out)) {
                memcpy(e->out + e->out_len, urb->buffer, n);
                e->out_len += n;
            }
            finish_urb(e, urb_data, 0, urb->buffer_length);
            if (e->printer)
                printer_scan(e);
        }
        umockdev_ioctl_client_complete(client, 0, 0);
        break;
    }
    case USBDEVFS_REAPURB:
    case USBDEVFS_REAPURBNDELAY: {
        UMockdevIoctlData *urb_data = NULL, *ptr;
        if (e->unplugged && e->pending_in) {
            /* The kernel completes the URBs of a vanished device with -ENODEV. */
            urb_data = e->pending_in->data;
            e->pending_in = g_list_delete_link(e->pending_in, e->pending_in);
            ((struct usbdevfs_urb *)urb_data->data)->status = -ENODEV;
        } else if (e->done) {
            urb_data = e->done->data;
            e->done = g_list_delete_link(e->done, e->done);
        } else if (e->pending_in && e->inq_n > 0) {
            struct usbdevfs_urb *urb;
            size_t n = e->inq_len[e->inq_head];
            urb_data = e->pending_in->data;
            e->pending_in = g_list_delete_link(e->pending_in, e->pending_in);
            urb = (struct usbdevfs_urb *)urb_data->data;
            if ((int)n > urb->buffer_length)
                n = (size_t)urb->buffer_length;
            memcpy(urb->buffer, e->inq[e->inq_head], n);
            urb->actual_length = (int)n;
            urb->status = 0;
            e->inq_head = (e->inq_head + 1) % INQ;
            e->inq_n--;
        }
        if (!urb_data) {
            umockdev_ioctl_client_complete(client, -1, EAGAIN);
            break;
        }
        ptr = umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), NULL);
        umockdev_ioctl_data_set_ptr(ptr, 0, urb_data);
        umockdev_ioctl_data_unref(ptr);
        umockdev_ioctl_data_unref(urb_data);
        umockdev_ioctl_client_complete(client, 0, 0);
        break;
    }
    case USBDEVFS_DISCARDURB: {
        void *addr = *(void **)arg->data;
        GList **lists[] = {&e->pending_in, &e->pending_out};
        bool found = false;
        for (int i = 0; i < 2 && !found; i++) {
            GList *l = g_list_find_custom(*lists[i], addr, cmp_addr);
            if (l) {
                UMockdevIoctlData *u = l->data;
                *lists[i] = g_list_delete_link(*lists[i], l);
                finish_urb(e, u, -ENOENT, 0);
                found = true;
            }
        }
        umockdev_ioctl_client_complete(client, found ? 0 : -1, found ? 0 : EINVAL);
        break;
    }
    default:
        handled = FALSE;
        break;
    }
    pthread_mutex_unlock(&e->mu);
    return handled;
}

static void emu_free_list(GList **l)
{
    while (*l) {
        umockdev_ioctl_data_unref((*l)->data);
        *l = g_list_delete_link(*l, *l);
    }
}

/* Sets up the testbed with one device from a fixture file and our handler on its node. */
static int emu_setup(const char *fixture, const char *node, const char *sys_path)
{
    GError *err = NULL;
    char path[512];

    memset(&E, 0, sizeof(E));
    pthread_mutex_init(&E.mu, NULL);
    E.sys_path = sys_path;
    E.port_status = 0x18; /* selected, not error */
    E.tb = umockdev_testbed_new();
    E.handler = umockdev_ioctl_base_new();
    g_signal_connect(E.handler, "handle-ioctl", G_CALLBACK(on_ioctl), &E);
    if (!umockdev_testbed_attach_ioctl(E.tb, node, E.handler, &err))
        return -1;
    snprintf(path, sizeof(path), "%s/%s", FIXTURE_DIR, fixture);
    if (!umockdev_testbed_add_from_file(E.tb, path, &err)) {
        fprintf(stderr, "umockdev: %s\n", err->message);
        return -1;
    }
    return 0;
}

static void emu_teardown(void)
{
    emu_free_list(&E.pending_in);
    emu_free_list(&E.pending_out);
    emu_free_list(&E.done);
    g_clear_object(&E.handler);
    g_clear_object(&E.tb);
    pthread_mutex_destroy(&E.mu);
}

static void set_flag(bool *f, bool v)
{
    pthread_mutex_lock(&E.mu);
    *f = v;
    pthread_mutex_unlock(&E.mu);
}

/* WAIT_MS bounds every wait for something that must happen: it ends as soon as the condition
 * holds, so only a failing run pays for it; on a loaded machine the loop or the emulator's
 * thread may not run for a second or more. */
enum { WAIT_MS = 10000 };

/* Runs the loop until expr holds or ms pass; the caller asserts expr after. */
#define RUN_UNTIL(l, expr, ms)                                                                     \
    do {                                                                                           \
        uint64_t end_ = clock_real_mono_us() + (uint64_t)(ms)*1000;                                \
        while (!(expr) && clock_real_mono_us() < end_)                                             \
            loop_run_once((l), 2);                                                                 \
    } while (0)

static bool run_until(struct loop *l, const bool *flag, uint32_t timeout_ms)
{
    uint64_t end = clock_real_mono_us() + (uint64_t)timeout_ms * 1000;
    while (!*flag && clock_real_mono_us() < end)
        loop_run_once(l, 2);
    return *flag;
}

static void run_ms(struct loop *l, uint32_t ms)
{
    uint64_t end = clock_real_mono_us() + (uint64_t)ms * 1000;
    while (clock_real_mono_us() < end)
        loop_run_once(l, 2);
}

/* ---- scale ---- */

struct weigh {
    int rc;
    struct scale_reading r;
    bool got, zeroed, up;
    int ups, downs;
};

static void on_weight(struct scale *s, int rc, const struct scale_reading *r, void *arg)
{
    struct weigh *w = arg;
    w->rc = rc;
    if (r)
        w->r = *r;
    w->got = true;
}

static void on_zero(struct scale *s, int rc, void *arg)
{
    ((struct weigh *)arg)->zeroed = rc == 0;
}

static void on_scale_state(struct scale *s, enum link_state st, int rc, void *arg)
{
    struct weigh *w = arg;
    w->up = st == LINK_UP;
    w->ups += st == LINK_UP;
    w->downs += st == LINK_DOWN;
}

/* Report bytes written by hand: id 3, status, unit, exponent, weight LE. */
static void scale_report(uint8_t status, uint8_t unit, int8_t exp, uint16_t raw)
{
    uint8_t r[6] = {3, status, unit, (uint8_t)exp, (uint8_t)(raw & 0xff), (uint8_t)(raw >> 8)};
    push_in(r, sizeof(r));
}

static void test_usb_scale(void **state)
{
    struct loop *l;
    struct usb_host *h;
    struct scale *s;
    struct weigh w = {0};
    /* The emulator answers from its own thread, which a loaded machine may not run for a
     * while: 1 s keeps an answered request from timing out; only the silent case waits it. */
    struct scale_cfg c = {.model = SCALE_HIDPOS, .reply_timeout_ms = 1000};
    const struct scale_cbs cbs = {on_weight, on_zero, on_scale_state};
    struct scale_stats st;

    assert_int_equal(emu_setup("scale.umockdev", "/dev/bus/usb/001/002",
                               "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1"),
                     0);
    E.driver_bound = true; /* usbhid holds the interface, as on a real machine */
    /* The stale report the scale had buffered: 9.999 kg stable. */
    scale_report(4, 3, -3, 9999);
    assert_int_equal(loop_new(&l, clock_system()), 0);
    assert_int_equal(usb_host_open(&h, l), 0);
    c.usb.vid = 0x0922;
    c.usb.pid = 0x8003;
    assert_int_equal(scale_open(&s, l, h, &c, &cbs, &w), 0);
    assert_true(run_until(l, &w.up, WAIT_MS));
    assert_int_equal(E.detaches, 1);
    assert_int_equal(scale_request(s), 0);
    /* In motion, then stable 4.9 oz (the reference example 03 04 0B FF 31 00). */
    scale_report(3, 11, -1, 40);
    scale_report(4, 11, -1, 49);
    assert_true(run_until(l, &w.got, WAIT_MS));
    assert_int_equal(w.rc, 0);
    assert_int_equal(w.r.weight_mg, 138913); /* 4.9 oz = 138.9134 g */
    assert_true(w.r.stable);
    scale_get_stats(s, &st);
    assert_int_equal(st.stale_discarded, 1);

    /* Zero: output report 02 02 on interrupt OUT. */
    assert_int_equal(scale_zero(s), 0);
    assert_true(run_until(l, &w.zeroed, WAIT_MS));
    run_ms(l, 20);
    assert_int_equal(E.out_len, 2);
    assert_int_equal(E.out[0], 2);
    assert_int_equal(E.out[1], 2);

    /* No reports: the request times out. */
    w.got = false;
    assert_int_equal(scale_request(s), 0);
    assert_true(run_until(l, &w.got, WAIT_MS));
    assert_int_equal(w.rc, -ETIMEDOUT);

    /* Unplug: the link goes down and a request is refused; replug: back up, with the first
     * report after the new open discarded again. */
    set_flag(&E.unplugged, true);
    umockdev_testbed_uevent(E.tb, E.sys_path, "remove");
    RUN_UNTIL(l, w.downs >= 1, WAIT_MS);
    assert_false(w.up);
    assert_int_equal(w.downs, 1);
    assert_int_equal(scale_request(s), WCS_E_LINK);
    set_flag(&E.unplugged, false);
    umockdev_testbed_uevent(E.tb, E.sys_path, "add");
    assert_true(run_until(l, &w.up, WAIT_MS));
    assert_int_equal(w.ups, 2);
    scale_report(4, 2, 0, 250); /* stale */
    run_ms(l, 30);
    w.got = false;
    assert_int_equal(scale_request(s), 0);
    scale_report(4, 2, 0, 251);
    assert_true(run_until(l, &w.got, WAIT_MS));
    assert_int_equal(w.rc, 0);
    assert_int_equal(w.r.weight_mg, 251000);
    scale_close(s);
    usb_host_close(h);
    loop_free(l);
    emu_teardown();
}

/* ---- scanner ---- */

struct reads {
    char data[8][256];
    char aim[8][4];
    size_t n;
    bool up, got;
    int ups;
};

static void on_read(struct scanner *s, const struct scan_read *r, void *arg)
{
    struct reads *x = arg;
    if (x->n < 8) {
        snprintf(x->data[x->n], sizeof(x->data[0]), "%s", r->data);
        memcpy(x->aim[x->n], r->aim, 4);
        x->n++;
    }
    x->got = true;
}

static void on_scan_state(struct scanner *s, enum link_state st, int rc, void *arg)
{
    struct reads *x = arg;
    x->up = st == LINK_UP;
    x->ups += st == LINK_UP;
}

/* One 64-byte HID POS report, by hand: id 2, length, AIM, data, flags bit 0 = more. */
static void scan_report(const char *aim, const char *data, bool more)
{
    uint8_t r[64] = {0};
    size_t n = strlen(data);
    r[0] = 2;
    r[1] = (uint8_t)n;
    if (aim)
        memcpy(r + 2, aim, 3);
    memcpy(r + 5, data, n);
    r[63] = more ? 1 : 0;
    push_in(r, sizeof(r));
}

static void test_usb_scanner(void **state)
{
    struct loop *l;
    struct usb_host *h;
    struct scanner *s;
    struct reads x = {0};
    struct scan_cfg c = {.model = SCAN_HIDPOS};
    const struct scan_cbs cbs = {on_read, on_scan_state};
    char expect[200];

    assert_int_equal(emu_setup("scanner.umockdev", "/dev/bus/usb/001/003",
                               "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-2"),
                     0);
    assert_int_equal(loop_new(&l, clock_system()), 0);
    assert_int_equal(usb_host_open(&h, l), 0);
    c.usb.vid = 0x05e0;
    c.usb.pid = 0x1200;
    assert_int_equal(scan_open(&s, l, h, &c, &cbs, &x), 0);
    assert_true(run_until(l, &x.up, WAIT_MS));
    assert_int_equal(E.detaches, 0); /* no kernel driver was bound */
    /* A GS1 DataMatrix read of 130 bytes in three reports (56 + 56 + 18). */
    memset(expect, 0, sizeof(expect));
    for (int i = 0; i < 130; i++)
        expect[i] = (char)('0' + i % 10);
    char part[57];
    snprintf(part, sizeof(part), "%.56s", expect);
    scan_report("]d2", part, true);
    snprintf(part, sizeof(part), "%.56s", expect + 56);
    scan_report(NULL, part, true);
    snprintf(part, sizeof(part), "%.56s", expect + 112);
    scan_report(NULL, part, false);
    assert_true(run_until(l, &x.got, WAIT_MS));
    assert_int_equal(x.n, 1);
    assert_string_equal(x.aim[0], "]d2");
    assert_string_equal(x.data[0], expect);

    /* The IN endpoint stalls: the device is reopened and reads resume. */
    set_flag(&E.stall_in, true);
    /* Kick the in-flight URB by queueing a report it will not get: complete it as stalled. */
    pthread_mutex_lock(&E.mu);
    if (E.pending_in) {
        finish_urb(&E, E.pending_in->data, -EPIPE, 0);
        E.pending_in = g_list_delete_link(E.pending_in, E.pending_in);
    }
    pthread_mutex_unlock(&E.mu);
    run_ms(l, 50);
    set_flag(&E.stall_in, false);
    x.got = false;
    /* Reopened: a second UP (x.up alone may still be the first one's). */
    RUN_UNTIL(l, x.ups >= 2 && x.up, WAIT_MS);
    assert_true(x.ups >= 2 && x.up);
    scan_report("]C0", "AFTER-STALL", false);
    assert_true(run_until(l, &x.got, WAIT_MS));
    assert_string_equal(x.data[x.n - 1], "AFTER-STALL");
    scan_close(s);
    usb_host_close(h);
    loop_free(l);
    emu_teardown();
}

/* ---- printer ---- */

struct jobs {
    enum prn_job_state st[16];
    int rc[16];
    size_t n;
    bool done, up;
    int downs;
};

static void on_job(struct printer *p, uint64_t id, enum prn_job_state st, int rc,
                   const struct prn_status *s, void *arg)
{
    struct jobs *j = arg;
    if (j->n < 16) {
        j->st[j->n] = st;
        j->rc[j->n] = rc;
        j->n++;
    }
    j->done = st == PRN_JOB_DONE;
}

static void on_prn_state(struct printer *p, enum link_state st, int rc, void *arg)
{
    struct jobs *j = arg;
    j->up = st == LINK_UP;
    j->downs += st == LINK_DOWN;
}

static const char LABEL[] = "^XA^FO50,50^A0N,40,40^FDHello^FS^XZ";

static void test_usb_printer(void **state)
{
    struct loop *l;
    struct usb_host *h;
    struct printer *p;
    struct jobs j = {0};
    /* 1 s: an emulator thread that a loaded machine does not run for a while must not look
     * like a printer that stopped answering; only the silent OUT case waits it. */
    struct prn_cfg c = {.usb = true, .status_timeout_ms = 1000, .retry_ms = 100};
    const struct prn_cbs cbs = {on_job, on_prn_state};
    struct prn_status s;
    long at;

    assert_int_equal(emu_setup("printer.umockdev", "/dev/bus/usb/001/007",
                               "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-5"),
                     0);
    E.printer = true;
    assert_int_equal(loop_new(&l, clock_system()), 0);
    assert_int_equal(usb_host_open(&h, l), 0);
    c.usbm.vid = 0x0a5f;
    c.usbm.pid = 0x0081;
    assert_int_equal(prn_open(&p, l, h, &c, &cbs, &j), 0);
    assert_true(run_until(l, &j.up, WAIT_MS));
    assert_int_equal(prn_submit(p, 1, LABEL, strlen(LABEL), NULL), 0);
    assert_true(run_until(l, &j.done, WAIT_MS));
    /* On the wire: ~HS, the label, ~HS. */
    pthread_mutex_lock(&E.mu);
    assert_int_equal(E.out_len, 3 + strlen(LABEL) + 3);
    assert_memory_equal(E.out, "~HS", 3);
    assert_memory_equal(E.out + 3, LABEL, strlen(LABEL));
    assert_int_equal(E.hs_seen, 2);
    pthread_mutex_unlock(&E.mu);
    prn_get_status(p, &s);
    assert_int_equal(s.port_status, 0x18);

    /* Paper empty on GET_PORT_STATUS: the job is not sent, it stays queued. */
    pthread_mutex_lock(&E.mu);
    E.port_status = 0x20;
    at = (long)E.out_len;
    pthread_mutex_unlock(&E.mu);
    j = (struct jobs){.up = true};
    assert_int_equal(prn_submit(p, 2, LABEL, strlen(LABEL), NULL), 0);
    RUN_UNTIL(l, j.n >= 1, WAIT_MS);
    assert_true(j.n >= 1);
    assert_int_equal(j.st[0], PRN_JOB_RETRYING);
    assert_int_equal(j.rc[0], WCS_E_STATE);
    prn_get_status(p, &s);
    assert_true(s.paper_out);
    pthread_mutex_lock(&E.mu);
    assert_null(memmem(E.out + at, E.out_len - (size_t)at, "^XA", 3));
    E.port_status = 0x18;
    pthread_mutex_unlock(&E.mu);
    assert_true(run_until(l, &j.done, WAIT_MS));
    assert_int_equal(prn_get_queued(p), 0);

    /* A bulk OUT that never completes: libusb's timeout cancels it, the link resets and the
     * job is retried once the device is reopened. */
    set_flag(&E.silent_out, true);
    j = (struct jobs){.up = true};
    assert_int_equal(prn_submit(p, 3, LABEL, strlen(LABEL), NULL), 0);
    RUN_UNTIL(l, j.downs >= 1 && j.n >= 1, WAIT_MS);
    assert_true(j.downs >= 1);
    assert_true(j.n >= 1);
    assert_int_equal(j.st[0], PRN_JOB_RETRYING);
    set_flag(&E.silent_out, false);
    assert_true(run_until(l, &j.done, WAIT_MS));
    assert_int_equal(prn_get_queued(p), 0);
    prn_close(p);
    usb_host_close(h);
    loop_free(l);
    emu_teardown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usb_scale),
        cmocka_unit_test(test_usb_scanner),
        cmocka_unit_test(test_usb_printer),
    };
    /* Linked in (CMakeLists.txt) or preloaded by umockdev-wrapper: either way it is loaded. */
    if (!dlopen("libumockdev-preload.so.0", RTLD_NOW | RTLD_NOLOAD)) {
        fprintf(stderr, "test_usb: umockdev preload not active, skipping\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
