/* USB transport through libusb-1.0 on the event loop: libusb's poll fds are watched by the
 * loop and its timeouts armed as loop timers, so every transfer is asynchronous and the loop
 * never blocks. Two device shapes: an HID interrupt device (scales, HID POS scanners: one
 * report per callback, interrupt OUT for output reports) and the USB printer class as a link
 * (bulk OUT writes, bulk IN replies, GET_PORT_STATUS). Devices are found by VID:PID (and
 * serial), the kernel driver is detached, and an unplugged device is looked for again with
 * bounded backoff. No libusb type leaves drivers/transport/usb.c. */
#ifndef DRIVERS_USB_H
#define DRIVERS_USB_H

#include "drivers/transport.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct usb_host;
struct usb_hid;

enum { USB_SERIAL_MAX = 126 };

struct usb_match {
    uint16_t vid, pid;
    char serial[USB_SERIAL_MAX + 1]; /* "" matches any */
};

/* Creates a libusb context and plugs its fds and timeouts into loop. Returns 0, -ENOMEM, or
 * -ENODEV when libusb cannot initialise (no usbfs). The host must outlive its devices. */
int usb_host_open(struct usb_host **out, struct loop *loop);
void usb_host_close(struct usb_host *h); /* NULL-safe; all devices must be closed first */

struct usb_hid_cbs {
    /* One input report (the bytes of one interrupt IN transfer), valid during the call. */
    void (*on_report)(struct usb_hid *d, const uint8_t *rep, size_t len, void *arg);
    void (*on_state)(struct usb_hid *d, enum link_state st, int rc, void *arg);
};

struct usb_hid_opts {
    uint8_t interface;       /* default 0 */
    uint32_t backoff_min_ms; /* re-open delay after an unplug or failure, doubling (100) */
    uint32_t backoff_max_ms; /* (5000) */
    uint32_t out_timeout_ms; /* interrupt OUT timeout (1000) */
};

/* Opens the first device matching m (claiming its interface, kernel driver detached) and keeps
 * one interrupt IN transfer in flight. If no device matches yet, the open still succeeds and
 * the device is looked for with backoff (state DOWN until found). opts may be NULL. Returns 0,
 * -EINVAL or -ENOMEM; *out untouched on failure. */
int usb_hid_open(struct usb_hid **out, struct usb_host *h, const struct usb_match *m,
                 const struct usb_hid_opts *opts, const struct usb_hid_cbs *cbs, void *arg);
void usb_hid_close(struct usb_hid *d); /* NULL-safe; cancels transfers and waits for them */

/* Sends an output report on the interrupt OUT endpoint (asynchronously). Returns 0,
 * WCS_E_LINK (device not open), -ENOTSUP (no interrupt OUT endpoint), WCS_E_FULL (one is
 * already in flight) or -ENOMEM. A failure of the transfer itself is reported by on_state
 * only when it means the device is gone. */
int usb_hid_write(struct usb_hid *d, const uint8_t *rep, size_t len);
enum link_state usb_hid_get_state(const struct usb_hid *d);
/* True once a kernel driver was detached from the interface at the last open. */
bool usb_hid_kernel_detached(const struct usb_hid *d);

/* Opens a USB printer-class device (interface class 7) as a link: link_write queues bytes for
 * bulk OUT, replies on bulk IN come to on_data. A transfer that times out (opts
 * connect_timeout_ms is the bulk OUT timeout here), stalls, or finds the device gone resets
 * the link (DOWN, then re-open with backoff). */
int link_open_usb_printer(struct link **out, struct usb_host *h, const struct usb_match *m,
                          const struct link_opts *opts, const struct link_cbs *cbs, void *arg);

/* Printer-class GET_PORT_STATUS bits. */
enum { USB_PRN_NOT_ERROR = 0x08, USB_PRN_SELECTED = 0x10, USB_PRN_PAPER_EMPTY = 0x20 };

typedef void (*usb_port_status_cb)(struct link *k, int rc, uint8_t status, void *arg);
/* Asks a USB printer link for its port status; cb runs once on the loop with rc 0 and the
 * status byte, or a negative rc. Returns 0 (cb will run), -ENOTSUP for other links,
 * WCS_E_LINK when the device is not open, or WCS_E_FULL when a query is in flight (cb never
 * runs then). */
int link_usb_port_status(struct link *k, usb_port_status_cb cb, void *arg);

#endif
